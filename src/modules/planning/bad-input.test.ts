import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { startTestApp, type TestKiln } from '../../../test/support/app.ts';

let kiln: TestKiln;
before(async () => {
  kiln = await startTestApp();
});
after(async () => {
  await kiln.close();
});

test('bulk open data answers 400 problem+json for a page that is not a whole number in range', async () => {
  for (const format of ['json', 'csv', 'geojson'])
    for (const page of ['1e309', '99999999999999999999', '-1', '0', 'abc', '1.5', '10001']) {
      const res = await kiln.app.inject({ url: `/api/v1/planning/applications.${format}?page=${page}` });
      assert.equal(res.statusCode, 400, `${format} page=${page}`);
      assert.match(String(res.headers['content-type']), /application\/problem\+json/);
      assert.match(res.json().detail, /page/);
    }
  const ok = await kiln.app.inject({ url: '/api/v1/planning/applications.json?page=2' });
  assert.equal(ok.statusCode, 200);
});

test('an oversized upload without a session is a 413 page, not a crash, and nothing is stored', async () => {
  const before = await kiln.app.inject({ url: '/api/v1/planning/applications.json' });
  const huge = Buffer.alloc(60 * 1024 * 1024, 'a');
  for (const step of ['boundary', 'documents']) {
    const res = await kiln.app.inject({
      method: 'POST',
      url: `/planning/apply/PP-0000-0000/${step}`,
      headers: { 'content-type': 'multipart/form-data; boundary=x' },
      payload: Buffer.concat([
        Buffer.from(
          '--x\r\nContent-Disposition: form-data; name="document"; filename="a.pdf"\r\nContent-Type: application/pdf\r\n\r\n',
        ),
        huge,
        Buffer.from('\r\n--x--\r\n'),
      ]),
    });
    assert.ok([400, 413].includes(res.statusCode), `${step}: ${res.statusCode}`);
    assert.match(res.body, /too large/i);
  }
  const after = await kiln.app.inject({ url: '/api/v1/planning/applications.json' });
  assert.equal(after.json().entities.length, before.json().entities.length);
});
