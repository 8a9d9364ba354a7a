import assert from 'node:assert/strict';
import { sql } from 'kysely';
import { after, before, describe, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { Client, page } from '../../../test/support/http.ts';
import { createApiKey } from '../../platform/auth/api-keys.ts';

const url = '/api/v1/services/report-a-street-problem/submissions';
const goodAnswers = {
  problem: 'pothole',
  'pothole-depth': '4-to-10cm',
  location: { street: 'Glaze Row', detail: 'outside number 3' },
  description: 'A pothole in the middle of the road',
};

describe('services API', () => {
  let kiln: TestKiln;
  let key: string;
  let readOnlyKey: string;
  before(async () => {
    kiln = await startTestApp();
    key = (
      await createApiKey(kiln.platform.db, {
        name: 'Chatbot',
        scopes: ['submissions:create'],
        createdBy: null,
      })
    ).key;
    readOnlyKey = (
      await createApiKey(kiln.platform.db, { name: 'Reporting', scopes: ['cases:read'], createdBy: null })
    ).key;
  });
  after(async () => kiln.close());

  const submit = (body: unknown, headers: Record<string, string> = {}) =>
    kiln.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
      payload: JSON.stringify(body),
    });

  test('lists live services and describes one', async () => {
    const list = await kiln.app.inject({ url: '/api/v1/services' });
    assert.equal(list.statusCode, 200);
    const slugs = list.json().services.map((s: { slug: string }) => s.slug);
    assert.ok(slugs.includes('report-a-street-problem'));
    assert.ok(slugs.includes('join-the-library'));
    const one = (await kiln.app.inject({ url: '/api/v1/services/report-a-street-problem' })).json();
    assert.equal(one.version, 1);
    assert.equal(one.definition.teamCode, 'streets');
    assert.deepEqual(one.definition.sla, { value: 5, unit: 'working_days' });
    assert.equal(one.definition.questions[1].showWhen.equals, 'pothole');
  });

  test('a submission creates a case; a retry with the same Idempotency-Key returns it with 200', async () => {
    const body = { answers: goodAnswers, contact: { name: 'Jo Bloggs', email: 'jo@example.com' } };
    const first = await submit(body, { 'idempotency-key': 'chat-123' });
    assert.equal(first.statusCode, 201, first.body);
    const created = first.json();
    assert.match(created.reference, /^KLN-/);
    assert.equal(created.status, 'received');
    assert.equal(created.service, 'report-a-street-problem');
    assert.equal(created.version, 1);
    assert.equal(created.links.self, `/api/v1/cases/${created.reference}`);
    const retry = await submit(body, { 'idempotency-key': 'chat-123' });
    assert.equal(retry.statusCode, 200);
    assert.equal(retry.json().reference, created.reference);
    const { rows } = await sql<{ channel: string; answers: Record<string, { answer: string }> }>`
      select channel, answers from cases where reference = ${created.reference}`.execute(kiln.platform.db);
    assert.equal(rows.length, 1);
    assert.equal(rows[0]!.channel, 'api');
    assert.equal(rows[0]!.answers.location?.answer, 'Glaze Row, Kilnford: outside number 3');
    assert.equal(rows[0]!.answers.email?.answer, 'jo@example.com');
    const sent = await kiln.platform.notify.list(kiln.platform.db, { recipient: 'jo@example.com' });
    assert.equal(sent.length, 1);
    // Another submission without a key is another case, from the channel given.
    const other = await submit({ answers: { ...goodAnswers, email: 'sam@example.com' }, channel: 'chatbot' });
    assert.equal(other.statusCode, 201);
    assert.notEqual(other.json().reference, created.reference);
  });

  test('invalid answers are listed one by one with pointers, as problem+json', async () => {
    const res = await submit({
      answers: { problem: 'pothole', description: '', colour: 'red', email: 'nope' },
    });
    assert.equal(res.statusCode, 400);
    assert.match(String(res.headers['content-type']), /application\/problem\+json/);
    const problem = res.json();
    assert.equal(problem.status, 400);
    assert.deepEqual(
      problem.errors.map((e: { pointer: string }) => e.pointer),
      [
        '/answers/colour',
        '/answers/pothole-depth',
        '/answers/location',
        '/answers/description',
        '/answers/email',
      ],
    );
    assert.equal(
      problem.errors.find((e: { pointer: string }) => e.pointer === '/answers/email').detail,
      'Enter an email address in the correct format, like name@example.com',
    );
    const badBody = await submit({ answers: goodAnswers, channel: 'pigeon' });
    assert.equal(badBody.statusCode, 400);
    assert.deepEqual(
      badBody.json().errors.map((e: { pointer: string }) => e.pointer),
      ['/channel'],
    );
    const notJson = await kiln.app.inject({
      method: 'POST',
      url,
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      payload: '{"answers": ',
    });
    assert.equal(notJson.statusCode, 400);
  });

  test('no key is 401, a key without the scope 403, an unknown service 404', async () => {
    const none = await kiln.app.inject({
      method: 'POST',
      url,
      headers: { 'content-type': 'application/json' },
      payload: '{}',
    });
    assert.equal(none.statusCode, 401);
    assert.equal(none.headers['www-authenticate'], 'Bearer');
    const scoped = await submit({ answers: goodAnswers }, { authorization: `Bearer ${readOnlyKey}` });
    assert.equal(scoped.statusCode, 403);
    const unknown = await kiln.app.inject({
      method: 'POST',
      url: '/api/v1/services/no-such-service/submissions',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      payload: JSON.stringify({ answers: {} }),
    });
    assert.equal(unknown.statusCode, 404);
    assert.match(String(unknown.headers['content-type']), /application\/problem\+json/);
    assert.equal((await kiln.app.inject({ url: '/api/v1/services/no-such-service' })).statusCode, 404);
  });

  test('/api/docs is an OpenAPI 3.1 document with the services paths', async () => {
    const res = await kiln.app.inject({ url: '/api/docs' });
    assert.equal(res.statusCode, 200);
    const doc = JSON.parse(res.body);
    assert.equal(doc.openapi, '3.1.0');
    assert.ok(doc.paths['/api/v1/services'].get);
    assert.ok(doc.paths['/api/v1/services/{slug}'].get);
    const post = doc.paths['/api/v1/services/{slug}/submissions'].post;
    assert.deepEqual(Object.keys(post.responses).sort(), ['200', '201', '400', '401', '403', '404', '429']);
    const schema = post.requestBody.content['application/json'].schema;
    assert.deepEqual(schema.required, ['answers']);
    assert.ok(schema.properties.channel.enum.includes('api'));
  });

  test('a photo is uploaded with the form, checked by its content', async () => {
    const client = new Client(kiln.app);
    const base = '/services/report-a-street-problem';
    await client.get(`${base}/start`);
    for (const [path, fields] of [
      ['problem', { problem: 'graffiti' }],
      ['location', { 'location-street': 'Canal Side' }],
      ['description', { description: 'Tags on the bridge' }],
    ] as const) {
      await client.get(`${base}/questions/${path}`);
      assert.equal((await client.post(`${base}/questions/${path}`, fields)).statusCode, 303);
    }
    await client.get(`${base}/questions/photo`);
    const upload = (name: string, content: Buffer) => {
      const boundary = '----kilnboundary';
      const body = Buffer.concat([
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="_csrf"\r\n\r\n${client.csrfToken()}\r\n`,
        ),
        Buffer.from(
          `--${boundary}\r\nContent-Disposition: form-data; name="photo"; filename="${name}"\r\nContent-Type: image/png\r\n\r\n`,
        ),
        content,
        Buffer.from(`\r\n--${boundary}--\r\n`),
      ]);
      return kiln.app.inject({
        method: 'POST',
        url: `${base}/questions/photo`,
        headers: {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          cookie: (client as unknown as { cookieHeader(): string }).cookieHeader(),
        },
        payload: body,
      });
    };
    const fake = await upload('photo.png', Buffer.from('this is not really a picture'));
    assert.equal(fake.statusCode, 400);
    assert.match(page(fake.body).errorSummary()[0]!, /^The selected file must be a JPG, PNG/);
    const png = Buffer.from('89504e470d0a1a0a0000000d4948445200000001000000010806000000', 'hex');
    const good = await upload('bridge.png', png);
    assert.equal(good.statusCode, 303);
    assert.equal(good.headers.location, `${base}/questions/email`);
    const { rows } = await sql<{
      n: number;
    }>`select count(*)::int as n from files where original_name = 'bridge.png'`.execute(kiln.platform.db);
    assert.equal(rows[0]!.n, 1);
  });
});
