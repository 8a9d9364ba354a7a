import { randomInt } from 'node:crypto';
import type { Actor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import type { IdentityTables } from '../../platform/auth/identity.ts';
import { tables, type Db } from '../../platform/db/index.ts';
import type { Platform } from '../../platform/module.ts';
import { londonDay } from '../../platform/time.ts';
import { addWorkingDays, nextWorkingDay } from '../../platform/working-days.ts';
import { splitInstalments } from './bacs.ts';
import type { CashService } from './cash-service.ts';
import type { DirectDebitService } from './direct-debit.ts';
import { councilTaxBillPdf } from './pdf.ts';
import type { CouncilTaxBand, PaymentsTables } from './schema.ts';
import { PaymentError, type PaymentsService } from './service.ts';
import * as store from './store.ts';
import type { MandateRow } from './store.ts';

export type CouncilTaxAccountRow = PaymentsTables['payment_council_tax_accounts'];

/** What a council tax payment is booked against: the account number. */
export const councilTaxPaysFor = (reference: string) => ({ type: 'council-tax', id: reference });

/** The band's share of band D (Local Government Finance Act 1992, s.5). */
const bandNinths: Record<CouncilTaxBand, number> = { A: 6, B: 7, C: 8, D: 9, E: 11, F: 13, G: 15, H: 18 };

/** The year's charge for a band from the band D charge, in whole pence. */
export function bandCharge(bandD: number, band: CouncilTaxBand): number {
  return Math.round((bandD * bandNinths[band]) / 9);
}

/** Where delivery of bills goes: the signing module's letters in My account. */
export interface LetterBox {
  deliverLetter(
    tx: Db,
    residentId: string,
    letter: { title: string; pdf: Buffer },
  ): Promise<{ reference: string }>;
}

export interface CouncilTaxInstalment {
  dueDate: string;
  amount: number;
  status: 'paid' | 'part paid' | 'due' | 'overdue' | 'collected' | 'scheduled' | 'failed' | 'cancelled';
}

const t = (db: Db) => tables<PaymentsTables>(db);

/** A date column as YYYY-MM-DD, whichever driver read it (PGlite and node-postgres differ). */
export function dayOf(value: string | Date): string {
  if (typeof value === 'string') return value.slice(0, 10);
  const utcMidnight = value.getUTCHours() === 0 && value.getUTCMinutes() === 0;
  const d = utcMidnight
    ? [value.getUTCFullYear(), value.getUTCMonth() + 1, value.getUTCDate()]
    : [value.getFullYear(), value.getMonth() + 1, value.getDate()];
  return `${d[0]}-${String(d[1]).padStart(2, '0')}-${String(d[2]).padStart(2, '0')}`;
}

function normalise(row: CouncilTaxAccountRow): CouncilTaxAccountRow {
  return { ...row, year_start: dayOf(row.year_start) };
}

/** Council tax accounts: the charge, statutory instalments, balance from the ledger, bills and paperless billing. */
export function createCouncilTaxService(
  platform: Platform,
  deps: {
    payments: PaymentsService;
    cash: CashService;
    directDebit: DirectDebitService;
    letters: LetterBox;
  },
) {
  const { payments, cash, directDebit, letters } = deps;
  const db = () => platform.db;

  /** The bill's instalments: 10 or 12 monthly, from April, on the 1st; the first carries the odd pence. */
  function statutoryInstalments(account: CouncilTaxAccountRow) {
    const [year, month] = account.year_start.split('-').map(Number) as [number, number];
    return splitInstalments(account.annual_charge, account.instalments).map((amount, i) => ({
      dueDate: new Date(Date.UTC(year, month - 1 + i, 1)).toISOString().slice(0, 10),
      amount,
    }));
  }

  const received = (dbOrTx: Db, reference: string) => store.receivedFor(dbOrTx, councilTaxPaysFor(reference));

  async function residentName(dbOrTx: Db, residentId: string): Promise<string> {
    const row = await tables<IdentityTables>(dbOrTx)
      .selectFrom('residents')
      .select('name')
      .where('id', '=', residentId)
      .executeTakeFirst();
    return row?.name ?? '';
  }

  const service = {
    statutoryInstalments,

    /** Opens an account for a property and year, with its pay-point reference. */
    async createAccount(
      tx: Db,
      input: {
        residentId: string;
        propertyAddress: string;
        band: CouncilTaxBand;
        yearStart: string;
        bandDCharge: number;
        discount?: { text: string; percent: number };
        instalments?: 10 | 12;
        reference?: string;
        actor: Actor;
      },
    ): Promise<CouncilTaxAccountRow> {
      const [year] = input.yearStart.split('-').map(Number) as [number];
      const gross = bandCharge(input.bandDCharge, input.band);
      const annual = input.discount ? Math.round((gross * (100 - input.discount.percent)) / 100) : gross;
      const account = await t(tx)
        .insertInto('payment_council_tax_accounts')
        .values({
          reference: input.reference ?? String(randomInt(10_000_000, 100_000_000)),
          resident_id: input.residentId,
          property_address: input.propertyAddress,
          band: input.band,
          year_label: `${year}/${String(year + 1).slice(2)}`,
          year_start: input.yearStart,
          gross_charge: gross,
          discount_text: input.discount?.text ?? null,
          annual_charge: annual,
          instalments: input.instalments ?? 10,
        } as never)
        .returningAll()
        .executeTakeFirstOrThrow()
        .then(normalise);
      await cash.issueReference(tx, {
        paysFor: councilTaxPaysFor(account.reference),
        description: `Council tax ${account.year_label}, account ${account.reference}`,
        payer: { residentId: input.residentId },
      });
      await recordAudit(tx, {
        actor: input.actor,
        action: 'council_tax.account_opened',
        subjectType: 'council_tax_account',
        subjectId: account.id,
        detail: { reference: account.reference, band: account.band, annualCharge: account.annual_charge },
      });
      return account;
    },

    listForResident: async (dbOrTx: Db, residentId: string) =>
      (
        await t(dbOrTx)
          .selectFrom('payment_council_tax_accounts')
          .selectAll()
          .where('resident_id', '=', residentId)
          .orderBy('year_start', 'desc')
          .execute()
      ).map(normalise),

    /** The resident's own account by its number; someone else's is not found. */
    findForResident: async (dbOrTx: Db, residentId: string, reference: string) => {
      const row = await t(dbOrTx)
        .selectFrom('payment_council_tax_accounts')
        .selectAll()
        .where('resident_id', '=', residentId)
        .where('reference', '=', reference)
        .executeTakeFirst();
      return row && normalise(row);
    },

    /** Everything the account page shows: balance from the ledger, instalments, payments, the barcode's reference. */
    async summary(dbOrTx: Db, account: CouncilTaxAccountRow) {
      const paysFor = councilTaxPaysFor(account.reference);
      const [paid, history, paypoint, mandate] = await Promise.all([
        received(dbOrTx, account.reference),
        payments.list(dbOrTx, { paysFor, limit: 100 }),
        t(dbOrTx)
          .selectFrom('payment_paypoint_references')
          .select('reference')
          .where('pays_for_type', '=', paysFor.type)
          .where('pays_for_id', '=', paysFor.id)
          .executeTakeFirst(),
        account.mandate_id
          ? t(dbOrTx)
              .selectFrom('payment_mandates')
              .selectAll()
              .where('id', '=', account.mandate_id)
              .executeTakeFirst()
          : Promise.resolve(undefined),
      ]);
      const today = londonDay();
      const activeMandate = mandate && mandate.status !== 'cancelled' ? mandate : undefined;
      let instalments: CouncilTaxInstalment[];
      if (activeMandate) {
        instalments = (await directDebit.instalments(dbOrTx, activeMandate.id))
          .filter((i) => i.pays_for_type === paysFor.type && i.pays_for_id === paysFor.id)
          .map((i) => ({ dueDate: dayOf(i.due_date), amount: i.amount, status: i.status }));
      } else {
        let covered = paid;
        instalments = statutoryInstalments(account).map((i) => {
          const share = Math.min(Math.max(covered, 0), i.amount);
          covered -= i.amount;
          const status: CouncilTaxInstalment['status'] =
            share === i.amount ? 'paid' : share > 0 ? 'part paid' : i.dueDate < today ? 'overdue' : 'due';
          return { ...i, status };
        });
      }
      const outstanding = Math.max(account.annual_charge - paid, 0);
      // The next amount to pay: what is unpaid of the first instalment not yet covered.
      let cumulative = 0;
      let nextAmount = 0;
      for (const i of statutoryInstalments(account)) {
        cumulative += i.amount;
        if (cumulative > paid) {
          nextAmount = Math.min(cumulative - paid, outstanding);
          break;
        }
      }
      return {
        account,
        paid,
        outstanding,
        nextAmount,
        instalments,
        payments: history,
        paypointReference: paypoint?.reference ?? null,
        mandate: activeMandate ?? null,
      };
    },

    /** The year's bill as a PDF, with the instalments and the pay-point barcode. */
    async billPdf(dbOrTx: Db, account: CouncilTaxAccountRow): Promise<Buffer> {
      const summary = await service.summary(dbOrTx, account);
      return councilTaxBillPdf({
        councilName: platform.config.COUNCIL_NAME,
        account: {
          reference: account.reference,
          name: await residentName(dbOrTx, account.resident_id),
          propertyAddress: account.property_address,
          band: account.band,
          yearLabel: account.year_label,
          grossCharge: account.gross_charge,
          discountText: account.discount_text,
          annualCharge: account.annual_charge,
        },
        issuedOn: londonDay(account.created_at),
        instalments: statutoryInstalments(account),
        paymentMethod: summary.mandate
          ? `Direct Debit (${summary.mandate.reference})`
          : 'Card, cash at a pay-point or Direct Debit',
        paypointReference: summary.paypointReference,
      });
    },

    /**
     * Paperless billing on or off. Going paperless delivers the year's bill to the resident's
     * documents in My account (once) instead of by post.
     */
    async setPaperless(account: CouncilTaxAccountRow, paperless: boolean, actor: Actor) {
      const pdf = paperless ? await service.billPdf(db(), account) : null;
      return db()
        .transaction()
        .execute(async (tx) => {
          await t(tx)
            .updateTable('payment_council_tax_accounts')
            .set({ paperless })
            .where('id', '=', account.id)
            .execute();
          let delivered: string | null = null;
          if (paperless && pdf) {
            const issuedOn = londonDay(account.created_at);
            const already = await t(tx)
              .selectFrom('payment_council_tax_bills')
              .select('letter_reference')
              .where('account_id', '=', account.id)
              .where('issued_on', '=', issuedOn)
              .where('delivery', '=', 'account')
              .executeTakeFirst();
            if (!already) {
              const letter = await letters.deliverLetter(tx, account.resident_id, {
                title: `Council tax bill ${account.year_label}`,
                pdf,
              });
              await t(tx)
                .insertInto('payment_council_tax_bills')
                .values({
                  account_id: account.id,
                  issued_on: issuedOn,
                  delivery: 'account',
                  letter_reference: letter.reference,
                } as never)
                .execute();
              delivered = letter.reference;
            }
          }
          await recordAudit(tx, {
            actor,
            action: 'council_tax.paperless_changed',
            subjectType: 'council_tax_account',
            subjectId: account.id,
            detail: { reference: account.reference, paperless, delivered },
          });
          return { delivered };
        });
    },

    /** A card payment towards the account: never more than is outstanding. */
    async startCardPayment(
      account: CouncilTaxAccountRow,
      input: { amount: number; key: string; actor: Actor },
    ): Promise<{ nextUrl: string; reference: string }> {
      const { outstanding } = await service.summary(db(), account);
      if (!Number.isInteger(input.amount) || input.amount < 1)
        throw new PaymentError('Enter an amount of at least 1p', 'invalid');
      if (input.amount > outstanding)
        throw new PaymentError(
          `You cannot pay more than the £${(outstanding / 100).toFixed(2)} left to pay this year`,
          'invalid',
        );
      const payment = await db()
        .transaction()
        .execute((tx) =>
          payments.createPayment(tx, {
            amount: input.amount,
            description: `Council tax ${account.year_label}, account ${account.reference}`,
            payer: { residentId: account.resident_id },
            paysFor: councilTaxPaysFor(account.reference),
            idempotencyKey: `council-tax:${account.reference}:${input.key}`,
            actor: input.actor,
          }),
        );
      const { nextUrl } = await payments.startCardPayment(
        payment,
        `/pay/${payment.reference}/confirmation`,
        input.actor,
      );
      return { nextUrl, reference: payment.reference };
    },

    /**
     * The first collection day a new Direct Debit can have for a chosen day of the month: at
     * least 10 working days' advance notice from today, moved to a working day.
     */
    firstCollection(dayOfMonth: number, from = londonDay()) {
      const earliest = addWorkingDays(from, 10);
      const [year, month] = from.split('-').map(Number) as [number, number];
      for (let i = 0; ; i += 1) {
        const due = nextWorkingDay(
          new Date(Date.UTC(year, month - 1 + i, dayOfMonth)).toISOString().slice(0, 10),
        );
        if (due >= earliest) return { month: due.slice(0, 7), firstDate: due, monthsAhead: i };
      }
    },

    /**
     * Moves the rest of the year's balance to a Direct Debit just set up: monthly from the first
     * month with 10 working days' notice, to March (one collection if the year is nearly over).
     */
    async scheduleDirectDebit(
      tx: Db,
      input: { reference: string; residentId: string; mandate: MandateRow; dayOfMonth: number; actor: Actor },
    ) {
      const account = await service.findForResident(tx, input.residentId, input.reference);
      if (!account) throw new PaymentError('There is no such council tax account', 'not_found');
      const outstanding = Math.max(account.annual_charge - (await received(tx, account.reference)), 0);
      await t(tx)
        .updateTable('payment_council_tax_accounts')
        .set({ mandate_id: input.mandate.id })
        .where('id', '=', account.id)
        .execute();
      if (outstanding === 0) return { instalments: 0, firstDate: null, amount: 0 };
      const first = service.firstCollection(input.dayOfMonth);
      // The year ends in March; instalments run to then.
      const [startYear] = account.year_start.split('-').map(Number) as [number];
      const [firstYear, firstMonth] = first.month.split('-').map(Number) as [number, number];
      const monthsToMarch = (startYear + 1 - firstYear) * 12 + (3 - firstMonth) + 1;
      const count = Math.min(Math.max(monthsToMarch, 1), 12);
      const rows = await directDebit.schedule(tx, {
        mandateId: input.mandate.id,
        paysFor: councilTaxPaysFor(account.reference),
        description: `Council tax ${account.year_label}`,
        total: outstanding,
        instalments: count,
        dayOfMonth: input.dayOfMonth,
        firstMonth: first.month,
        actor: input.actor,
      });
      await recordAudit(tx, {
        actor: input.actor,
        action: 'council_tax.direct_debit_chosen',
        subjectType: 'council_tax_account',
        subjectId: account.id,
        detail: { reference: account.reference, mandate: input.mandate.reference, instalments: count },
      });
      return { instalments: rows.length, firstDate: first.firstDate, amount: outstanding };
    },
  };
  return service;
}

export type CouncilTaxService = ReturnType<typeof createCouncilTaxService>;
