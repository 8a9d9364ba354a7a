import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compactHtml } from './compact-html.ts';

test('indentation and blank lines go; text in pre, textarea and script stays as it was', () => {
  const html = [
    '<ul>',
    '    <li>One</li>',
    '',
    '',
    '    <li>Two   words</li>  ',
    '</ul>',
    '<pre>  keep\n\n    this</pre>',
    '<textarea name="t">\n  line one\n\n  line two</textarea>',
    '<script>\n  var a = 1\n    ;</script>',
    '  <p>after</p>',
  ].join('\n');
  assert.equal(
    compactHtml(html),
    [
      '<ul>',
      '<li>One</li>',
      '<li>Two   words</li>',
      '</ul>',
      '<pre>  keep\n\n    this</pre>',
      '<textarea name="t">\n  line one\n\n  line two</textarea>',
      '<script>\n  var a = 1\n    ;</script>',
      '<p>after</p>',
    ].join('\n'),
  );
});

test('a page without whitespace runs is unchanged', () => {
  const html = '<p>Hello <strong>there</strong></p>';
  assert.equal(compactHtml(html), html);
});

test('random tokens are distinct, of the asked length, across pool refills', async () => {
  const { randomToken } = await import('../random.ts');
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) seen.add(randomToken(24));
  assert.equal(seen.size, 1000);
  for (const t of seen) assert.match(t, /^[A-Za-z0-9_-]{32}$/);
});
