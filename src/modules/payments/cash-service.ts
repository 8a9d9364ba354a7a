import { londonDay } from '../../platform/time.ts';
import { createHash } from 'node:crypto';
import type { Actor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import type { Db } from '../../platform/db/index.ts';
import type { Platform } from '../../platform/module.ts';
import { paypointReference, parsePaypointFile } from './paypoint.ts';
import type { PaymentsService } from './service.ts';
import * as store from './store.ts';

export type PaypointImportResult =
  | { ok: true; transactions: number; imported: number; alreadyImported: number; total: number }
  | { ok: false; errors: string[] };

/** Cash at pay-points: references for bills and accounts, and the operator's daily file. */
export function createCashService(platform: Platform, payments: PaymentsService) {
  const db = () => platform.db;
  return {
    /** Gives a bill or account its pay-point reference; the same bill always gets the same one. */
    async issueReference(
      tx: Db,
      input: {
        paysFor: { type: string; id: string };
        description: string;
        payer: { residentId?: string | null; email?: string | null };
      },
    ) {
      if (!input.payer.residentId && !input.payer.email)
        throw new Error('A pay-point reference needs a payer');
      return store.insertPaypointReference(tx, {
        reference: paypointReference(await store.nextPaypointSerial(tx)),
        pays_for_type: input.paysFor.type,
        pays_for_id: input.paysFor.id,
        description: input.description.slice(0, 255),
        payer_resident_id: input.payer.residentId ?? null,
        payer_email: input.payer.email ?? null,
      });
    },

    async getReference(dbOrTx: Db, reference: string) {
      return (await store.findPaypointReferences(dbOrTx, [reference]))[0];
    },

    listImports: (dbOrTx: Db) => store.listPaypointImports(dbOrTx),

    /**
     * Imports a pay-point operator's daily file: all of it or none of it. A file seen before is
     * refused; a transaction seen in an earlier file is skipped, so cash is never booked twice.
     */
    async importFile(input: { fileName: string; text: string; actor: Actor }): Promise<PaypointImportResult> {
      const sha256 = createHash('sha256').update(input.text).digest('hex');
      const earlier = await store.findPaypointImport(db(), sha256);
      if (earlier) {
        const when = earlier.created_at.toLocaleString('en-GB', {
          timeZone: 'Europe/London',
          dateStyle: 'long',
          timeStyle: 'short',
        });
        return { ok: false, errors: [`This file was already imported on ${when}`] };
      }
      const parsed = parsePaypointFile(input.text);
      if (parsed.errors.length) return { ok: false, errors: parsed.errors };
      const refs = new Map(
        (await store.findPaypointReferences(db(), [...new Set(parsed.lines.map((l) => l.reference))])).map(
          (r) => [r.reference, r],
        ),
      );
      const unknown = parsed.lines
        .filter((l) => !refs.has(l.reference))
        .map((l) => `Line ${l.line}: no bill or account has the payment reference ${l.reference}`);
      if (unknown.length) return { ok: false, errors: unknown };

      return db()
        .transaction()
        .execute(async (tx) => {
          let imported = 0;
          let total = 0;
          for (const line of parsed.lines) {
            const ref = refs.get(line.reference)!;
            const payment = await payments.createPayment(tx, {
              amount: line.amount,
              description: ref.description,
              payer: { residentId: ref.payer_resident_id, email: ref.payer_email },
              paysFor: { type: ref.pays_for_type, id: ref.pays_for_id },
              idempotencyKey: `paypoint:${line.transactionId}`,
              method: 'paypoint_cash',
              channel: 'paypoint',
              actor: input.actor,
            });
            if (!payment.created) continue;
            await payments.recordReceipt(tx, {
              payment: payment.id,
              kind: 'cash_receipt',
              provider: 'paypoint',
              providerReference: line.transactionId,
              entryDate: londonDay(line.paidAt),
              actor: input.actor,
            });
            imported += 1;
            total += line.amount;
          }
          await store.insertPaypointImport(tx, {
            file_name: input.fileName.slice(0, 200),
            file_sha256: sha256,
            transactions: parsed.lines.length,
            total,
            imported_by: input.actor.type === 'staff' ? input.actor.id : null,
          });
          await recordAudit(tx, {
            actor: input.actor,
            action: 'payment.paypoint_file_imported',
            subjectType: 'paypoint_file',
            subjectId: sha256,
            detail: { fileName: input.fileName, transactions: parsed.lines.length, imported, total },
          });
          return {
            ok: true as const,
            transactions: parsed.lines.length,
            imported,
            alreadyImported: parsed.lines.length - imported,
            total,
          };
        });
    },
  };
}

export type CashService = ReturnType<typeof createCashService>;
