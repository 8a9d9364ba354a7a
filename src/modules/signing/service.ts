import { createHash, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { PDFDocument } from 'pdf-lib';
import type { Actor } from '../../platform/actor.ts';
import { sniffMediaType } from '../../platform/files/index.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import { freshReference } from '../../platform/references.ts';
import type { Db } from '../../platform/db/index.ts';
import type { Platform } from '../../platform/module.ts';
import { loadSealingCertificate, type SealingCertificate } from './certificate.ts';
import { checkPdfUpload } from './upload.ts';
import { renderDocument, sealDocument } from './pdf.ts';
import type { TemplateKind } from './schema.ts';
import * as store from './store.ts';
import { checkSeal } from './verify.ts';
import { defineSigningMessages } from './messages.ts';

/** A refusal with words fit to show the person: the journey shows it, nothing is half done. */
export class SigningError extends Error {
  constructor(
    readonly code:
      | 'link_invalid'
      | 'link_expired'
      | 'link_used'
      | 'not_open'
      | 'code_wrong'
      | 'code_expired'
      | 'locked'
      | 'not_verified'
      | 'out_of_order'
      | 'altered'
      | 'invalid'
      | 'not_found',
    message: string,
  ) {
    super(message);
  }
}

export const MAX_CODE_ATTEMPTS = 5;
const CODE_MINUTES = 10;
const LINK_DAYS = 7;
const REMINDER_DAYS = 3;

export interface NewSigner {
  name: string;
  role: string;
  email: string;
  phone?: string | null;
}

export interface NewEnvelope {
  title: string;
  /** A template and its merge values, or an uploaded PDF. */
  template?: { slug: string; values: Record<string, string> };
  upload?: Buffer;
  residentId?: string | null;
  signers: NewSigner[];
  expiresInDays?: number;
  /** What the document is for, so the sending module can find the signed copy by its reference. */
  subject?: { type: string; reference: string };
}

const sha256 = (data: Buffer | string) => createHash('sha256').update(data).digest('hex');
const token = () => randomBytes(24).toString('base64url');

/** The ((merge_fields)) a template's text asks for, in order of first use. */
export function mergeFieldsOf(body: string): string[] {
  return [...new Set([...body.matchAll(/\(\(([a-z0-9_]+)\)\)/g)].map((m) => m[1]!))];
}

/** The rules of Kiln Sign: templates, envelopes, the signer journey, sealing, letters. */
export function createSigningService(platform: Platform) {
  const { config, notify, events } = platform;
  defineSigningMessages(notify);
  let certificate: SealingCertificate | null = null;
  const sealingCertificate = () =>
    (certificate ??= loadSealingCertificate({
      p12Base64: config.SIGNING_P12_BASE64,
      passphrase: config.SIGNING_P12_PASSPHRASE,
      dataDir: config.DATA_DIR,
      councilName: config.COUNCIL_NAME,
    }));
  const url = (path: string) => `${config.PUBLIC_URL}${path}`;

  async function log(
    tx: Db,
    envelope: { id: string; reference: string },
    actor: Actor,
    kind: string,
    description: string,
    signerId: string | null = null,
  ) {
    await store.insertEvent(tx, { envelope_id: envelope.id, signer_id: signerId, kind, description });
    await recordAudit(tx, {
      actor,
      action: `signing.${kind}`,
      subjectType: 'signing_envelope',
      subjectId: envelope.id,
      detail: { reference: envelope.reference, ...(signerId ? { signer: signerId } : {}) },
    });
    await events.publish(tx, {
      type: `signing.${kind}`,
      subjectType: 'signing_envelope',
      subjectId: envelope.id,
      actor,
      payload: { reference: envelope.reference, ...(signerId ? { signer: signerId } : {}) },
    });
  }

  async function invite(tx: Db, envelope: store.EnvelopeRow, signer: store.SignerRow, actor: Actor) {
    const link = token();
    const expires = new Date(Math.min(Date.now() + LINK_DAYS * 86_400_000, envelope.expires_at.getTime()));
    await store.updateSigner(tx, signer.id, {
      status: 'invited',
      link_hash: sha256(link),
      link_expires_at: expires,
      link_used_at: null,
      code_hash: null,
      code_attempts: 0,
      code_sends: 0,
      verified_at: null,
    });
    const message = {
      template: 'signing-invitation',
      personalisation: {
        name: signer.name,
        council: config.COUNCIL_NAME,
        title: envelope.title,
        reference: envelope.reference,
        link: url(`/sign/${link}`),
        expires: expires.toLocaleDateString('en-GB', {
          timeZone: 'Europe/London',
          day: 'numeric',
          month: 'long',
          year: 'numeric',
        }),
      },
    };
    await notify.send(
      tx,
      { channel: 'email', recipient: signer.email, residentId: signer.resident_id },
      message,
    );
    if (signer.phone)
      await notify.send(
        tx,
        { channel: 'sms', recipient: signer.phone, residentId: signer.resident_id },
        message,
      );
    await log(
      tx,
      envelope,
      actor,
      'invited',
      `Invitation to sign sent to ${signer.name} (${signer.role})`,
      signer.id,
    );
    return link;
  }

  async function sendCode(tx: Db, envelope: store.EnvelopeRow, signer: store.SignerRow) {
    if (signer.code_sends >= MAX_CODE_ATTEMPTS) {
      throw new SigningError(
        'locked',
        'Too many codes have been sent. Ask the council to send you a new invitation.',
      );
    }
    const code = String(randomInt(0, 1_000_000)).padStart(6, '0');
    await store.updateSigner(tx, signer.id, {
      code_hash: sha256(`${signer.id}:${code}`),
      code_expires_at: new Date(Date.now() + CODE_MINUTES * 60_000),
      code_sends: signer.code_sends + 1,
    });
    const message = {
      template: 'signing-code',
      personalisation: { code, council: config.COUNCIL_NAME, minutes: String(CODE_MINUTES) },
    };
    await notify.send(
      tx,
      { channel: 'email', recipient: signer.email, residentId: signer.resident_id },
      message,
    );
    if (signer.phone)
      await notify.send(
        tx,
        { channel: 'sms', recipient: signer.phone, residentId: signer.resident_id },
        message,
      );
    await store.insertEvent(tx, {
      envelope_id: envelope.id,
      signer_id: signer.id,
      kind: 'code_sent',
      description: `Security code sent to ${signer.name}`,
    });
  }

  const signerActor = (signer: store.SignerRow): Actor => ({ type: 'resident', id: signer.resident_id });

  async function loadOpen(tx: Db, signerId: string) {
    const signer = await store.findSigner(tx, { id: signerId }, true);
    if (!signer) throw new SigningError('not_found', 'We cannot find that document.');
    const envelope = (await store.findEnvelope(tx, { id: signer.envelope_id }, true))!;
    if (envelope.status !== 'in_progress') {
      throw new SigningError(
        'not_open',
        `This document is no longer waiting for signatures: it is ${statusText(envelope.status)}.`,
      );
    }
    if (envelope.expires_at < new Date())
      throw new SigningError('not_open', 'This document has expired and can no longer be signed.');
    if (signer.status === 'locked') {
      throw new SigningError(
        'locked',
        'Signing is locked after too many wrong codes. Ask the council to send you a new invitation.',
      );
    }
    return { signer, envelope };
  }

  async function seal(tx: Db, envelope: store.EnvelopeRow, signers: store.SignerRow[], sealedAt: Date) {
    const history = await store.eventsOf(tx, envelope.id);
    const sealed = await sealDocument({
      original: envelope.document,
      reference: envelope.reference,
      title: envelope.title,
      councilName: config.COUNCIL_NAME,
      documentSha256: envelope.document_sha256,
      certificate: sealingCertificate(),
      sealedAt,
      signatures: signers.map((s) => ({
        name: s.name,
        role: s.role,
        method: s.method ?? 'typed',
        typedName: s.typed_name ?? s.name,
        drawnPng: s.drawn_signature,
        signedAt: s.signed_at!,
      })),
      events: history
        .filter((e) => e.kind !== 'code_sent')
        .map((e) => ({ at: e.at, description: e.description }))
        .concat([{ at: sealedAt, description: `Sealed by ${config.COUNCIL_NAME}` }]),
    });
    const sealedSha = sha256(sealed);
    await store.updateEnvelope(tx, envelope.id, {
      status: 'completed',
      sealed_document: sealed,
      sealed_sha256: sealedSha,
      completed_at: sealedAt,
    });
    await log(
      tx,
      envelope,
      { type: 'system', id: null },
      'sealed',
      `Sealed; SHA-256 of the sealed document ${sealedSha}`,
    );

    const residents = new Set<string>();
    if (envelope.resident_id) residents.add(envelope.resident_id);
    for (const s of signers) {
      const copy = token();
      await store.updateSigner(tx, s.id, { copy_hash: sha256(copy) });
      await notify.send(
        tx,
        { channel: 'email', recipient: s.email, residentId: s.resident_id },
        {
          template: 'signing-completed',
          personalisation: {
            name: s.name,
            title: envelope.title,
            reference: envelope.reference,
            link: url(`/signed/${copy}`),
          },
        },
      );
      if (s.resident_id) residents.add(s.resident_id);
    }
    for (const residentId of residents) {
      await store.insertLetter(tx, {
        reference: await freshReference(tx, 'signing_letters', 'DOC'),
        resident_id: residentId,
        title: envelope.title,
        kind: 'sealed_document',
        envelope_id: envelope.id,
        pdf: sealed,
        sha256: sealedSha,
      });
    }
  }

  async function buildDocument(tx: Db, input: NewEnvelope, reference: string) {
    if (input.upload) {
      const problem = await checkPdfUpload(input.upload, config.UPLOAD_LIMIT_BYTES);
      if (problem) throw new SigningError('invalid', problem);
      return { document: input.upload, templateId: null, text: null };
    }
    if (!input.template) throw new SigningError('invalid', 'Choose a template or upload a PDF');
    const template = await store.latestTemplate(tx, input.template.slug);
    if (!template) throw new SigningError('invalid', 'Choose a template');
    const missing = mergeFieldsOf(template.body).filter((f) => !input.template!.values[f]?.trim());
    if (missing.length)
      throw new SigningError('invalid', `Enter ${missing.map((f) => f.replace(/_/g, ' ')).join(', ')}`);
    const body = template.body.replace(/\(\(([a-z0-9_]+)\)\)/g, (_, f: string) =>
      input.template!.values[f]!.trim(),
    );
    const document = await renderDocument({
      title: input.title,
      body,
      councilName: config.COUNCIL_NAME,
      reference,
    });
    return { document, templateId: template.id, text: body };
  }

  const service = {
    sealingCertificate,

    /** Saves a template as a new version of its slug. */
    async saveTemplate(
      actor: Actor,
      input: { slug: string; kind: TemplateKind; title: string; body: string },
    ) {
      return platform.db.transaction().execute(async (tx) => {
        const row = await store.insertTemplate(tx, {
          ...input,
          created_by: actor.type === 'staff' ? actor.id : null,
        });
        await recordAudit(tx, {
          actor,
          action: 'signing.template_saved',
          subjectType: 'signing_template',
          subjectId: row.id,
          detail: { slug: row.slug, version: row.version },
        });
        return row;
      });
    },
    listTemplates: (db: Db) => store.latestTemplates(db),
    getTemplate: (db: Db, slug: string) => store.latestTemplate(db, slug),
    templateVersions: (db: Db, slug: string) => store.templateVersions(db, slug),

    /** Creates an envelope, its document and signers in order, and invites the first signer. */
    async sendEnvelope(actor: Actor & { type: 'staff'; id: string }, input: NewEnvelope) {
      if (input.signers.length === 0) throw new SigningError('invalid', 'Add at least one signer');
      return platform.db.transaction().execute(async (tx) => {
        const reference = await freshReference(tx, 'signing_envelopes', 'SG');
        const { document, templateId, text } = await buildDocument(tx, input, reference);
        const envelope = await store.insertEnvelope(tx, {
          reference,
          title: input.title,
          template_id: templateId,
          resident_id: input.residentId ?? null,
          document,
          document_sha256: sha256(document),
          document_text: text,
          subject_type: input.subject?.type ?? null,
          subject_reference: input.subject?.reference ?? null,
          created_by: actor.id,
          expires_at: new Date(Date.now() + (input.expiresInDays ?? 30) * 86_400_000),
        });
        const signers: store.SignerRow[] = [];
        for (const [i, s] of input.signers.entries()) {
          const email = s.email.trim().toLowerCase();
          signers.push(
            await store.insertSigner(tx, {
              envelope_id: envelope.id,
              position: i + 1,
              name: s.name.trim(),
              role: s.role.trim(),
              email,
              phone: s.phone?.trim() || null,
              resident_id: await store.residentByEmail(tx, email),
            }),
          );
        }
        await log(
          tx,
          envelope,
          actor,
          'sent',
          `Sent for signature; SHA-256 of the document ${envelope.document_sha256}`,
        );
        const link = await invite(tx, envelope, signers[0]!, actor);
        return { reference, firstLink: link };
      });
    },

    listEnvelopes: (db: Db) => store.listEnvelopes(db),

    /** An envelope with its signers and events, for the back office. */
    async envelopeDetail(db: Db, reference: string) {
      const envelope = await store.findEnvelope(db, { reference });
      if (!envelope) return null;
      return {
        envelope,
        signers: await store.signersOf(db, envelope.id),
        events: await store.eventsOf(db, envelope.id),
      };
    },

    /** Where a signing link leads, without using it up (the start page). */
    async inspectLink(db: Db, link: string) {
      const signer = await store.findSigner(db, { linkHash: sha256(link) });
      if (!signer)
        throw new SigningError(
          'link_invalid',
          'This link is not right. Check you copied the whole link from the email.',
        );
      if (signer.link_used_at)
        throw new SigningError('link_used', 'This link has already been used. Each link works once.');
      if (signer.link_expires_at && signer.link_expires_at < new Date()) {
        throw new SigningError(
          'link_expired',
          'This link has expired. Ask the council to send you a new one.',
        );
      }
      const envelope = (await store.findEnvelope(db, { id: signer.envelope_id }))!;
      if (envelope.status !== 'in_progress') {
        throw new SigningError(
          'not_open',
          `This document is no longer waiting for signatures: it is ${statusText(envelope.status)}.`,
        );
      }
      return { signer, envelope };
    },

    /** Uses up a signing link and sends the signer a security code; returns who is signing. */
    async startSigning(link: string): Promise<string> {
      return platform.db.transaction().execute(async (tx) => {
        const { signer } = await service.inspectLink(tx, link);
        const open = await loadOpen(tx, signer.id);
        await store.updateSigner(tx, signer.id, { link_used_at: new Date() });
        await log(
          tx,
          open.envelope,
          signerActor(signer),
          'opened',
          `${signer.name} opened the invitation link`,
          signer.id,
        );
        await sendCode(tx, open.envelope, open.signer);
        return signer.id;
      });
    },

    /** Sends a fresh code (the signer asked again). */
    async resendCode(signerId: string) {
      await platform.db.transaction().execute(async (tx) => {
        const { signer, envelope } = await loadOpen(tx, signerId);
        await sendCode(tx, envelope, signer);
      });
    },

    /** Checks a security code; after 5 wrong codes signing is locked until the council reissues it. */
    async checkCode(signerId: string, code: string): Promise<void> {
      const outcome = await platform.db.transaction().execute(async (tx) => {
        const { signer, envelope } = await loadOpen(tx, signerId);
        if (!signer.code_hash || !signer.code_expires_at || signer.code_expires_at < new Date()) {
          return new SigningError('code_expired', 'The code has expired. Ask for a new code.');
        }
        const given = Buffer.from(sha256(`${signer.id}:${code.replace(/\s/g, '')}`));
        if (timingSafeEqual(given, Buffer.from(signer.code_hash))) {
          await store.updateSigner(tx, signer.id, { verified_at: new Date(), code_hash: null });
          await log(
            tx,
            envelope,
            signerActor(signer),
            'verified',
            `${signer.name} confirmed their identity with a security code`,
            signer.id,
          );
          return null;
        }
        const attempts = signer.code_attempts + 1;
        if (attempts >= MAX_CODE_ATTEMPTS) {
          await store.updateSigner(tx, signer.id, {
            code_attempts: attempts,
            status: 'locked',
            code_hash: null,
          });
          await log(
            tx,
            envelope,
            signerActor(signer),
            'locked',
            `Signing locked for ${signer.name} after ${attempts} wrong codes`,
            signer.id,
          );
          return new SigningError(
            'locked',
            'Signing is locked after too many wrong codes. Ask the council to send you a new invitation.',
          );
        }
        await store.updateSigner(tx, signer.id, { code_attempts: attempts });
        const left = MAX_CODE_ATTEMPTS - attempts;
        return new SigningError(
          'code_wrong',
          `The code is not right. You have ${left} more ${left === 1 ? 'try' : 'tries'}.`,
        );
      });
      // Thrown after commit so the attempt count is kept.
      if (outcome) throw outcome;
    },

    /** The document a verified signer is signing. */
    async signerDocument(db: Db, signerId: string) {
      const signer = await store.findSigner(db, { id: signerId });
      if (!signer || !signer.verified_at)
        throw new SigningError('not_verified', 'Confirm your identity first.');
      const envelope = (await store.findEnvelope(db, { id: signer.envelope_id }))!;
      const signers = await store.signersOf(db, envelope.id);
      return { signer, envelope, signers };
    },

    /** Records a signature; the next signer is invited, or the last one seals the document. */
    async sign(signerId: string, input: { typedName: string; drawnPng?: Buffer | null }) {
      return platform.db.transaction().execute(async (tx) => {
        const { signer, envelope } = await loadOpen(tx, signerId);
        if (!signer.verified_at)
          throw new SigningError('not_verified', 'Confirm your identity with the security code first.');
        if (signer.status !== 'invited')
          throw new SigningError('not_open', 'You have already responded to this document.');
        const signers = await store.signersOf(tx, envelope.id);
        const turn = signers.find((s) => s.status !== 'signed');
        if (turn?.id !== signer.id)
          throw new SigningError(
            'out_of_order',
            'It is not your turn to sign yet. We will email you when it is.',
          );
        if (sha256(envelope.document) !== envelope.document_sha256) {
          throw new SigningError(
            'altered',
            'The document has changed since it was sent, so it cannot be signed. The council has been told.',
          );
        }
        if (input.drawnPng && !(await isUsablePng(input.drawnPng))) {
          throw new SigningError(
            'invalid',
            'Your drawn signature could not be read. Clear it and draw it again, or sign with your typed name only.',
          );
        }
        const now = new Date();
        const method = input.drawnPng ? 'drawn' : 'typed';
        await store.updateSigner(tx, signer.id, {
          status: 'signed',
          signed_at: now,
          method,
          typed_name: input.typedName.trim(),
          drawn_signature: input.drawnPng ?? null,
        });
        await log(
          tx,
          envelope,
          signerActor(signer),
          'signed',
          `${signer.name} (${signer.role}) agreed to sign electronically and signed by ${method === 'drawn' ? 'drawing a signature' : `typing "${input.typedName.trim()}"`}; document SHA-256 ${envelope.document_sha256}`,
          signer.id,
        );
        const updated = await store.signersOf(tx, envelope.id);
        const next = updated.find((s) => s.status !== 'signed');
        if (next) {
          await invite(tx, envelope, next, { type: 'system', id: null });
          return { completed: false, reference: envelope.reference };
        }
        await seal(tx, envelope, updated, now);
        return { completed: true, reference: envelope.reference };
      });
    },

    /** The signer declines; the envelope stops and nothing is sealed. */
    async decline(signerId: string, reason: string) {
      await platform.db.transaction().execute(async (tx) => {
        const { signer, envelope } = await loadOpen(tx, signerId);
        if (!signer.verified_at)
          throw new SigningError('not_verified', 'Confirm your identity with the security code first.');
        await store.updateSigner(tx, signer.id, { status: 'declined', decline_reason: reason });
        await store.updateEnvelope(tx, envelope.id, { status: 'declined', status_reason: reason });
        await log(
          tx,
          envelope,
          signerActor(signer),
          'declined',
          `${signer.name} declined to sign: ${reason}`,
          signer.id,
        );
      });
    },

    /** Staff stop an envelope; links stop working. */
    async voidEnvelope(actor: Actor, reference: string, reason: string) {
      await platform.db.transaction().execute(async (tx) => {
        const envelope = await store.findEnvelope(tx, { reference }, true);
        if (!envelope) throw new SigningError('not_found', 'No such envelope');
        if (envelope.status !== 'in_progress')
          throw new SigningError('not_open', `It is already ${statusText(envelope.status)}.`);
        await store.updateEnvelope(tx, envelope.id, { status: 'voided', status_reason: reason });
        await log(tx, envelope, actor, 'voided', `Voided by the council: ${reason}`);
      });
    },

    /** Sends the current signer a new link (the old one stops working); also lifts a lock. */
    async remind(actor: Actor, reference: string) {
      return platform.db.transaction().execute(async (tx) => {
        const envelope = await store.findEnvelope(tx, { reference }, true);
        if (!envelope || envelope.status !== 'in_progress')
          throw new SigningError('not_open', 'This envelope is not waiting for signatures.');
        const current = (await store.signersOf(tx, envelope.id)).find((s) => s.status !== 'signed');
        if (!current) throw new SigningError('not_open', 'Nobody is left to sign.');
        await store.updateSigner(tx, current.id, { reminded_at: new Date() });
        return invite(tx, envelope, current, actor);
      });
    },

    /** Reminds signers who have not acted for a few days; expires envelopes past their date. */
    async runHousekeeping(now = new Date()) {
      for (const { id } of await store.envelopesPastExpiry(platform.db, now)) {
        await platform.db.transaction().execute(async (tx) => {
          const envelope = await store.findEnvelope(tx, { id }, true);
          if (envelope?.status !== 'in_progress') return;
          await store.updateEnvelope(tx, id, { status: 'expired' });
          await log(tx, envelope, { type: 'system', id: null }, 'expired', 'Expired before everyone signed');
        });
      }
      const due = await store.envelopesDueReminder(
        platform.db,
        new Date(now.getTime() - REMINDER_DAYS * 86_400_000),
      );
      for (const { envelopeId } of due) {
        const envelope = await store.findEnvelope(platform.db, { id: envelopeId });
        if (envelope)
          await service.remind({ type: 'system', id: null }, envelope.reference).catch(() => undefined);
      }
    },

    /** The sealed copy behind an emailed download link. */
    async sealedCopy(db: Db, copy: string) {
      const signer = await store.findSigner(db, { copyHash: sha256(copy) });
      if (!signer) return null;
      const envelope = await store.findEnvelope(db, { id: signer.envelope_id });
      if (!envelope?.sealed_document) return null;
      return { reference: envelope.reference, title: envelope.title, pdf: envelope.sealed_document };
    },

    /** The sealed PDF for staff. */
    async sealedDocument(db: Db, reference: string) {
      const envelope = await store.findEnvelope(db, { reference });
      return envelope?.sealed_document ? { reference, pdf: envelope.sealed_document } : null;
    },

    /** Checks an uploaded PDF: intact and sealed by this council (who signed, when), altered, or neither. */
    async verify(db: Db, pdf: Buffer) {
      const problem = await checkPdfUpload(pdf, config.UPLOAD_LIMIT_BYTES);
      if (problem) throw new SigningError('invalid', problem);
      const check = checkSeal(pdf);
      if (check.outcome !== 'intact') return { ...check, envelope: null };
      const ours = check.fingerprint === sealingCertificate().fingerprint;
      const envelope = ours ? await store.findEnvelopeBySealedHash(db, sha256(pdf)) : undefined;
      const signers = envelope ? await store.signersOf(db, envelope.id) : [];
      return {
        ...check,
        ours,
        envelope: envelope
          ? {
              reference: envelope.reference,
              title: envelope.title,
              completedAt: envelope.completed_at,
              signers: signers.map((s) => ({
                name: s.name,
                role: s.role,
                signedAt: s.signed_at,
                method: s.method,
              })),
            }
          : null,
      };
    },

    /** Delivers a bill or letter to a resident's account and tells them (payments calls this). */
    async deliverLetter(tx: Db, residentId: string, letter: { title: string; pdf: Buffer }) {
      const problem = await checkPdfUpload(letter.pdf, config.UPLOAD_LIMIT_BYTES);
      if (problem) throw new SigningError('invalid', problem);
      const row = await store.insertLetter(tx, {
        reference: await freshReference(tx, 'signing_letters', 'DOC'),
        resident_id: residentId,
        title: letter.title,
        kind: 'letter',
        envelope_id: null,
        pdf: letter.pdf,
        sha256: sha256(letter.pdf),
      });
      await notify.toResident(tx, residentId, {
        template: 'letter-delivered',
        personalisation: {
          title: letter.title,
          council: config.COUNCIL_NAME,
          link: url('/account/documents'),
        },
      });
      await recordAudit(tx, {
        actor: { type: 'system', id: null },
        action: 'signing.letter_delivered',
        subjectType: 'resident',
        subjectId: residentId,
        detail: { reference: row?.reference },
      });
      return { reference: row!.reference };
    },

    /** Letters, bills and sealed documents in a resident's account, newest first. */
    listDocumentsForResident: (db: Db, residentId: string) => store.lettersFor(db, residentId),

    /**
     * The signed copies in a resident's account of documents sent for a subject, by the subject's
     * reference (the newest when there are several).
     */
    async sealedDocumentsAbout(db: Db, residentId: string, subject: { type: string; references: string[] }) {
      const found = new Map<string, { reference: string; title: string; deliveredAt: Date }>();
      for (const l of await store.sealedLettersAbout(db, residentId, subject))
        if (l.subject_reference && !found.has(l.subject_reference))
          found.set(l.subject_reference, {
            reference: l.reference,
            title: l.title,
            deliveredAt: l.delivered_at,
          });
      return found;
    },

    /** One of a resident's documents (their own only); marks it read. */
    async documentForResident(db: Db, residentId: string, reference: string) {
      const letter = await store.findLetter(db, residentId, reference);
      if (letter) await store.markLetterRead(db, letter.id);
      return letter ?? null;
    },

    isPaperless: (db: Db, residentId: string) => store.paperlessOf(db, residentId),

    async setPaperless(actor: Actor, residentId: string, paperless: boolean) {
      await platform.db.transaction().execute(async (tx) => {
        await store.setPaperless(tx, residentId, paperless);
        await recordAudit(tx, {
          actor,
          action: 'signing.paperless_changed',
          subjectType: 'resident',
          subjectId: residentId,
          detail: { paperless },
        });
        await events.publish(tx, {
          type: 'signing.paperless_changed',
          subjectType: 'resident',
          subjectId: residentId,
          actor,
          payload: { paperless },
        });
      });
    },

    /** The share of residents with an account who chose paperless: a measure for insights. */
    async paperlessShare(db: Db) {
      const [{ paperless }, residents] = await Promise.all([
        store.paperlessCounts(db),
        store.countResidents(db),
      ]);
      return { residents, paperless, share: residents ? paperless / residents : 0 };
    },
  };
  return service;
}

// A drawing must be a PNG pdf-lib can embed, or the seal would fail at the last signature.
async function isUsablePng(png: Buffer): Promise<boolean> {
  if (png.length > 150_000 || sniffMediaType(png) !== 'image/png') return false;
  try {
    await (await PDFDocument.create()).embedPng(png);
    return true;
  } catch {
    return false;
  }
}

export function statusText(status: string): string {
  return (
    {
      in_progress: 'waiting for signatures',
      completed: 'signed and sealed',
      declined: 'declined',
      voided: 'withdrawn by the council',
      expired: 'expired',
    }[status] ?? status
  );
}

export type SigningService = ReturnType<typeof createSigningService>;
