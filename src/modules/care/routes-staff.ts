import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../../platform/auth/identity.ts';
import { UploadError } from '../../platform/files/index.ts';
import type { Platform } from '../../platform/module.ts';
import type { Directory, ServiceInput } from './directory.ts';
import { normalisePostcode } from './directory.ts';
import { encounterKinds } from './fhir-resources.ts';
import { offeredScopes, type FhirTokens } from './fhir-tokens.ts';
import { formatNhsNumber, nhsNumberProblem } from './nhs-number.ts';
import { AccessRefused, RecordNotFound, RecordRuleError, type CareRecord, type Viewer } from './record.ts';
import { dateFrom, notFound } from './routes-public.ts';
import { organisationKinds } from './schema.ts';

type Fields = Record<string, unknown>;
type FieldError = { field: string; text: string };
const str = (body: Fields, key: string) => {
  const v = body?.[key];
  if (v && typeof v === 'object' && 'value' in (v as object))
    return String((v as { value: unknown }).value ?? '').trim();
  return (Array.isArray(v) ? String(v[0] ?? '') : typeof v === 'string' ? v : '').trim();
};
const list = (body: Fields, key: string) => {
  const v = body?.[key];
  return (Array.isArray(v) ? v : v === undefined || v === '' ? [] : [v]).map((x) =>
    x && typeof x === 'object' && 'value' in x ? String((x as { value: unknown }).value) : String(x),
  );
};
const money = (text: string): number | null => {
  const m = text.replace(/[£,\s]/g, '').match(/^(\d{1,7})(?:\.(\d{1,2}))?$/);
  return m ? Number(m[1]) * 100 + Number((m[2] ?? '').padEnd(2, '0')) : null;
};

/** The NHS number field's error, if it is filled in and fails its check digit (or is not 10 digits). */
const nhsNumberErrors = (nhsNumber: string): FieldError[] => {
  const problem = nhsNumber ? nhsNumberProblem(nhsNumber) : null;
  return problem ? [{ field: 'nhsNumber', text: problem }] : [];
};

const genderItems = ['female', 'male', 'other', 'unknown'];
const genderLabels: Record<string, string> = {
  female: 'Female',
  male: 'Male',
  other: 'Other',
  unknown: 'Not known',
};

