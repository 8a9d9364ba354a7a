import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Client } from 'fhir-kit-client';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { sql } from 'kysely';
import { tables } from '../../platform/db/index.ts';
import { REVINCLUDE_LIMIT } from './fhir-repository.ts';
import { bundleProblems, fhirSchemaProblems } from './fhir-schema.test-support.ts';
import { NHS_NUMBER_SYSTEM } from './nhs-number.ts';

type Json = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const DOROTHY = '9990000026';
const ALEX = '9990000018';

describe('FHIR R4 API, driven by fhir-kit-client', () => {
  let kiln: TestKiln;
  let base: string;

  async function practitionerId(name: string): Promise<string> {
    const { rows } = await kiln.services.care.record.practitioners({ name });
    return rows[0]!.id;
  }
  async function staffPractitioner(email: string): Promise<string> {
    const staff = await tables<{
      staff_users: { id: string; name: string; email: string; team_code: string | null };
    }>(kiln.platform.db)
      .selectFrom('staff_users')
      .select(['id', 'name', 'email', 'team_code'])
      .where('email', '=', email)
      .executeTakeFirstOrThrow();
    const viewer = await kiln.services.care.record.viewerForStaff({ ...staff, teamCode: staff.team_code });
    return viewer.practitionerId;
  }
  async function token(practitioner: string, scopes: string[], ask?: string): Promise<string> {
    const client = await kiln.services.care.tokens.registerClient(
      { type: 'system', id: null },
      practitioner,
      'Test system',
      scopes,
    );
    const res = await fetch(`${base}/auth/token`, {
      method: 'POST',
      headers: {
        'content-type': 'application/x-www-form-urlencoded',
        authorization: `Basic ${Buffer.from(`${client.client_id}:${client.secret}`).toString('base64')}`,
      },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        ...(ask ? { scope: ask } : {}),
      }).toString(),
    });
    assert.equal(res.status, 200, await res.clone().text());
    const body = (await res.json()) as { access_token: string; token_type: string; scope: string };
    assert.equal(body.token_type, 'Bearer');
    return body.access_token;
  }
  const fhirClient = (bearerToken?: string, customHeaders?: Record<string, string>) =>
    new Client({
      baseUrl: base,
      ...(bearerToken ? { bearerToken } : {}),
      ...(customHeaders ? { customHeaders } : {}),
    });
  async function failure(promise: Promise<unknown>): Promise<{ status: number; data: Json }> {
    try {
      await promise;
    } catch (error) {
      const response = (error as { response?: { status: number; data: unknown } }).response;
      assert.ok(response, String(error));
      const data = typeof response.data === 'string' ? JSON.parse(response.data) : response.data;
      return { status: response.status, data: data as Json };
    }
    assert.fail('expected the request to be refused');
  }
  async function auditEntries(subjectId: string) {
    return (await tables<{
      audit_log: {
        id: number;
        action: string;
        subject_id: string | null;
        detail: { via?: string; resource?: string; reason?: string };
      };
    }>(kiln.platform.db)
      .selectFrom('audit_log')
      .select(['id', 'action', 'detail'])
      .where('subject_id', '=', subjectId)
      .orderBy('id')
      .execute()) as Array<{
      id: number;
      action: string;
      detail: { via?: string; resource?: string; reason?: string };
    }>;
  }
  async function auditCount(action: string, subjectId?: string): Promise<number> {
    let q = tables<{ audit_log: { action: string; subject_id: string | null } }>(kiln.platform.db)
      .selectFrom('audit_log')
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .where('action', '=', action);
    if (subjectId) q = q.where('subject_id', '=', subjectId);
    return Number((await q.executeTakeFirstOrThrow()).n);
  }

  let socialWorker: string;
  let dorothyId: string;

  before(async () => {
    kiln = await startTestApp();
    await kiln.app.listen({ port: 0, host: '127.0.0.1' });
    const address = kiln.app.server.address() as { port: number };
    base = `http://127.0.0.1:${address.port}/fhir/R4`;
    socialWorker = await token(await staffPractitioner('socialworker@kilnford.example'), [
      'patient/*.read',
      'user/*.read',
      'user/*.write',
    ]);
  });
  after(async () => kiln.close());

  test('the CapabilityStatement and SMART configuration describe the server', async () => {
    const client = fhirClient();
    const capability = (await client.capabilityStatement()) as Json;
    // The published R4 schema's FHIRVersion list stops at 4.0.0; R4's own version is 4.0.1.
    assert.deepEqual(
      fhirSchemaProblems(capability).filter((p) => !p.startsWith('CapabilityStatement/fhirVersion')),
      [],
    );
    assert.equal(capability.fhirVersion, '4.0.1');
    const types = capability.rest[0].resource.map((r: Json) => r.type);
    for (const t of [
      'Patient',
      'RelatedPerson',
      'Practitioner',
      'Organization',
      'CareTeam',
      'Encounter',
      'Condition',
      'Observation',
      'MedicationStatement',
      'CarePlan',
      'Flag',
      'Consent',
      'DocumentReference',
    ])
      assert.ok(types.includes(t), t);
    const patientCapability = capability.rest[0].resource.find((r: Json) => r.type === 'Patient');
    assert.deepEqual(
      patientCapability.interaction.map((i: Json) => i.code),
      ['read', 'vread', 'history-instance', 'search-type', 'create', 'update'],
    );
    assert.equal(patientCapability.versioning, 'versioned');
    assert.ok(patientCapability.searchRevInclude.includes('Observation:subject'));
    assert.ok(patientCapability.searchRevInclude.includes('Condition:patient'));
    assert.match(
      capability.rest[0].security.description,
      /X-Break-Glass-Reason header or the _breakglass parameter/,
    );
    const smart = (await client.smartAuthMetadata()) as Json;
    assert.match(String(smart.tokenUrl ?? ''), /\/fhir\/R4\/auth\/token$/);
  });

  test('a member of the care team finds a patient by NHS number and reads every part of the record', async () => {
    const client = fhirClient(socialWorker);
    const bundle = (await client.search({
      resourceType: 'Patient',
      searchParams: {
        identifier: `${NHS_NUMBER_SYSTEM}|${DOROTHY}`,
        _include: 'Patient:general-practitioner',
      },
    })) as Json;
    assert.deepEqual(bundleProblems(bundle), []);
    assert.equal(bundle.total, 1);
    const patient = bundle.entry[0].resource;
    dorothyId = patient.id;
    assert.equal(patient.name[0].family, 'Pell');
    assert.equal(patient.identifier[0].value, DOROTHY);
    const gp = bundle.entry.find((e: Json) => e.search.mode === 'include');
    assert.equal(gp.resource.resourceType, 'Practitioner');
    assert.equal(gp.resource.name[0].text, 'Dr Nadia Holloway');
    // The search names the GP on the Patient itself, as a read does.
    assert.deepEqual(patient.generalPractitioner, [
      { reference: `Practitioner/${gp.resource.id}`, display: 'Dr Nadia Holloway' },
    ]);

    const read = (await client.read({ resourceType: 'Patient', id: dorothyId })) as Json;
    assert.deepEqual(fhirSchemaProblems(read), []);
    assert.deepEqual(read.generalPractitioner, patient.generalPractitioner);

    const expected: Record<string, number> = {
      Condition: 1,
      MedicationStatement: 1,
      CarePlan: 1,
      Encounter: 1,
      Flag: 1,
      RelatedPerson: 1,
      CareTeam: 1,
      Consent: 1,
      Observation: 0,
      DocumentReference: 0,
    };
    for (const [resourceType, count] of Object.entries(expected)) {
      const found = (await client.search({
        resourceType,
        searchParams: { patient: `Patient/${dorothyId}` },
      })) as Json;
      assert.deepEqual(bundleProblems(found), [], resourceType);
      assert.equal(found.total, count, resourceType);
      for (const entry of found.entry ?? []) {
        const one = (await client.read({ resourceType, id: entry.resource.id })) as Json;
        assert.deepEqual(one, entry.resource);
      }
    }
    const team = (await client.search({
      resourceType: 'CareTeam',
      searchParams: { patient: dorothyId, _include: 'CareTeam:participant' },
    })) as Json;
    assert.deepEqual(bundleProblems(team), []);
    assert.equal(team.entry.filter((e: Json) => e.resource.resourceType === 'Practitioner').length, 3);
    const organisation = (await client.read({
      resourceType: 'Organization',
      id: team.entry[0].resource.participant[1].onBehalfOf.reference.split('/')[1],
    })) as Json;
    assert.deepEqual(fhirSchemaProblems(organisation), []);
  });

  test('search by name and birthdate pages with Bundle links, and date and _include narrow encounters', async () => {
    const client = fhirClient(socialWorker);
    const first = (await client.search({
      resourceType: 'Patient',
      searchParams: { birthdate: 'lt2000-01-01', _count: 1 },
    })) as Json;
    assert.equal(first.total, 2);
    assert.equal(first.entry.length, 1);
    assert.ok(first.link.some((l: Json) => l.relation === 'next'));
    const second = (await client.nextPage({ bundle: first as never })) as Json;
    assert.equal(second.entry.length, 1);
    assert.notEqual(second.entry[0].resource.id, first.entry[0].resource.id);
    assert.ok(!second.link.some((l: Json) => l.relation === 'next'));
    assert.ok(second.link.some((l: Json) => l.relation === 'previous'));
    // Both people on one page: one read entry each (written in one insert), none for a page with nobody.
    const readsBefore = await auditCount('care.record_read');
    const bothOnOnePage = (await client.search({
      resourceType: 'Patient',
      searchParams: { birthdate: 'lt2000-01-01' },
    })) as Json;
    assert.equal(bothOnOnePage.entry.length, 2);
    assert.equal(await auditCount('care.record_read'), readsBefore + 2);
    for (const e of bothOnOnePage.entry) assert.ok((await auditCount('care.record_read', e.resource.id)) > 0);
    for (const past of [{ _count: '0' }, { _offset: '5' }] as Array<Record<string, string>>) {
      const empty = (await client.search({
        resourceType: 'Patient',
        searchParams: { birthdate: 'lt2000-01-01', ...past },
      })) as Json;
      assert.equal(empty.total, 2, JSON.stringify(past));
      assert.equal(empty.entry?.length ?? 0, 0);
    }
    assert.equal(await auditCount('care.record_read'), readsBefore + 2);
    const byName = (await client.search({ resourceType: 'Patient', searchParams: { name: 'pel' } })) as Json;
    assert.deepEqual(
      byName.entry.map((e: Json) => e.resource.name[0].family),
      ['Pell'],
    );
    const exact = (await client.search({
      resourceType: 'Patient',
      searchParams: { birthdate: '1941-02-03' },
    })) as Json;
    assert.equal(exact.total, 1);

    const created = (await client.create({
      resourceType: 'Encounter',
      body: {
        resourceType: 'Encounter',
        status: 'finished',
        class: { system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode', code: 'HH' },
        type: [
          { coding: [{ system: 'https://kiln.example/fhir/CodeSystem/encounter-kind', code: 'home_visit' }] },
        ],
        subject: { reference: `Patient/${dorothyId}` },
        period: { start: '2026-11-24T09:00:00Z', end: '2026-11-24T09:45:00Z' },
        text: {
          status: 'generated',
          div: '<div xmlns="http://www.w3.org/1999/xhtml">Checked the falls sensor &amp; key safe.</div>',
        },
      },
    })) as Json;
    assert.deepEqual(fhirSchemaProblems(created), []);
    assert.equal(created.status, 'finished');
    const recent = (await client.search({
      resourceType: 'Encounter',
      searchParams: { patient: dorothyId, date: 'ge2026-11-24', _include: 'Encounter:patient' },
    })) as Json;
    assert.deepEqual(bundleProblems(recent), []);
    assert.equal(recent.total, 1);
    assert.deepEqual(
      recent.entry.map((e: Json) => e.resource.resourceType),
      ['Encounter', 'Patient'],
    );
    assert.match(recent.entry[0].resource.text.div, /Checked the falls sensor &amp; key safe\./);
    const both = (await client.search({
      resourceType: 'Encounter',
      searchParams: { patient: dorothyId, date: ['ge2026-11-01', 'lt2026-11-24'] },
    })) as Json;
    assert.equal(both.total, 1);
  });

  test('create and update the council’s resources; non-conforming ones are refused with an OperationOutcome', async () => {
    const client = fhirClient(socialWorker);
    const plan = (await client.search({
      resourceType: 'CarePlan',
      searchParams: { patient: dorothyId },
    })) as Json;
    const updated = (await client.update({
      resourceType: 'CarePlan',
      id: plan.entry[0].resource.id,
      body: { ...plan.entry[0].resource, status: 'completed', meta: undefined },
    })) as Json;
    assert.equal(updated.status, 'completed');
    assert.deepEqual(fhirSchemaProblems(updated), []);

    const patient = (await client.create({
      resourceType: 'Patient',
      body: {
        resourceType: 'Patient',
        identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9990000042' }],
        name: [{ family: 'Okonjo', given: ['Ruth'] }],
        gender: 'female',
        birthDate: '1950-07-01',
      },
    })) as Json;
    assert.deepEqual(fhirSchemaProblems(patient), []);
    const observation = (await client.create({
      resourceType: 'Observation',
      body: {
        resourceType: 'Observation',
        status: 'final',
        code: { text: 'Weight' },
        subject: { reference: `Patient/${patient.id}` },
        effectiveDateTime: '2026-11-25T10:00:00Z',
        valueQuantity: { value: 61.5, unit: 'kg' },
      },
    })) as Json;
    assert.deepEqual(fhirSchemaProblems(observation), []);
    assert.equal(observation.valueQuantity.value, 61.5);

    const badNhs = await failure(
      client.create({
        resourceType: 'Patient',
        body: {
          resourceType: 'Patient',
          identifier: [{ system: NHS_NUMBER_SYSTEM, value: '9990000043' }],
          name: [{ family: 'X', given: ['Y'] }],
          birthDate: '1950-01-01',
        },
      }),
    );
    assert.equal(badNhs.status, 400);
    assert.equal(badNhs.data.resourceType, 'OperationOutcome');
    assert.deepEqual(fhirSchemaProblems(badNhs.data), []);
    assert.match(badNhs.data.issue[0].diagnostics, /9990000043 is not a valid NHS number/);

    const nonConforming = await failure(
      client.create({
        resourceType: 'Encounter',
        body: { resourceType: 'Encounter', status: 'done', subject: { reference: 'Patient/nobody' } },
      }),
    );
    assert.equal(nonConforming.status, 400);
    const expressions = nonConforming.data.issue.flatMap((i: Json) => i.expression ?? []);
    assert.ok(expressions.includes('Encounter.status'), JSON.stringify(expressions));
    assert.ok(expressions.includes('Encounter.subject.reference'));
    assert.ok(expressions.includes('Encounter.period'));

    const unsupported = await failure(
      client.search({ resourceType: 'Condition', searchParams: { patient: dorothyId, 'onset-age': '5' } }),
    );
    assert.equal(unsupported.status, 400);
    assert.equal(unsupported.data.issue[0].code, 'not-supported');
    assert.match(
      unsupported.data.issue[0].diagnostics,
      /Search parameter 'onset-age' is not supported for Condition/,
    );
    const include = await failure(
      client.search({
        resourceType: 'Condition',
        searchParams: { patient: dorothyId, _include: 'Condition:asserter' },
      }),
    );
    assert.match(include.data.issue[0].diagnostics, /_include=Condition:asserter is not supported/);
    const noPatient = await failure(client.search({ resourceType: 'Observation', searchParams: {} }));
    assert.match(noPatient.data.issue[0].diagnostics, /needs a patient/);
    const missing = await failure(
      client.read({ resourceType: 'Patient', id: '00000000-0000-4000-8000-000000000000' }),
    );
    assert.equal(missing.status, 404);
    assert.equal(missing.data.resourceType, 'OperationOutcome');
    const readOnly = await failure(
      client.create({ resourceType: 'Practitioner', body: { resourceType: 'Practitioner' } }),
    );
    assert.equal(readOnly.status, 405);
  });

  test('tokens: none, a wrong one, or one without the scope are refused, and the attempt audited', async () => {
    const none = await failure(fhirClient().read({ resourceType: 'Patient', id: dorothyId }));
    assert.equal(none.status, 401);
    assert.equal(none.data.issue[0].code, 'login');
    const wrong = await failure(
      fhirClient('not-a-token').search({ resourceType: 'Patient', searchParams: {} }),
    );
    assert.equal(wrong.status, 401);

    const readOnly = await token(await practitionerId('Nadia Holloway'), ['patient/*.read']);
    const before = await auditCount('care.fhir_scope_refused');
    const write = await failure(
      fhirClient(readOnly).create({
        resourceType: 'Flag',
        body: {
          resourceType: 'Flag',
          status: 'active',
          code: { text: 'Test' },
          subject: { reference: `Patient/${dorothyId}` },
        },
      }),
    );
    assert.equal(write.status, 403);
    assert.match(write.data.issue[0].diagnostics, /do not allow write of Flag/);
    assert.equal(await auditCount('care.fhir_scope_refused'), before + 1);
    const practitioners = await failure(
      fhirClient(readOnly).search({ resourceType: 'Practitioner', searchParams: {} }),
    );
    assert.equal(practitioners.status, 403, 'patient/*.read does not cover Practitioner');

    const client = await kiln.services.care.tokens.registerClient(
      { type: 'system', id: null },
      await practitionerId('Nadia Holloway'),
      'GP system',
      ['patient/*.read'],
    );
    const asked = await fetch(`${base}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: client.client_id,
        client_secret: client.secret,
        scope: 'user/*.write',
      }).toString(),
    });
    assert.equal(asked.status, 400);
    assert.equal(((await asked.json()) as Json).error, 'invalid_scope');
    const badSecret = await fetch(`${base}/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: client.client_id,
        client_secret: 'guess',
      }).toString(),
    });
    assert.equal(badSecret.status, 401);
  });

  test('only the care team reads through the API; an objection to sharing shuts out other organisations', async () => {
    const gp = fhirClient(await token(await practitionerId('Nadia Holloway'), ['patient/*.read']));
    const gpRead = (await gp.read({ resourceType: 'Patient', id: dorothyId })) as Json;
    assert.equal(gpRead.id, dorothyId);

    const outsider = fhirClient(
      await token(await staffPractitioner('childrenworker@kilnford.example'), [
        'patient/*.read',
        'user/*.read',
      ]),
    );
    const refusedBefore = await auditCount('care.record_access_refused', dorothyId);
    const refused = await failure(outsider.read({ resourceType: 'Patient', id: dorothyId }));
    assert.equal(refused.status, 403);
    assert.equal(refused.data.issue[0].code, 'forbidden');
    const conditions = await failure(
      outsider.search({ resourceType: 'Condition', searchParams: { patient: dorothyId } }),
    );
    assert.equal(conditions.status, 403);
    const hidden = (await outsider.search({
      resourceType: 'Patient',
      searchParams: { identifier: DOROTHY },
    })) as Json;
    assert.equal(hidden.total, 0, 'a search finds nobody outside the care team');
    assert.equal(await auditCount('care.record_access_refused', dorothyId), refusedBefore + 3);

    const readsBefore = await auditCount('care.record_read', dorothyId);
    await gp.search({ resourceType: 'Condition', searchParams: { patient: dorothyId } });
    assert.equal(await auditCount('care.record_read', dorothyId), readsBefore + 1, 'every read is audited');

    await kiln.services.care.record.setObjection({ type: 'system', id: null }, dorothyId, true);
    const objected = await failure(gp.read({ resourceType: 'Patient', id: dorothyId }));
    assert.equal(objected.status, 403);
    assert.match(
      objected.data.issue[0].diagnostics,
      /objected to their record being shared outside Kilnford City Council/,
    );
    const gpSearch = (await gp.search({
      resourceType: 'Patient',
      searchParams: { identifier: DOROTHY },
    })) as Json;
    assert.equal(gpSearch.total, 0);
    const council = (await fhirClient(socialWorker).read({ resourceType: 'Consent', id: dorothyId })) as Json;
    assert.equal(council.provision.type, 'deny');
    assert.deepEqual(fhirSchemaProblems(council), []);
    await kiln.services.care.record.setObjection({ type: 'system', id: null }, dorothyId, false);
    assert.equal(((await gp.read({ resourceType: 'Patient', id: dorothyId })) as Json).id, dorothyId);
  });

  test('a wellbeing alert about a linked resident appears as an Observation and a Flag', async () => {
    const client = fhirClient(socialWorker);
    const alex = (
      (await client.search({ resourceType: 'Patient', searchParams: { identifier: ALEX } })) as Json
    ).entry[0].resource;
    const resident = await tables<{ residents: { id: string; reference: string } }>(kiln.platform.db)
      .selectFrom('residents')
      .select('id')
      .where('reference', '=', 'CU-DEMO-01')
      .executeTakeFirstOrThrow();
    await kiln.platform.db.transaction().execute((tx) =>
      kiln.platform.events.publish(tx, {
        type: 'wellbeing.alert_raised',
        subjectType: 'wellbeing_alert',
        subjectId: 'AL-TEST-1',
        actor: { type: 'system', id: null },
        payload: {
          alertId: 'AL-TEST-1',
          residentId: resident.id,
          homeId: 'home-1',
          type: 'no_movement',
          severity: 'high',
          explanation: 'No movement in the kitchen since 7pm yesterday, usually by 8am',
          raisedAt: '2026-11-25T09:00:00Z',
        },
      }),
    );
    const mine = (bundle: Json) =>
      (bundle.entry ?? []).find((e: Json) =>
        /No movement in the kitchen/.test(e.resource.valueString ?? e.resource.code?.text ?? ''),
      );
    const observations = await kiln.eventually(async () => {
      const found = (await client.search({
        resourceType: 'Observation',
        searchParams: { patient: alex.id },
      })) as Json;
      return mine(found) ? found : null;
    });
    assert.deepEqual(bundleProblems(observations), []);
    assert.equal(mine(observations).resource.effectiveDateTime, '2026-11-25T09:00:00.000Z');
    const flags = (await client.search({ resourceType: 'Flag', searchParams: { patient: alex.id } })) as Json;
    assert.deepEqual(bundleProblems(flags), []);
    assert.equal(mine(flags).resource.status, 'active');
    await kiln.platform.db.transaction().execute((tx) =>
      kiln.platform.events.publish(tx, {
        type: 'wellbeing.alert_resolved',
        subjectType: 'wellbeing_alert',
        subjectId: 'AL-TEST-1',
        actor: { type: 'system', id: null },
        payload: { alertId: 'AL-TEST-1', residentId: resident.id },
      }),
    );
    await kiln.eventually(async () => {
      const found = (await client.search({
        resourceType: 'Flag',
        searchParams: { patient: alex.id },
      })) as Json;
      return mine(found)?.resource.status === 'inactive';
    });
  });

  test('_revinclude on a Patient search brings the parts of the record, marked include, and the read is audited', async () => {
    const client = fhirClient(socialWorker);
    const readsBefore = await auditCount('care.record_read', dorothyId);
    const bundle = (await client.search({
      resourceType: 'Patient',
      searchParams: {
        identifier: `${NHS_NUMBER_SYSTEM}|${DOROTHY}`,
        _revinclude: ['Condition:patient,CarePlan:patient', 'Observation:subject', 'CareTeam:patient'],
      },
    })) as Json;
    assert.deepEqual(bundleProblems(bundle), []);
    assert.equal(bundle.type, 'searchset');
    assert.equal(bundle.total, 1);
    assert.deepEqual(
      bundle.entry.map((e: Json) => [e.resource.resourceType, e.search.mode]),
      [
        ['Patient', 'match'],
        ['Condition', 'include'],
        ['CarePlan', 'include'],
        ['CareTeam', 'include'],
      ],
      'Dorothy has one condition, one care plan, her care team and no observations',
    );
    for (const entry of bundle.entry.slice(1)) {
      const subject = entry.resource.subject ?? entry.resource.patient;
      assert.equal(subject.reference, `Patient/${dorothyId}`);
    }
    const reads = (await auditEntries(dorothyId)).filter((e) => e.action === 'care.record_read');
    assert.equal(reads.length, readsBefore + 1, 'one read of the record, audited once');
    assert.equal(
      reads.at(-1)!.detail.resource,
      'Patient?_revinclude=Condition:patient,CarePlan:patient,Observation:subject,CareTeam:patient',
    );

    const unknown = await failure(
      client.search({
        resourceType: 'Patient',
        searchParams: { identifier: DOROTHY, _revinclude: 'Observation:performer' },
      }),
    );
    assert.equal(unknown.status, 400);
    assert.equal(unknown.data.issue[0].code, 'not-supported');
    assert.match(
      unknown.data.issue[0].diagnostics,
      /_revinclude=Observation:performer is not supported for Patient/,
    );
    const onCondition = await failure(
      client.search({
        resourceType: 'Condition',
        searchParams: { patient: dorothyId, _revinclude: 'Flag:patient' },
      }),
    );
    assert.equal(onCondition.status, 400);
    assert.match(onCondition.data.issue[0].diagnostics, /Supported: none/);

    // More than the cap: the newest come, and an OperationOutcome in the Bundle says so.
    const alex = (
      (await client.search({ resourceType: 'Patient', searchParams: { identifier: ALEX } })) as Json
    ).entry[0].resource;
    await sql`insert into care_observations (person_id, code, display, value_quantity, unit, effective_at)
      select ${alex.id}::uuid, 'heart-rate', 'Heart rate', 60 + g % 30, '/min', now() - g * interval '1 hour'
        from generate_series(1, ${REVINCLUDE_LIMIT + 5}) g`.execute(kiln.platform.db);
    const capped = (await client.search({
      resourceType: 'Patient',
      searchParams: { _id: alex.id, _revinclude: 'Observation:subject' },
    })) as Json;
    assert.deepEqual(bundleProblems(capped), []);
    const kinds = capped.entry.map((e: Json) => `${e.resource.resourceType}/${e.search.mode}`);
    assert.equal(kinds.filter((k: string) => k === 'Observation/include').length, REVINCLUDE_LIMIT);
    assert.equal(kinds.at(-1), 'OperationOutcome/outcome');
    const { rows } = await sql<{ n: number }>`
      select count(*)::int as n from care_observations where person_id = ${alex.id}`.execute(
      kiln.platform.db,
    );
    assert.ok(rows[0]!.n > REVINCLUDE_LIMIT);
    assert.equal(
      capped.entry.at(-1).resource.issue[0].diagnostics,
      `_revinclude=Observation:subject gave the newest ${REVINCLUDE_LIMIT} of ${rows[0]!.n}: search Observation?patient=<id> to page through them all`,
    );

    const outsider = fhirClient(
      await token(await staffPractitioner('childrenworker@kilnford.example'), ['patient/*.read']),
    );
    const hidden = (await outsider.search({
      resourceType: 'Patient',
      searchParams: { identifier: DOROTHY, _revinclude: 'Condition:patient' },
    })) as Json;
    assert.equal(hidden.total, 0);
    assert.deepEqual(hidden.entry ?? [], [], 'nothing of the record comes with it');
  });

  test('history: an update makes a new version; _history lists them and _history/<vid> reads one', async () => {
    const client = fhirClient(socialWorker);
    const created = (await client.create({
      resourceType: 'Flag',
      body: {
        resourceType: 'Flag',
        status: 'active',
        code: { text: 'Dog in the house: ring before visiting' },
        subject: { reference: `Patient/${dorothyId}` },
      },
    })) as Json;
    assert.equal(created.meta.versionId, '1');
    assert.ok(created.meta.lastUpdated);
    await new Promise((resolve) => setTimeout(resolve, 20));
    const updated = (await client.update({
      resourceType: 'Flag',
      id: created.id,
      body: { ...created, resourceType: 'Flag', status: 'inactive', meta: undefined },
    })) as Json;
    assert.deepEqual(fhirSchemaProblems(updated), []);
    assert.equal(updated.meta.versionId, '2');
    assert.ok(updated.meta.lastUpdated > created.meta.lastUpdated, 'lastUpdated moves on');

    const readsBefore = await auditCount('care.record_read', dorothyId);
    const history = (await client.resourceHistory({ resourceType: 'Flag', id: created.id })) as Json;
    assert.deepEqual(bundleProblems(history), []);
    assert.equal(history.type, 'history');
    assert.equal(history.total, 2);
    assert.deepEqual(
      history.entry.map((e: Json) => [e.resource.meta.versionId, e.resource.status, e.request.method]),
      [
        ['2', 'inactive', 'PUT'],
        ['1', 'active', 'POST'],
      ],
    );
    assert.deepEqual(history.entry[1].resource, created, 'version 1 reads as it was made');
    const first = (await client.vread({ resourceType: 'Flag', id: created.id, version: '1' })) as Json;
    assert.deepEqual(first, created);
    const latest = (await client.vread({ resourceType: 'Flag', id: created.id, version: '2' })) as Json;
    assert.deepEqual(latest, updated);
    assert.equal(
      await auditCount('care.record_read', dorothyId),
      readsBefore + 3,
      'each history read is audited',
    );

    const res = await fetch(`${base}/Flag/${created.id}`, {
      headers: { authorization: `Bearer ${socialWorker}` },
    });
    assert.equal(res.headers.get('etag'), 'W/"2"');
    const none = await failure(client.vread({ resourceType: 'Flag', id: created.id, version: '3' }));
    assert.equal(none.status, 404);
    assert.match(none.data.issue[0].diagnostics, /has no version 3: its versions are 2, 1/);

    // A Patient's history: a change of phone number is version 2; the first version is as registered.
    const patient = (await client.read({ resourceType: 'Patient', id: dorothyId })) as Json;
    const before = Number(patient.meta.versionId);
    await client.update({
      resourceType: 'Patient',
      id: dorothyId,
      body: {
        ...patient,
        resourceType: 'Patient',
        telecom: [{ system: 'phone', value: '01632 960 123', use: 'home' }],
        meta: undefined,
      },
    });
    const patientHistory = (await client.resourceHistory({ resourceType: 'Patient', id: dorothyId })) as Json;
    assert.deepEqual(bundleProblems(patientHistory), []);
    assert.equal(patientHistory.total, before + 1);
    assert.equal(patientHistory.entry[0].resource.telecom[0].value, '01632 960 123');
    assert.deepEqual(patientHistory.entry[1].resource, patient);

    const observations = (await client.search({
      resourceType: 'Observation',
      searchParams: { patient: dorothyId },
    })) as Json;
    assert.equal(observations.total, 0);
    const practitioner = await failure(
      client.resourceHistory({ resourceType: 'Practitioner', id: await practitionerId('Nadia Holloway') }),
    );
    assert.equal(practitioner.status, 400);
    assert.match(practitioner.data.issue[0].diagnostics, /Practitioner has no history here/);
  });

  test('break the glass through the API: a stated reason opens reads only, audited and reported; none is a 403', async () => {
    const outsiderPractitioner = await staffPractitioner('childrenworker@kilnford.example');
    const outsiderToken = await token(outsiderPractitioner, [
      'patient/*.read',
      'user/*.read',
      'user/*.write',
    ]);
    const outsider = fhirClient(outsiderToken);
    const refusedBefore = await auditCount('care.record_access_refused', dorothyId);
    const refused = await failure(outsider.read({ resourceType: 'Patient', id: dorothyId }));
    assert.equal(refused.status, 403);
    assert.equal(refused.data.resourceType, 'OperationOutcome');
    assert.deepEqual(fhirSchemaProblems(refused.data), []);
    assert.match(
      refused.data.issue[0].diagnostics,
      /state why in the X-Break-Glass-Reason header \(or the _breakglass parameter\)/,
    );
    const short = await failure(
      fhirClient(outsiderToken, { 'X-Break-Glass-Reason': 'urgent' }).read({
        resourceType: 'Patient',
        id: dorothyId,
      }),
    );
    assert.equal(short.status, 403);
    assert.match(short.data.issue[0].diagnostics, /in at least 10 characters/);
    assert.equal(await auditCount('care.record_access_refused', dorothyId), refusedBefore + 2);
    assert.equal(await auditCount('care.break_glass', dorothyId), 0);

    const reason = 'Child protection strategy meeting about a grandchild in her care';
    const glass = fhirClient(outsiderToken, { 'X-Break-Glass-Reason': reason });
    const read = (await glass.read({ resourceType: 'Patient', id: dorothyId })) as Json;
    assert.equal(read.id, dorothyId);
    const found = (await glass.search({
      resourceType: 'Patient',
      searchParams: { identifier: DOROTHY },
    })) as Json;
    assert.equal(found.total, 1, 'a search by NHS number finds the person once the glass is broken');
    assert.deepEqual(bundleProblems(found), []);
    const byName = (await glass.search({ resourceType: 'Patient', searchParams: { name: 'Pell' } })) as Json;
    assert.equal(byName.total, 0, 'breaking the glass is no licence to browse by name');
    const conditions = (await outsider.search({
      resourceType: 'Condition',
      searchParams: { patient: dorothyId, _breakglass: reason },
    })) as Json;
    assert.equal(conditions.total, 1, 'the _breakglass parameter works as the header does');

    const entries = await auditEntries(dorothyId);
    const broke = entries.filter((e) => e.action === 'care.break_glass');
    assert.equal(broke.length, 1, 'the glass is broken once an hour, not at each read');
    assert.equal(broke[0]!.detail.reason, reason);
    const glassReads = entries.filter(
      (e) => e.action === 'care.record_read' && e.detail.via === 'break_glass',
    );
    assert.equal(glassReads.length, 3, 'every read through the glass is audited with its reason');
    assert.ok(glassReads.every((e) => e.detail.reason === reason));

    const write = await failure(
      glass.create({
        resourceType: 'Flag',
        body: {
          resourceType: 'Flag',
          status: 'active',
          code: { text: 'Should not be written' },
          subject: { reference: `Patient/${dorothyId}` },
        },
      }),
    );
    assert.equal(write.status, 403, 'the glass opens reads, never writes');

    const mail = await kiln.eventually(async () =>
      (
        await kiln.platform.notify.list(kiln.platform.db, { recipient: 'privacy.officer@kilnford.example' })
      ).find((m) => /Dorothy Pell/.test(m.subject ?? '') && /FHIR API/.test(m.body)),
    );
    assert.match(mail.body, /Owen Pryce \(FHIR API\)/);
    assert.match(mail.body, /strategy meeting/);
    const log = await kiln.services.care.record.listBreakGlass();
    assert.ok(
      log.some((r) => r.staff_name === 'Owen Pryce (FHIR API)' && r.reason === reason),
      'flagged for review',
    );
  });

  test('access matrix through the API: care team, outsider, outsider breaking the glass; every read audited', async () => {
    const gpToken = await token(await practitionerId('Nadia Holloway'), ['patient/*.read']);
    const outsiderToken = await token(await staffPractitioner('childrenworker@kilnford.example'), [
      'patient/*.read',
    ]);
    const glass = { 'X-Break-Glass-Reason': 'Safeguarding enquiry about the household, urgent' };
    const condition = (
      (await fhirClient(gpToken).search({
        resourceType: 'Condition',
        searchParams: { patient: dorothyId },
      })) as Json
    ).entry[0].resource.id;
    const interactions: Array<[string, string]> = [
      ['read Patient', `Patient/${dorothyId}`],
      ['read Condition', `Condition/${condition}`],
      ['search Condition', `Condition?patient=${dorothyId}`],
      ['search Patient _revinclude', `Patient?identifier=${DOROTHY}&_revinclude=Condition:patient`],
      ['history Patient', `Patient/${dorothyId}/_history`],
      ['vread Patient', `Patient/${dorothyId}/_history/1`],
    ];
    const viewers: Array<[string, string, Record<string, string>, 'read' | 'refused', string | undefined]> = [
      ['care team (GP)', gpToken, {}, 'read', 'care_team'],
      ['outside the care team', outsiderToken, {}, 'refused', undefined],
      ['outside, breaking the glass', outsiderToken, glass, 'read', 'break_glass'],
    ];
    for (const [who, bearer, headers, expected, via] of viewers)
      for (const [what, path] of interactions) {
        const before = (await auditEntries(dorothyId)).length;
        const res = await fetch(`${base}/${path}`, {
          headers: { authorization: `Bearer ${bearer}`, ...headers },
        });
        const body = (await res.json()) as Json;
        const entries = (await auditEntries(dorothyId))
          .slice(before)
          .filter((e) => e.action !== 'care.break_glass');
        const label = `${who}: ${what}`;
        if (expected === 'read') {
          assert.equal(res.status, 200, label);
          if (body.resourceType === 'Bundle') {
            assert.ok(body.total >= 1, label);
            assert.deepEqual(bundleProblems(body), [], label);
          } else assert.deepEqual(fhirSchemaProblems(body), [], label);
          assert.deepEqual(
            entries.map((e) => [e.action, e.detail.via]),
            [['care.record_read', via]],
            label,
          );
        } else {
          const patientSearch = path.startsWith('Patient?');
          assert.equal(res.status, patientSearch ? 200 : 403, label);
          if (patientSearch) assert.equal(body.total, 0, label);
          else assert.equal(body.issue[0].code, 'forbidden', label);
          assert.deepEqual(
            entries.map((e) => e.action),
            ['care.record_access_refused'],
            label,
          );
        }
      }
  });
});
