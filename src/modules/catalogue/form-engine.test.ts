import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { questionSchema, serviceDefinitionSchema, type Question } from './definition.ts';
import {
  firstUnanswered,
  nextQuestion,
  previousQuestion,
  questionsToAsk,
  relevantAnswers,
  ukPhone,
  validateAll,
  validateAnswer,
} from './form-engine.ts';
import { localGazetteer } from './gazetteer.ts';
import { demoServices } from './seed.ts';
import { editDistance, SearchIndex } from './search.ts';

const gazetteer = localGazetteer();
const question = (q: Partial<Question> & Pick<Question, 'type'>): Question =>
  questionSchema.parse({ id: 'answer', label: 'Your answer', validation: { required: true }, ...q });
const check = (q: Question, input: unknown) => validateAnswer(q, input, gazetteer);
const message = (q: Question, input: unknown) => {
  const r = check(q, input);
  return r.ok ? null : r.message;
};
const street = serviceDefinitionSchema.parse(demoServices.find((s) => s.slug === 'report-a-street-problem'));

describe('form engine: answers by type', () => {
  test('required text names the answer the GOV.UK way; length and pattern rules have their own words', () => {
    const q = question({
      type: 'text',
      errorName: 'your council tax account number',
      validation: {
        required: true,
        minLength: 8,
        maxLength: 8,
        pattern: { regex: '5\\d{7}', message: 'Account number must start with 5' },
      },
    });
    assert.equal(message(q, '  '), 'Enter your council tax account number');
    assert.equal(message(q, '5123'), 'Your council tax account number must be 8 characters or more');
    assert.equal(message(q, '512345678'), 'Your council tax account number must be 8 characters or less');
    assert.equal(message(q, '41234567'), 'Account number must start with 5');
    assert.deepEqual(check(q, ' 51234567 '), { ok: true, value: '51234567' });
  });

  test('an optional question left blank is answered with nothing', () => {
    assert.deepEqual(check(question({ type: 'long_text', validation: { required: false } }), ''), {
      ok: true,
      value: null,
    });
  });

  test('email and UK phone numbers', () => {
    const email = question({ type: 'email', errorName: 'your email address' });
    assert.equal(message(email, ''), 'Enter your email address');
    assert.equal(
      message(email, 'name@'),
      'Enter an email address in the correct format, like name@example.com',
    );
    assert.deepEqual(check(email, ' Name@Example.com '), { ok: true, value: 'name@example.com' });
    const phone = question({ type: 'phone', errorName: 'a phone number' });
    assert.match(message(phone, '12345')!, /^Enter a telephone number, like 01632 960 001/);
    assert.equal(ukPhone('+44 7700 900982'), '07700900982');
    assert.equal(ukPhone('(01632) 960-001'), '01632960001');
    assert.equal(ukPhone('00 1 555 1234'), null);
  });

  test('numbers with limits', () => {
    const q = question({
      type: 'number',
      errorName: 'how many bins you need',
      validation: { required: true, min: 1, max: 3 },
    });
    assert.equal(message(q, 'two'), 'How many bins you need must be a number');
    assert.equal(message(q, '0'), 'How many bins you need must be 1 or more');
    assert.equal(message(q, '4'), 'How many bins you need must be 3 or less');
    assert.deepEqual(check(q, '2'), { ok: true, value: 2 });
    assert.deepEqual(check(q, 2), { ok: true, value: 2 });
  });

  test('dates: missing parts, real dates, past and future', () => {
    const past = question({
      type: 'date',
      errorName: 'your date of birth',
      validation: { required: true, date: 'past' },
    });
    assert.equal(message(past, { day: '', month: '', year: '' }), 'Enter your date of birth');
    const partial = check(past, { day: '3', month: '', year: '1990' });
    assert.equal(partial.ok, false);
    assert.equal(!partial.ok && partial.message, 'Your date of birth must include a month');
    assert.equal(!partial.ok && partial.part, 'month');
    assert.equal(
      message(past, { day: '31', month: '2', year: '1990' }),
      'Your date of birth must be a real date',
    );
    assert.equal(
      message(past, { day: '1', month: '1', year: '2999' }),
      'Date of birth must be in the past'.replace(/^D/, 'Your d'),
    );
    assert.deepEqual(check(past, { day: '3', month: '4', year: '1990' }), { ok: true, value: '1990-04-03' });
    assert.deepEqual(check(past, '1990-04-03'), { ok: true, value: '1990-04-03' });
    const future = question({
      type: 'date',
      errorName: 'the start date',
      validation: { required: true, date: 'future' },
    });
    assert.equal(message(future, '2001-01-01'), 'The start date must be in the future');
  });

  test('yes or no, single and multiple choice accept only their options', () => {
    const yesNo = question({ type: 'yes_no', errorName: 'if you receive Council Tax Reduction' });
    assert.equal(message(yesNo, ''), 'Select if you receive Council Tax Reduction');
    assert.deepEqual(check(yesNo, true), { ok: true, value: 'yes' });
    const options = [
      { value: 'a', text: 'A' },
      { value: 'b', text: 'B' },
    ];
    const single = question({ type: 'single_choice', errorName: 'the problem', options });
    assert.equal(message(single, 'c'), 'Select the problem');
    assert.deepEqual(check(single, 'b'), { ok: true, value: 'b' });
    const multiple = question({ type: 'multiple_choice', errorName: 'which bins were missed', options });
    assert.equal(message(multiple, []), 'Select which bins were missed');
    assert.equal(message(multiple, ['a', 'z']), 'Select which bins were missed');
    assert.deepEqual(check(multiple, ['b', 'a', 'b']), { ok: true, value: ['b', 'a'] });
  });

  test('addresses: from the gazetteer or entered by hand', () => {
    const q = question({ type: 'address', errorName: 'the address' });
    const [first] = gazetteer.findAddresses('KF1 3CD');
    assert.equal(first?.text, '1 Saggar Street, Kilnford, KF1 3CD');
    assert.deepEqual(check(q, { uprn: first!.uprn }), {
      ok: true,
      value: { uprn: first!.uprn, text: first!.text },
    });
    assert.equal(message(q, { uprn: '999' }), 'Select an address from the list');
    assert.equal(
      message(q, { line1: '4 Mill Lane', town: 'Kilnford', postcode: 'nonsense' }),
      'Enter a full UK postcode',
    );
    assert.deepEqual(check(q, { line1: '4 Mill Lane', line2: '', town: 'Kilnford', postcode: 'kf12ab' }), {
      ok: true,
      value: { uprn: null, text: '4 Mill Lane, Kilnford, KF1 2AB' },
    });
    assert.equal(gazetteer.findAddresses('12 saggar').length, 1);
  });

  test('locations: a street by name, a choice when the name is ambiguous, or a map pin', () => {
    const q = question({ type: 'location', errorName: 'the street' });
    const found = check(q, { street: 'saggar street', detail: 'outside number 4' });
    assert.equal(found.ok && (found.value as { text: string }).text, 'Saggar Street, Kilnford');
    const ambiguous = check(q, { street: 'lane' });
    assert.equal(ambiguous.ok, false);
    assert.ok(!ambiguous.ok && (ambiguous.streets?.length ?? 0) > 1);
    assert.equal(
      message(q, { street: 'Atlantis Avenue' }),
      'We cannot find a street called Atlantis Avenue in Kilnford',
    );
    const pinned = check(q, { lat: '52.95', lng: '-2.15' });
    assert.equal(pinned.ok, true);
    assert.equal(message(q, { lat: '40.7', lng: '-74.0' }), 'The location must be in Kilnford');
    const farPin = check(q, { street: 'Glaze Row', lat: '40.7', lng: '-74.0' });
    assert.equal(farPin.ok && (farPin.value as { lat: number | null }).lat, null);
  });
});

