import type { Actor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import { freshReference } from '../../platform/references.ts';
import type { Db } from '../../platform/db/index.ts';
import type { Platform } from '../../platform/module.ts';
import { cancellingReasons, parseAddacs, parseArudd } from './bacs-reports.ts';
import { splitInstalments, standard18File, type Originator, type Standard18Record } from './bacs.ts';
import { formatSortCode, maskAccount, type BankDetails } from './bank-details.ts';
import type { PaymentsService } from './service.ts';
import { londonDay } from '../../platform/time.ts';
import { addWorkingDays, isWorkingDay, nextWorkingDay } from '../../platform/working-days.ts';
import * as store from './store.ts';

/** Bacs: day 1 input, day 2 processing, day 3 the money leaves the payer's account. */
export const COLLECTION_AFTER_PROCESSING_WORKING_DAYS = 1;
/** The Direct Debit Guarantee's advance notice before a new schedule's first collection. */
export const ADVANCE_NOTICE_WORKING_DAYS = 10;

/** The earliest day a new schedule's first collection may fall, told to the payer on `noticeDay`. */
export function earliestFirstCollection(noticeDay: string = londonDay()): string {
  return addWorkingDays(noticeDay, ADVANCE_NOTICE_WORKING_DAYS);
}

/** A Direct Debit rule was broken; nothing changed. `message` is fit to show. */
export class DirectDebitError extends Error {}

/** What another part of Kiln does when a mandate set up for it exists (e.g. schedule council tax). */
export type MandatePurpose = (
  tx: Db,
  input: {
    mandate: store.MandateRow;
    residentId: string;
    reference: string;
    dayOfMonth: number;
    actor: Actor;
  },
) => Promise<string | undefined>;

class ReportRefused extends Error {
  constructor(readonly problems: string[]) {
    super('report refused');
  }
}

/**
 * Applies a parsed Bacs report in one transaction: all items or none. `apply` pushes one message
 * per item it cannot apply; any message, or a parse error, refuses the whole report.
 */
async function applyReport<Item, Result extends object>(
  db: Db,
  report: { items: Item[]; errors: string[] },
  apply: (tx: Db, items: Item[], problems: string[]) => Promise<Result>,
): Promise<({ ok: true } & Result) | { ok: false; errors: string[] }> {
  if (report.errors.length) return { ok: false, errors: report.errors };
  try {
    return await db.transaction().execute(async (tx) => {
      const problems: string[] = [];
      const result = await apply(tx, report.items, problems);
      if (problems.length) throw new ReportRefused(problems);
      return { ok: true as const, ...result };
    });
  } catch (error) {
    if (error instanceof ReportRefused) return { ok: false, errors: error.problems };
    throw error;
  }
}

/** Direct Debit: mandates, instalment schedules and Bacs Standard 18 submission files. */
export function createDirectDebitService(
  platform: Platform,
  payments: PaymentsService,
  originator: Originator,
) {
  const { notify, events } = platform;
  const db = () => platform.db;

  notify.defineTemplate('direct-debit-set-up', {
    subject: 'Your Direct Debit has been set up: ((reference))',
    body:
      'We have set up your Direct Debit to ((council)).\n\n' +
      'Account holder: ((holder))\nSort code: ((sort_code))\nAccount number: ((account))\n' +
      'Direct Debit reference: ((reference))\n\n' +
      'We will tell you the amount and dates of each payment at least 10 working days before we take it. ' +
      'Your payments are protected by the Direct Debit Guarantee.',
  });

  notify.defineTemplate('direct-debit-unpaid', {
    subject: 'Your Direct Debit payment was not made',
    body:
      'Your bank did not pay the Direct Debit of ((amount)) for ((description)) (reference ((reference))).\n\n' +
      'Reason: ((reason))\n\nPlease pay this amount another way, or contact us: ((link))',
  });
  notify.defineTemplate('direct-debit-cancelled', {
    subject: 'Your Direct Debit has been cancelled: ((reference))',
    body: '((reason)). We will not take any more payments by this Direct Debit. Future instalments need paying another way: ((link))',
  });

  const purposes = new Map<string, MandatePurpose>();

  return {
    /**
     * What a mandate set up "for" something does next, by name: the set-up journey calls it in the
     * transaction that makes the mandate, and shows the message it returns.
     */
    purposes,

    /**
     * Imports an ARUDD report: each returned collection is reversed in the ledger, its instalment
     * marked failed and the resident told. All items or none.
     */
    async importArudd(
      xml: string,
      actor: Actor,
    ): Promise<{ ok: true; returned: number } | { ok: false; errors: string[] }> {
      return applyReport(db(), parseArudd(xml), async (tx, items, problems) => {
        for (const item of items) {
          const instalment = await store.findCollectedInstalment(tx, item.reference, item.amount);
          if (!instalment || !instalment.payment_id) {
            problems.push(
              `Line ${item.line}: no collection of £${(item.amount / 100).toFixed(2)} on ${item.reference} to return`,
            );
            continue;
          }
          await payments.recordReturn(tx, {
            payment: instalment.payment_id,
            amount: item.amount,
            providerReference: `ARUDD:${item.reference}:${instalment.sequence}:${instalment.pays_for_id}`,
            reason: `${item.returnCode} ${item.description}`,
            actor,
          });
          await store.updateInstalment(tx, instalment.id, { status: 'failed' });
          await notify.toResident(tx, instalment.resident_id, {
            template: 'direct-debit-unpaid',
            personalisation: {
              amount: `£${(item.amount / 100).toFixed(2)}`,
              description: instalment.description,
              reference: item.reference,
              reason: item.description,
              link: `${platform.config.PUBLIC_URL}/account`,
            },
          });
        }
        await recordAudit(tx, {
          actor,
          action: 'bacs.arudd_imported',
          detail: { returned: items.length },
        });
        return { returned: items.length };
      });
    },

    /** Imports an ADDACS report: cancelled instructions end their mandate and future instalments; the resident is told. */
    async importAddacs(
      xml: string,
      actor: Actor,
    ): Promise<{ ok: true; cancelled: number } | { ok: false; errors: string[] }> {
      return applyReport(db(), parseAddacs(xml), async (tx, items, problems) => {
        let cancelled = 0;
        for (const item of items) {
          const mandate = await store.findMandate(tx, item.reference);
          if (!mandate) {
            problems.push(`Line ${item.line}: there is no mandate ${item.reference}`);
            continue;
          }
          const reason = cancellingReasons[item.reasonCode];
          if (!reason || mandate.status === 'cancelled') continue;
          await store.updateMandate(tx, mandate.id, {
            status: 'cancelled',
            cancelled_at: new Date(),
            cancel_reason: `ADDACS ${item.reasonCode}`,
          });
          await store.cancelFutureInstalments(tx, mandate.id);
          await recordAudit(tx, {
            actor,
            action: 'mandate.cancelled',
            subjectType: 'mandate',
            subjectId: mandate.id,
            detail: { reference: mandate.reference, addacsReason: item.reasonCode },
          });
          await notify.toResident(tx, mandate.resident_id, {
            template: 'direct-debit-cancelled',
            personalisation: {
              reference: mandate.reference,
              reason,
              link: `${platform.config.PUBLIC_URL}/account`,
            },
          });
          cancelled += 1;
        }
        return { cancelled };
      });
    },

    /** Sets up a mandate (an instruction) for a resident; it goes to Bacs in the next AUDDIS file. */
    async setUpMandate(
      tx: Db,
      input: { residentId: string; bank: BankDetails; idempotencyKey: string; actor: Actor },
    ) {
      const { mandate, created } = await store.insertMandate(tx, {
        reference: await freshReference(tx, 'payment_mandates', 'DD'),
        resident_id: input.residentId,
        account_holder: input.bank.accountHolder,
        sort_code: input.bank.sortCode,
        account_number: input.bank.accountNumber,
        idempotency_key: input.idempotencyKey,
      });
      if (!created) return mandate;
      await events.publish(tx, {
        type: 'mandate.created',
        subjectType: 'mandate',
        subjectId: mandate.id,
        actor: input.actor,
        payload: { reference: mandate.reference },
      });
      await recordAudit(tx, {
        actor: input.actor,
        action: 'mandate.created',
        subjectType: 'mandate',
        subjectId: mandate.id,
        detail: { reference: mandate.reference, account: maskAccount(mandate.account_number) },
      });
      await notify.toResident(tx, input.residentId, {
        template: 'direct-debit-set-up',
        personalisation: {
          council: platform.config.COUNCIL_NAME,
          holder: mandate.account_holder,
          sort_code: formatSortCode(mandate.sort_code),
          account: maskAccount(mandate.account_number),
          reference: mandate.reference,
        },
      });
      return mandate;
    },

    /** The Direct Debit Guarantee's rule: the earliest first collection for a notice given on a day. */
    earliestFirstCollection,
    findMandate: (dbOrTx: Db, reference: string) => store.findMandate(dbOrTx, reference),
    listMandates: (dbOrTx: Db, filter: { residentId?: string } = {}) => store.listMandates(dbOrTx, filter),
    instalments: (dbOrTx: Db, mandateId: string) => store.listInstalments(dbOrTx, mandateId),
    listFiles: (dbOrTx: Db) => store.listBacsFiles(dbOrTx),
    findFile: (dbOrTx: Db, id: string) => store.findBacsFile(dbOrTx, id),

    /** A schedule of monthly instalments (e.g. council tax in 10 or 12) on a chosen day of the month. */
    async schedule(
      tx: Db,
      input: {
        mandateId: string;
        paysFor: { type: string; id: string };
        description: string;
        total: number;
        instalments: number;
        dayOfMonth: number;
        firstMonth: string;
        /** The day the payer was told the schedule (today by default). */
        noticeDay?: string;
        actor: Actor;
      },
    ) {
      if (!Number.isInteger(input.instalments) || input.instalments < 1 || input.instalments > 12)
        throw new DirectDebitError('Between 1 and 12 instalments');
      if (!Number.isInteger(input.dayOfMonth) || input.dayOfMonth < 1 || input.dayOfMonth > 28)
        throw new DirectDebitError('Collections can be on days 1 to 28 of the month');
      if (!/^\d{4}-\d{2}$/.test(input.firstMonth)) throw new DirectDebitError('First month as YYYY-MM');
      const [year, month] = input.firstMonth.split('-').map(Number) as [number, number];
      const amounts = splitInstalments(input.total, input.instalments);
      // A collection falls on a working day: a weekend or bank holiday moves to the next one.
      const dueDates = amounts.map((_, i) =>
        nextWorkingDay(new Date(Date.UTC(year, month - 1 + i, input.dayOfMonth)).toISOString().slice(0, 10)),
      );
      // The Direct Debit Guarantee: the payer is told the amounts and dates 10 working days ahead.
      const earliest = earliestFirstCollection(input.noticeDay);
      if (dueDates[0]! < earliest)
        throw new DirectDebitError(
          `The first collection must be at least ${ADVANCE_NOTICE_WORKING_DAYS} working days after the notice: ${earliest} or later`,
        );
      const rows = amounts.map((amount, i) => {
        return {
          mandate_id: input.mandateId,
          pays_for_type: input.paysFor.type,
          pays_for_id: input.paysFor.id,
          description: `${input.description} (instalment ${i + 1} of ${input.instalments})`,
          sequence: i + 1,
          due_date: dueDates[i]!,
          amount,
        };
      });
      const inserted = await store.insertInstalments(tx, rows);
      await recordAudit(tx, {
        actor: input.actor,
        action: 'mandate.scheduled',
        subjectType: 'mandate',
        subjectId: input.mandateId,
        detail: {
          paysFor: input.paysFor,
          total: input.total,
          instalments: input.instalments,
          day: input.dayOfMonth,
        },
      });
      return inserted;
    },

    /**
     * Builds the day's Bacs submission: new instructions (AUDDIS 0N) and the collections due, with a
     * contra. Each collection becomes a Direct Debit payment booked in the ledger for that day;
     * an unpaid report (ARUDD) would reverse it. All in one transaction: a file exists only with
     * the records it changed.
     */
    async createSubmission(input: { processingDate: string; actor: Actor; serial?: string }) {
      if (!isWorkingDay(input.processingDate))
        throw new DirectDebitError(
          `${input.processingDate} is not a working day (a weekend or bank holiday): Bacs processes on working days only`,
        );
      const day = new Date(`${input.processingDate}T00:00:00Z`);
      // Day 3 of the Bacs cycle: the collection day. Instalments due by then go in this file.
      const collectionDate = addWorkingDays(input.processingDate, COLLECTION_AFTER_PROCESSING_WORKING_DAYS);
      return db()
        .transaction()
        .execute(async (tx) => {
          const records: Standard18Record[] = [];
          // Collections only on instructions lodged in an earlier file; new ones go in this file as 0N.
          const due = (await store.dueInstalments(tx, collectionDate)).filter(
            // A first collection waits for its 10 working days' notice (from when it was scheduled).
            (i) =>
              i.sequence !== 1 ||
              collectionDate >= addWorkingDays(londonDay(i.created_at), ADVANCE_NOTICE_WORKING_DAYS),
          );
          for (const i of due) {
            records.push({
              sortCode: i.sort_code,
              accountNumber: i.account_number,
              code: i.sequence === 1 ? '01' : '17',
              amount: i.amount,
              reference: i.mandate_reference,
              accountName: i.account_holder,
            });
            const payment = await payments.createPayment(tx, {
              amount: i.amount,
              description: i.description,
              payer: { residentId: i.resident_id },
              paysFor: { type: i.pays_for_type, id: i.pays_for_id },
              idempotencyKey: `dd-instalment:${i.id}`,
              method: 'direct_debit',
              channel: 'direct_debit',
              actor: input.actor,
            });
            await payments.recordReceipt(tx, {
              payment: payment.id,
              kind: 'dd_collection',
              provider: 'bacs',
              providerReference: `${i.mandate_reference}:${i.sequence}:${i.pays_for_id}`.slice(0, 120),
              entryDate: collectionDate,
              actor: input.actor,
            });
            await store.updateInstalment(tx, i.id, { status: 'collected', payment_id: payment.id });
          }
          const mandates = await store.lockPendingMandates(tx);
          for (const m of mandates) {
            records.push({
              sortCode: m.sort_code,
              accountNumber: m.account_number,
              code: '0N',
              amount: 0,
              reference: m.reference,
              accountName: m.account_holder,
            });
            await store.updateMandate(tx, m.id, { status: 'submitted', submitted_at: new Date() });
          }
          const { text, debits, debitCount } = standard18File(records, originator, day, {
            serial: input.serial ?? (await store.nextBacsSerial(tx)),
            created: new Date(),
          });
          const file = await store.insertBacsFile(tx, {
            file_name: `bacs-${input.processingDate}-${Date.now()}.txt`,
            processing_date: input.processingDate,
            content: text,
            instructions: mandates.length,
            collections: debitCount,
            total: debits,
            created_by: input.actor.type === 'staff' ? input.actor.id : null,
          });
          await recordAudit(tx, {
            actor: input.actor,
            action: 'bacs.submission_created',
            subjectType: 'bacs_file',
            subjectId: file.id,
            detail: {
              processingDate: input.processingDate,
              collectionDate,
              instructions: mandates.length,
              collections: debitCount,
              total: debits,
            },
          });
          return file;
        });
    },
  };
}

export type DirectDebitService = ReturnType<typeof createDirectDebitService>;
