// Care benchmark, on PostgreSQL: FHIR Patient search by NHS number, and a person's full record
// (the social worker's record page, and the same record through FHIR with _revinclude), with
// 100,000 people and 10,000,000 observations (sensor readings), all over HTTP.
//   BENCH_ONLY=care npm run bench            (or node --import tsx bench/care.ts)
// Settings (environment): BENCH_CARE_PEOPLE (default 100000), BENCH_CARE_OBSERVATIONS (default
// 10000000; a smaller number for a quick check), BENCH_CARE_REQUESTS per measurement (default
// 500), BENCH_CARE_CONCURRENCY (default 4), BENCH_CARE_WARMUP requests before each measurement
// (default 500). BENCH_POSTGRES_URL names the server (a scratch
// database is made on it and dropped after); default postgres://postgres@127.0.0.1:5432/postgres.
// The data is made in SQL with generate_series, so setting up the full scale takes minutes.
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import { loadavg } from 'node:os';
import pg from 'pg';
import { totpCode } from '../src/platform/auth/totp.ts';
import { DEMO_STAFF_PASSWORD, DEMO_TOTP_SECRET } from '../src/seed/index.ts';
import { startKiln } from './support/kiln.ts';
import { cpuSeconds } from './support/processes.ts';
import { describeMachine, postgresVersion } from './support/machine.ts';
import { createScratchDatabase, queryOnce } from './support/postgres.ts';

const env = process.env;
const PEOPLE = Number(env.BENCH_CARE_PEOPLE ?? 100_000);
const OBSERVATIONS = Number(env.BENCH_CARE_OBSERVATIONS ?? 10_000_000);
const REQUESTS = Number(env.BENCH_CARE_REQUESTS ?? 500);
const CONCURRENCY = Number(env.BENCH_CARE_CONCURRENCY ?? 4);
const WARMUP = Number(env.BENCH_CARE_WARMUP ?? 500);
const SERVER = env.BENCH_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
/** Every part of the record, asked for with the Patient: the FHIR form of the record page. */
const FULL_RECORD = [
  'CareTeam:patient',
  'RelatedPerson:patient',
  'Condition:patient',
  'MedicationStatement:patient',
  'CarePlan:patient',
  'Encounter:patient',
  'Observation:patient',
  'Flag:patient',
  'DocumentReference:patient',
].join(',');

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
const round = (v: number) => Math.round(v * 10) / 10;

