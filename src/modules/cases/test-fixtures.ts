import { randomUUID } from 'node:crypto';
import type { TestKiln } from '../../../test/support/app.ts';
import type { NewCase } from './service.ts';

/** Creates a case through the cases service, for tests; defaults to a team with no demo cases. */
export async function givenCase(kiln: TestKiln, overrides: Partial<NewCase> = {}) {
  const cases = kiln.services.cases.service;
  return kiln.platform.db.transaction().execute((tx) =>
    cases.createCase(tx, {
      service: {
        slug: 'borrow-a-library-laptop',
        title: 'Borrow a library laptop',
        version: 3,
        teamCode: 'libraries',
        sla: { value: 5, unit: 'working_days' },
      },
      residentId: null,
      channel: 'web',
      answers: { branch: { question: 'Which library?', answer: 'Kilnford Central' } },
      summary: 'Kilnford Central',
      idempotencyKey: randomUUID(),
      actor: { type: 'resident', id: null },
      ...overrides,
    }),
  );
}

/** The demo resident's id. */
export async function demoResidentId(kiln: TestKiln): Promise<string> {
  const r = await kiln.services.cases.service.findResidentByReference(kiln.platform.db, 'CU-DEMO-01');
  if (!r) throw new Error('The demo resident is missing');
  return r.id;
}
