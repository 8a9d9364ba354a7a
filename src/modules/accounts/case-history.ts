import type { CasesService, CaseStatus } from '../cases/index.ts';
import type { Db } from '../../platform/db/index.ts';

/** A request as its resident sees it: no internal notes, no staff names. */
export interface ResidentRequest {
  reference: string;
  service: string;
  status: CaseStatus;
  statusLabel: string;
  statusColour: string;
  createdAt: Date;
  updatedAt: Date;
}

export interface HistoryItem {
  at: Date;
  text: string;
  /** A public update written to the resident, shown as a quote. */
  update?: string;
}

// Residents' words for each status, and the GOV.UK tag colour it shows in.
export const statusLabels: Record<CaseStatus, { label: string; colour: string }> = {
  received: { label: 'Received', colour: 'blue' },
  in_progress: { label: 'In progress', colour: 'light-blue' },
  waiting_for_customer: { label: 'Waiting for you', colour: 'yellow' },
  resolved: { label: 'Done', colour: 'green' },
  closed: { label: 'Closed', colour: 'grey' },
};

type CaseRow = NonNullable<Awaited<ReturnType<CasesService['findByReference']>>>;

function toRequest(row: CaseRow): ResidentRequest {
  const status = statusLabels[row.status] ?? { label: row.status, colour: 'grey' };
  return {
    reference: row.reference,
    service: row.service_title,
    status: row.status,
    statusLabel: status.label,
    statusColour: status.colour,
    createdAt: row.created_at,
    updatedAt: row.updated_at,
  };
}

/**
 * Everything My account reads from the cases module goes through here, so the pages do not
 * depend on how the back office records a case.
 */
export function residentRequests(cases: CasesService) {
  return {
    async list(db: Db, residentId: string): Promise<ResidentRequest[]> {
      return (await cases.listForResident(db, residentId)).map(toRequest);
    },

    /** The resident's own request, or undefined when it does not exist or is someone else's. */
    async find(
      db: Db,
      residentId: string,
      reference: string,
    ): Promise<{ request: ResidentRequest; history: HistoryItem[]; answers: unknown } | undefined> {
      if (!/^[A-Z]{2,5}-[A-Z0-9]{4}-[A-Z0-9]{1,8}$/.test(reference)) return undefined;
      const row = await cases.findByReference(db, reference);
      if (!row || row.resident_id !== residentId) return undefined;
      // Only what the back office marks as the resident's to see: never internal notes.
      const history = (await cases.listPublicHistory(db, row.id)).map((item) => ({
        at: item.at,
        text: item.title,
        ...(item.text ? { update: item.text } : {}),
      }));
      return { request: toRequest(row), history, answers: row.answers };
    },
  };
}