/** Fills the record with generate_series: people with valid NHS numbers, their care team, parts and observations. */
async function seed(url: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const started = Date.now();
  try {
    const { rows } = await client.query<{ id: string; organisation_id: string }>(
      `select pr.id, pr.organisation_id from care_practitioners pr join staff_users s on s.id = pr.staff_user_id
        where s.email = 'socialworker@kilnford.example'`,
    );
    const practitioner = rows[0]!;
    // NHS numbers 8xxxxxxxx plus their modulus 11 check digit. About one number in eleven would
    // need a check digit of 10 and is no NHS number, so more candidates are made than people
    // asked for and the first PEOPLE valid ones are kept.
    const candidates = Math.min(99_999_999, Math.ceil(PEOPLE * 1.2) + 100);
    const made = await client.query(
      `insert into care_people (nhs_number, given_name, family_name, date_of_birth, gender, address, postcode)
       select nine || check_digit, 'Given' || i, 'Family' || (i % 5000), date '1930-01-01' + (i % 30000),
              (array['female','male','other','unknown'])[1 + i % 4], i || ' Bench Street, Kilnford', 'KF1 2AB'
         from (select i, nine, (11 - (select sum(substr(nine, k, 1)::int * (11 - k)) from generate_series(1, 9) k) % 11) % 11 as check_digit
                 from (select i, '8' || lpad(i::text, 8, '0') as nine from generate_series(1, $2::int) i) a) b
        where check_digit <> 10
        order by i
        limit $1`,
      [PEOPLE, candidates],
    );
    if (made.rowCount !== PEOPLE) throw new Error(`made ${made.rowCount} people, not ${PEOPLE}`);
    await client.query(
      `insert into care_team_members (person_id, practitioner_id, role)
       select id, $1, 'Social worker' from care_people where nhs_number like '8%'`,
      [practitioner.id],
    );
    for (const statement of [
      `insert into care_conditions (person_id, code, display) select id, '38341003', 'Hypertension' from care_people where nhs_number like '8%'`,
      `insert into care_medications (person_id, display, dosage) select id, 'Amlodipine 5mg tablets', 'One a day' from care_people where nhs_number like '8%'`,
      `insert into care_plans (person_id, title, description) select id, 'Support plan', 'Two calls a day' from care_people where nhs_number like '8%'`,
      `insert into care_related_people (person_id, name, relationship, emergency_contact) select id, 'Next of kin', 'Daughter', true from care_people where nhs_number like '8%'`,
      `insert into care_encounters (person_id, practitioner_id, kind, start_at, notes)
         select id, '${practitioner.id}', 'home_visit', now() - interval '3 days', 'Review' from care_people where nhs_number like '8%'`,
      `insert into care_flags (person_id, code, display) select id, 'key-safe', 'Key safe by the door' from care_people where nhs_number like '8%'`,
    ])
      await client.query(statement);
    // Observations spread over the people, newest first in time, in batches to keep each statement short.
    const people = await client.query<{ id: string }>(
      `select id from care_people where nhs_number like '8%' order by id`,
    );
    await client.query(
      `create temporary table bench_people as select row_number() over (order by id) as n, id from care_people where nhs_number like '8%'`,
    );
    const count = people.rows.length;
    // Loading without the person index and building it after is several times quicker.
    await client.query('drop index care_observations_person_idx');
    const batch = 1_000_000;
    for (let from = 1; from <= OBSERVATIONS; from += batch) {
      const to = Math.min(OBSERVATIONS, from + batch - 1);
      await client.query(
        `insert into care_observations (person_id, code, display, value_quantity, unit, effective_at, source)
         select p.id, 'heart-rate', 'Heart rate', 60 + (g % 40), '/min', now() - (g || ' minutes')::interval, 'wellbeing'
           from generate_series($1::int, $2::int) g join bench_people p on p.n = 1 + (g % $3::int)`,
        [from, to, count],
      );
    }
    await client.query(
      'create index care_observations_person_idx on care_observations (person_id, effective_at desc)',
    );
    // A vacuum as well as statistics: a database that has lived has had both. Without it autovacuum
    // takes up the freshly loaded tables (ten million rows) while the requests are measured, and
    // index-only scans still visit the heap (no page is yet marked all-visible).
    await client.query('vacuum (analyze)');
    const nhs = (
      await client.query<{ nhs_number: string }>(
        `select nhs_number from care_people where nhs_number like '8%' order by random() limit 200`,
      )
    ).rows.map((r) => r.nhs_number);
    const ids = (
      await client.query<{ id: string }>(
        `select id from care_people where nhs_number like '8%' order by random() limit 200`,
      )
    ).rows.map((r) => r.id);
    // A FHIR client acting as the social worker, with a known secret.
    const secret = randomBytes(18).toString('base64url');
    await client.query(
      `insert into care_api_clients (client_id, secret_hash, name, practitioner_id, scopes) values ('bench-client', $1, 'Benchmark', $2, $3)`,
      [createHash('sha256').update(secret).digest('hex'), practitioner.id, ['patient/*.read', 'user/*.read']],
    );
    return { nhs, ids, secret, people: count, seconds: (Date.now() - started) / 1000 };
  } finally {
    await client.end();
  }
}

/**
 * The plans of the queries behind the two measurements: each must find its rows by an index, not
 * by reading a table whole (which at 10 million observations no p99 target survives).
 */
async function checkPlans(url: string, person: { id: string; nhs: string }, practitionerId: string) {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const plans: Array<[string, string, unknown[]]> = [
      [
        // The shape of store.searchPeopleForAccess: the person, the count, the access facts, the GPs.
        'Patient by NHS number',
        `select p.*, count(*) over () as total,
                exists (select 1 from care_team_members m where m.person_id = p.id and m.practitioner_id = $2) as in_care_team,
                (select coalesce(json_agg(pr.name), '[]') from care_team_members m
                   join care_practitioners pr on pr.id = m.practitioner_id
                   join care_organisations o on o.id = pr.organisation_id
                  where m.person_id = p.id and o.kind = 'gp_practice') as general_practitioners
           from care_people p where p.nhs_number = $1
            and exists (select 1 from care_team_members m where m.person_id = p.id and m.practitioner_id = $2)`,
        [person.nhs, practitionerId],
      ],
      [
        'care team membership',
        `select 1 from care_team_members where person_id = $1 and practitioner_id = $2`,
        [person.id, practitionerId],
      ],
      [
        'newest observations of a person',
        `select * from care_observations where person_id = $1 order by effective_at desc limit 20`,
        [person.id],
      ],
      [
        'observations of a person, counted',
        `select count(*) from care_observations where person_id = $1`,
        [person.id],
      ],
      [
        'encounters of a person',
        `select * from care_encounters where person_id = $1 order by start_at desc limit 20`,
        [person.id],
      ],
      ['conditions of a person', `select * from care_conditions where person_id = $1`, [person.id]],
    ];
    const out: string[] = [];
    for (const [name, text, values] of plans) {
      const { rows } = await client.query<{ 'QUERY PLAN': string }>(`explain ${text}`, values);
      const plan = rows.map((r) => r['QUERY PLAN']).join('\n');
      const scan = /(?:Index Only Scan|Index Scan|Bitmap Index Scan) using \w+/.exec(plan)?.[0];
      // Practitioners and organisations grow with the staff, not the people: reading them whole is fine.
      const whole = /Seq Scan on care_(?!practitioners\b|organisations\b)\w+/.exec(plan)?.[0];
      // A small table may well be read whole (it is quicker); at the full scale that is a fault.
      if (whole && PEOPLE >= 50_000) throw new Error(`${name} reads a table whole:\n${plan}`);
      out.push(`  ${name.padEnd(36)} ${whole ? `${whole} (a small table)` : (scan ?? plan.split('\n')[0])}`);
    }
    return out;
  } finally {
    await client.end();
  }
}

