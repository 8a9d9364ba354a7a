import assert from 'node:assert/strict';
import { test } from 'node:test';
import nunjucks from 'nunjucks';
import { createViews } from './index.ts';

const views = createViews({ councilName: 'Kilnford City Council', demoMode: false });

test('GOV.UK macros work in any template without an import', () => {
  const html = views.renderString('{{ govukButton({ text: "Continue" }) }}', {});
  assert.match(
    html,
    /<button type="submit" class="govuk-button" data-module="govuk-button">\s*Continue\s*<\/button>/,
  );
});

test('a template may still import a GOV.UK macro itself', () => {
  const html = views.renderString(
    '{% from "govuk/components/tag/macro.njk" import govukTag %}{{ govukTag({ text: "Received" }) }}',
    {},
  );
  assert.match(html, /<strong class="govuk-tag">\s*Received\s*<\/strong>/);
});

test('trim removes surrounding whitespace and keeps safe HTML safe', () => {
  assert.equal(views.renderString('[{{ "  a b \\n\\t" | trim }}]', {}), '[a b]');
  const safe = new nunjucks.runtime.SafeString('  <b>bold</b>\n ');
  assert.equal(views.renderString('{{ value | trim }}', { value: safe }), '<b>bold</b>');
  assert.equal(views.renderString('{{ value | trim }}', { value: '  <b>x</b> ' }), '&lt;b&gt;x&lt;/b&gt;');
});

test('a page renders the same for consecutive visitors (macros keep no state between renders)', () => {
  const context = { title: 'Accessibility statement', csrfToken: 't', stylesheetUrl: '/assets/x.css' };
  const first = views.render('pages/accessibility.njk', context);
  views.render('pages/accessibility.njk', { ...context, errors: [{ field: 'x', text: 'Enter x' }] });
  assert.equal(views.render('pages/accessibility.njk', context), first);
  assert.match(first, /<h1 class="govuk-heading-l">Accessibility statement<\/h1>/);
});
