import { createHmac, randomUUID, timingSafeEqual } from 'node:crypto';
import type { Actor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import type { Db } from '../../platform/db/index.ts';
import type { Platform } from '../../platform/module.ts';
import type { CasesService, Channel } from '../cases/index.ts';
import { categoryByCode, routeFor, type Category } from './categories.ts';
import {
  insideBoundary,
  isCoordinate,
  nearestStreet,
  neighbour,
  streetByUsrn,
  wardAt,
  wardByCode,
  type Street,
} from './geography.ts';
import { maxPhotos, preparePhoto } from './photos.ts';
import * as store from './store.ts';

/** Where a report is: a point, the street it is on, and its ward. */
export interface ReportLocation {
  lat: number;
  lng: number;
  usrn: string;
  streetName: string;
  wardCode: string;
  wardName: string;
  /** Set when the person chose the place on a map or by their device rather than by street. */
  pinned: boolean;
}

export type LocationResult =
  { ok: true; location: ReportLocation } | { ok: false; reason: 'invalid' | 'outside'; message: string };

/** Words naming who to contact about a place outside the council's area. */
export const outsideMessage = `This location is outside Kilnford. Report it to ${neighbour.name} on ${neighbour.phone} or at ${neighbour.url}`;

/** Places a point: inside the boundary, on its nearest street, in its ward. */
export function locatePoint(lat: number, lng: number): LocationResult {
  if (!isCoordinate(lat, lng))
    return {
      ok: false,
      reason: 'invalid',
      message: 'Enter a latitude between -90 and 90 and a longitude between -180 and 180',
    };
  const point = { lat, lng };
  const ward = insideBoundary(point) ? wardAt(point) : undefined;
  if (!ward) return { ok: false, reason: 'outside', message: outsideMessage };
  const street = nearestStreet(point);
  return {
    ok: true,
    location: {
      lat,
      lng,
      usrn: street.usrn,
      streetName: street.name,
      wardCode: ward.code,
      wardName: ward.name,
      pinned: true,
    },
  };
}

/** Places a report at a street chosen from the gazetteer (no map needed). */
export function locateStreet(street: Street): ReportLocation {
  const ward = wardAt(street)!;
  return {
    lat: street.lat,
    lng: street.lng,
    usrn: street.usrn,
    streetName: street.name,
    wardCode: ward.code,
    wardName: ward.name,
    pinned: false,
  };
}

export interface NewReport {
  category: string;
  answers: Record<string, string>;
  description: string | null;
  location: ReportLocation;
  /** Only for address-based categories: the house on the street. */
  address: string | null;
  locationNote: string | null;
  /** Files already made safe by `storePhoto`. */
  photoFileIds: string[];
  /** Web form, the app, Open311, or the assistant (web chat, text message, voice or smart speaker). */
  channel: Extract<Channel, 'web' | 'app' | 'api' | 'chatbot' | 'sms' | 'voice'>;
  residentId: string | null;
  email: string | null;
  /** One per submission: a second submission with the same key returns the first report. */
  idempotencyKey: string;
  /** The Open311 token handed back to an API client. */
  token?: string | null;
  /** A link to media an Open311 client sent; kept with the case, never fetched. */
  mediaUrl?: string | null;
  actor: Actor;
}

export interface SubmittedReport {
  caseId: string;
  reference: string;
  created: boolean;
  notice: string;
  expectedAt: Date | null;
}

export class ReportError extends Error {
  constructor(
    message: string,
    readonly field: string,
  ) {
    super(message);
  }
}

/** The rules of street reports: each is a case with a place, photos and followers. */
export function createRequestsService(platform: Platform, deps: { cases: CasesService }) {
  const { cases } = deps;
  const { events, notify, files } = platform;

  notify.defineTemplate('street-report-updated', {
    subject: 'Update on a report you follow: ((reference))',
    body:
      'There is an update on the report of ((category)) on ((street)) (((reference))):\n\n((title))\n\n((text))\n\n' +
      'See the report: ((link))\n\nTo stop these emails: ((stop))',
  });
  notify.defineTemplate('street-report-following', {
    subject: 'You are following report ((reference))',
    body:
      'Thank you. We will email you when there is news about the report of ((category)) on ((street)).\n\n((link))\n\n' +
      'To stop these emails: ((stop))',
  });

  // A link in each follower's email that stops their updates without signing in.
  const stopToken = (id: number) =>
    createHmac('sha256', platform.config.sessionSecret)
      .update(`stop-updates:${id}`)
      .digest('base64url')
      .slice(0, 32);
  const stopLink = (reference: string, id: number) =>
    `${platform.config.PUBLIC_URL}/reports/${reference}/stop-updates?s=${id}&t=${stopToken(id)}`;

  async function notifySubscribers(tx: Db, report: store.StreetReportRow, updates: store.ReportUpdateRow[]) {
    const category = categoryByCode(report.category);
    const followers = (await store.listSubscribers(tx, report.case_id)).filter(
      (s) => s.reason !== 'reporter',
    );
    for (const update of updates) {
      if (update.kind === 'received') continue;
      for (const s of followers) {
        const message = {
          template: 'street-report-updated',
          personalisation: {
            reference: report.reference,
            category: category?.noun ?? report.category,
            street: report.street_name,
            title: update.title,
            text: update.text ?? '',
            link: `${platform.config.PUBLIC_URL}/reports/${report.reference}`,
            stop: stopLink(report.reference, Number(s.id)),
          },
        };
        if (s.resident_id) await notify.toResident(tx, s.resident_id, message);
        else if (s.email) await notify.send(tx, { channel: 'email', recipient: s.email }, message);
      }
    }
  }

  const service = {
    /** Makes a photo safe (resized, metadata stripped) and stores it; throws PhotoError with words for the person. */
    async storePhoto(db: Db, content: Buffer, name: string): Promise<string> {
      const safe = await preparePhoto(content);
      const stored = await files.store(db, {
        name: name.replace(/\.\w+$/, '') + '.jpg',
        content: safe,
        accept: ['image/jpeg'],
      });
      return stored.id;
    },

    /** Creates the case and the report in one transaction, with routing and SLA from the category and ward. */
    async submit(input: NewReport): Promise<SubmittedReport> {
      const category = categoryByCode(input.category);
      if (!category) throw new ReportError('Select what you want to report', 'category');
      if (input.photoFileIds.length > maxPhotos)
        throw new ReportError(`You can add up to ${maxPhotos} photos`, 'photos');
      if (!wardByCode(input.location.wardCode) || !streetByUsrn(input.location.usrn))
        throw new ReportError('Choose where the problem is', 'location');
      const route = routeFor(category.code, input.answers, input.location.wardCode);
      // A repeated token (the app resending an offline report) is the case's idempotency key, so
      // createCase finds the first case instead of making a second.
      return platform.db.transaction().execute(async (tx) => {
        const created = await cases.createCase(tx, {
          service: {
            slug: `report-${category.code}`,
            title: `Report ${category.noun}`,
            version: 1,
            teamCode: route.team,
            sla: route.sla,
          },
          residentId: input.residentId,
          channel: input.channel,
          answers: answersForCase(category, input),
          summary: `${category.name}, ${input.location.streetName}${input.description ? `: ${input.description}` : ''}`,
          idempotencyKey: `report-it:${input.idempotencyKey}`,
          actor: input.actor,
          contactEmail: input.email,
        });
        if (!created.created) {
          const existing = await store.findByCaseId(tx, created.id);
          return {
            caseId: created.id,
            reference: created.reference,
            created: false,
            notice: existing?.service_notice ?? route.notice,
            expectedAt: existing?.expected_at ?? null,
          };
        }
        const expectedAt = created.slaDueAt;
        await store.insertReport(tx, {
          case_id: created.id,
          reference: created.reference,
          category: category.code,
          description: input.description,
          answers: input.answers,
          lat: input.location.lat,
          lng: input.location.lng,
          usrn: input.location.usrn,
          street_name: input.location.streetName,
          ward_code: input.location.wardCode,
          address: category.addressBased ? input.address : null,
          location_note: input.locationNote,
          channel: input.channel,
          token: input.token ?? null,
          service_notice: route.notice,
          expected_at: expectedAt,
        });
        await store.addPhotos(tx, created.id, input.photoFileIds, 'report');
        if (input.residentId || input.email)
          await store.addSubscriber(tx, {
            caseId: created.id,
            residentId: input.residentId,
            email: input.email,
            reason: 'reporter',
          });
        await store.insertUpdates(tx, [
          {
            case_id: created.id,
            happened_at: new Date(),
            kind: 'received',
            status: 'open',
            case_status: 'received',
            title: 'Report received',
            text: null,
          },
        ]);
        await events.publish(tx, {
          type: 'street_report.created',
          subjectType: 'case',
          subjectId: created.id,
          actor: input.actor,
          payload: {
            reference: created.reference,
            category: category.code,
            ward: input.location.wardCode,
            team: route.team,
          },
        });
        await recordAudit(tx, {
          actor: input.actor,
          action: 'street_report.created',
          subjectType: 'case',
          subjectId: created.id,
          detail: {
            reference: created.reference,
            category: category.code,
            photos: input.photoFileIds.length,
          },
        });
        return {
          caseId: created.id,
          reference: created.reference,
          created: true,
          notice: route.notice,
          expectedAt,
        };
      });
    },

    /** Open reports of the same category within 50 metres: offered before a new report is made. */
    nearbyOpen: (db: Db, category: string, lat: number, lng: number, metres = 50) =>
      store.nearbyOpen(db, { category, lat, lng, metres }),

    /** Adds someone to a report's updates ("me too", or following from the public page). */
    async follow(input: {
      reference: string;
      residentId: string | null;
      email: string | null;
      reason: 'me_too' | 'follow';
      actor: Actor;
    }): Promise<{ added: boolean; report: store.StreetReportRow }> {
      return platform.db.transaction().execute(async (tx) => {
        const report = await store.findByReference(tx, input.reference);
        if (!report || !report.public)
          throw new ReportError('There is no report with that reference', 'reference');
        const added = await store.addSubscriber(tx, {
          caseId: report.case_id,
          residentId: input.residentId,
          email: input.email,
          reason: input.reason,
        });
        const mine = (await store.listSubscribers(tx, report.case_id)).find((s) =>
          input.residentId
            ? s.resident_id === input.residentId
            : s.email?.toLowerCase() === input.email?.toLowerCase(),
        );
        if (added) {
          await events.publish(tx, {
            type: input.reason === 'me_too' ? 'street_report.me_too' : 'street_report.followed',
            subjectType: 'case',
            subjectId: report.case_id,
            actor: input.actor,
            payload: { reference: report.reference },
          });
          await recordAudit(tx, {
            actor: input.actor,
            action: `street_report.${input.reason === 'me_too' ? 'me_too' : 'followed'}`,
            subjectType: 'case',
            subjectId: report.case_id,
            detail: { reference: report.reference },
          });
          const message = {
            template: 'street-report-following',
            personalisation: {
              reference: report.reference,
              category: categoryByCode(report.category)?.noun ?? report.category,
              street: report.street_name,
              link: `${platform.config.PUBLIC_URL}/reports/${report.reference}`,
              stop: mine
                ? stopLink(report.reference, Number(mine.id))
                : `${platform.config.PUBLIC_URL}/reports/${report.reference}`,
            },
          };
          if (input.residentId) await notify.toResident(tx, input.residentId, message);
          else if (input.email) await notify.send(tx, { channel: 'email', recipient: input.email }, message);
        }
        return { added, report };
      });
    },

    /** Brings a report's status and public history up to date with its case, and tells its followers. */
    async syncFromCase(tx: Db, caseId: string): Promise<void> {
      const report = await store.findByCaseId(tx, caseId);
      if (!report) return;
      const c = await cases.findByReference(tx, report.reference);
      if (!c) return;
      const history = await cases.listPublicHistory(tx, caseId);
      const open = (s: string | null) => (s === 'resolved' || s === 'closed' ? 'closed' : 'open');
      let status: string = 'received';
      const rows = history
        .filter((h) => h.kind !== 'received')
        .map((h) => {
          if (h.status) status = h.status;
          return {
            case_id: caseId,
            happened_at: h.at,
            kind: h.kind,
            status: open(status),
            case_status: status,
            title: h.title.replace('your request', 'this report').replace('Your request', 'This report'),
            text: h.text,
          } as Omit<store.ReportUpdateRow, 'id'>;
        });
      const fresh = await store.insertUpdates(tx, rows);
      if (report.case_status !== c.status) await store.setStatus(tx, caseId, open(c.status), c.status);
      await notifySubscribers(tx, report, fresh);
    },

    /** Stops a follower's updates from the link in their email; false when the link is not valid. */
    async stopUpdates(input: { reference: string; subscriberId: number; token: string }): Promise<boolean> {
      const expected = Buffer.from(stopToken(input.subscriberId));
      const given = Buffer.from(input.token);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return false;
      return platform.db.transaction().execute(async (tx) => {
        const report = await store.findByReference(tx, input.reference);
        if (!report) return false;
        const removed = await store.removeSubscriber(tx, report.case_id, input.subscriberId);
        if (removed)
          await recordAudit(tx, {
            actor: { type: 'resident', id: null },
            action: 'street_report.unfollowed',
            subjectType: 'case',
            subjectId: report.case_id,
            detail: { reference: report.reference },
          });
        return removed;
      });
    },

    findByReference: (db: Db, reference: string) => store.findByReference(db, reference),
    findByToken: (db: Db, token: string) => store.findByToken(db, token),
    listByCaseIds: (db: Db, ids: string[]) => store.listByCaseIds(db, ids),
    listPhotos: (db: Db, caseId: string) => store.listPhotos(db, caseId),
    countReportPhotos: (db: Db, caseIds: string[]) => store.countReportPhotos(db, caseIds),
    findPhoto: (db: Db, caseId: string, kind: 'report' | 'fix', position: number) =>
      store.findPhoto(db, caseId, kind, position),
    listUpdates: (db: Db, caseId: string) => store.listUpdates(db, caseId),
    updatesBetween: (db: Db, start: Date, end: Date, limit: number) =>
      store.updatesBetween(db, start, end, limit),
    search: (db: Db, filter: store.ReportFilter, page: { offset: number; limit: number }) =>
      store.search(db, filter, page),
    count: (db: Db, filter: store.ReportFilter) => store.count(db, filter),
    countFollowers: (db: Db, caseId: string) => store.countSubscribers(db, caseId, 'me_too'),
    listForResident: (db: Db, residentId: string) => store.listForResident(db, residentId),
    addFixPhotos: (tx: Db, caseId: string, fileIds: string[]) => store.addPhotos(tx, caseId, fileIds, 'fix'),
    newIdempotencyKey: () => randomUUID(),
  };
  return service;
}

// The case keeps the answers with their questions, so the back office reads them without this module.
function answersForCase(category: Category, input: NewReport): Record<string, unknown> {
  const out: Record<string, unknown> = {
    category: { question: 'What are you reporting?', answer: category.name },
    location: {
      question: 'Where is it?',
      answer: [input.address, input.location.streetName, input.locationNote].filter(Boolean).join(', '),
      lat: input.location.lat,
      lng: input.location.lng,
      usrn: input.location.usrn,
      ward: input.location.wardName,
    },
  };
  for (const q of category.questions) {
    const value = input.answers[q.id];
    if (value === undefined) continue;
    out[q.id] = { question: q.text, answer: q.options?.find((o) => o.value === value)?.text ?? value };
  }
  if (input.description) out.description = { question: 'Describe the problem', answer: input.description };
  if (input.mediaUrl) out.media_url = { question: 'Link to a photo or video', answer: input.mediaUrl };
  return out;
}

export type RequestsService = ReturnType<typeof createRequestsService>;
