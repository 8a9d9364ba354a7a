import type { Kiln } from '../../app.ts';
import { systemActor } from '../../platform/actor.ts';
import { tables } from '../../platform/db/index.ts';
import type { IdentityTables } from '../../platform/auth/identity.ts';
import type { DemoPeople, Platform } from '../../platform/module.ts';
import { councilTaxPaysFor, type CouncilTaxService } from './council-tax.ts';
import type { PaymentsInstance } from './index.ts';

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
  // A Direct Debit instruction waiting for the next Bacs file (the council tax account is seeded
  // by the council tax part of the module: see seedCouncilTaxDemo).
  await db.transaction().execute((tx) =>
    kiln.services.payments.directDebit.setUpMandate(tx, {
      residentId: resident.id,
      bank: { accountHolder: 'Alex Moreton', sortCode: '089999', accountNumber: '66374958' },
      idempotencyKey: 'demo-mandate-1',
      actor,
    }),
  );
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

/** The demo council tax account number (fictional). */
export const DEMO_COUNCIL_TAX_ACCOUNT = '40017123';

/**
 * The demo resident's council tax for 2026/27: band C, 10 instalments from April, the first six
 * paid (five by card, one in cash at a shop), the rest still to pay.
 */
export async function seedCouncilTaxDemo(
  platform: Platform,
  councilTax: CouncilTaxService,
  payments: PaymentsInstance,
  demo: DemoPeople,
): Promise<void> {
  const { db } = platform;
  const residentId = demo.resident.id;
  const actor = { type: 'resident' as const, id: residentId };
  const account = await db.transaction().execute((tx) =>
    councilTax.createAccount(tx, {
      residentId,
      propertyAddress: '12 Bottle Kiln Lane, Kilnford KF1 2AB',
      band: 'C',
      yearStart: '2026-04-01',
      bandDCharge: 223_704,
      reference: DEMO_COUNCIL_TAX_ACCOUNT,
      actor: systemActor,
    }),
  );
  const instalments = councilTax.statutoryInstalments(account).slice(0, 6);
  for (const [n, instalment] of instalments.entries()) {
    const payment = await db.transaction().execute((tx) =>
      payments.service.createPayment(tx, {
        amount: instalment.amount,
        description: `Council tax ${account.year_label}, account ${account.reference}`,
        payer: { residentId },
        paysFor: councilTaxPaysFor(account.reference),
        idempotencyKey: `demo-council-tax-${n + 1}`,
        method: n === 5 || !payments.sandbox ? 'paypoint_cash' : 'card',
        channel: n === 5 || !payments.sandbox ? 'paypoint' : 'web',
        actor,
      }),
    );
    if (payment.method === 'card' && payments.sandbox) {
      const { nextUrl } = await payments.service.startCardPayment(
        payment,
        `/pay/${payment.reference}/confirmation`,
        actor,
      );
      await payments.sandbox.submitCard(nextUrl.split('/').pop()!, { number: '4444333322221111' });
      await payments.service.reconcile(payment.id, actor);
    } else {
      await db.transaction().execute((tx) =>
        payments.service.recordReceipt(tx, {
          payment: payment.id,
          kind: 'cash_receipt',
          provider: 'paypoint',
          providerReference: `DEMO-PP-${n + 1}`,
          actor: systemActor,
        }),
      );
    }
  }
}