/** Back-office pages: the shared care record, break the glass, the directory, FHIR clients. */
export function registerStaffRoutes(
  app: FastifyInstance,
  platform: Platform,
  deps: { directory: Directory; record: CareRecord; tokens: FhirTokens },
) {
  const { directory, record, tokens } = deps;
  const recordPermission = { permission: 'care:record' as const };
  const directoryPermission = { permission: 'care:directory' as const };
  const privacyPermission = { permission: 'care:privacy' as const };

  const viewerOf = (request: FastifyRequest) => record.viewerForStaff(request.staff!);
  const idOf = (request: FastifyRequest) => (request.params as { id: string }).id;

  // ------------------------------------------------------------ finding people

  app.get('/staff/care', { config: recordPermission }, async (request, reply) => {
    const q = request.query as Fields;
    const viewer = await viewerOf(request);
    const nhsNumber = str(q, 'nhsNumber');
    const name = str(q, 'name');
    const errors: FieldError[] = [];
    errors.push(...nhsNumberErrors(nhsNumber));
    const searched = Boolean(nhsNumber || name);
    const results =
      searched && !errors.length
        ? await record.findPeople(viewer, { nhsNumber: nhsNumber || undefined, name: name || undefined })
        : [];
    return reply.code(errors.length ? 400 : 200).render('care/views/staff-people.njk', {
      title: 'Care records',
      navSection: 'care',
      values: { nhsNumber, name },
      searched,
      results: results.map((r) => ({ ...r, nhs: formatNhsNumber(r.nhs_number) })),
      errors,
    });
  });

  const personSchema = z.object({
    givenName: z.string().trim().min(1, { error: 'Enter their first name' }).max(100),
    familyName: z.string().trim().min(1, { error: 'Enter their last name' }).max(100),
    gender: z.enum(['female', 'male', 'other', 'unknown'], { error: 'Select their gender, or not known' }),
    address: z.string().trim().max(300),
    postcode: z.string().trim().max(10),
    phone: z.string().trim().max(30),
  });

  /** A back-office form reached from /staff/care: 400 with its errors, 200 without. */
  const formPage = (
    reply: FastifyReply,
    view: string,
    title: string,
    values: Fields,
    errors: FieldError[],
    extra: Record<string, unknown>,
  ) =>
    reply
      .code(errors.length ? 400 : 200)
      .render(view, { title, navSection: 'care', backLink: '/staff/care', ...extra, values, errors });

  const newPersonPage = (reply: FastifyReply, values: Fields, errors: FieldError[] = []) =>
    formPage(reply, 'care/views/staff-person-new.njk', 'Add a person’s care record', values, errors, {
      genders: genderItems.map((g) => ({ value: g, text: genderLabels[g], checked: values.gender === g })),
    });

  app.get('/staff/care/people/new', { config: recordPermission }, async (_request, reply) =>
    newPersonPage(reply, {}),
  );
  app.post('/staff/care/people/new', { config: recordPermission }, async (request, reply) => {
    const body = request.body as Fields;
    const errors: FieldError[] = [];
    const nhsNumber = str(body, 'nhsNumber');
    errors.push(...nhsNumberErrors(nhsNumber));
    const parsed = personSchema.safeParse(
      Object.fromEntries(
        ['givenName', 'familyName', 'gender', 'address', 'postcode', 'phone'].map((k) => [k, str(body, k)]),
      ),
    );
    if (!parsed.success)
      for (const issue of parsed.error.issues)
        errors.push({ field: String(issue.path[0]), text: issue.message });
    const dob = dateFrom(body, 'dob', 'their date of birth', true);
    if (dob.error) errors.push({ field: 'dob-day', text: dob.error });
    const postcode = str(body, 'postcode');
    if (postcode && !normalisePostcode(postcode))
      errors.push({ field: 'postcode', text: 'Enter a real postcode, like KF1 2AB' });
    if (errors.length || !parsed.success) return newPersonPage(reply, body, errors);
    try {
      const person = await record.registerPerson(await viewerOf(request), {
        nhsNumber: nhsNumber || null,
        givenName: parsed.data.givenName,
        familyName: parsed.data.familyName,
        dateOfBirth: dob.value!,
        gender: parsed.data.gender,
        address: parsed.data.address || null,
        postcode: postcode ? normalisePostcode(postcode) : null,
        phone: parsed.data.phone || null,
      });
      request.session.set('flash', 'Care record added. You are the first member of the care team.');
      return reply.redirect(`/staff/care/people/${person.id}`, 303);
    } catch (error) {
      if (error instanceof RecordRuleError)
        return newPersonPage(reply, body, [{ field: error.field, text: error.message }]);
      throw error;
    }
  });

  // ------------------------------------------------------------ the record

  async function recordPage(
    request: FastifyRequest,
    reply: FastifyReply,
    errors: FieldError[] = [],
    values: Fields = {},
  ) {
    const viewer = await viewerOf(request);
    try {
      const r = await record.fullRecord(viewer, idOf(request));
      const practitioners = (await record.practitioners({ limit: 500 })).rows;
      return reply.code(errors.length ? 400 : 200).render('care/views/staff-record.njk', {
        title: `${r.person.given_name} ${r.person.family_name}`,
        navSection: 'care',
        backLink: '/staff/care',
        r,
        nhs: formatNhsNumber(r.person.nhs_number),
        gender: genderLabels[r.person.gender],
        practitioners: practitioners
          .filter((p) => !r.team.some((m) => m.practitioner_id === p.id))
          .map((p) => ({ value: p.id, text: `${p.name}, ${p.role} (${p.organisation_name})` })),
        encounterKinds: Object.entries(encounterKinds).map(([value, k]) => ({ value, text: k.text })),
        viewerPractitionerId: viewer.practitionerId,
        values,
        errors,
      });
    } catch (error) {
      if (error instanceof RecordNotFound) return notFound(reply);
      if (error instanceof AccessRefused)
        return breakGlassPage(reply.code(403), idOf(request), error.message);
      throw error;
    }
  }

  function breakGlassPage(
    reply: FastifyReply,
    personId: string,
    message: string,
    values: Fields = {},
    errors: FieldError[] = [],
  ) {
    return reply.render('care/views/staff-break-glass.njk', {
      title: 'You are not in this person’s care team',
      navSection: 'care',
      backLink: '/staff/care',
      personId,
      message,
      values,
      errors,
    });
  }

  app.get('/staff/care/people/:id', { config: recordPermission }, async (request, reply) =>
    recordPage(request, reply),
  );

  app.post('/staff/care/people/:id/break-glass', { config: recordPermission }, async (request, reply) => {
    const body = request.body as Fields;
    const viewer = await viewerOf(request);
    try {
      await record.breakGlass(
        viewer,
        idOf(request),
        str(body, 'reason'),
        str(body, 'vitalInterest') === 'yes',
      );
      request.session.set(
        'flash',
        'You broke the glass. The privacy officer has been told, and your reason is on record.',
      );
      return reply.redirect(`/staff/care/people/${idOf(request)}`, 303);
    } catch (error) {
      if (error instanceof RecordNotFound) return notFound(reply);
      if (error instanceof RecordRuleError)
        return breakGlassPage(
          reply.code(400),
          idOf(request),
          'You are not in this person’s care team.',
          body,
          [{ field: error.field, text: error.message }],
        );
      throw error;
    }
  });

  /** Runs a change to the record from a form; rule errors come back on the record page. */
  async function change(
    request: FastifyRequest,
    reply: FastifyReply,
    anchor: string,
    fn: (viewer: Viewer, body: Fields) => Promise<FieldError[] | void>,
    flash: string,
  ) {
    const body = request.body as Fields;
    const viewer = await viewerOf(request);
    try {
      const errors = await fn(viewer, body);
      if (errors && errors.length) return recordPage(request, reply, errors, body);
      request.session.set('flash', flash);
      return reply.redirect(`/staff/care/people/${idOf(request)}#${anchor}`, 303);
    } catch (error) {
      if (error instanceof RecordNotFound) return notFound(reply);
      if (error instanceof AccessRefused)
        return breakGlassPage(reply.code(403), idOf(request), error.message);
      if (error instanceof RecordRuleError)
        return recordPage(request, reply, [{ field: error.field, text: error.message }], body);
      if (error instanceof UploadError)
        return recordPage(request, reply, [{ field: 'document', text: error.message }], body);
      throw error;
    }
  }

  app.post('/staff/care/people/:id/team', { config: recordPermission }, (request, reply) =>
    change(
      request,
      reply,
      'team',
      async (viewer, body) => {
        const practitionerId = str(body, 'practitioner');
        const role = str(body, 'teamRole').slice(0, 100);
        if (!practitionerId) return [{ field: 'practitioner', text: 'Choose who to add to the care team' }];
        await record.addTeamMember(viewer, idOf(request), practitionerId, role);
      },
      'Added to the care team',
    ),
  );

  app.post('/staff/care/people/:id/team/remove', { config: recordPermission }, (request, reply) =>
    change(
      request,
      reply,
      'team',
      async (viewer, body) => {
        await record.removeTeamMember(viewer, idOf(request), str(body, 'practitioner'));
      },
      'Removed from the care team',
    ),
  );

  app.post('/staff/care/people/:id/encounters', { config: recordPermission }, (request, reply) =>
    change(
      request,
      reply,
      'encounters',
      async (viewer, body) => {
        const kind = str(body, 'encounterKind');
        const notes = str(body, 'encounterNotes');
        const errors: FieldError[] = [];
        if (!encounterKinds[kind])
          errors.push({ field: 'encounterKind', text: 'Select the kind of contact' });
        if (!notes) errors.push({ field: 'encounterNotes', text: 'Enter what happened' });
        else if (notes.length > 5000)
          errors.push({ field: 'encounterNotes', text: 'Notes must be 5,000 characters or fewer' });
        if (errors.length) return errors;
        await record.addEncounter(viewer, idOf(request), {
          kind,
          status: 'finished',
          startAt: new Date(),
          endAt: null,
          notes,
        });
      },
      'Contact recorded',
    ),
  );

  app.post('/staff/care/people/:id/conditions', { config: recordPermission }, (request, reply) =>
    change(
      request,
      reply,
      'conditions',
      async (viewer, body) => {
        const display = str(body, 'conditionDisplay');
        const code = str(body, 'conditionCode');
        if (!display) return [{ field: 'conditionDisplay', text: 'Enter the condition' }];
        if (code && !/^\d{6,18}$/.test(code))
          return [{ field: 'conditionCode', text: 'A SNOMED CT code is 6 to 18 digits' }];
        await record.addCondition(viewer, idOf(request), {
          code: code || null,
          display: display.slice(0, 200),
          clinicalStatus: 'active',
          onsetDate: null,
        });
      },
      'Condition added',
    ),
  );

  app.post('/staff/care/people/:id/medications', { config: recordPermission }, (request, reply) =>
    change(
      request,
      reply,
      'medications',
      async (viewer, body) => {
        const display = str(body, 'medicationDisplay');
        if (!display) return [{ field: 'medicationDisplay', text: 'Enter the medicine' }];
        await record.addMedication(viewer, idOf(request), {
          code: null,
          display: display.slice(0, 200),
          dosage: str(body, 'medicationDosage').slice(0, 200) || null,
          status: 'active',
          effectiveFrom: null,
        });
      },
      'Medicine added',
    ),
  );

  app.post('/staff/care/people/:id/plans', { config: recordPermission }, (request, reply) =>
    change(
      request,
      reply,
      'plans',
      async (viewer, body) => {
        const title = str(body, 'planTitle');
        const description = str(body, 'planDescription');
        const errors: FieldError[] = [];
        if (!title) errors.push({ field: 'planTitle', text: 'Enter a title for the care plan' });
        if (!description) errors.push({ field: 'planDescription', text: 'Enter what the plan is' });
        if (errors.length) return errors;
        await record.addCarePlan(viewer, idOf(request), {
          title: title.slice(0, 200),
          description: description.slice(0, 10_000),
          status: 'active',
          periodStart: new Date().toISOString().slice(0, 10),
          periodEnd: null,
        });
      },
      'Care plan added',
    ),
  );

  app.post('/staff/care/people/:id/contacts', { config: recordPermission }, (request, reply) =>
    change(
      request,
      reply,
      'contacts',
      async (viewer, body) => {
        const name = str(body, 'contactName');
        const relationship = str(body, 'contactRelationship');
        const errors: FieldError[] = [];
        if (!name) errors.push({ field: 'contactName', text: 'Enter the contact’s name' });
        if (!relationship)
          errors.push({ field: 'contactRelationship', text: 'Enter how they are related, like daughter' });
        if (errors.length) return errors;
        await record.addRelatedPerson(viewer, idOf(request), {
          name: name.slice(0, 100),
          relationship: relationship.slice(0, 100),
          phone: str(body, 'contactPhone').slice(0, 30) || null,
          email: null,
          emergency_contact: str(body, 'contactEmergency') === 'yes',
        });
      },
      'Contact added',
    ),
  );

  app.post('/staff/care/people/:id/flags', { config: recordPermission }, (request, reply) =>
    change(
      request,
      reply,
      'alerts',
      async (viewer, body) => {
        const display = str(body, 'flagDisplay');
        if (!display)
          return [{ field: 'flagDisplay', text: 'Enter the alert, like "Key safe: code held by carer"' }];
        await record.addFlag(viewer, idOf(request), {
          code: 'staff-alert',
          display: display.slice(0, 200),
          category: 'safety',
        });
      },
      'Alert added',
    ),
  );

  app.post('/staff/care/people/:id/objection', { config: recordPermission }, (request, reply) =>
    change(
      request,
      reply,
      'sharing',
      async (viewer, body) => {
        await record.setObjection(actorOf(request), idOf(request), str(body, 'objection') === 'yes', viewer);
      },
      'Sharing preference recorded',
    ),
  );

  app.post('/staff/care/people/:id/budgets', { config: recordPermission }, (request, reply) =>
    change(
      request,
      reply,
      'budget',
      async (viewer, body) => {
        const amount = money(str(body, 'budgetAmount'));
        if (amount === null || amount <= 0)
          return [{ field: 'budgetAmount', text: 'Enter the yearly budget in pounds, like 4800' }];
        const start = new Date();
        const end = new Date(start.getTime() + 364 * 86_400_000);
        await record.addBudget(viewer, idOf(request), {
          periodStart: start.toISOString().slice(0, 10),
          periodEnd: end.toISOString().slice(0, 10),
          amountPence: amount,
        });
      },
      'Personal budget set',
    ),
  );

  app.post('/staff/care/people/:id/documents', { config: recordPermission }, (request, reply) =>
    change(
      request,
      reply,
      'documents',
      async (viewer, body) => {
        const title = str(body, 'documentTitle');
        const file = body?.document as { filename?: string; toBuffer?: () => Promise<Buffer> } | undefined;
        const errors: FieldError[] = [];
        if (!title) errors.push({ field: 'documentTitle', text: 'Enter a title for the document' });
        const content = file?.toBuffer ? await file.toBuffer() : null;
        if (!content || !content.length) errors.push({ field: 'document', text: 'Select a file' });
        if (errors.length) return errors;
        await record.addDocument(
          viewer,
          idOf(request),
          { name: file!.filename ?? 'document', content: content! },
          title.slice(0, 200),
        );
      },
      'Document added',
    ),
  );

  app.get('/staff/care/documents/:id', { config: recordPermission }, async (request, reply) => {
    try {
      const doc = await record.readDocument(await viewerOf(request), idOf(request));
      return reply
        .type(doc.media_type)
        .header('Content-Disposition', `inline; filename="${doc.name.replace(/"/g, '')}"`)
        .header('Cache-Control', 'no-store')
        .send(doc.content);
    } catch (error) {
      if (error instanceof RecordNotFound) return notFound(reply);
      if (error instanceof AccessRefused)
        return reply.code(403).render('pages/error.njk', {
          title: 'You do not have access to this',
          heading: 'You do not have access to this',
          paragraphs: [error.message],
        });
      throw error;
    }
  });

  // ------------------------------------------------------------ practitioners of other organisations

  const practitionerPage = (reply: FastifyReply, values: Fields, errors: FieldError[] = []) =>
    formPage(
      reply,
      'care/views/staff-practitioner-new.njk',
      'Add a professional from another organisation',
      values,
      errors,
      {
        kinds: organisationKinds
          .filter((k) => k !== 'council')
          .map((k) => ({
            value: k,
            text: k.replace('_', ' ').replace(/^./, (c) => c.toUpperCase()),
            selected: values.organisationKind === k,
          })),
      },
    );
  app.get('/staff/care/practitioners/new', { config: recordPermission }, async (_request, reply) =>
    practitionerPage(reply, {}),
  );
  app.post('/staff/care/practitioners/new', { config: recordPermission }, async (request, reply) => {
    const body = request.body as Fields;
    const errors: FieldError[] = [];
    const name = str(body, 'name');
    const role = str(body, 'role');
    const organisationName = str(body, 'organisationName');
    const kind = str(body, 'organisationKind');
    const mail = str(body, 'email');
    if (!name) errors.push({ field: 'name', text: 'Enter their full name' });
    if (!role) errors.push({ field: 'role', text: 'Enter their role, like GP or school nurse' });
    if (!organisationName) errors.push({ field: 'organisationName', text: 'Enter their organisation' });
    if (!(organisationKinds as readonly string[]).includes(kind) || kind === 'council')
      errors.push({ field: 'organisationKind', text: 'Select the kind of organisation' });
    if (mail && !z.email().safeParse(mail).success)
      errors.push({ field: 'email', text: 'Enter an email address in the correct format' });
    if (errors.length) return practitionerPage(reply, body, errors);
    await record.addPractitioner(actorOf(request), {
      name: name.slice(0, 100),
      role: role.slice(0, 100),
      email: mail || null,
      organisationName: organisationName.slice(0, 200),
      organisationKind: kind as (typeof organisationKinds)[number],
      odsCode: str(body, 'odsCode').toUpperCase().slice(0, 10) || null,
    });
    request.session.set('flash', `${name} can now be added to care teams`);
    return reply.redirect('/staff/care', 303);
  });

  // ------------------------------------------------------------ privacy officer

  app.get('/staff/care/break-glass', { config: privacyPermission }, async (_request, reply) =>
    reply.render('care/views/staff-break-glass-log.njk', {
      title: 'Care records opened by breaking the glass',
      navSection: 'care',
      rows: await record.listBreakGlass(),
    }),
  );

  // ------------------------------------------------------------ FHIR API clients

  const clientsPage = async (
    request: FastifyRequest,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
  ) => {
    const viewer = await viewerOf(request);
    return reply.render('care/views/staff-api-clients.njk', {
      title: 'FHIR API access',
      navSection: 'care',
      backLink: '/staff/care',
      clients: await tokens.clientsOf(viewer.practitionerId),
      scopes: offeredScopes.map((s) => ({ value: s.value, text: s.value, hint: { text: s.text } })),
      tokenUrl: `${platform.config.PUBLIC_URL}/fhir/R4/auth/token`,
      values: {},
      ...extra,
    });
  };
  app.get('/staff/care/api-clients', { config: recordPermission }, async (request, reply) =>
    clientsPage(request, reply),
  );
  app.post('/staff/care/api-clients', { config: recordPermission }, async (request, reply) => {
    const body = request.body as Fields;
    const name = str(body, 'clientName');
    const scopes = list(body, 'scopes').filter((s) => offeredScopes.some((o) => o.value === s));
    const errors: FieldError[] = [];
    if (!name)
      errors.push({ field: 'clientName', text: 'Enter a name for the system that will use the API' });
    if (!scopes.length) errors.push({ field: 'scopes', text: 'Select at least one scope' });
    if (errors.length) return clientsPage(request, reply.code(400), { errors, values: body });
    const viewer = await viewerOf(request);
    const client = await tokens.registerClient(
      actorOf(request),
      viewer.practitionerId,
      name.slice(0, 100),
      scopes,
    );
    return clientsPage(request, reply, {
      created: { clientId: client.client_id, secret: client.secret, scopes: scopes.join(' ') },
    });
  });
  app.post('/staff/care/api-clients/:id/revoke', { config: recordPermission }, async (request, reply) => {
    const viewer = await viewerOf(request);
    await tokens.revokeClient(actorOf(request), idOf(request), viewer.practitionerId);
    request.session.set('flash', 'Client revoked: its tokens no longer work');
    return reply.redirect('/staff/care/api-clients', 303);
  });

  // ------------------------------------------------------------ directory maintenance

  app.get('/staff/care/directory', { config: directoryPermission }, async (_request, reply) =>
    reply.render('care/views/staff-directory.njk', {
      title: 'Care and support directory',
      navSection: 'care-directory',
      services: await directory.search({ includeInactive: true }),
    }),
  );

  const servicePage = async (
    reply: FastifyReply,
    id: string | null,
    values: Fields,
    errors: FieldError[] = [],
  ) => {
    const terms = await directory.terms();
    const chosen = list(values, 'terms');
    return reply.code(errors.length ? 400 : 200).render('care/views/staff-directory-form.njk', {
      title: id ? 'Change a directory entry' : 'Add a directory entry',
      navSection: 'care-directory',
      backLink: '/staff/care/directory',
      action: id ? `/staff/care/directory/services/${id}` : '/staff/care/directory/new',
      terms: terms.map((t) => ({ value: t.id, text: t.term, checked: chosen.includes(t.id) })),
      values,
      errors,
    });
  };

  app.get('/staff/care/directory/new', { config: directoryPermission }, async (_request, reply) =>
    servicePage(reply, null, { status: 'active' }),
  );
  app.get('/staff/care/directory/services/:id', { config: directoryPermission }, async (request, reply) => {
    const s = await directory.service(idOf(request));
    if (!s) return notFound(reply);
    const l = s.locations[0];
    return servicePage(reply, s.id, {
      organisationName: s.organisation_name,
      name: s.name,
      description: s.description,
      url: s.url ?? '',
      email: s.email ?? '',
      phone: s.phone ?? '',
      status: s.status,
      fees: s.fees_description ?? '',
      eligibility: s.eligibility_description ?? '',
      minimumAge: s.minimum_age ?? '',
      maximumAge: s.maximum_age ?? '',
      terms: s.taxonomy.map((t) => t.id),
      locationName: l?.name ?? '',
      address1: l?.address_1 ?? '',
      city: l?.city ?? '',
      postcode: l?.postcode ?? '',
      lat: l?.latitude ?? '',
      lng: l?.longitude ?? '',
    });
  });

  async function saveService(request: FastifyRequest, reply: FastifyReply, id: string | null) {
    const body = request.body as Fields;
    const parsed = parseServiceForm(body);
    if ('errors' in parsed) return servicePage(reply, id, body, parsed.errors);
    const terms = (await directory.terms()).map((t) => t.id);
    parsed.input.termIds = parsed.input.termIds.filter((t) => terms.includes(t));
    const savedId = await directory.save(actorOf(request), id, parsed.input);
    platform.pageCache.clear?.();
    request.session.set('flash', id ? 'Directory entry changed' : 'Directory entry added');
    return reply.redirect(`/staff/care/directory#service-${savedId}`, 303);
  }
  app.post('/staff/care/directory/new', { config: directoryPermission }, (request, reply) =>
    saveService(request, reply, null),
  );
  app.post('/staff/care/directory/services/:id', { config: directoryPermission }, async (request, reply) => {
    if (!(await directory.service(idOf(request)))) return notFound(reply);
    return saveService(request, reply, idOf(request));
  });
}

