import type { Kiln } from '../../app.ts';
import { systemActor } from '../../platform/actor.ts';
import { tables } from '../../platform/db/index.ts';
import type { IdentityTables } from '../../platform/auth/identity.ts';

/** Demo payments for the demo resident, made through the payments service (and the sandbox's card page rules). */
export async function seedPaymentsDemo(kiln: Kiln): Promise<void> {
  const { db } = kiln.platform;
  const { service, sandbox } = kiln.services.payments;
  const resident = await tables<IdentityTables>(db)
    .selectFrom('residents')
    .select('id')
    .where('email', '=', 'resident@kilnford.example')
    .executeTakeFirst();
  if (!resident) return;
  const actor = { type: 'resident' as const, id: resident.id };
  const make = (key: string, amount: number, description: string, type: string) =>
    db.transaction().execute((tx) =>
      service.createPayment(tx, {
        amount,
        description,
        payer: { residentId: resident.id },
        paysFor: { type, id: key },
        idempotencyKey: `demo-${key}`,
        actor,
      }),
    );

  if (sandbox) {
    const bulky = await make('bulky-waste-1', 3500, 'Bulky waste collection: 3 items', 'demo');
    const { nextUrl } = await service.startCardPayment(bulky, `/pay/${bulky.reference}/confirmation`, actor);
    await sandbox.submitCard(nextUrl.split('/').pop()!, { number: '4444333322221111' });
    await service.reconcile(bulky.id, actor);
    const permit = await make('garden-waste-1', 5200, 'Garden waste subscription 2026/27', 'demo');
    await service.startCardPayment(permit, `/pay/${permit.reference}/confirmation`, actor);
  }
  await db.transaction().execute((tx) =>
    kiln.services.payments.cash.issueReference(tx, {
      paysFor: { type: 'demo', id: 'council-tax-2026' },
      description: 'Council tax 2026/27, 12 Bottle Kiln Lane',
      payer: { residentId: resident.id },
    }),
  );
  await db.transaction().execute(async (tx) => {
    const mandate = await kiln.services.payments.directDebit.setUpMandate(tx, {
      residentId: resident.id,
      bank: { accountHolder: 'Alex Moreton', sortCode: '089999', accountNumber: '66374958' },
      idempotencyKey: 'demo-mandate-1',
      actor,
    });
    await kiln.services.payments.directDebit.schedule(tx, {
      mandateId: mandate.id,
      paysFor: { type: 'demo', id: 'council-tax-2026' },
      description: 'Council tax 2026/27',
      total: 186_420,
      instalments: 10,
      dayOfMonth: 1,
      firstMonth: '2027-04',
      actor: systemActor,
    });
  });
  const desk = await make('cash-desk-1', 2000, 'Replacement recycling box', 'demo');
  await db.transaction().execute((tx) =>
    service.recordReceipt(tx, {
      payment: desk.id,
      kind: 'cash_receipt',
      providerReference: 'DESK-0001',
      actor: systemActor,
    }),
  );
}
