import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import Fastify from 'fastify';
import { page } from '../../../test/support/http.ts';
import { staffClient } from '../../../test/support/staff.ts';
import { givenCase } from '../../modules/cases/test-fixtures.ts';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { registerOpsRoutes } from '../http/health.ts';
import { isDatabaseUnavailable } from '../http/errors.ts';
import { currentContext } from './context.ts';
import { Ops } from './registry.ts';

const token = 'metrics-token-for-the-test-0123456789';

describe('health, readiness, metrics and request ids', () => {
  let kiln: TestKiln;
  before(async () => {
    kiln = await startTestApp({ METRICS_TOKEN: token });
  });
  after(() => kiln.close());

  test('/healthz and /readyz answer without a session, uncached', async () => {
    const health = await kiln.app.inject({ url: '/healthz' });
    assert.equal(health.statusCode, 200);
    assert.deepEqual(health.json(), { status: 'ok' });
    assert.equal(health.headers['cache-control'], 'no-store');
    assert.equal(health.headers['set-cookie'], undefined);
    const ready = await kiln.app.inject({ url: '/readyz' });
    assert.equal(ready.statusCode, 200);
    assert.deepEqual(ready.json().checks, { database: 'ok', 'job queue': 'ok', 'mqtt broker': 'ok' });
    // A session cookie is not looked up (these must answer while the database is away).
    const withCookie = await kiln.app.inject({
      url: '/healthz',
      headers: { cookie: `kiln_session=${'b'.repeat(43)}` },
    });
    assert.equal(withCookie.statusCode, 200);
  });

  test('/readyz is 503 problem+json naming the check that fails', async () => {
    kiln.platform.ops.readiness('archive store', async () => {
      throw new Error('connect ECONNREFUSED 10.0.0.9:9000');
    });
    const ready = await kiln.app.inject({ url: '/readyz' });
    assert.equal(ready.statusCode, 503);
    assert.match(String(ready.headers['content-type']), /application\/problem\+json/);
    assert.deepEqual(ready.json().down, ['archive store']);
    assert.doesNotMatch(ready.body, /10\.0\.0\.9/);
  });

  test('the proxy’s X-Request-Id is kept when well formed, replaced when not, and returned', async () => {
    const kept = await kiln.app.inject({ url: '/', headers: { 'x-request-id': 'lb-2f9a.77:1' } });
    assert.equal(kept.headers['x-request-id'], 'lb-2f9a.77:1');
    const hostile = await kiln.app.inject({
      url: '/',
      headers: { 'x-request-id': '<script>' + 'x'.repeat(200) },
    });
    assert.match(String(hostile.headers['x-request-id']), /^[0-9a-f-]{36}$/);
    const none = await kiln.app.inject({ url: '/' });
    assert.match(String(none.headers['x-request-id']), /^[0-9a-f-]{36}$/);
  });

  test('a job sent while handling a request carries its id, and its log line names it', async () => {
    const seen: Array<{ requestId?: string; job?: string }> = [];
    // Changing a case's status publishes an event, and a job for each subscriber goes with it.
    // Each job's "done" line is logged in a context naming the job and the request that sent it.
    const log = kiln.app.log;
    const debug = log.debug.bind(log);
    log.debug = ((...args: unknown[]) => {
      if (args[1] === 'job %s %s done') seen.push({ ...currentContext() });
      return (debug as (...a: unknown[]) => void)(...args);
    }) as typeof log.debug;
    const officer = await staffClient(kiln, 'officer@kilnford.example');
    const { reference } = await givenCase(kiln);
    const form = await officer.get(`/staff/cases/${reference}`);
    const version =
      page(form.body)
        .root.querySelector('form[action$="/status"] input[name="version"]')
        ?.getAttribute('value') ?? '';
    const res = await officer.post(
      `/staff/cases/${reference}/status`,
      { status: 'in_progress', version },
      { headers: { 'x-request-id': 'req-ops-test-1' } },
    );
    assert.equal(res.statusCode, 303);
    const job = await kiln.eventually(() =>
      Promise.resolve(seen.find((s) => s.requestId === 'req-ops-test-1')),
    );
    assert.equal(job.job, 'event.requests.sync.status_changed');
  });

  test('/metrics needs the bearer token, then reports requests, latency and queues', async () => {
    assert.equal((await kiln.app.inject({ url: '/metrics' })).statusCode, 401);
    assert.equal(
      (await kiln.app.inject({ url: '/metrics', headers: { authorization: 'Bearer wrong' } })).statusCode,
      401,
    );
    const res = await kiln.app.inject({ url: '/metrics', headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.statusCode, 200);
    assert.match(String(res.headers['content-type']), /text\/plain/);
    assert.match(res.body, /kiln_http_requests_total\{method="GET",route="\/",status="200"/);
    assert.match(
      res.body,
      /kiln_http_request_duration_seconds_bucket\{le="0.005",[^}]*method="GET",route="\/"\} \d+/,
    );
    assert.match(res.body, /kiln_job_queue_depth\{queue="notify.dispatch"/);
    assert.match(res.body, /kiln_job_queue_oldest_seconds\{queue="notify.dispatch"/);
    assert.match(res.body, /kiln_notifications_due(\{[^}]*\})? \d+/);
    assert.match(res.body, /kiln_notifications_oldest_due_seconds(\{[^}]*\})? [\d.]+/);
    assert.match(res.body, /kiln_wellbeing_readings_stored_total/);
  });
});

test('/metrics answers 404 when no token is configured', async () => {
  const app = Fastify();
  registerOpsRoutes(app, new Ops(), {});
  assert.equal((await app.inject({ url: '/metrics' })).statusCode, 404);
  assert.equal((await app.inject({ url: '/healthz' })).statusCode, 200);
  await app.close();
});

test('modules add gauges the platform does not know', async () => {
  const ops = new Ops();
  let readings = 3;
  ops.gauge('kiln_example_items', 'Example items', () => readings);
  ops.counter('kiln_example_total', 'Example total', () => readings * 10);
  readings = 4;
  const text = await ops.metrics();
  assert.match(text, /kiln_example_items\{process_type="all"\} 4/);
  assert.match(text, /kiln_example_total\{process_type="all"\} 40/);
  assert.throws(() => ops.gauge('kiln_example_items', 'again', () => 1));
});

test('how an unreachable database surfaces is recognised; other errors are not', () => {
  assert.ok(
    isDatabaseUnavailable(
      Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }),
    ),
  );
  assert.ok(
    isDatabaseUnavailable(
      Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01' }),
    ),
  );
  assert.ok(isDatabaseUnavailable(new Error('Connection terminated unexpectedly')));
  assert.ok(
    isDatabaseUnavailable(new Error('wrapped', { cause: Object.assign(new Error('x'), { code: '08006' }) })),
  );
  assert.ok(!isDatabaseUnavailable(Object.assign(new Error('duplicate key'), { code: '23505' })));
  assert.ok(!isDatabaseUnavailable(new TypeError('undefined is not a function')));
});
