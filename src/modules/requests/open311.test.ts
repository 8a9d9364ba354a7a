import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';
import { XMLParser } from 'fast-xml-parser';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';
import { specsDir } from '../../../test/support/specs.ts';
import { createApiKey, revokeApiKey } from '../../platform/auth/api-keys.ts';

const specDir = join(specsDir, 'open311');
const spec = (name: string) => JSON.parse(readFileSync(`${specDir}/${name}`, 'utf8'));

// The published schemas, as the specification ships them; swagger's definitions for the POST and token answers.
const ajv = new Ajv({ allErrors: true, strict: false });
addFormats.default(ajv);
ajv.addFormat('uid', true);
ajv.addFormat('uint', true);
for (const name of ['service.json', 'request.json', 'service-definition.json'])
  ajv.addSchema(spec(name), name);
const swagger = spec('swagger.json');
ajv.addSchema({ definitions: swagger.definitions }, 'swagger');
const schemas: Record<string, ValidateFunction> = {
  services: ajv.compile(spec('services.json')),
  requests: ajv.compile(spec('requests.json')),
  definition: ajv.getSchema('service-definition.json')!,
  created: ajv.compile({ type: 'array', items: { $ref: 'swagger#/definitions/RequestResponse' } }),
  token: ajv.compile({ type: 'array', items: { $ref: 'swagger#/definitions/TokenResponse' } }),
};
function valid(schema: keyof typeof schemas, value: unknown) {
  const ok = schemas[schema]!(value);
  assert.ok(ok, `${schema}: ${JSON.stringify(schemas[schema]!.errors)}`);
}

const xml = new XMLParser({
  isArray: (name) => ['service', 'request', 'attribute', 'value', 'error', 'request_update'].includes(name),
});

let kiln: TestKiln;
let key: string;
before(async () => {
  kiln = await startTestApp();
  key = (await createApiKey(kiln.platform.db, { name: 'FixMyStreet', scopes: ['open311'], createdBy: null }))
    .key;
});
after(() => kiln.close());

const get = (url: string) => kiln.app.inject({ method: 'GET', url: `/open311/v2/${url}` });
const post = (url: string, fields: Record<string, string>) =>
  kiln.app.inject({
    method: 'POST',
    url: `/open311/v2/${url}`,
    payload: new URLSearchParams(fields).toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  });

const pothole = (extra: Record<string, string> = {}) => ({
  service_code: 'pothole',
  lat: '52.9461',
  long: '-2.1562',
  'attribute[size]': 'medium',
  'attribute[depth]': 'shallow',
  'attribute[surface]': 'road',
  description: 'Pothole by the bus stop',
  ...extra,
});

async function caseCount() {
  const rows = await kiln.services.requests.service.search(
    kiln.platform.db,
    {},
    { offset: 0, limit: 10_000 },
  );
  return rows.length;
}

function assertError(
  response: { statusCode: number; body: string; headers: Record<string, unknown> },
  status: number,
  pattern: RegExp,
  format: 'json' | 'xml' = 'json',
) {
  assert.equal(response.statusCode, status, response.body);
  if (format === 'json') {
    assert.match(String(response.headers['content-type']), /^application\/json/);
    const body = JSON.parse(response.body) as Array<{ code: number; description: string }>;
    assert.equal(body.length, 1);
    assert.equal(body[0]!.code, status);
    assert.match(body[0]!.description, pattern);
  } else {
    assert.match(String(response.headers['content-type']), /^text\/xml/);
    const body = xml.parse(response.body) as {
      errors: { error: Array<{ code: number; description: string }> };
    };
    assert.equal(body.errors.error[0]!.code, status);
    assert.match(body.errors.error[0]!.description, pattern);
  }
}

