import { sql } from 'kysely';
import { tables, type Db } from '../../platform/db/index.ts';
import type { PaymentMethod, PaymentsTables } from './schema.ts';

export type PaymentRow = PaymentsTables['payments'];
export type LedgerRow = PaymentsTables['payment_ledger'];
export type RefundRow = PaymentsTables['payment_refunds'];
export type SandboxChargeRow = PaymentsTables['payment_sandbox_charges'];

export type NewPaymentRow = Pick<
  PaymentRow,
  | 'reference'
  | 'idempotency_key'
  | 'amount'
  | 'description'
  | 'payer_resident_id'
  | 'payer_email'
  | 'pays_for_type'
  | 'pays_for_id'
  | 'method'
  | 'channel'
  | 'taken_by_staff'
>;

const t = (db: Db) => tables<PaymentsTables>(db);

/** Inserts a payment unless one with the same idempotency key exists; returns the payment either way. */
export async function insertPayment(
  db: Db,
  row: NewPaymentRow,
): Promise<{ payment: PaymentRow; created: boolean }> {
  const inserted = await t(db)
    .insertInto('payments')
    .values(row as never)
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { payment: inserted, created: true };
  const existing = await t(db)
    .selectFrom('payments')
    .selectAll()
    .where('idempotency_key', '=', row.idempotency_key)
    .executeTakeFirstOrThrow();
  return { payment: existing, created: false };
}

export async function residentName(db: Db, residentId: string): Promise<string | null> {
  const { rows } = await sql<{ name: string }>`select name from residents where id = ${residentId}`.execute(
    db,
  );
  return rows[0]?.name ?? null;
}

export function findPayment(db: Db, id: string): Promise<PaymentRow | undefined> {
  return t(db).selectFrom('payments').selectAll().where('id', '=', id).executeTakeFirst();
}

export function findPaymentByReference(db: Db, reference: string): Promise<PaymentRow | undefined> {
  return t(db).selectFrom('payments').selectAll().where('reference', '=', reference).executeTakeFirst();
}

export function findPaymentByProviderId(db: Db, providerId: string): Promise<PaymentRow | undefined> {
  return t(db).selectFrom('payments').selectAll().where('provider_id', '=', providerId).executeTakeFirst();
}

/** Reads a payment and locks its row until the transaction ends: changes to one payment queue. */
export function lockPayment(tx: Db, id: string): Promise<PaymentRow | undefined> {
  return t(tx).selectFrom('payments').selectAll().where('id', '=', id).forUpdate().executeTakeFirst();
}

