import { sql } from 'kysely';
import type { IdentityTables } from '../../platform/auth/identity.ts';
import { tables, type Db } from '../../platform/db/index.ts';
import type { NotificationTables } from '../../platform/notify/index.ts';

// The platform's residents, sessions and notifications tables, as My account reads and changes them.
interface AccountTables {
  residents: IdentityTables['residents'];
  notifications: NotificationTables['notifications'];
  sessions: { id_hash: string; data: unknown; expires_at: Date };
  magic_links: { token_hash: string; email: string };
}

const t = (db: Db) => tables<AccountTables>(db);

export type ResidentRow = AccountTables['residents'];

export async function findResident(db: Db, id: string): Promise<ResidentRow | undefined> {
  return t(db).selectFrom('residents').selectAll().where('id', '=', id).executeTakeFirst();
}

export async function updateResident(
  db: Db,
  id: string,
  changes: Partial<Pick<ResidentRow, 'name' | 'phone' | 'address' | 'notify_by_email' | 'notify_by_sms'>>,
): Promise<void> {
  await t(db)
    .updateTable('residents')
    .set({ ...changes, updated_at: new Date() })
    .where('id', '=', id)
    .execute();
}

/** Removes everything that identifies the person; the row stays so records of services keep their link. */
export async function anonymiseResident(db: Db, id: string): Promise<void> {
  await t(db)
    .updateTable('residents')
    .set({
      name: 'Deleted account',
      email: null,
      phone: null,
      address: null,
      notify_by_email: false,
      notify_by_sms: false,
      has_account: false,
      updated_at: new Date(),
    })
    .where('id', '=', id)
    .execute();
}

/** Signs the resident out everywhere: every session that carries their id. */
export async function deleteSessionsOf(db: Db, residentId: string): Promise<number> {
  const result = await t(db)
    .deleteFrom('sessions')
    .where(sql<boolean>`data->>'residentId' = ${residentId}`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** Unused sign-in links for an address, so none can be used after the account is deleted. */
export async function deleteSignInLinks(db: Db, email: string): Promise<void> {
  await t(db).deleteFrom('magic_links').where('email', '=', email).execute();
}

export async function listMessages(db: Db, residentId: string, limit: number) {
  return t(db)
    .selectFrom('notifications')
    .select(['id', 'channel', 'recipient', 'subject', 'body', 'status', 'created_at', 'sent_at'])
    .where('resident_id', '=', residentId)
    .orderBy('created_at', 'desc')
    .limit(limit)
    .execute();
}
