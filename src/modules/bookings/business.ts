import { z } from 'zod';
import type { Actor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import { freshReference } from '../../platform/references.ts';
import type { Db } from '../../platform/db/index.ts';
import type { Platform } from '../../platform/module.ts';
import { londonDay } from '../../platform/time.ts';
import { addWorkingDays, nextWorkingDay } from '../../platform/working-days.ts';
import { BookingError, pounds, type BookingPayments } from './service.ts';
import { contractAgreement } from './pdf.ts';
import * as store from './store.ts';
import { addDays, dayString, formatDay } from './times.ts';

// The business services marketplace: trade waste sold to businesses under contract.

export const binStreams = {
  general: { name: 'General waste', ewc: '20 03 01', description: 'Mixed municipal waste', factor: 1 },
  recycling: { name: 'Mixed recycling', ewc: '15 01 06', description: 'Mixed packaging', factor: 0.7 },
  glass: { name: 'Glass', ewc: '20 01 02', description: 'Glass', factor: 0.8 },
  food: {
    name: 'Food waste',
    ewc: '20 01 08',
    description: 'Biodegradable kitchen and canteen waste',
    factor: 0.75,
  },
} as const;
export type BinStream = keyof typeof binStreams;

/** Price of one lift (emptying) of a general waste bin by size in litres, in pence. */
export const liftPrices: Record<number, number> = { 140: 450, 240: 650, 360: 800, 660: 1350, 1100: 1900 };
export const frequencies = {
  fortnightly: { name: 'Every two weeks', liftsPerYear: 26 },
  weekly: { name: 'Every week', liftsPerYear: 52 },
  twice_weekly: { name: 'Twice a week', liftsPerYear: 104 },
} as const;
export type Frequency = keyof typeof frequencies;
/** Monthly rental of each bin, in pence. */
export const BIN_RENTAL_PENCE = 150;
export const NOTICE_DAYS = 28;
/** A month's trade waste is collected by Direct Debit on this day of the following month. */
export const DIRECT_DEBIT_DAY = 15;

/**
 * When a month's Direct Debit collection is taken: the 15th of the next month (the next working
 * day when that is a weekend or bank holiday), unless the Direct Debit Guarantee's notice (payments'
 * `earliest`, from when the payer is told) ends later; then the earliest day it allows. Answered as
 * the day of the month and month a schedule is made with: a day after the 28th is not one a
 * schedule can name, so that moves to the first working day of the following month.
 */
export function directDebitCollection(
  period: string,
  earliest: string,
): { dayOfMonth: number; firstMonth: string; due: string } {
  const [y, m] = period.split('-').map(Number) as [number, number];
  const next = new Date(Date.UTC(y, m, 1)).toISOString().slice(0, 7);
  const usual = nextWorkingDay(`${next}-${String(DIRECT_DEBIT_DAY).padStart(2, '0')}`);
  if (usual >= earliest) return { dayOfMonth: DIRECT_DEBIT_DAY, firstMonth: next, due: usual };
  const day = Number(earliest.slice(8, 10));
  if (day <= 28) return { dayOfMonth: day, firstMonth: earliest.slice(0, 7), due: nextWorkingDay(earliest) };
  const [ey, em] = earliest.split('-').map(Number) as [number, number];
  const following = new Date(Date.UTC(ey, em, 1)).toISOString().slice(0, 10);
  return { dayOfMonth: 1, firstMonth: following.slice(0, 7), due: nextWorkingDay(following) };
}

export const tradeWasteRequestSchema = z.object({
  stream: z.enum(Object.keys(binStreams) as [BinStream, ...BinStream[]], {
    error: 'Choose the kind of waste',
  }),
  size: z.coerce
    .number({ error: 'Choose the bin size' })
    .refine((n) => n in liftPrices, { error: 'Choose the bin size' }),
  bins: z.preprocess(
    (v) => (v === '' || v === null ? undefined : v),
    z.coerce
      .number({ error: 'Enter the number of bins, like 2' })
      .int({ error: 'Enter the number of bins as a whole number, like 2' })
      .min(1, { error: 'You need at least 1 bin' })
      .max(20, { error: 'For more than 20 bins, contact the trade waste team for a tailored quote' }),
  ),
  frequency: z.enum(Object.keys(frequencies) as [Frequency, ...Frequency[]], {
    error: 'Choose how often we collect',
  }),
});
export type TradeWasteRequest = z.infer<typeof tradeWasteRequestSchema>;

export interface TradeWasteQuote {
  request: TradeWasteRequest;
  streamName: string;
  frequencyName: string;
  liftPence: number;
  liftsPerMonth: number;
  collectionsPence: number;
  rentalPence: number;
  monthlyPence: number;
  lines: Array<{ text: string; amount: string }>;
}

/** An instant quote for trade waste: price per lift by size and stream, times lifts, plus bin rental. */
export function quoteTradeWaste(input: unknown): TradeWasteQuote {
  const request = tradeWasteRequestSchema.parse(input);
  if ((request.stream === 'food' && request.size > 240) || (request.stream === 'glass' && request.size > 360))
    throw new BookingError(
      `${binStreams[request.stream].name} bins come in ${request.stream === 'food' ? '140 or 240' : '140, 240 or 360'} litres`,
      'invalid',
    );
  const stream = binStreams[request.stream];
  const frequency = frequencies[request.frequency];
  const liftPence = Math.round(liftPrices[request.size]! * stream.factor);
  const liftsPerMonth = frequency.liftsPerYear / 12;
  const collectionsPence = Math.round(liftPence * request.bins * liftsPerMonth);
  const rentalPence = BIN_RENTAL_PENCE * request.bins;
  return {
    request,
    streamName: stream.name,
    frequencyName: frequency.name,
    liftPence,
    liftsPerMonth,
    collectionsPence,
    rentalPence,
    monthlyPence: collectionsPence + rentalPence,
    lines: [
      {
        text: `${request.bins} × ${request.size} litre ${stream.name.toLowerCase()} bin, ${frequency.name.toLowerCase()} (${pounds(liftPence)} a collection)`,
        amount: pounds(collectionsPence),
      },
      { text: `Bin rental (${request.bins} × ${pounds(BIN_RENTAL_PENCE)})`, amount: pounds(rentalPence) },
    ],
  };
}

export const businessSchema = z.object({
  name: z.string().trim().min(1, { error: 'Enter the business name' }).max(160),
  companyNumber: z
    .string()
    .trim()
    .regex(/^([0-9]{8}|[A-Z]{2}[0-9]{6})?$/i, {
      error: 'Enter a Companies House number of 8 characters, like 01234567, or leave it blank',
    })
    .default(''),
  billingAddress: z.string().trim().min(1, { error: 'Enter the billing address' }).max(400),
  role: z.string().trim().min(1, { error: 'Enter your role in the business' }).max(80),
  payBy: z.enum(['direct_debit', 'invoice'], { error: 'Choose how the business will pay' }),
  startsOn: z.string().regex(/^\d{4}-\d{2}-\d{2}$/, { error: 'Choose when collections start' }),
});

/** What Direct Debit gives this module: the payer's mandates and a collection schedule. */
/** What a business contact asks to change about a contract, in their words. */
export const changeRequestSchema = z
  .string({ error: 'Enter what you would like to change' })
  .trim()
  .min(1, 'Enter what you would like to change')
  .max(1000, 'Describe the change in 1000 characters or fewer');

export interface ContractDirectDebit {
  listMandates(
    db: Db,
    filter: { residentId?: string },
  ): Promise<Array<{ id: string; reference: string; status: string }>>;
  schedule(
    tx: Db,
    input: {
      mandateId: string;
      paysFor: { type: string; id: string };
      description: string;
      total: number;
      instalments: number;
      dayOfMonth: number;
      firstMonth: string;
      noticeDay?: string;
      actor: Actor;
    },
  ): Promise<unknown>;
  /** The Direct Debit Guarantee's rule: the earliest first collection for notice given today. */
  earliestFirstCollection(noticeDay?: string): string;
}

/** What signing's documents record for a trade waste contract sent for signature. */
export const CONTRACT_SUBJECT = 'trade_waste_contract';

/**
 * Signing (through its public interface): sends a contract for signature with the contract as its
 * subject, and finds the sealed copy signing delivered to a resident's account by that subject.
 */
export interface ContractSigning {
  sendEnvelope(
    actor: Actor & { type: 'staff'; id: string },
    input: {
      title: string;
      upload: Buffer;
      residentId: string | null;
      signers: Array<{ name: string; role: string; email: string }>;
      subject: { type: string; reference: string };
    },
  ): Promise<{ reference: string }>;
  sealedDocumentsAbout(
    db: Db,
    residentId: string,
    subject: { type: string; references: string[] },
  ): Promise<Map<string, { reference: string; title: string }>>;
}

/** Staff's answer to a change request: done, or declined with a reason the requester is told. */
export const changeDecisionSchema = z
  .object({
    decision: z.enum(['done', 'declined'], { error: 'Choose whether the change is done or declined' }),
    reason: z.string().trim().max(1000, 'Give the reason in 1000 characters or fewer').optional(),
  })
  .refine((d) => d.decision !== 'declined' || !!d.reason, {
    path: ['reason'],
    message: 'Enter why the change is declined',
  });

export const changeStatusText: Record<string, string> = {
  open: 'Waiting for us to reply',
  done: 'Done',
  declined: 'Declined',
};

export function createBusinessService(
  platform: Platform,
  deps: { payments?: BookingPayments; directDebit?: ContractDirectDebit; signing?: ContractSigning },
) {
  const { notify } = platform;
  const db = () => platform.db;
  const publicUrl = platform.config.PUBLIC_URL;

  notify.defineTemplate('trade-waste-contract', {
    subject: 'Trade waste contract ((reference)) for ((business))',
    body:
      'Thank you. Your trade waste contract is agreed.\n\nBusiness: ((business))\nService: ((service))\nMonthly price: ((monthly))\n' +
      'First collection week: ((starts))\nPaying by: ((pay_by))\n\nYour duty of care waste transfer note: ((wtn_link))\n\n' +
      'You can see the contract, change or end it with ((notice)) days’ notice at ((link))',
  });
  notify.defineTemplate('trade-waste-invoice', {
    subject: 'Invoice ((reference)): trade waste for ((period))',
    body: 'Invoice ((reference)) for ((business)), contract ((contract)).\n\nTrade waste collections for ((period)): ((amount))\n\n((how_to_pay))',
  });
  notify.defineTemplate('trade-waste-change-requested', {
    subject: 'We have your request to change trade waste contract ((reference))',
    body:
      'We have your request to change contract ((reference)) for ((business)):\n\n((details))\n\n' +
      'We will reply within 5 working days. Until then your collections carry on as they are. ((link))',
  });
  notify.defineTemplate('trade-waste-change-done', {
    subject: 'Your change to trade waste contract ((reference)) is done',
    body: 'We have made the change you asked for to contract ((reference)) for ((business)):\n\n((details))\n\n((link))',
  });
  notify.defineTemplate('trade-waste-change-declined', {
    subject: 'We cannot make your change to trade waste contract ((reference))',
    body:
      'We cannot make the change you asked for to contract ((reference)) for ((business)):\n\n((details))\n\n' +
      'Why: ((reason))\n\nYour collections carry on as they are. ((link))',
  });
  notify.defineTemplate('trade-waste-ending', {
    subject: 'Your trade waste contract ((reference)) ends on ((ends))',
    body: 'We have your notice to end contract ((reference)) for ((business)). The last collections are on or before ((ends)); we collect the bins after that.',
  });

  const service = {
    quote: quoteTradeWaste,

    /** The businesses a resident acts for. */
    businessesOf: (conn: Db, residentId: string) => store.businessesOf(conn, residentId),

    /** The contracts of the businesses a resident acts for. */
    async contractsFor(conn: Db, residentId: string) {
      const businesses = await store.businessesOf(conn, residentId);
      const contracts = await store.contractsOfBusinesses(
        conn,
        businesses.map((b) => b.id),
      );
      return contracts.map((c) => ({ ...c, business: businesses.find((b) => b.id === c.business_id)! }));
    },

    /** A contract the resident may see (they are a contact of its business), or undefined. */
    async contractFor(conn: Db, residentId: string, reference: string) {
      const contract = await store.contractByReference(conn, reference.toUpperCase());
      if (!contract) return undefined;
      const businesses = await store.businessesOf(conn, residentId);
      const business = businesses.find((b) => b.id === contract.business_id);
      return business
        ? { ...contract, business, invoices: await store.invoicesOf(conn, contract.id) }
        : undefined;
    },

    /** Accepts a quote as a contract: the business (new or existing), its contact, and the contract. */
    async acceptQuote(input: {
      residentId: string;
      quote: unknown;
      business: z.input<typeof businessSchema>;
      existingBusinessId?: string;
      actor: Actor;
    }) {
      const quote = quoteTradeWaste(input.quote);
      const details = businessSchema.parse(input.business);
      if (details.startsOn < addWorkingDays(londonDay(), 5))
        throw new BookingError(
          'The first collection can be 5 working days from today at the earliest',
          'too_soon',
        );
      return db()
        .transaction()
        .execute(async (tx) => {
          let business = input.existingBusinessId
            ? (await store.businessesOf(tx, input.residentId)).find((b) => b.id === input.existingBusinessId)
            : undefined;
          if (!business) {
            business = await store.insertBusiness(tx, {
              reference: await freshReference(tx, 'booking_businesses', 'BU'),
              name: details.name,
              company_number: details.companyNumber ? details.companyNumber.toUpperCase() : null,
              billing_address: details.billingAddress,
            });
            await store.addBusinessContact(tx, business.id, input.residentId, details.role);
          }
          const contract = await store.insertContract(tx, {
            reference: await freshReference(tx, 'booking_contracts', 'TW'),
            business_id: business.id,
            service: 'trade-waste',
            terms: {
              ...quote.request,
              lines: quote.lines,
              liftPence: quote.liftPence,
              rentalPence: quote.rentalPence,
            },
            monthly_pence: quote.monthlyPence,
            pay_by: details.payBy,
            status: 'active',
            starts_on: details.startsOn,
            ends_on: null,
            notice_days: NOTICE_DAYS,
            accepted_by: input.residentId,
          });
          await recordAudit(tx, {
            actor: input.actor,
            action: 'contract.accepted',
            subjectType: 'contract',
            subjectId: contract.id,
            detail: {
              reference: contract.reference,
              business: business.reference,
              monthly: quote.monthlyPence,
            },
          });
          await platform.events.publish(tx, {
            type: 'contract.accepted',
            subjectType: 'contract',
            subjectId: contract.id,
            actor: input.actor,
            payload: { reference: contract.reference, monthlyPence: quote.monthlyPence },
          });
          await notify.toResident(tx, input.residentId, {
            template: 'trade-waste-contract',
            personalisation: {
              reference: contract.reference,
              business: business.name,
              service: quote.lines[0]!.text,
              monthly: pounds(quote.monthlyPence),
              starts: details.startsOn,
              pay_by: details.payBy === 'direct_debit' ? 'Direct Debit' : 'Invoice each month',
              wtn_link: `${publicUrl}/business/contracts/${contract.reference}/waste-transfer-note.pdf`,
              notice: String(NOTICE_DAYS),
              link: `${publicUrl}/business/contracts/${contract.reference}`,
            },
          });
          return { contract, business };
        });
    },

    /** Gives notice to end a contract: it ends after the notice period. */
    async giveNotice(residentId: string, reference: string, actor: Actor) {
      const found = await service.contractFor(db(), residentId, reference);
      if (!found) throw new BookingError('There is no contract with that reference', 'not_found');
      if (found.status !== 'active') throw new BookingError('This contract is already ending', 'not_allowed');
      const ends = addDays(londonDay(), found.notice_days);
      return db()
        .transaction()
        .execute(async (tx) => {
          const updated = await store.updateContract(tx, found.id, { status: 'ending', ends_on: ends });
          await recordAudit(tx, {
            actor,
            action: 'contract.notice_given',
            subjectType: 'contract',
            subjectId: found.id,
            detail: { reference: found.reference, ends },
          });
          await notify.toResident(tx, residentId, {
            template: 'trade-waste-ending',
            personalisation: { reference: found.reference, business: found.business.name, ends },
          });
          return updated;
        });
    },

    /**
     * Asks for a change to a contract that has not ended (more bins, another day, a new size):
     * kept with the contract for staff, audited, and acknowledged by email.
     */
    async requestChange(residentId: string, reference: string, details: unknown, actor: Actor) {
      const text = changeRequestSchema.parse(details);
      const found = await service.contractFor(db(), residentId, reference);
      if (!found) throw new BookingError('There is no contract with that reference', 'not_found');
      if (found.status === 'ended') throw new BookingError('This contract has ended', 'not_allowed');
      await db()
        .transaction()
        .execute(async (tx) => {
          await store.insertContractChange(tx, {
            contract_id: found.id,
            requested_by: residentId,
            details: text,
          });
          await recordAudit(tx, {
            actor,
            action: 'contract.change_requested',
            subjectType: 'contract',
            subjectId: found.id,
            detail: { reference: found.reference, details: text },
          });
          await platform.events.publish(tx, {
            type: 'contract.change_requested',
            subjectType: 'contract',
            subjectId: found.id,
            actor,
            payload: { reference: found.reference },
          });
          await notify.toResident(tx, residentId, {
            template: 'trade-waste-change-requested',
            personalisation: {
              reference: found.reference,
              business: found.business.name,
              details: text,
              link: `${publicUrl}/business/contracts/${found.reference}`,
            },
          });
        });
    },

    /** Change requests of contracts, by contract id, with their state. */
    async changesOf(conn: Db, contractIds: string[]) {
      const byContract = new Map<
        string,
        Array<Awaited<ReturnType<typeof store.contractChanges>>[number] & { statusText: string }>
      >();
      for (const c of await store.contractChanges(conn, contractIds)) {
        const list = byContract.get(c.contract_id) ?? [];
        list.push({ ...c, statusText: changeStatusText[c.status] ?? c.status });
        byContract.set(c.contract_id, list);
      }
      return byContract;
    },

    /** One change request with its contract and business, for staff to answer. */
    async changeForStaff(conn: Db, id: string) {
      if (!z.uuid().safeParse(id).success) return undefined;
      const change = await store.contractChangeById(conn, id);
      if (!change) return undefined;
      const contract = (await store.contractById(conn, change.contract_id))!;
      const business = (await store.businessById(conn, contract.business_id))!;
      return { change, contract, business };
    },

    /** The change requests a resident asked for (My account's data download). */
    changesBy: (conn: Db, residentId: string) => store.contractChangesBy(conn, residentId),

    /**
     * Staff answer a change request: done, or declined with a reason. Audited; the requester is
     * told by email. Answering twice is refused (the first answer stands).
     */
    async decideChange(changeId: string, input: unknown, actor: Actor & { type: 'staff'; id: string }) {
      const decision = changeDecisionSchema.parse(input);
      return db()
        .transaction()
        .execute(async (tx) => {
          const change = await store.decideContractChange(tx, changeId, {
            status: decision.decision,
            decision_reason: decision.decision === 'declined' ? decision.reason! : null,
            decided_by: actor.id,
          });
          if (!change) throw new BookingError('This change request has already been answered', 'not_allowed');
          const contract = (await store.contractById(tx, change.contract_id))!;
          const business = (await store.businessById(tx, contract.business_id))!;
          await recordAudit(tx, {
            actor,
            action: decision.decision === 'done' ? 'contract.change_done' : 'contract.change_declined',
            subjectType: 'contract',
            subjectId: contract.id,
            detail: { reference: contract.reference, change: change.id, reason: change.decision_reason },
          });
          if (change.requested_by)
            await notify.toResident(tx, change.requested_by, {
              template:
                decision.decision === 'done' ? 'trade-waste-change-done' : 'trade-waste-change-declined',
              personalisation: {
                reference: contract.reference,
                business: business.name,
                details: change.details,
                reason: change.decision_reason ?? '',
                link: `${publicUrl}/business/contracts/${contract.reference}`,
              },
            });
          return change;
        });
    },

    /**
     * Sends a contract for signature to its business's first contact: the contract as a PDF, with
     * the contract as the document's subject so the sealed copy is found by its reference.
     */
    async sendForSignature(reference: string, actor: Actor & { type: 'staff'; id: string }) {
      if (!deps.signing) throw new BookingError('Signing is not available', 'not_allowed');
      const contract = await store.contractByReference(db(), reference.toUpperCase());
      if (!contract) throw new BookingError('There is no contract with that reference', 'not_found');
      if (contract.status === 'ended') throw new BookingError('This contract has ended', 'not_allowed');
      const business = (await store.businessById(db(), contract.business_id))!;
      const [contact] = await store.businessContacts(db(), business.id);
      if (!contact?.email)
        throw new BookingError('The business has no contact with an email address to sign', 'not_allowed');
      const pdf = await contractAgreement({
        councilName: platform.config.COUNCIL_NAME,
        contract: {
          reference: contract.reference,
          starts_on: formatDay(dayString(contract.starts_on)),
          terms: contract.terms,
          monthly: pounds(contract.monthly_pence),
          payBy: contract.pay_by === 'direct_debit' ? 'Direct Debit' : 'invoice each month',
          noticeDays: contract.notice_days,
        },
        business,
      });
      const sent = await deps.signing.sendEnvelope(actor, {
        title: `Trade waste contract ${contract.reference}`,
        upload: Buffer.from(pdf),
        residentId: contact.id,
        signers: [{ name: contact.name, role: contact.role, email: contact.email }],
        subject: { type: CONTRACT_SUBJECT, reference: contract.reference },
      });
      await recordAudit(db(), {
        actor,
        action: 'contract.sent_for_signature',
        subjectType: 'contract',
        subjectId: contract.id,
        detail: { reference: contract.reference, envelope: sent.reference },
      });
      return sent;
    },

    /** The sealed copies of contracts in a resident's account, by contract reference. */
    async signedCopies(conn: Db, residentId: string, references: string[]) {
      if (!deps.signing || !references.length) return new Map<string, { reference: string; title: string }>();
      return deps.signing.sealedDocumentsAbout(conn, residentId, { type: CONTRACT_SUBJECT, references });
    },

    /**
     * Raises the month's invoices (idempotent per contract and month). Invoice payers get a card
     * payment to pay online; Direct Debit payers get a collection scheduled on their mandate.
     */
    async invoiceMonth(period: string, actor: Actor): Promise<number> {
      if (!/^\d{4}-\d{2}$/.test(period)) throw new BookingError('Period as YYYY-MM', 'invalid');
      const firstDay = `${period}-01`;
      const contracts = await store.contractsToInvoice(db(), firstDay);
      let raised = 0;
      for (const contract of contracts) {
        await db()
          .transaction()
          .execute(async (tx) => {
            const invoice = await store.insertInvoice(tx, {
              reference: await freshReference(tx, 'booking_invoices', 'INV'),
              contract_id: contract.id,
              period,
              amount_pence: contract.monthly_pence,
              payment_id: null,
            });
            if (!invoice) return;
            raised += 1;
            const business = (await store.businessById(tx, contract.business_id))!;
            let howToPay = `Pay online at ${publicUrl}/business/contracts/${contract.reference}`;
            if (contract.pay_by === 'direct_debit' && deps.directDebit && contract.accepted_by) {
              const mandates = await deps.directDebit.listMandates(tx, { residentId: contract.accepted_by });
              const mandate = mandates.find((m) => m.status !== 'cancelled');
              if (mandate) {
                const noticeDay = londonDay();
                const when = directDebitCollection(
                  period,
                  deps.directDebit.earliestFirstCollection(noticeDay),
                );
                await deps.directDebit.schedule(tx, {
                  mandateId: mandate.id,
                  paysFor: { type: 'booking-invoice', id: invoice.id },
                  description: `Trade waste ${contract.reference} ${period}`,
                  total: contract.monthly_pence,
                  instalments: 1,
                  dayOfMonth: when.dayOfMonth,
                  firstMonth: when.firstMonth,
                  noticeDay,
                  actor,
                });
                howToPay = `We will collect this by Direct Debit (mandate ${mandate.reference}) on or after ${formatDay(when.due)}.`;
              } else {
                howToPay = `Set up your Direct Debit at ${publicUrl}/direct-debit/set-up, or pay online at ${publicUrl}/business/contracts/${contract.reference}`;
              }
            }
            if (deps.payments && contract.accepted_by && !howToPay.startsWith('We will collect')) {
              const payment = await deps.payments.createPayment(tx, {
                amount: contract.monthly_pence,
                description: `Trade waste ${contract.reference}, ${period} (${invoice.reference})`,
                payer: { residentId: contract.accepted_by },
                paysFor: { type: 'booking-invoice', id: invoice.id },
                idempotencyKey: `booking-invoice:${invoice.id}`,
                channel: 'web',
                actor,
              });
              await store.updateInvoice(tx, invoice.id, { payment_id: payment.id });
            }
            await recordAudit(tx, {
              actor,
              action: 'contract.invoiced',
              subjectType: 'contract',
              subjectId: contract.id,
              detail: { invoice: invoice.reference, period, amount: contract.monthly_pence },
            });
            if (contract.accepted_by)
              await notify.toResident(tx, contract.accepted_by, {
                template: 'trade-waste-invoice',
                personalisation: {
                  reference: invoice.reference,
                  business: business.name,
                  contract: contract.reference,
                  period,
                  amount: pounds(contract.monthly_pence),
                  how_to_pay: howToPay,
                },
              });
          });
      }
      return raised;
    },

    /** Where to pay an invoice by card (after commit), or null when it is paid or collected by Direct Debit. */
    async invoicePaymentLink(invoiceId: string, returnUrl: string) {
      const invoice = await store.invoiceById(db(), invoiceId);
      if (!invoice?.payment_id || !deps.payments) return null;
      const payment = await deps.payments.getPayment(db(), invoice.payment_id);
      if (!payment || payment.status === 'success') return null;
      return (await deps.payments.startCardPayment(payment, returnUrl)).nextUrl;
    },

    listContracts: (conn: Db = db()) => store.listContracts(conn),
  };
  return service;
}

export type BusinessService = ReturnType<typeof createBusinessService>;