export async function updatePayment(
  tx: Db,
  id: string,
  patch: Partial<Omit<PaymentRow, 'id' | 'reference' | 'idempotency_key' | 'amount' | 'created_at'>>,
): Promise<PaymentRow> {
  return t(tx)
    .updateTable('payments')
    .set({ ...patch, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function insertLedgerEntry(
  tx: Db,
  entry: Omit<LedgerRow, 'id' | 'created_at' | 'entry_date'> & { entry_date?: string },
): Promise<LedgerRow> {
  return t(tx)
    .insertInto('payment_ledger')
    .values(entry as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function listLedger(db: Db, paymentId: string): Promise<LedgerRow[]> {
  return t(db)
    .selectFrom('payment_ledger')
    .selectAll()
    .where('payment_id', '=', paymentId)
    .orderBy('id')
    .execute();
}

/** Money in, money out and what is left, derived from the ledger (never stored). */
export async function balanceOf(
  db: Db,
  paymentId: string,
): Promise<{ taken: number; returned: number; balance: number }> {
  const row = await t(db)
    .selectFrom('payment_ledger')
    .select([
      sql<number>`coalesce(sum(amount) filter (where amount > 0), 0)::int`.as('taken'),
      sql<number>`coalesce(-sum(amount) filter (where amount < 0), 0)::int`.as('returned'),
    ])
    .where('payment_id', '=', paymentId)
    .executeTakeFirstOrThrow();
  return {
    taken: Number(row.taken),
    returned: Number(row.returned),
    balance: Number(row.taken) - Number(row.returned),
  };
}

/** Refunds not yet booked that may still pay out: they count against what is left to refund. */
export async function refundsInFlight(tx: Db, paymentId: string): Promise<number> {
  const row = await t(tx)
    .selectFrom('payment_refunds')
    .select(sql<number>`coalesce(sum(amount), 0)::int`.as('total'))
    .where('payment_id', '=', paymentId)
    .where('status', 'in', ['submitted', 'attention'])
    .executeTakeFirstOrThrow();
  return Number(row.total);
}

/** Refunds the provider accepted (it gave an id) and Kiln has not booked: its own books hold them. */
export async function refundsAtProvider(tx: Db, paymentId: string): Promise<number> {
  const row = await t(tx)
    .selectFrom('payment_refunds')
    .select(sql<number>`coalesce(sum(amount), 0)::int`.as('total'))
    .where('payment_id', '=', paymentId)
    .where('status', '=', 'submitted')
    .where('provider_refund_id', 'is not', null)
    .executeTakeFirstOrThrow();
  return Number(row.total);
}

/** Payments with a refund saved as submitted that never got the provider's answer. */
export async function paymentsWithUnansweredRefunds(db: Db, before: Date, limit = 100): Promise<string[]> {
  const rows = await t(db)
    .selectFrom('payment_refunds')
    .select('payment_id')
    .distinct()
    .where('status', '=', 'submitted')
    .where('provider_refund_id', 'is', null)
    .where('updated_at', '<', before)
    .limit(limit)
    .execute();
  return rows.map((r) => r.payment_id);
}

/** Takes an unanswered refund for one retry: only one sweep (of several processes) gets it. */
export async function claimUnansweredRefund(db: Db, id: string, before: Date): Promise<boolean> {
  const row = await t(db)
    .updateTable('payment_refunds')
    .set({ updated_at: new Date() })
    .where('id', '=', id)
    .where('status', '=', 'submitted')
    .where('provider_refund_id', 'is', null)
    .where('updated_at', '<', before)
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

export async function insertRefund(
  tx: Db,
  row: Omit<RefundRow, 'id' | 'created_at' | 'updated_at' | 'status' | 'provider_refund_id'>,
): Promise<{ refund: RefundRow; created: boolean }> {
  const inserted = await t(tx)
    .insertInto('payment_refunds')
    .values(row as never)
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { refund: inserted, created: true };
  const existing = await t(tx)
    .selectFrom('payment_refunds')
    .selectAll()
    .where('idempotency_key', '=', row.idempotency_key)
    .executeTakeFirstOrThrow();
  return { refund: existing, created: false };
}

export function updateRefund(
  tx: Db,
  id: string,
  patch: Partial<Pick<RefundRow, 'status' | 'provider_refund_id'>>,
) {
  return t(tx)
    .updateTable('payment_refunds')
    .set({ ...patch, updated_at: new Date() })
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function findRefund(db: Db, id: string): Promise<RefundRow | undefined> {
  return t(db).selectFrom('payment_refunds').selectAll().where('id', '=', id).executeTakeFirst();
}

/** Payments with a refund the provider accepted but has not finished, last touched before `before`. */
export async function paymentsWithSubmittedRefunds(db: Db, before: Date, limit = 100): Promise<string[]> {
  const rows = await t(db)
    .selectFrom('payment_refunds')
    .select('payment_id')
    .distinct()
    .where('status', '=', 'submitted')
    .where('provider_refund_id', 'is not', null)
    .where('updated_at', '<', before)
    .limit(limit)
    .execute();
  return rows.map((r) => r.payment_id);
}

export function listRefunds(db: Db, paymentId: string): Promise<RefundRow[]> {
  return t(db)
    .selectFrom('payment_refunds')
    .selectAll()
    .where('payment_id', '=', paymentId)
    .orderBy('created_at')
    .execute();
}

export interface PaymentFilter {
  status?: string;
  reference?: string;
  residentId?: string;
  paysFor?: { type: string; id: string };
  limit?: number;
}

export function listPayments(db: Db, filter: PaymentFilter = {}): Promise<PaymentRow[]> {
  let q = t(db)
    .selectFrom('payments')
    .selectAll()
    .orderBy('created_at', 'desc')
    .limit(filter.limit ?? 100);
  if (filter.status) q = q.where('status', '=', filter.status as PaymentRow['status']);
  if (filter.reference) q = q.where('reference', '=', filter.reference);
  if (filter.residentId) q = q.where('payer_resident_id', '=', filter.residentId);
  if (filter.paysFor)
    q = q.where('pays_for_type', '=', filter.paysFor.type).where('pays_for_id', '=', filter.paysFor.id);
  return q.execute();
}

/** Card payments still open at the provider, last touched before `before`: for reconciling after a crash. */
export function listUnfinished(db: Db, before: Date, limit = 100): Promise<PaymentRow[]> {
  return t(db)
    .selectFrom('payments')
    .selectAll()
    .where('status', 'in', ['created', 'started', 'submitted'])
    .where('provider_id', 'is not', null)
    .where('updated_at', '<', before)
    .orderBy('updated_at')
    .limit(limit)
    .execute();
}

/** Money received per method and calendar month (Europe/London), net of refunds. */
export async function totalsByMethodAndMonth(db: Db, from: string, to: string) {
  const rows = await t(db)
    .selectFrom('payment_ledger')
    .select([
      sql<string>`to_char(entry_date, 'YYYY-MM')`.as('month'),
      'method',
      sql<number>`count(*) filter (where amount > 0)::int`.as('payments'),
      sql<number>`coalesce(sum(amount) filter (where amount > 0), 0)::bigint`.as('received'),
      sql<number>`coalesce(-sum(amount) filter (where amount < 0), 0)::bigint`.as('refunded'),
    ])
    .where('entry_date', '>=', from)
    .where('entry_date', '<', to)
    .groupBy([sql`to_char(entry_date, 'YYYY-MM')`, 'method'])
    .orderBy('month')
    .orderBy('method')
    .execute();
  return rows.map((r) => ({
    month: r.month,
    method: r.method as PaymentMethod,
    payments: Number(r.payments),
    received: Number(r.received),
    refunded: Number(r.refunded),
  }));
}

/** The ledger's totals for one settlement day, per method and provider. */
export async function ledgerTotalsForDay(db: Db, day: string) {
  const rows = await t(db)
    .selectFrom('payment_ledger')
    .select([
      'method',
      'provider',
      sql<number>`count(*)::int`.as('entries'),
      sql<number>`coalesce(sum(amount), 0)::bigint`.as('net'),
    ])
    .where('entry_date', '=', day)
    .groupBy(['method', 'provider'])
    .execute();
  return rows.map((r) => ({
    method: r.method,
    provider: r.provider,
    entries: Number(r.entries),
    net: Number(r.net),
  }));
}

/** Ledger entries of a day that the sandbox provider has no settlement for, or disagrees on. */
export async function sandboxMismatches(db: Db, day: string, limit = 20) {
  // A day can hold a million entries a side: give the hash join room so it never spills to disk.
  if (db.isTransaction) return mismatchQuery(db, day, limit);
  return db.transaction().execute(async (tx) => {
    await sql`set local work_mem = '256MB'`.execute(tx);
    return mismatchQuery(tx, day, limit);
  });
}

async function mismatchQuery(db: Db, day: string, limit: number) {
  const { rows } = await sql<{ provider_reference: string; ledger: number | null; provider: number | null }>`
    select coalesce(l.provider_reference, s.provider_reference) as provider_reference,
           l.amount as ledger, s.amount as provider
    from (select provider_reference, amount from payment_ledger
          where entry_date = ${day} and provider = 'sandbox') l
    full join (select provider_reference, amount from payment_sandbox_settlements where settled_on = ${day}) s
      on s.provider_reference = l.provider_reference
    where l.amount is distinct from s.amount
    limit ${limit}`.execute(db);
  return rows.map((r) => ({
    providerReference: r.provider_reference,
    ledger: r.ledger === null ? null : Number(r.ledger),
    provider: r.provider === null ? null : Number(r.provider),
  }));
}

export function sandboxSettlementsOn(db: Db, day: string) {
  return t(db)
    .selectFrom('payment_sandbox_settlements')
    .select(['provider_id', 'provider_reference', 'kind', 'amount'])
    .where('settled_on', '=', day)
    .orderBy('id')
    .execute();
}

export async function sandboxSettlementTotals(db: Db, day: string) {
  const row = await t(db)
    .selectFrom('payment_sandbox_settlements')
    .select([
      sql<number>`count(*)::int`.as('entries'),
      sql<number>`coalesce(sum(amount), 0)::bigint`.as('net'),
    ])
    .where('settled_on', '=', day)
    .executeTakeFirstOrThrow();
  return { entries: Number(row.entries), net: Number(row.net) };
}

// The sandbox provider's own books.

export function insertSandboxCharge(
  db: Db,
  row: Pick<SandboxChargeRow, 'provider_id' | 'amount' | 'reference' | 'description' | 'return_url'>,
) {
  return t(db)
    .insertInto('payment_sandbox_charges')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export function findSandboxCharge(db: Db, providerId: string, lock = false) {
  let q = t(db).selectFrom('payment_sandbox_charges').selectAll().where('provider_id', '=', providerId);
  if (lock) q = q.forUpdate();
  return q.executeTakeFirst();
}

export function updateSandboxCharge(
  db: Db,
  providerId: string,
  patch: Partial<Omit<SandboxChargeRow, 'provider_id' | 'amount' | 'created_at'>>,
) {
  return t(db)
    .updateTable('payment_sandbox_charges')
    .set({ ...patch, updated_at: new Date() })
    .where('provider_id', '=', providerId)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function insertSandboxSettlement(
  db: Db,
  row: { provider_id: string; provider_reference: string; kind: 'charge' | 'refund'; amount: number },
) {
  await t(db)
    .insertInto('payment_sandbox_settlements')
    .values(row as never)
    .onConflict((oc) => oc.column('provider_reference').doNothing())
    .execute();
}

export async function sandboxSettledTotal(db: Db, providerId: string): Promise<number> {
  const row = await t(db)
    .selectFrom('payment_sandbox_settlements')
    .select(sql<number>`coalesce(sum(amount), 0)::bigint`.as('total'))
    .where('provider_id', '=', providerId)
    .executeTakeFirstOrThrow();
  return Number(row.total);
}

export function sandboxRefundsOf(db: Db, providerId: string) {
  return t(db)
    .selectFrom('payment_sandbox_settlements')
    .select(['provider_reference', 'amount', 'created_at'])
    .where('provider_id', '=', providerId)
    .where('kind', '=', 'refund')
    .orderBy('id')
    .execute();
}

// Pay-point references and imports.

export type PaypointReferenceRow = PaymentsTables['payment_paypoint_references'];

export async function nextPaypointSerial(tx: Db): Promise<number> {
  const { rows } = await sql<{ n: number }>`select nextval('payment_paypoint_serial')::int as n`.execute(tx);
  return Number(rows[0]!.n);
}

export async function insertPaypointReference(
  tx: Db,
  row: Omit<PaypointReferenceRow, 'created_at'>,
): Promise<PaypointReferenceRow> {
  const inserted = await t(tx)
    .insertInto('payment_paypoint_references')
    .values(row as never)
    .onConflict((oc) => oc.columns(['pays_for_type', 'pays_for_id']).doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return inserted;
  return t(tx)
    .selectFrom('payment_paypoint_references')
    .selectAll()
    .where('pays_for_type', '=', row.pays_for_type)
    .where('pays_for_id', '=', row.pays_for_id)
    .executeTakeFirstOrThrow();
}

export function findPaypointReferences(db: Db, references: string[]): Promise<PaypointReferenceRow[]> {
  if (!references.length) return Promise.resolve([]);
  return t(db)
    .selectFrom('payment_paypoint_references')
    .selectAll()
    .where('reference', 'in', references)
    .execute();
}

export function findPaypointImport(db: Db, sha256: string) {
  return t(db)
    .selectFrom('payment_paypoint_imports')
    .selectAll()
    .where('file_sha256', '=', sha256)
    .executeTakeFirst();
}

export async function insertPaypointImport(
  tx: Db,
  row: Omit<PaymentsTables['payment_paypoint_imports'], 'id' | 'created_at'>,
): Promise<void> {
  await t(tx)
    .insertInto('payment_paypoint_imports')
    .values(row as never)
    .execute();
}

export function listPaypointImports(db: Db, limit = 20) {
  return t(db)
    .selectFrom('payment_paypoint_imports')
    .selectAll()
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
}

// Direct Debit.

export type MandateRow = PaymentsTables['payment_mandates'];
export type InstalmentRow = PaymentsTables['payment_dd_instalments'];

export async function insertMandate(
  tx: Db,
  row: Pick<
    MandateRow,
    'reference' | 'resident_id' | 'account_holder' | 'sort_code' | 'account_number' | 'idempotency_key'
  >,
): Promise<{ mandate: MandateRow; created: boolean }> {
  const inserted = await t(tx)
    .insertInto('payment_mandates')
    .values(row as never)
    .onConflict((oc) => oc.column('idempotency_key').doNothing())
    .returningAll()
    .executeTakeFirst();
  if (inserted) return { mandate: inserted, created: true };
  const existing = await t(tx)
    .selectFrom('payment_mandates')
    .selectAll()
    .where('idempotency_key', '=', row.idempotency_key)
    .executeTakeFirstOrThrow();
  return { mandate: existing, created: false };
}

export function findMandate(db: Db, reference: string): Promise<MandateRow | undefined> {
  return t(db)
    .selectFrom('payment_mandates')
    .selectAll()
    .where('reference', '=', reference)
    .executeTakeFirst();
}

export function listMandates(db: Db, filter: { residentId?: string; status?: MandateRow['status'] } = {}) {
  let q = t(db).selectFrom('payment_mandates').selectAll().orderBy('created_at', 'desc').limit(200);
  if (filter.residentId) q = q.where('resident_id', '=', filter.residentId);
  if (filter.status) q = q.where('status', '=', filter.status);
  return q.execute();
}

export function updateMandate(
  tx: Db,
  id: string,
  patch: Partial<Pick<MandateRow, 'status' | 'submitted_at' | 'cancelled_at' | 'cancel_reason'>>,
) {
  return t(tx)
    .updateTable('payment_mandates')
    .set(patch)
    .where('id', '=', id)
    .returningAll()
    .executeTakeFirstOrThrow();
}

export async function insertInstalments(
  tx: Db,
  rows: Array<Omit<InstalmentRow, 'id' | 'created_at' | 'status' | 'payment_id'>>,
) {
  if (!rows.length) return [];
  return t(tx)
    .insertInto('payment_dd_instalments')
    .values(rows as never)
    .onConflict((oc) => oc.columns(['mandate_id', 'pays_for_type', 'pays_for_id', 'sequence']).doNothing())
    .returningAll()
    .execute();
}

export function listInstalments(db: Db, mandateId: string) {
  return t(db)
    .selectFrom('payment_dd_instalments')
    .selectAll()
    .where('mandate_id', '=', mandateId)
    .orderBy('due_date')
    .orderBy('sequence')
    .execute();
}

/** Scheduled collections due on or before a day, on mandates already lodged with Bacs, locked for the file. */
export async function dueInstalments(tx: Db, day: string) {
  return t(tx)
    .selectFrom('payment_dd_instalments as i')
    .innerJoin('payment_mandates as m', 'm.id', 'i.mandate_id')
    .selectAll('i')
    .select([
      'm.reference as mandate_reference',
      'm.resident_id',
      'm.sort_code',
      'm.account_number',
      'm.account_holder',
    ])
    .where('i.status', '=', 'scheduled')
    .where('i.due_date', '<=', day)
    .where('m.status', 'in', ['submitted', 'active'])
    .orderBy('i.due_date')
    .forUpdate('i')
    .execute();
}

export function updateInstalment(
  tx: Db,
  id: string,
  patch: Partial<Pick<InstalmentRow, 'status' | 'payment_id'>>,
) {
  return t(tx).updateTable('payment_dd_instalments').set(patch).where('id', '=', id).execute();
}

export async function insertBacsFile(
  tx: Db,
  row: Omit<PaymentsTables['payment_bacs_files'], 'id' | 'created_at'>,
) {
  return t(tx)
    .insertInto('payment_bacs_files')
    .values(row as never)
    .returningAll()
    .executeTakeFirstOrThrow();
}

/** A submission serial number for VOL1: six digits, different for every file (Bacs wants one unique per day). */
export async function nextBacsSerial(tx: Db): Promise<string> {
  const row = await t(tx)
    .selectFrom('payment_bacs_files')
    .select(sql<number>`count(*)::int`.as('n'))
    .executeTakeFirstOrThrow();
  return String((Number(row.n) % 999_999) + 1).padStart(6, '0');
}

export function findBacsFile(db: Db, id: string) {
  return t(db).selectFrom('payment_bacs_files').selectAll().where('id', '=', id).executeTakeFirst();
}

export function listBacsFiles(db: Db) {
  return t(db)
    .selectFrom('payment_bacs_files')
    .select(['id', 'file_name', 'processing_date', 'instructions', 'collections', 'total', 'created_at'])
    .orderBy('created_at', 'desc')
    .limit(20)
    .execute();
}

export function lockPendingMandates(tx: Db) {
  return t(tx)
    .selectFrom('payment_mandates')
    .selectAll()
    .where('status', '=', 'pending_submission')
    .orderBy('created_at')
    .forUpdate()
    .execute();
}

/** The latest collected instalment of this amount on a mandate, locked: what an ARUDD item returns. */
export function findCollectedInstalment(tx: Db, mandateReference: string, amount: number) {
  return t(tx)
    .selectFrom('payment_dd_instalments as i')
    .innerJoin('payment_mandates as m', 'm.id', 'i.mandate_id')
    .selectAll('i')
    .select(['m.resident_id'])
    .where('m.reference', '=', mandateReference)
    .where('i.amount', '=', amount)
    .where('i.status', '=', 'collected')
    .orderBy('i.due_date', 'desc')
    .limit(1)
    .forUpdate('i')
    .executeTakeFirst();
}

export function cancelFutureInstalments(tx: Db, mandateId: string) {
  return t(tx)
    .updateTable('payment_dd_instalments')
    .set({ status: 'cancelled' })
    .where('mandate_id', '=', mandateId)
    .where('status', '=', 'scheduled')
    .execute();
}

// What providers say they settled, fetched for reconciliation.

export async function saveProviderSettlements(
  tx: Db,
  provider: string,
  rows: Array<{
    kind: 'charge' | 'refund';
    providerReference: string;
    providerPaymentId: string;
    amount: number;
    settledOn: string;
  }>,
): Promise<number> {
  let added = 0;
  for (let i = 0; i < rows.length; i += 500) {
    const chunk = rows.slice(i, i + 500);
    const inserted = await t(tx)
      .insertInto('payment_provider_settlements')
      .values(
        chunk.map((r) => ({
          provider,
          kind: r.kind,
          provider_reference: r.providerReference,
          provider_payment_id: r.providerPaymentId,
          amount: r.amount,
          settled_on: r.settledOn,
        })) as never,
      )
      .onConflict((oc) => oc.columns(['provider', 'kind', 'provider_reference']).doNothing())
      .returning('id')
      .execute();
    added += inserted.length;
  }
  return added;
}

/**
 * A settlement day against the ledger: each settled item with the ledger's amount for the same
 * provider reference; items the ledger lacks or disagrees on are the mismatches.
 */
export async function settlementAgainstLedger(db: Db, provider: string, day: string) {
  const { rows } = await sql<{
    kind: 'charge' | 'refund';
    provider_reference: string;
    provider_payment_id: string;
    settled: number;
    ledger: number | null;
    payment_reference: string | null;
  }>`
    select s.kind, s.provider_reference, s.provider_payment_id, s.amount as settled,
           l.amount as ledger, p.reference as payment_reference
    from payment_provider_settlements s
    left join payment_ledger l on l.provider = s.provider and l.provider_reference = s.provider_reference
    left join payments p on p.id = l.payment_id
    where s.provider = ${provider} and s.settled_on = ${day}
    order by s.id`.execute(db);
  return rows.map((r) => ({
    kind: r.kind,
    providerReference: r.provider_reference,
    providerPaymentId: r.provider_payment_id,
    settled: Number(r.settled),
    ledger: r.ledger === null ? null : Number(r.ledger),
    paymentReference: r.payment_reference,
  }));
}

/** Ledger money from a provider booked between two days with no settlement for it yet: not paid out. */
export async function unsettledLedgerEntries(
  db: Db,
  provider: string,
  from: string,
  through: string,
  limit = 50,
) {
  const { rows } = await sql<{
    provider_reference: string;
    amount: number;
    entry_date: string;
    payment_reference: string;
  }>`
    select l.provider_reference, l.amount, to_char(l.entry_date, 'YYYY-MM-DD') as entry_date, p.reference as payment_reference
    from payment_ledger l join payments p on p.id = l.payment_id
    where l.provider = ${provider} and l.provider_reference is not null
      and l.entry_date between ${from} and ${through}
      and not exists (select 1 from payment_provider_settlements s
                      where s.provider = l.provider and s.provider_reference = l.provider_reference)
    order by l.entry_date, l.id
    limit ${limit}`.execute(db);
  return rows.map((r) => ({ ...r, amount: Number(r.amount) }));
}

/** Active staff with their roles, to tell those who reconcile about a settlement mismatch. */
export async function activeStaff(db: Db): Promise<Array<{ email: string; role: string }>> {
  const { rows } = await sql<{ email: string; role: string }>`
    select email, role from staff_users where active order by email`.execute(db);
  return rows;
}

/** Net money received for what a payment pays for (a council tax account), from the ledger. */
export async function receivedFor(db: Db, paysFor: { type: string; id: string }): Promise<number> {
  const { rows } = await sql<{ total: string | number | null }>`
    select coalesce(sum(l.amount), 0)::bigint as total
    from payment_ledger l join payments p on p.id = l.payment_id
    where p.pays_for_type = ${paysFor.type} and p.pays_for_id = ${paysFor.id}`.execute(db);
  return Number(rows[0]?.total ?? 0);
}