/** A cookie-keeping client for the staff pages: password, then the authenticator code. */
async function staffSession(base: string): Promise<string> {
  const cookies = new Map<string, string>();
  const jar = () => [...cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  const keep = (res: Response) => {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const [k, v] = pair!.split('=');
      cookies.set(k!, v ?? '');
    }
  };
  const form = async (path: string, fields: Record<string, string>) => {
    const page = await fetch(`${base}${path}`, { headers: { cookie: jar() } });
    keep(page);
    const token = (await page.text()).match(/name="_csrf" value="([^"]+)"/)?.[1] ?? '';
    const res = await fetch(`${base}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: jar(), 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ _csrf: token, ...fields }).toString(),
    });
    keep(res);
    if (res.status !== 303) throw new Error(`${path} answered ${res.status}`);
  };
  await form('/staff/sign-in', { email: 'socialworker@kilnford.example', password: DEMO_STAFF_PASSWORD });
  await form('/staff/sign-in/code', { code: totpCode(DEMO_TOTP_SECRET) });
  return jar();
}

/** CPU time (user and system, ms) processes have used so far; a process that has ended is left out. */
function cpuMs(pids: number[]): Map<number, number> {
  const out = new Map<number, number>();
  for (const pid of pids) {
    try {
      out.set(pid, cpuSeconds(pid) * 1000);
    } catch {
      // not on Linux, or the process has ended
    }
  }
  return out;
}

/**
 * CPU spent serving the measured requests: Kiln's process, and the PostgreSQL backends of the
 * scratch database (its pool's connections, not autovacuum; a backend that ended during the run is
 * not counted). Kiln's figure includes its workers (job polling, audit sealing) over the same time.
 * On a shared machine a p99 moves with the load; CPU per request much less.
 */
function cpuMeter(kilnPid: number, databaseUrl: string) {
  const backends = async () =>
    (
      await queryOnce<{ pid: number }>(
        databaseUrl,
        `select pid from pg_stat_activity
          where datname = current_database() and backend_type = 'client backend' and pid <> pg_backend_pid()`,
      )
    ).map((r) => r.pid);
  return async () => {
    const kilnBefore = cpuMs([kilnPid]).get(kilnPid) ?? 0;
    const before = cpuMs(await backends());
    return async (requests: number) => {
      const kiln = (cpuMs([kilnPid]).get(kilnPid) ?? 0) - kilnBefore;
      let database = 0;
      for (const [pid, ms] of cpuMs(await backends())) database += ms - (before.get(pid) ?? 0);
      return { kilnCpuMs: round(kiln / requests), databaseCpuMs: round(database / requests) };
    };
  };
}

/**
 * The measuring client: node:http with kept-alive sockets, one per request in flight. It shares the
 * machine's two cores with Kiln and PostgreSQL, and fetch() cost it about 1.2 ms of CPU a request
 * (a third of all the CPU a Patient search took), which then showed in every latency measured.
 */
function httpClient() {
  const agent = new http.Agent({ keepAlive: true, maxSockets: CONCURRENCY });
  return (url: string, headers: Record<string, string>) =>
    new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = http.get(url, { agent, headers }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      });
      req.on('error', reject);
    });
}

async function measure(
  name: string,
  urls: string[],
  headers: Record<string, string>,
  check: (status: number, body: string) => void,
  startCpu: ReturnType<typeof cpuMeter>,
) {
  const get = httpClient();
  const run = async (requests: number) => {
    const times: number[] = [];
    let next = 0;
    const worker = async () => {
      while (next < requests) {
        const url = urls[next++ % urls.length]!;
        const started = performance.now();
        const { status, body } = await get(url, headers);
        times.push(performance.now() - started);
        check(status, body);
      }
    };
    await Promise.all(Array.from({ length: CONCURRENCY }, worker));
    return times;
  };
  // Warm up with the same requests, so what is measured is a running server's work: V8 compiles a
  // path's hot functions in the background over its first few hundred requests, and after 20 that
  // compiling still took a third of Kiln's CPU per request.
  await run(WARMUP);
  const stopCpu = await startCpu();
  const clientBefore = process.cpuUsage();
  const times = await run(REQUESTS);
  const client = process.cpuUsage(clientBefore);
  const cpu = await stopCpu(times.length);
  times.sort((a, b) => a - b);
  return {
    name,
    requests: times.length,
    p50: round(percentile(times, 50)),
    p99: round(percentile(times, 99)),
    ...cpu,
    clientCpuMs: round((client.user + client.system) / 1000 / times.length),
  };
}

async function main() {
  const machine = describeMachine();
  const scratch = await createScratchDatabase(SERVER, 'care');
  const kiln = await startKiln({ databaseUrl: scratch.url });
  try {
    const data = await seed(scratch.url);
    const base = kiln.url;
    const tokenRes = await fetch(`${base}/fhir/R4/auth/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'bench-client',
        client_secret: data.secret,
      }).toString(),
    });
    const { access_token: token } = (await tokenRes.json()) as { access_token: string };
    const practitionerId = (
      await queryOnce<{ practitioner_id: string }>(
        scratch.url,
        `select practitioner_id from care_api_clients where client_id = 'bench-client'`,
      )
    )[0]!.practitioner_id;
    const plans = await checkPlans(scratch.url, { id: data.ids[0]!, nhs: data.nhs[0]! }, practitionerId);
    const cpu = cpuMeter(kiln.pid, scratch.url);
    const search = await measure(
      'FHIR Patient?identifier=<NHS number>',
      data.nhs.map((n) => `${base}/fhir/R4/Patient?identifier=https://fhir.nhs.uk/Id/nhs-number|${n}`),
      { authorization: `Bearer ${token}` },
      (status, body) => {
        if (status !== 200 || !body.includes('"total":1'))
          throw new Error(`search answered ${status}: ${body.slice(0, 200)}`);
      },
      cpu,
    );
    const fhirRecord = await measure(
      'FHIR Patient?_id=<id>&_revinclude=<every part>',
      data.ids.map((id) => `${base}/fhir/R4/Patient?_id=${id}&_revinclude=${FULL_RECORD}`),
      { authorization: `Bearer ${token}` },
      (status, body) => {
        if (status !== 200 || !body.includes('"total":1') || !body.includes('"Observation"'))
          throw new Error(`full record answered ${status}: ${body.slice(0, 200)}`);
      },
      cpu,
    );
    const cookie = await staffSession(base);
    const record = await measure(
      'Full record page /staff/care/people/<id>',
      data.ids.map((id) => `${base}/staff/care/people/${id}`),
      { cookie },
      (status) => {
        if (status !== 200) throw new Error(`record page answered ${status}`);
      },
      cpu,
    );
    const [one, five] = loadavg();
    console.log('\nCare benchmark (PostgreSQL)');
    console.log(
      `  machine: ${machine.cpu}, ${machine.cores} cores, ${machine.memoryGb} GB, ${machine.os}, Node ${machine.node}`,
    );
    console.log(`  database: ${await postgresVersion(scratch.url)}`);
    console.log(`  load average at the end: ${one!.toFixed(1)} (1 min), ${five!.toFixed(1)} (5 min)`);
    console.log(
      `  data: ${data.people} people, ${OBSERVATIONS} observations, set up in ${round(data.seconds)} s (generate_series)`,
    );
    console.log('  query plans (EXPLAIN):');
    for (const line of plans) console.log(`  ${line}`);
    console.log(
      `  ${REQUESTS} requests each, ${CONCURRENCY} at a time, after ${WARMUP} of the same to warm up\n`,
    );
    const targets: Record<string, number> = { [search.name]: 20, [record.name]: 100, [fhirRecord.name]: 100 };
    for (const r of [search, record, fhirRecord]) {
      const target = targets[r.name]!;
      console.log(
        `  ${r.name.padEnd(48)} p50 ${String(r.p50).padStart(7)} ms   p99 ${String(r.p99).padStart(7)} ms   target p99 < ${target} ms (${round(r.p99 / target)}x of it)`,
      );
      console.log(
        `  ${''.padEnd(48)} CPU per request: Kiln ${r.kilnCpuMs} ms, PostgreSQL ${r.databaseCpuMs} ms, this client ${r.clientCpuMs} ms`,
      );
    }
  } finally {
    await kiln.stop();
    await scratch.drop();
  }
}

await main();
