import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { parquetReadObjects } from 'hyparquet';
import { sql } from 'kysely';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import type { Actor } from '../../platform/actor.ts';
import { londonDay } from '../../platform/time.ts';
import { wards } from '../requests/index.ts';
import { forecastWeekly } from './forecast.ts';
import * as store from './store.ts';

const SERVICE = 'insights-test-service';

describe('Insights: the warehouse, the success measures and the explorer', () => {
  let kiln: TestKiln;
  let analyst: Client;
  let staffId: string;
  let actor: Actor;

  before(async () => {
    kiln = await startTestApp();
    analyst = await staffClient(kiln, 'analyst@kilnford.example');
    const workers = await kiln.services.cases.service.listCaseWorkers(kiln.platform.db);
    staffId = workers.find((w) => w.email === 'officer@kilnford.example')!.id;
    actor = { type: 'staff', id: staffId };
  });
  after(async () => kiln.close());

  const insights = () => kiln.services.insights.service;

  async function newCase(
    channel: 'web' | 'phone' | 'app' | 'face_to_face',
    sla: { value: number; unit: 'hours' },
  ) {
    return kiln.platform.db.transaction().execute((tx) =>
      kiln.services.cases.service.createCase(tx, {
        service: { slug: SERVICE, title: 'Insights test service', version: 1, teamCode: 'housing', sla },
        residentId: null,
        channel,
        answers: {},
        summary: 'A request made for the insights test',
        idempotencyKey: `insights-${Math.random()}`,
        actor,
        contactEmail: 'someone@example.com',
      } as never),
    );
  }

  async function resolve(caseId: string) {
    const c = await kiln.services.cases.service.findByReference(kiln.platform.db, caseId);
    await kiln.platform.db.transaction().execute((tx) =>
      kiln.services.cases.service.changeStatus(tx, {
        caseId: c!.id,
        status: 'resolved',
        reason: 'Done',
        actor,
      } as never),
    );
  }

  test('channel shift and requests resolved within their target match the hand-computed values', async () => {
    // Four requests: three online (web, web, app) and one by phone: 75% online.
    const a = await newCase('web', { value: 48, unit: 'hours' });
    const b = await newCase('web', { value: 0, unit: 'hours' });
    await newCase('phone', { value: 48, unit: 'hours' });
    await newCase('app', { value: 48, unit: 'hours' });
    // One resolved within 48 hours, one past a target that was due the moment it arrived: 50%.
    await new Promise((r) => setTimeout(r, 20));
    await resolve(a.reference);
    await resolve(b.reference);
    await insights().load();

    const today = londonDay();
    const panels = await insights().measures({
      from: today,
      to: today,
      ward: null,
      service: SERVICE,
      team: null,
    });
    const shift = panels.find((p) => p.id === 'channel-shift')!;
    assert.deepEqual(
      shift.csv.rows.map((r) => [r.digital, r.total]),
      [[3, 4]],
    );
    assert.match(shift.headline, /^75% of 4 requests were made online/);
    const sla = panels.find((p) => p.id === 'sla')!;
    assert.deepEqual(
      sla.csv.rows.map((r) => [r.resolved, r.with_sla, r.within]),
      [[2, 2, 1]],
    );
    assert.match(sla.headline, /^50% of 2 requests/);
    // Modules with no events yet say so rather than showing zero.
    const video = panels.find((p) => p.id === 'video-consultations')!;
    assert.equal(video.hasData, false);
    assert.equal(video.headline, 'No data yet');
  });

  test('cash share and online revenue move by exactly the payments made', async () => {
    const today = londonDay();
    const all = { from: today, to: today, ward: null, service: null, team: null };
    const sum = (rows: Array<Record<string, unknown>>, key: string) =>
      rows.reduce((n, r) => n + Number(r[key] ?? 0), 0);
    await insights().load();
    const before = (await insights().measures(all)).find((p) => p.id === 'payments')!.csv.rows;
    const payments = kiln.services.payments.service;
    const resident = { type: 'resident' as const, id: null };
    const pay = async (key: string, amount: number, method: 'cash_desk' | 'direct_debit', who: Actor) =>
      kiln.platform.db.transaction().execute(async (tx) => {
        const p = await payments.createPayment(tx, {
          amount,
          description: 'Insights test payment',
          payer: { email: 'payer@example.com' },
          paysFor: { type: 'insights-test', id: key },
          idempotencyKey: `insights-pay-${key}`,
          method,
          channel: method === 'cash_desk' ? 'face_to_face' : 'web',
          actor: who,
        } as never);
        await payments.recordReceipt(tx, {
          payment: p.id,
          kind: method === 'cash_desk' ? 'cash_receipt' : 'dd_collection',
          provider: method === 'cash_desk' ? 'cash_desk' : 'bacs',
          providerReference: `insights-${key}`,
          actor: who,
        });
      });
    await pay('one', 1000, 'cash_desk', actor);
    await pay('two', 2000, 'cash_desk', actor);
    await pay('three', 3000, 'cash_desk', actor);
    await pay('four', 2500, 'direct_debit', resident);
    await insights().load();
    const after = (await insights().measures(all)).find((p) => p.id === 'payments')!.csv.rows;
    assert.equal(sum(after, 'count') - sum(before, 'count'), 4);
    assert.equal(sum(after, 'cash') - sum(before, 'cash'), 3);
    assert.equal(sum(after, 'total_pence') - sum(before, 'total_pence'), 8500);
    assert.equal(sum(after, 'online_pence') - sum(before, 'online_pence'), 2500);
  });

  test('the dashboard shows every panel with an accessible chart and a table, and a CSV of each', async () => {
    const response = await analyst.get('/staff/insights');
    assert.equal(response.statusCode, 200);
    const p = page(response.body);
    assert.equal(p.heading(), 'Success measures');
    const headings = p.root.querySelectorAll('main h2').map((h) => h.text.trim());
    for (const title of [
      'Requests made digitally rather than by phone or face to face',
      'Cash share of payments and online revenue',
      'Residents who have gone paperless',
      'Library PC and digital-skills bookings',
      'Video consultations',
      'Homes with sensors and alerts handled',
      'Requests resolved within their service level',
      'Planning applications determined within time',
      'Consultation responses',
    ])
      assert.ok(headings.includes(title), `missing panel ${title}`);
    const charts = p.root.querySelectorAll('svg[role="img"]');
    assert.ok(charts.length >= 2);
    for (const svg of charts) {
      const ids = svg.getAttribute('aria-labelledby')!.split(' ');
      assert.ok(svg.querySelector(`title#${ids[0]}`)?.text);
      assert.ok(svg.querySelector(`desc#${ids[1]}`)?.text);
    }
    assert.match(p.text(), /No data yet/);

    const csv = await analyst.get(`/staff/insights/panels/channel-shift.csv?service=${SERVICE}`);
    assert.equal(csv.statusCode, 200);
    assert.match(String(csv.headers['content-type']), /text\/csv/);
    assert.match(csv.body, /^week,digital,total\r\n\d{4}-\d{2}-\d{2},3,4\r\n$/);
  });

  test('a malformed date filter is an error message beside the field, not a failure', async () => {
    const response = await analyst.get('/staff/insights?from=2026-13-45&to=yesterday');
    assert.equal(response.statusCode, 400);
    assert.deepEqual(page(response.body).errorSummary(), [
      'The start of the period must be a real date, like 2026-09-01',
      'The end of the period must be a real date, like 2026-11-30',
    ]);
    const backwards = await analyst.get('/staff/insights?from=2026-11-01&to=2026-10-01');
    assert.equal(backwards.statusCode, 400);
    assert.deepEqual(page(backwards.body).errorSummary(), [
      'The end of the period must be the same as or after the start',
    ]);
    const csv = await analyst.get('/staff/insights/panels/sla.csv?from=nonsense');
    assert.equal(csv.statusCode, 400);
  });

  test('the team dashboard shows open cases, ageing, SLA risk and workload per officer', async () => {
    await insights().load();
    const response = await analyst.get('/staff/insights/teams?team=housing');
    assert.equal(response.statusCode, 200);
    // The same open cases as the team's own queue in the back office.
    const queue = await kiln.services.cases.service.queue(
      kiln.platform.db,
      {
        team: 'housing',
        statuses: ['received', 'in_progress', 'waiting_for_customer'],
        assignee: { kind: 'anyone' },
        sla: null,
        service: null,
        channel: null,
      } as never,
      { offset: 0, limit: 1000 },
    );
    const p = page(response.body);
    assert.match(p.text(), new RegExp(`${queue.total} open cases`));
    const unassigned = queue.rows.filter((r) => !r.assigned_to).length;
    const row = p.root
      .querySelectorAll('tr')
      .find((tr) => tr.querySelector('th')?.text.trim() === 'Unassigned');
    assert.equal(row?.querySelectorAll('td')[0]?.text.trim(), String(unassigned));
    assert.ok(page(response.body).root.querySelector('svg[role="img"] title'));
  });

  test('forecasts show 12 weeks ahead per service with the error measured on held-out weeks', async () => {
    const response = await analyst.get('/staff/insights/forecasts');
    assert.equal(response.statusCode, 200);
    assert.match(page(response.body).text(), new RegExp(SERVICE));
  });

  test('a seasonal forecast learns the season and reports its held-out error', () => {
    // Three years of a weekly pattern with a yearly peak: Holt-Winters should beat naive.
    const series = Array.from(
      { length: 156 },
      (_, i) => 100 + 40 * Math.sin((2 * Math.PI * i) / 52) + (i % 3),
    );
    const f = forecastWeekly(series);
    assert.match(f.method, /Holt-Winters/);
    assert.equal(f.forecast.length, 12);
    assert.ok(f.error && f.error.weeks === 12);
    assert.ok(f.error.mase !== null && f.error.mase < 1, `scaled error ${f.error.mase}`);
    // Between one and two years: the same week last year.
    const naive = forecastWeekly(series.slice(0, 60));
    assert.match(naive.method, /Seasonal naive/);
    assert.deepEqual(
      naive.forecast.slice(0, 3),
      series.slice(8, 11).map((v) => Math.round(v * 10) / 10),
    );
    assert.equal(forecastWeekly([3, 4]).error, null);
  });

  test('the explorer runs read-only queries over the analytics tables, with a chart and saved queries', async () => {
    await analyst.get('/staff/insights/explorer');
    const run = await analyst.post('/staff/insights/explorer', {
      query: `select channel, count(*) as requests from fact_case where service = '${SERVICE}' group by channel order by channel`,
      chart: 'bar',
    });
    assert.equal(run.statusCode, 200, page(run.body).errorSummary().join());
    const p = page(run.body);
    assert.match(p.text(), /3 rows/);
    assert.match(p.text(), /web\s*2/);
    assert.ok(p.root.querySelector('svg[role="img"]'));
    const saved = await analyst.post('/staff/insights/explorer/save', {
      query: 'select count(*) as events from analytics.fact_event',
      chart: 'none',
      title: 'All events',
    });
    assert.equal(saved.statusCode, 303);
    const again = await analyst.follow(saved);
    assert.ok(
      page(again.body)
        .links()
        .some((l) => l.text === 'All events'),
    );
    assert.match(page(again.body).text(), /1 row/);
  });

  test('on PostgreSQL the explorer logs in as the reader role, and the database stops every way back', async () => {
    const reader = await insights().explorerConnection();
    if (kiln.platform.database.kind === 'embedded') {
      // PGlite has one connection, whose user may switch roles: the explorer sets the reader role for
      // each query's transaction and the parser refuses set_config and SET (docs/decisions/insights-explorer.md).
      assert.equal(reader, null);
      const r = await insights().runQuery("select set_config('role', 'postgres', false)", actor);
      assert.equal(r.ok, false);
      return;
    }
    assert.ok(reader, 'the reader login connection was not opened');
    const who = async () =>
      (await sql<{ u: string; s: string }>`select current_user as u, session_user as s`.execute(reader.db))
        .rows[0];
    assert.deepEqual(await who(), { u: 'kiln_insights_reader', s: 'kiln_insights_reader' });
    // Straight to the database, past the parser: each way back to a stronger role is refused.
    const options = { rowLimit: 10, timeoutMs: 5000, maxCost: 1e9, useRole: false };
    await assert.rejects(
      store.runReadOnly(reader.db, "select set_config('role', 'postgres', false) as r", options),
      /permission denied to set role/,
    );
    await assert.rejects(
      sql`select set_config('role', 'postgres', false)`.execute(reader.db),
      /permission denied/,
    );
    await assert.rejects(sql.raw('set role postgres').execute(reader.db), /permission denied/);
    await sql.raw('reset role').execute(reader.db);
    assert.deepEqual(await who(), { u: 'kiln_insights_reader', s: 'kiln_insights_reader' });
    await assert.rejects(
      sql`select count(*) from public.staff_users`.execute(reader.db),
      /permission denied/,
    );
    await assert.rejects(
      store.runReadOnly(reader.db, 'select count(*) as n from public.residents', options),
      /permission denied/,
    );
    // What it is for still works, through the explorer.
    const ok = await insights().runQuery('select count(*) as n from fact_case', actor);
    assert.equal(ok.ok, true);
  });

  test('on PostgreSQL the explorer logs in again when another database on the server changed the reader role', async (t) => {
    if (kiln.platform.database.kind === 'embedded') {
      t.diagnostic('PGlite has no login roles: nothing to log in again');
      assert.equal(await insights().explorerConnection(), null);
      return;
    }
    assert.equal((await insights().runQuery('select count(*) as n from fact_case', actor)).ok, true);
    // The role is the server's: another Kiln may set a new password or take the login away (a server
    // that trusts local connections checks no password, so the login is what this test takes).
    await sql
      .raw(`alter role kiln_insights_reader with nologin password '${'ab'.repeat(32)}'`)
      .execute(kiln.platform.db);
    await sql`select pg_terminate_backend(pid) from pg_stat_activity
               where usename = 'kiln_insights_reader' and datname = current_database()`.execute(
      kiln.platform.db,
    );
    const again = await insights().runQuery('select count(*) as n from fact_case', actor);
    assert.equal(again.ok, true, again.ok ? '' : again.message);
  });

  test('the explorer refuses writes, other schemas, endless and enormous queries with a clear message', async () => {
    const refused: Array<[string, RegExp]> = [
      ['delete from fact_event', /must start with SELECT/],
      ['select 1; drop table analytics.fact_event', /without semicolons/],
      ['with x as (delete from fact_event returning 1) select * from x', /DELETE is not allowed/],
      ['select * from public.residents', /only read the analytics tables, not public/],
      ['select * from residents', /only read the analytics tables, not residents/],
      ['select * from fact_case, staff_users', /only read the analytics tables, not staff_users/],
      ['select * from pg_catalog.pg_authid', /not pg_catalog/],
      ['select pg_sleep(60)', /pg_sleep is not available/],
      // The session's user may switch roles, so the role is not enough: the parser refuses these in any spelling.
      ["select set_config('role', 'postgres', true)", /set_config is not available/],
      ['select "set_config"($$role$$, $$postgres$$, true)', /set_config is not available/],
      ["select ts_stat('select 1')", /ts_stat is not available/],
      ["select * from fact_case where reference = 'x", /not closed/],
      [
        'select count(*) from fact_event a, fact_event b, fact_event c, fact_event d, fact_event e, fact_event f',
        /too much of the warehouse/,
      ],
      ['select nosuchcolumn from fact_case', /could not run the query: column "nosuchcolumn" does not exist/],
    ];
    await analyst.get('/staff/insights/explorer');
    for (const [query, message] of refused) {
      const response = await analyst.post('/staff/insights/explorer', { query, chart: 'none' });
      assert.equal(response.statusCode, 400, query);
      assert.match(page(response.body).errorSummary().join(' '), message, query);
    }
    // Millions of rows: cut at the limit, and said so.
    const big = await analyst.post('/staff/insights/explorer', {
      query: 'select g from generate_series(1, 5000) g',
      chart: 'none',
    });
    assert.equal(big.statusCode, 200, page(big.body).errorSummary().join());
    assert.match(page(big.body).text(), /1000 rows: the result was cut at 1000 rows/);
  });

  test('even past the parser, the database refuses: reader role, read-only, timeout', async () => {
    // Straight to the database, as if the parser had missed a way of naming a table.
    const db = kiln.platform.db;
    const options = { rowLimit: 10, timeoutMs: 2000, maxCost: 1e9, useRole: true };
    assert.ok(await store.readerRoleExists(db));
    await assert.rejects(
      store.runReadOnly(db, 'select * from public.staff_users', options),
      /permission denied/,
    );
    await assert.rejects(
      store.runReadOnly(
        db,
        'select * from fact_case where (select count(*) from insights_saved_queries) > 0',
        options,
      ),
      /does not exist|permission denied/,
    );
    const ok = await store.runReadOnly(db, 'select count(*) as n from fact_case', options);
    assert.equal(ok.rows.length, 1);
    if (process.env.DATABASE_URL) {
      // PostgreSQL stops a long query at the timeout (PGlite cannot cancel: the cost limit guards it).
      // The series' length comes from a subquery, so the planner cannot see how long it runs.
      const started = Date.now();
      const slow = await insights().runQuery(
        'select count(*) from generate_series(1, (select 2000000000)) g',
        actor,
      );
      assert.ok(!slow.ok && /took too long/.test(slow.message), JSON.stringify(slow));
      assert.ok(Date.now() - started < 30_000, 'stopped at the timeout, not run to the end');
    }
  });

  test('only team leaders and administrators may use the explorer', async () => {
    const officer = await staffClient(kiln, 'officer@kilnford.example');
    assert.equal((await officer.get('/staff/insights/explorer')).statusCode, 403);
    const admin = await staffClient(kiln, 'admin@kilnford.example');
    assert.equal((await admin.get('/staff/insights/explorer')).statusCode, 200);
  });

  test('every fact table exports as CSV and as Parquet with the same rows', async () => {
    const csv = await analyst.get('/staff/insights/exports/fact_case.csv');
    assert.equal(csv.statusCode, 200);
    const csvRows = csv.body.trim().split('\r\n').length - 1;
    const parquet = await analyst.get('/staff/insights/exports/fact_case.parquet');
    assert.equal(parquet.statusCode, 200);
    const buffer = parquet.rawPayload;
    const rows = await parquetReadObjects({
      file: buffer.buffer.slice(buffer.byteOffset, buffer.byteOffset + buffer.byteLength) as ArrayBuffer,
    });
    assert.equal(rows.length, csvRows);
    assert.ok(rows.some((r) => r.service === SERVICE && r.channel === 'phone'));
    assert.equal((await analyst.get('/staff/insights/exports/residents.csv')).statusCode, 404);
  });

  test('open data: a catalogue with licence and DCAT, CSV and JSON, and no personal data anywhere', async () => {
    await kiln.services.insights.service.refreshOpenData();
    const visitor = new Client(kiln.app);
    const catalogue = await visitor.get('/open-data');
    assert.equal(catalogue.statusCode, 200);
    const p = page(catalogue.body);
    assert.equal(p.heading(), 'Open data');
    assert.ok(p.links().some((l) => l.text === 'Open Government Licence v3.0'));
    const dcat = JSON.parse((await visitor.get('/open-data/catalog.jsonld')).body);
    assert.equal(dcat['@type'], 'dcat:Catalog');
    assert.deepEqual(
      dcat['dcat:dataset'].map((d: Record<string, unknown>) => d['dct:identifier']),
      ['service-requests', 'planning-applications', 'services', 'locations'],
    );
    for (const d of dcat['dcat:dataset'])
      assert.equal(
        d['dct:license']['@id'],
        'https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/',
      );

    const requests = JSON.parse((await visitor.get('/open-data/service-requests.json')).body);
    assert.ok(requests.rows.some((r: Record<string, unknown>) => r.service === SERVICE));
    assert.ok(
      (await visitor.get('/open-data/services.csv')).body.startsWith('slug,title,team,topic,fee_pence'),
    );
    // Locations: every council ward by code and name, from Report it's geography.
    const locations = JSON.parse((await visitor.get('/open-data/locations.json')).body);
    assert.deepEqual(
      locations.rows.map((r: Record<string, unknown>) => [r.ward_code, r.ward_name]),
      wards.map((w) => [w.code, w.name]),
    );
    assert.ok(locations.rows.every((r: Record<string, unknown>) => typeof r.latitude === 'number'));

    // Everything published, scanned for the shapes of personal data and the demo people's names.
    const people = await kiln.platform.db
      .selectFrom('staff_users')
      .select(['name', 'email'])
      .execute()
      .then((rows) => rows.flatMap((r) => [r.name, r.email]));
    const everything: string[] = [catalogue.body];
    for (const slug of ['service-requests', 'planning-applications', 'services', 'locations'])
      for (const suffix of ['', '.csv', '.json', '.jsonld']) {
        const r = await visitor.get(`/open-data/${slug}${suffix}`);
        assert.equal(r.statusCode, 200, `${slug}${suffix}`);
        everything.push(r.body);
      }
    const text = everything.join('\n');
    const shapes: Array<[string, RegExp]> = [
      ['email address', /[A-Za-z0-9._%+-]+@[A-Za-z0-9.-]+\.[A-Za-z]{2,}/],
      ['UK phone number', /(?:\+44\s?|\b0)(?:\d\s?){9,10}\b/],
      ['NHS number', /\b\d{3}[\s-]?\d{3}[\s-]?\d{4}\b/],
      ['postcode', /\b[A-Z]{1,2}\d[A-Z\d]?\s*\d[A-Z]{2}\b/],
    ];
    for (const [what, shape] of shapes) assert.doesNotMatch(text, shape, `open data holds a ${what}`);
    for (const name of [...people, 'Alex Moreton', 'resident@kilnford.example', 'someone@example.com'])
      assert.ok(!text.includes(name), `open data names ${name}`);
  });

  // These publish events of every measure, so they run after the tests that expect an empty panel.
  test('resolved within SLA uses the slaDueAt case.created carries, and asks the case only for older events', async () => {
    const real = await newCase('web', { value: 48, unit: 'hours' });
    const dueAt = (await kiln.services.cases.service.findByReference(kiln.platform.db, real.reference))!
      .sla_due_at!;
    const [carried, older] = ['00000000-0000-4000-8000-00000000c0a1', '00000000-0000-4000-8000-00000000c0a2'];
    const system: Actor = { type: 'system', id: null };
    await kiln.platform.db.transaction().execute(async (tx) => {
      // The payload's due date wins over what the case says today.
      await kiln.platform.events.publish(tx, {
        type: 'case.created',
        subjectType: 'case',
        subjectId: carried,
        actor: system,
        payload: {
          reference: real.reference,
          service: 'insights-sla-test',
          slaDueAt: '2000-01-01T00:00:00.000Z',
        },
      });
      // An event from before slaDueAt was published: the case is asked.
      await kiln.platform.events.publish(tx, {
        type: 'case.created',
        subjectType: 'case',
        subjectId: older,
        actor: system,
        payload: { reference: real.reference, service: 'insights-sla-test' },
      });
      for (const subjectId of [carried, older])
        await kiln.platform.events.publish(tx, {
          type: 'case.status_changed',
          subjectType: 'case',
          subjectId,
          actor: system,
          payload: { to: 'resolved' },
        });
    });
    await insights().load();
    const facts = await insights().tableRows('fact_case');
    const due = (id: string) => (facts.find((r) => r.case_id === id)!.sla_due_at as Date).toISOString();
    assert.equal(due(carried), '2000-01-01T00:00:00.000Z');
    assert.equal(due(older), dueAt.toISOString());
    const today = londonDay();
    const sla = (
      await insights().measures({
        from: today,
        to: today,
        ward: null,
        service: 'insights-sla-test',
        team: null,
      })
    ).find((p) => p.id === 'sla')!;
    assert.deepEqual(
      sla.csv.rows.map((r) => [r.resolved, r.with_sla, r.within]),
      [[2, 2, 1]],
    );
  });

  test('bookings, planning, consultations, alerts, sensor homes and paperless match hand-computed values', async () => {
    const W = 'E05099999';
    const today = londonDay();
    const f = { from: today, to: today, ward: W, service: null, team: null };
    const all = { ...f, ward: null };
    const id = (n: number) => `00000000-0000-4000-8000-0000000e${String(n).padStart(4, '0')}`;
    const system: Actor = { type: 'system', id: null };
    const last = (rows: Array<Record<string, unknown>>, key: string) => Number(rows.at(-1)?.[key] ?? 0);
    await insights().load();
    const before = await insights().measures(all);
    const homesBefore = Number(
      /^(\d+) homes/.exec(before.find((p) => p.id === 'sensor-alerts')!.headline)?.[1] ?? 0,
    );
    const paperlessBefore = last(before.find((p) => p.id === 'paperless')!.csv.rows, 'paperless');

    const events: Array<[string, string, string, Record<string, unknown>]> = [
      ['booking.held', 'booking', id(1), { bookable: 'library-pc-3', ward: W }],
      ['booking.confirmed', 'booking', id(1), { ward: W }],
      // Confirmed first, its hold (a video consultation) delivered after: it still counts as video.
      ['booking.confirmed', 'booking', id(2), { ward: W }],
      ['booking.confirmed', 'booking', id(3), { ward: W }],
      ['booking.held', 'booking', id(3), { bookable: 'bulky-waste', ward: W }],
      ['planning.application_decided', 'planning_application', id(4), { wardCode: W, inTime: true }],
      ['planning.application_decided', 'planning_application', id(5), { wardCode: W, inTime: true }],
      ['planning.application_decided', 'planning_application', id(6), { wardCode: W, inTime: false }],
      ['engage.consultation_response_received', 'response', id(7), { ward: W }],
      ['engage.consultation_response_received', 'response', id(8), { ward: W }],
      ['wellbeing.alert_raised', 'alert', id(9), { ward: W }],
      ['wellbeing.alert_raised', 'alert', id(10), { ward: W }],
      ['wellbeing.alert_resolved', 'alert', id(9), { ward: W }],
      ['wellbeing.home_installed', 'home', id(11), {}],
      ['wellbeing.home_installed', 'home', id(12), {}],
      ['wellbeing.home_installed', 'home', id(11), {}],
      // Two residents go paperless and one of them changes their mind: one more paperless.
      ['signing.paperless_changed', 'resident', id(13), { paperless: true }],
      ['signing.paperless_changed', 'resident', id(14), { paperless: true }],
      ['signing.paperless_changed', 'resident', id(13), { paperless: false }],
    ];
    for (const [i, [type, subjectType, subjectId, payload]] of events.entries()) {
      await kiln.platform.db
        .transaction()
        .execute((tx) =>
          kiln.platform.events.publish(tx, { type, subjectType, subjectId, actor: system, payload }),
        );
      if (i === 3) await insights().load(); // the video hold arrives in a later load
      if (i === 3)
        await kiln.platform.db.transaction().execute((tx) =>
          kiln.platform.events.publish(tx, {
            type: 'booking.held',
            subjectType: 'booking',
            subjectId: id(2),
            actor: system,
            payload: { bookable: 'video-consultation', ward: W },
          }),
        );
    }
    await insights().load();
    const panels = await insights().measures(f);
    const panel = (pid: string) => panels.find((p) => p.id === pid)!;
    // The panel's CSV columns of each week (the week itself left out: it is this week).
    const rows = (pid: string) =>
      panel(pid).csv.rows.map((r) =>
        Object.fromEntries(panel(pid).csv.columns.map((c) => [c, c === 'week' ? undefined : r[c]])),
      );
    assert.deepEqual(rows('library-bookings'), [{ week: undefined, count: 1 }]);
    assert.deepEqual(rows('video-consultations'), [{ week: undefined, count: 1 }]);
    assert.deepEqual(rows('planning'), [{ week: undefined, count: 3, good: 2 }]);
    assert.deepEqual(rows('consultation-responses'), [{ week: undefined, count: 2 }]);
    assert.deepEqual(rows('sensor-alerts'), [{ week: undefined, raised: 2, handled: 1 }]);
    const after = await insights().measures(all);
    const homesAfter = Number(
      /^(\d+) homes/.exec(after.find((p) => p.id === 'sensor-alerts')!.headline)?.[1] ?? 0,
    );
    assert.equal(homesAfter - homesBefore, 2);
    assert.equal(last(after.find((p) => p.id === 'paperless')!.csv.rows, 'paperless') - paperlessBefore, 1);
  });

  test('only codes of 1 to 64 letters, digits and _.:- reach the warehouse from a payload', async () => {
    const system: Actor = { type: 'system', id: null };
    const subject = `code-check-${Math.random().toString(36).slice(2)}`;
    const wards = [
      'W-' + 'a'.repeat(62),
      'W-' + 'a'.repeat(63),
      'E05 099 001',
      'Café',
      '',
      'E05099001.x:y_z',
    ];
    for (const ward of wards)
      await kiln.platform.db.transaction().execute((tx) =>
        kiln.platform.events.publish(tx, {
          type: 'engage.consultation_response_received',
          subjectType: 'response',
          subjectId: subject,
          actor: system,
          payload: { ward },
        }),
      );
    await insights().load();
    const { rows } = await sql<{ ward: string | null }>`
      select ward from analytics.fact_event where subject_id = ${subject} order by event_id`.execute(
      kiln.platform.db,
    );
    assert.deepEqual(
      rows.map((r) => r.ward),
      [wards[0], null, null, null, null, wards[5]],
    );
  });
});