describe('Open311 GeoReport v2: services', () => {
  it('lists the street categories as services, in JSON and XML', async () => {
    const json = await get('services.json');
    assert.equal(json.statusCode, 200);
    const services = JSON.parse(json.body);
    valid('services', services);
    assert.ok(services.some((s: { service_code: string }) => s.service_code === 'pothole'));
    assert.equal(services.length, 8);
    const asXml = xml.parse((await get('services.xml')).body) as {
      services: { service: Array<Record<string, unknown>> };
    };
    assert.equal(asXml.services.service.length, 8);
    assert.equal(asXml.services.service[0]!.service_code, services[0].service_code);
    assert.equal(asXml.services.service[0]!.metadata, true);
  });

  it('describes a service with its questions as attributes', async () => {
    const json = JSON.parse((await get('services/pothole.json')).body);
    valid('definition', json);
    assert.deepEqual(
      json.attributes.map((a: { code: string }) => a.code),
      ['size', 'depth', 'surface'],
    );
    assert.equal(json.attributes[0].datatype, 'singlevaluelist');
    const asXml = xml.parse((await get('services/abandoned-vehicle.xml')).body);
    const attributes = asXml.service_definition.attributes.attribute;
    assert.equal(attributes[0].code, 'registration');
    assert.equal(attributes[0].datatype, 'string');
    assert.equal(attributes[0].required, true);
  });

  it('answers an unknown service code, path or jurisdiction with an Open311 error', async () => {
    assertError(await get('services/parking.json'), 404, /service_code parking not found/);
    assertError(await get('services/parking.xml'), 404, /service_code parking not found/, 'xml');
    assertError(
      await get('services.json?jurisdiction_id=elsewhere.example'),
      404,
      /jurisdiction_id elsewhere.example not found/,
    );
    assert.equal((await get('services.json?jurisdiction_id=kilnford.example')).statusCode, 200);
    assertError(await get('nothing-here.json'), 404, /No Open311 resource/);
  });
});

