import { createHash, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { tables, type Db } from '../db/index.ts';

export const SESSION_COOKIE = 'kiln_session';
const COOKIE = SESSION_COOKIE;

interface SessionTables {
  sessions: { id_hash: string; data: unknown; created_at?: Date; updated_at?: Date; expires_at: Date };
}

/** What a session may hold. Keep it small: no personal data beyond ids. */
export interface SessionData {
  residentId?: string;
  staffId?: string;
  /** Staff who passed the password step and still owe a TOTP code. */
  pendingStaffId?: string;
  pendingStaffAt?: number;
  /** A resident an agent is acting for (assisted digital), with the channel of contact. */
  actingFor?: { residentId: string; channel: string };
  flash?: string;
  webauthnChallenge?: string;
  /** Module-owned state, namespaced by module name (e.g. answers of a form in progress). */
  [key: string]: unknown;
}

/** A session, loaded when the request carries a cookie; written only when something changed. */
export class Session {
  dirty = false;
  destroyed = false;
  rotated = false;
  constructor(
    public id: string | null,
    public data: SessionData,
  ) {}
  get<K extends keyof SessionData>(key: K): SessionData[K] {
    return this.data[key];
  }
  set<K extends keyof SessionData>(key: K, value: SessionData[K]): void {
    if (value === undefined) delete this.data[key];
    else this.data[key] = value;
    this.dirty = true;
  }
  /** Takes a one-time message to show on the next page. */
  takeFlash(): string | undefined {
    const flash = this.data.flash;
    if (flash !== undefined) this.set('flash', undefined);
    return flash;
  }
  /** A new id on every change of privilege, so a planted session id is worth nothing. */
  rotate(): void {
    this.rotated = true;
    this.dirty = true;
  }
  destroy(): void {
    this.destroyed = true;
    this.data = {};
  }
}

const hashId = (id: string) => createHash('sha256').update(id).digest('hex');

/** Sessions stored in the database; the cookie holds a random id, the table only its hash. */
export function registerSessions(
  app: FastifyInstance,
  db: Db,
  options: { ttlHours: number; secureCookies: boolean },
): void {
  const t = tables<SessionTables>(db);
  const ttlMs = options.ttlHours * 3_600_000;

  app.decorateRequest('session', null as unknown as Session);

  // Plain callback hooks: most requests carry no session and need no promise at all.
  app.addHook('onRequest', (request, _reply, done) => {
    const id = request.cookies[COOKIE];
    request.session = new Session(null, {});
    if (!id || !/^[A-Za-z0-9_-]{43}$/.test(id)) return done();
    load(request, id).then(() => done(), done);
  });

  const load = async (request: FastifyRequest, id: string) => {
    const row = await t
      .selectFrom('sessions')
      .select(['data', 'updated_at'])
      .where('id_hash', '=', hashId(id))
      .where('expires_at', '>', new Date())
      .executeTakeFirst();
    if (!row) return;
    request.session = new Session(id, row.data as SessionData);
    // Sliding expiry, refreshed at most every ten minutes to keep reads cheap.
    if (row.updated_at && Date.now() - row.updated_at.getTime() > 600_000) request.session.dirty = true;
  };

  app.addHook('onSend', (request, reply, payload, done) => {
    const session = request.session;
    if (!session || (!session.destroyed && !session.dirty)) return done(null, payload);
    save(session, reply).then(() => done(null, payload), done);
  });

  const save = async (session: Session, reply: FastifyReply) => {
    if (session.destroyed) {
      if (session.id) await t.deleteFrom('sessions').where('id_hash', '=', hashId(session.id)).execute();
      reply.clearCookie(COOKIE, { path: '/' });
      return;
    }
    if (!session.dirty) return;
    if (session.rotated && session.id) {
      await t.deleteFrom('sessions').where('id_hash', '=', hashId(session.id)).execute();
      session.id = null;
    }
    const isNew = !session.id;
    if (!session.id) session.id = randomBytes(32).toString('base64url');
    const expires = new Date(Date.now() + ttlMs);
    await t
      .insertInto('sessions')
      .values({ id_hash: hashId(session.id), data: JSON.stringify(session.data), expires_at: expires })
      .onConflict((oc) =>
        oc.column('id_hash').doUpdateSet({
          data: JSON.stringify(session.data),
          expires_at: expires,
          updated_at: new Date(),
        }),
      )
      .execute();
    if (isNew) setSessionCookie(reply, session.id, options.secureCookies);
  };
}

function setSessionCookie(reply: FastifyReply, id: string, secure: boolean) {
  reply.setCookie(COOKIE, id, { path: '/', httpOnly: true, sameSite: 'lax', secure });
}

/** Deletes expired sessions; run by a scheduled job. */
export async function purgeExpiredSessions(db: Db): Promise<number> {
  const result = await tables<SessionTables>(db)
    .deleteFrom('sessions')
    .where('expires_at', '<', new Date())
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}

export type { FastifyRequest };
