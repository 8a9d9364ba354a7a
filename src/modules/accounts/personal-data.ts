import type { Db } from '../../platform/db/index.ts';

/**
 * One module's share of what Kiln holds about a resident. Modules add one to the accounts
 * service (`accounts.service.personalData.add(…)`), so "Download my data" and "Delete my
 * account" cover them without My account knowing their tables.
 */
export interface PersonalDataSource {
  /** The key of this section in the downloaded file, e.g. "bookings". */
  name: string;
  /** What the resident should see of it: plain JSON, no internal notes or staff details. */
  export(db: Db, residentId: string): Promise<unknown>;
  /** Deletes or unlinks it when the account is deleted; runs inside the deletion's transaction. */
  erase?(tx: Db, residentId: string): Promise<void>;
}

/** The sources, in the order their sections appear in the file. */
export class PersonalDataRegistry {
  private readonly sources: PersonalDataSource[] = [];

  add(source: PersonalDataSource): void {
    if (this.sources.some((s) => s.name === source.name)) {
      throw new Error(`Personal data source ${source.name} is added twice`);
    }
    this.sources.push(source);
  }

  async exportAll(db: Db, residentId: string): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const source of this.sources) out[source.name] = await source.export(db, residentId);
    return out;
  }

  async eraseAll(tx: Db, residentId: string): Promise<string[]> {
    const erased: string[] = [];
    for (const source of this.sources) {
      if (!source.erase) continue;
      await source.erase(tx, residentId);
      erased.push(source.name);
    }
    return erased;
  }
}