describe('Open311 GeoReport v2: POST requests', () => {
  it('creates a case with channel api, answers with the id, token and notice, and finds it by token', async () => {
    const response = await post('requests.json', pothole({ api_key: key, email: 'driver@example.org' }));
    assert.equal(response.statusCode, 200, response.body);
    const body = JSON.parse(response.body);
    valid('created', body);
    const { service_request_id: id, token, service_notice: notice } = body[0];
    assert.match(id, /^KLN-/);
    assert.match(notice, /5 working days/);
    const c = await kiln.services.cases.service.findByReference(kiln.platform.db, id);
    assert.equal(c!.channel, 'api');
    assert.equal(c!.team_code, 'streets');
    assert.equal(c!.contact_email, 'driver@example.org');

    const byToken = JSON.parse((await get(`tokens/${token}.json`)).body);
    valid('token', byToken);
    assert.deepEqual(byToken, [{ service_request_id: id, token }]);
    const tokenXml = xml.parse((await get(`tokens/${token}.xml`)).body);
    assert.equal(tokenXml.service_requests.request[0].service_request_id, id);
    assertError(await get('tokens/no-such-token.json'), 404, /token no-such-token not found/);

    const one = JSON.parse((await get(`requests/${id}.json`)).body);
    valid('requests', one);
    assert.equal(one[0].service_request_id, id);
    assert.equal(one[0].status, 'open');
    assert.equal(one[0].address_id, '41000007');
    assert.equal(JSON.stringify(one).includes('driver@example.org'), false, 'no personal data');
    const oneXml = xml.parse((await get(`requests/${id}.xml`)).body);
    assert.equal(oneXml.service_requests.request[0].service_code, 'pothole');
    assertError(await get('requests/KLN-NONE-00.json'), 404, /service_request_id KLN-NONE-00 not found/);
  });

  it('answers in XML when posted to requests.xml; takes a USRN or an address instead of a point', async () => {
    const response = await post('requests.xml', {
      api_key: key,
      service_code: 'missed-bin',
      address_string: '12 Long Row, Kilnford',
      'attribute[bin]': 'garden',
    });
    assert.equal(response.statusCode, 200, response.body);
    const body = xml.parse(response.body);
    const id = body.service_requests.request[0].service_request_id;
    const report = await kiln.services.requests.service.findByReference(kiln.platform.db, id);
    assert.equal(report!.street_name, 'Long Row');
    assert.equal(report!.address, '12');
    const byUsrn = await post(
      'requests.json',
      pothole({ api_key: key, lat: '', long: '', address_id: '41000013' }),
    );
    assert.equal(byUsrn.statusCode, 200, byUsrn.body);
  });

  it('refuses bad input with the right error and stores nothing', async () => {
    const before = await caseCount();
    const revoked = await createApiKey(kiln.platform.db, {
      name: 'Old',
      scopes: ['open311'],
      createdBy: null,
    });
    await revokeApiKey(kiln.platform.db, revoked.id);
    const otherScope = await createApiKey(kiln.platform.db, {
      name: 'Payments',
      scopes: ['payments'],
      createdBy: null,
    });
    const cases: Array<[string, Record<string, string>, number, RegExp]> = [
      ['requests.json', pothole(), 403, /api_key is missing/],
      [
        'requests.json',
        pothole({ api_key: 'kiln_00000000_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa' }),
        403,
        /not valid or revoked/,
      ],
      ['requests.json', pothole({ api_key: revoked.key }), 403, /revoked/],
      ['requests.json', pothole({ api_key: otherScope.key }), 403, /may not post Open311 requests/],
      ['requests.json', pothole({ api_key: key, service_code: '' }), 400, /service_code was not provided/],
      [
        'requests.json',
        pothole({ api_key: key, service_code: 'parking' }),
        404,
        /service_code parking not found/,
      ],
      [
        'requests.json',
        pothole({ api_key: key, 'attribute[depth]': '' }),
        400,
        /attribute\[depth\] is not valid: Select how deep the pothole is/,
      ],
      [
        'requests.json',
        pothole({ api_key: key, 'attribute[size]': 'enormous' }),
        400,
        /attribute\[size\] is not valid/,
      ],
      [
        'requests.json',
        pothole({ api_key: key, lat: '95', long: '-2.15' }),
        400,
        /latitude between -90 and 90/,
      ],
      ['requests.json', pothole({ api_key: key, lat: 'north', long: '-2.15' }), 400, /decimal degrees/],
      ['requests.json', pothole({ api_key: key, lat: '52.95', long: '' }), 400, /decimal degrees/],
      [
        'requests.json',
        pothole({ api_key: key, lat: '51.5', long: '-0.12' }),
        400,
        /outside Kilnford. Report it to North Marlshire Council/,
      ],
      ['requests.json', pothole({ api_key: key, lat: '', long: '' }), 400, /A location is required/],
      [
        'requests.json',
        pothole({ api_key: key, lat: '', long: '', address_id: '999' }),
        400,
        /address_id 999 is not a street/,
      ],
      [
        'requests.json',
        pothole({ api_key: key, email: 'not-an-email' }),
        400,
        /email must be a valid email address/,
      ],
      [
        'requests.json',
        pothole({ api_key: key, media_url: 'file:///etc/passwd' }),
        400,
        /media_url must be an http or https URL/,
      ],
      [
        'requests.json',
        pothole({ api_key: key, description: 'x'.repeat(2001) }),
        400,
        /description must be 2000 characters or fewer/,
      ],
      [
        'requests.json',
        pothole({ api_key: key, jurisdiction_id: 'elsewhere' }),
        404,
        /jurisdiction_id elsewhere not found/,
      ],
      [
        'requests.json',
        { api_key: key, service_code: 'missed-bin', lat: '52.95', long: '-2.15', 'attribute[bin]': 'food' },
        400,
        /address_string with the house number/,
      ],
      [
        'requests.xml',
        pothole({ api_key: key, 'attribute[surface]': '' }),
        400,
        /attribute\[surface\] is not valid/,
      ],
    ];
    for (const [url, fields, status, pattern] of cases)
      assertError(await post(url, fields), status, pattern, url.endsWith('.xml') ? 'xml' : 'json');
    const malformed = await kiln.app.inject({
      method: 'POST',
      url: '/open311/v2/requests.json',
      payload: '{"service_code": ',
      headers: { 'content-type': 'application/json' },
    });
    assertError(malformed, 400, /./);
    assert.equal(await caseCount(), before, 'nothing stored');
  });
});