/** Validates the directory entry form, naming each field at fault. */
export function parseServiceForm(body: Fields): { input: ServiceInput } | { errors: FieldError[] } {
  const errors: FieldError[] = [];
  const organisationName = str(body, 'organisationName');
  const name = str(body, 'name');
  const description = str(body, 'description');
  if (!organisationName)
    errors.push({ field: 'organisationName', text: 'Enter the organisation that runs the service' });
  if (!name) errors.push({ field: 'name', text: 'Enter the name of the service' });
  else if (name.length > 150) errors.push({ field: 'name', text: 'Name must be 150 characters or fewer' });
  if (!description) errors.push({ field: 'description', text: 'Enter what the service does' });
  const url = str(body, 'url');
  if (url && !/^https?:\/\/[^\s]+\.[^\s]+$/.test(url))
    errors.push({ field: 'url', text: 'Enter a website address starting https://' });
  const mail = str(body, 'email');
  if (mail && !z.email().safeParse(mail).success)
    errors.push({ field: 'email', text: 'Enter an email address in the correct format' });
  const age = (key: string, label: string) => {
    const v = str(body, key);
    if (!v) return null;
    if (!/^\d{1,3}$/.test(v) || Number(v) > 120) {
      errors.push({ field: key, text: `Enter the ${label} age in years, like 18` });
      return null;
    }
    return Number(v);
  };
  const minimumAge = age('minimumAge', 'lowest');
  const maximumAge = age('maximumAge', 'highest');
  if (minimumAge !== null && maximumAge !== null && minimumAge > maximumAge)
    errors.push({ field: 'maximumAge', text: 'The highest age must be the same as or more than the lowest' });
  const status = str(body, 'status') === 'inactive' ? 'inactive' : 'active';
  const address1 = str(body, 'address1');
  let location: ServiceInput['location'] = null;
  if (address1) {
    const postcode = normalisePostcode(str(body, 'postcode'));
    const lat = Number(str(body, 'lat'));
    const lng = Number(str(body, 'lng'));
    if (!postcode) errors.push({ field: 'postcode', text: 'Enter the postcode of the place' });
    if (!str(body, 'lat') || !Number.isFinite(lat) || lat < 49 || lat > 61)
      errors.push({ field: 'lat', text: 'Enter a latitude in the UK, like 52.95' });
    if (!str(body, 'lng') || !Number.isFinite(lng) || lng < -9 || lng > 2)
      errors.push({ field: 'lng', text: 'Enter a longitude in the UK, like -2.15' });
    location = {
      name: str(body, 'locationName') || name,
      address1,
      city: str(body, 'city') || 'Kilnford',
      postcode: postcode ?? '',
      lat,
      lng,
    };
  }
  if (errors.length) return { errors };
  return {
    input: {
      organisationName,
      name,
      description: description.slice(0, 5000),
      url: url || null,
      email: mail || null,
      phone: str(body, 'phone').slice(0, 40) || null,
      status,
      feesDescription: str(body, 'fees').slice(0, 500) || null,
      eligibilityDescription: str(body, 'eligibility').slice(0, 1000) || null,
      minimumAge,
      maximumAge,
      termIds: list(body, 'terms'),
      location,
    },
  };
}