describe('form engine: conditional questions and order', () => {
  test('the pothole depth question is asked only about potholes', () => {
    const ids = (answers: Record<string, string>, knownResident = false) =>
      questionsToAsk(street, answers, { knownResident }).map((q) => q.id);
    assert.deepEqual(ids({ problem: 'graffiti' }), ['problem', 'location', 'description', 'photo', 'email']);
    assert.deepEqual(ids({ problem: 'pothole' }), [
      'problem',
      'pothole-depth',
      'location',
      'description',
      'photo',
      'email',
    ]);
    // Signed-in residents are not asked for an email address again.
    assert.deepEqual(ids({ problem: 'graffiti' }, true), ['problem', 'location', 'description', 'photo']);
  });

  test('next and previous follow the answers; a changed answer drops the ones that no longer apply', () => {
    const ctx = { knownResident: false };
    assert.equal(nextQuestion(street, { problem: 'pothole' }, 'problem', ctx)?.id, 'pothole-depth');
    assert.equal(nextQuestion(street, { problem: 'graffiti' }, 'problem', ctx)?.id, 'location');
    assert.equal(previousQuestion(street, { problem: 'graffiti' }, 'location', ctx)?.id, 'problem');
    assert.equal(previousQuestion(street, {}, 'problem', ctx), null);
    assert.equal(nextQuestion(street, {}, 'email', ctx), null);
    assert.equal(firstUnanswered(street, { problem: 'pothole' }, ctx)?.id, 'pothole-depth');
    assert.deepEqual(relevantAnswers(street, { problem: 'graffiti', 'pothole-depth': 'over-10cm' }, ctx), {
      problem: 'graffiti',
    });
  });

  test('all answers at once (the API) list every invalid field and ignore hidden questions', () => {
    const { errors } = validateAll(
      street,
      { problem: 'pothole', description: '', unknown: 'x' },
      { knownResident: false },
      gazetteer,
    );
    assert.deepEqual(
      errors.map((e) => e.questionId),
      ['unknown', 'pothole-depth', 'location', 'description', 'email'],
    );
    const ok = validateAll(
      street,
      { problem: 'graffiti', location: 'Glaze Row', description: 'Tags on the wall', email: 'a@example.com' },
      { knownResident: false },
      gazetteer,
    );
    assert.deepEqual(ok.errors, []);
    assert.equal(ok.answers.photo, null);
  });

  test('a definition is refused when a question depends on a later one or an id is used twice', () => {
    const base = { ...demoServices[0]! };
    const bad = serviceDefinitionSchema.safeParse({ ...base, questions: [...base.questions].reverse() });
    assert.equal(bad.success, false);
    const twice = serviceDefinitionSchema.safeParse({
      ...base,
      questions: [base.questions[0], base.questions[0]],
    });
    assert.equal(twice.success, false);
    assert.equal(
      questionSchema.safeParse({ id: 'x', type: 'single_choice', label: 'X', options: [] }).success,
      false,
    );
    assert.equal(
      questionSchema.safeParse({
        id: 'x',
        type: 'text',
        label: 'X',
        validation: { pattern: { regex: '(', message: 'm' } },
      }).success,
      false,
    );
  });
});

describe('search', () => {
  test('edit distance counts swaps as one', () => {
    assert.equal(editDistance('recyling', 'recycling', 2), 1);
    assert.equal(editDistance('form', 'from', 2), 1);
    assert.equal(editDistance('bins', 'library', 2), 3);
  });

  test('typos still find the right service', () => {
    const index = new SearchIndex();
    index.replace(
      demoServices.map((s) => ({
        kind: 'service' as const,
        title: s.title,
        summary: s.summary,
        href: `/services/${s.slug}`,
        fields: [
          { text: s.title, weight: 3 },
          { text: s.summary, weight: 2 },
          { text: s.description, weight: 1 },
        ],
      })),
    );
    assert.equal(index.search('potholl')[0]?.document.href, '/services/report-a-street-problem');
    assert.equal(index.search('libary card')[0]?.document.href, '/services/join-the-library');
    assert.ok(
      index.search('recyling').some((r) => r.document.href === '/services/apply-for-a-garden-waste-permit'),
    );
    assert.deepEqual(index.search('xylophone quartz'), []);
  });
});