describe('Open311 GeoReport v2: GET requests and updates', () => {
  it('keeps a list answer briefly for polling clients, and a new request posted here shows at once', async () => {
    const url = 'requests.json?service_code=dog-fouling';
    const before = JSON.parse((await get(url)).body) as unknown[];
    const posted = await post('requests.json', {
      api_key: key,
      service_code: 'dog-fouling',
      lat: '52.9461',
      long: '-2.1562',
      'attribute[place]': 'pavement',
      description: 'Mess on the path by the school gate',
    });
    assert.equal(posted.statusCode, 200, posted.body);
    const id = JSON.parse(posted.body)[0].service_request_id as string;
    // The kept answer for this address is cleared by a POST through the API.
    const afterPost = JSON.parse((await get(url)).body) as Array<{ service_request_id: string }>;
    assert.equal(afterPost.length, before.length + 1);
    assert.ok(afterPost.some((r) => r.service_request_id === id));
  });

  it('filters by id list, service code, status and dates; refuses malformed filters', async () => {
    const a = JSON.parse((await post('requests.json', pothole({ api_key: key }))).body)[0].service_request_id;
    const b = JSON.parse(
      (
        await post('requests.json', {
          api_key: key,
          service_code: 'graffiti',
          lat: '52.95',
          long: '-2.15',
          'attribute[offensive]': 'no',
          'attribute[surface]': 'fence',
        })
      ).body,
    )[0].service_request_id;
    const all = JSON.parse((await get('requests.json')).body);
    valid('requests', all);
    assert.ok(all.length >= 2);
    const byIds = JSON.parse((await get(`requests.json?service_request_id=${a},${b}`)).body);
    assert.deepEqual(
      byIds.map((r: { service_request_id: string }) => r.service_request_id).sort(),
      [a, b].sort(),
    );
    const graffiti = JSON.parse((await get('requests.json?service_code=graffiti&status=open')).body);
    assert.deepEqual(
      graffiti.map((r: { service_request_id: string }) => r.service_request_id),
      [b],
    );
    const closed = JSON.parse((await get('requests.json?status=closed')).body);
    assert.deepEqual(closed, []);
    const now = new Date();
    const start = new Date(now.getTime() - 3_600_000).toISOString();
    const end = new Date(now.getTime() + 60_000).toISOString();
    const windowed = JSON.parse(
      (await get(`requests.json?start_date=${start}&end_date=${end}&status=open`)).body,
    );
    assert.ok(windowed.length >= 2);
    const past = JSON.parse(
      (await get('requests.json?start_date=2020-01-01T00:00:00Z&end_date=2020-02-01T00:00:00Z')).body,
    );
    assert.deepEqual(past, []);
    const asXml = xml.parse((await get(`requests.xml?service_request_id=${b}`)).body);
    assert.equal(asXml.service_requests.request[0].service_request_id, b);
    assert.equal(asXml.service_requests.request[0].long, -2.15);

    assertError(
      await get('requests.json?start_date=yesterday'),
      400,
      /start_date must be a date and time in W3C format/,
    );
    assertError(
      await get('requests.xml?end_date=2026-13-45T00:00:00Z'),
      400,
      /end_date must be a date/,
      'xml',
    );
    assertError(
      await get('requests.json?start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z'),
      400,
      /end_date must be after start_date/,
    );
    assertError(
      await get('requests.json?start_date=2025-01-01T00:00:00Z&end_date=2026-01-01T00:00:00Z'),
      400,
      /90 days or fewer/,
    );
    assertError(await get('requests.json?status=pending'), 400, /status must be open or closed/);
    assertError(await get('requests.json?service_code=parking'), 404, /service_code parking not found/);
  });

  it('reports status changes made in the back office, and the servicerequestupdates extension lists them', async () => {
    const id = JSON.parse((await post('requests.json', pothole({ api_key: key }))).body)[0]
      .service_request_id;
    const c = await kiln.services.cases.service.findByReference(kiln.platform.db, id);
    await kiln.platform.db.transaction().execute((tx) =>
      kiln.services.cases.service.changeStatus(tx, {
        caseId: c!.id,
        status: 'resolved',
        reason: 'Filled and sealed',
        actor: { type: 'staff', id: null },
      }),
    );
    const closed = await kiln.eventually(async () => {
      // The demo data leaves a queue of earlier events; work through it rather than wait.
      await kiln.platform.jobs.runDue('event.requests.sync.status_changed', 500);
      const rows = JSON.parse((await get(`requests.json?service_request_id=${id}`)).body);
      return rows[0].status === 'closed' ? rows : null;
    });
    valid('requests', closed);
    const start = new Date(Date.now() - 3_600_000).toISOString();
    const updates = JSON.parse((await get(`servicerequestupdates.json?start_date=${start}`)).body);
    const mine = updates.filter((u: { service_request_id: string }) => u.service_request_id === id);
    assert.equal(mine.length, 1);
    assert.equal(mine[0].status, 'FIXED');
    assert.equal(mine[0].description, 'Filled and sealed');
    const asXml = xml.parse((await get(`servicerequestupdates.xml?start_date=${start}`)).body);
    assert.ok(
      asXml.service_request_updates.request_update.some((u: { status: string }) => u.status === 'FIXED'),
    );
    assertError(await get('servicerequestupdates.json?start_date=soon'), 400, /start_date must be a date/);
  });
});
