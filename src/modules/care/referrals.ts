import type { Actor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import type { Platform } from '../../platform/module.ts';
import type { CasesService } from '../cases/index.ts';
import type { ReferralKind } from './schema.ts';
import * as store from './store.ts';
import {
  childConcerns,
  difficulties,
  outcomes,
  priorityLabels,
  triage,
  wellbeingImpacts,
  type AssessmentAnswers,
  type ChildConcern,
  type Difficulty,
  type OutcomeId,
  type Safety,
  type Triage,
  type WellbeingImpact,
} from './triage.ts';

export const whoOptions = [
  { value: 'myself', text: 'Myself', hint: 'I need care and support' },
  { value: 'carer', text: 'Me, as a carer', hint: 'I look after someone and need support to keep caring' },
  {
    value: 'adult',
    text: 'An adult I am worried about',
    hint: 'A relative, friend, neighbour or someone you support',
  },
  { value: 'child', text: 'A child I am worried about', hint: 'Someone under 18' },
] as const;
export type Who = (typeof whoOptions)[number]['value'];

/** A referral in progress: kept in its own table, never in the session (it holds personal data). */
export interface ReferralDraft {
  who?: Who;
  safety?: Safety;
  whatIsHappening?: string;
  outcomes?: Partial<Record<OutcomeId, Difficulty>>;
  impairment?: 'yes' | 'no';
  wellbeing?: WellbeingImpact;
  livesAlone?: 'yes' | 'no';
  childAge?: string;
  concerns?: ChildConcern[];
  subject?: { name: string; dateOfBirth: string | null; address: string; phone: string };
  contact?: { name: string; email: string; phone: string; relationship: string };
  knowsAboutReferral?: 'yes' | 'no';
}

export const kindOf = (who: Who | undefined): ReferralKind =>
  who === 'child' ? 'child' : who === 'carer' ? 'carer' : 'adult';
export const isForSelf = (who: Who | undefined) => who === 'myself' || who === 'carer';

export function assessmentOf(draft: ReferralDraft): AssessmentAnswers {
  return {
    kind: kindOf(draft.who),
    safety: draft.safety ?? 'none',
    outcomes: draft.outcomes,
    impairment: draft.impairment === 'yes',
    wellbeing: draft.wellbeing,
    livesAlone: draft.livesAlone === 'yes',
    childAge: draft.childAge ? Number(draft.childAge) : null,
    concerns: draft.concerns,
  };
}

export class ReferralIncomplete extends Error {}

/** Self-referral and first assessment: each referral becomes a case in the right team's queue. */
export function createReferrals(platform: Platform, cases: CasesService) {
  const { db } = platform;

  return {
    saveDraft: (id: string | null, draft: ReferralDraft) => store.saveDraft(db, id, draft),
    async loadDraft(id: string | undefined): Promise<ReferralDraft | null> {
      if (!id || !/^[0-9a-f-]{36}$/i.test(id)) return null;
      const row = await store.findDraft(db, id);
      return row ? (row.data as ReferralDraft) : null;
    },
    triageOf: (draft: ReferralDraft): Triage => triage(assessmentOf(draft)),

    /**
     * Sends the referral: the case (with the team, priority and SLA the triage chose), the
     * referral record, an event and an audit entry, in one transaction. Sending the same draft
     * twice returns the first case.
     */
    async submit(
      actor: Actor,
      draftId: string,
      draft: ReferralDraft,
      residentId: string | null,
    ): Promise<{ reference: string; triage: Triage }> {
      if (!draft.who || !draft.safety || !draft.subject || !draft.contact) {
        throw new ReferralIncomplete('The referral is not complete');
      }
      const result = triage(assessmentOf(draft));
      const kind = kindOf(draft.who);
      const urgent = result.priority === 'urgent';
      const title = urgent
        ? 'Urgent social care concern'
        : kind === 'child'
          ? 'Concern about a child'
          : kind === 'carer'
            ? 'Carer’s assessment request'
            : 'Adult social care referral';
      const contactEmail = draft.contact.email || null;
      const reference = await db.transaction().execute(async (tx) => {
        const created = await cases.createCase(tx, {
          service: {
            slug: urgent ? 'care-urgent-concern' : `care-referral-${kind}`,
            title,
            version: 1,
            teamCode: result.teamCode,
            sla: result.sla,
          },
          residentId,
          channel: 'web',
          answers: caseAnswers(draft, result),
          summary: `${priorityLabels[result.priority]}: ${draft.subject!.name}, score ${result.score}`,
          idempotencyKey: `care-referral:${draftId}`,
          actor,
          contactEmail,
        });
        if (!created.created) return created.reference;
        await store.insertReferral(tx, {
          case_id: created.id,
          reference: created.reference,
          resident_id: residentId,
          kind,
          for_self: isForSelf(draft.who),
          subject_name: draft.subject!.name,
          subject_date_of_birth: draft.subject!.dateOfBirth,
          contact_email: contactEmail,
          answers: draft,
          triage_score: result.score,
          priority: result.priority,
          team_code: result.teamCode,
          safeguarding: draft.safety === 'safeguarding',
          immediate_risk: draft.safety === 'immediate',
        });
        await platform.events.publish(tx, {
          type: 'care.referral_made',
          subjectType: 'case',
          subjectId: created.id,
          actor,
          payload: {
            reference: created.reference,
            kind,
            priority: result.priority,
            team: result.teamCode,
            score: result.score,
          },
        });
        await recordAudit(tx, {
          actor,
          action: 'care.referral_made',
          subjectType: 'case',
          subjectId: created.id,
          detail: { reference: created.reference, kind, priority: result.priority, team: result.teamCode },
        });
        await store.deleteDraft(tx, draftId);
        return created.reference;
      });
      return { reference, triage: result };
    },

    findReferral: (reference: string) => store.findReferral(db, reference),
    referralsForResident: (residentId: string) => store.referralsForResident(db, residentId),
    purgeDrafts: () => store.purgeDrafts(db, new Date(Date.now() - 24 * 3_600_000)),
  };
}

export type Referrals = ReturnType<typeof createReferrals>;

const label = <T extends { value: string; text: string }>(list: readonly T[], value: string | undefined) =>
  list.find((item) => item.value === value)?.text ?? '';

/** The answers as the case page shows them: each with its question, in words. */
function caseAnswers(draft: ReferralDraft, result: Triage): Record<string, unknown> {
  const out: Record<string, unknown> = {
    who: { question: 'Who is the referral about?', answer: label(whoOptions, draft.who) },
    safety: {
      question: 'Is anyone in danger now, or at risk of abuse or neglect?',
      answer:
        draft.safety === 'immediate'
          ? 'Yes, someone is in danger now'
          : draft.safety === 'safeguarding'
            ? 'Yes, someone is at risk of abuse or neglect'
            : 'No',
    },
  };
  if (draft.whatIsHappening)
    out.happening = { question: 'What is happening?', answer: draft.whatIsHappening };
  if (kindOf(draft.who) === 'child') {
    out.childAge = { question: 'How old is the child?', answer: draft.childAge || 'Not known' };
    out.concerns = {
      question: 'What are you worried about?',
      answer: (draft.concerns ?? []).map((c) => label(childConcerns, c)),
    };
  } else {
    for (const o of outcomes) {
      const d = draft.outcomes?.[o.id];
      if (d) out[`outcome_${o.id}`] = { question: o.label, answer: label(difficulties, d) };
    }
    out.impairment = {
      question: 'Is this because of a physical or mental health condition, illness or disability?',
      answer: draft.impairment === 'yes' ? 'Yes' : 'No',
    };
    out.wellbeing = { question: 'Effect on wellbeing', answer: label(wellbeingImpacts, draft.wellbeing) };
    out.livesAlone = { question: 'Lives alone', answer: draft.livesAlone === 'yes' ? 'Yes' : 'No' };
  }
  const s = draft.subject!;
  out.subject = {
    question: 'The person',
    answer: [s.name, s.dateOfBirth ? `born ${s.dateOfBirth}` : '', s.address, s.phone]
      .filter(Boolean)
      .join(', '),
  };
  const c = draft.contact!;
  out.contact = {
    question: isForSelf(draft.who) ? 'Contact details' : 'Referred by',
    answer: [c.name, c.relationship, c.email, c.phone].filter(Boolean).join(', '),
  };
  if (!isForSelf(draft.who))
    out.knows = {
      question: 'Does the person know about this referral?',
      answer: draft.knowsAboutReferral === 'yes' ? 'Yes' : 'No',
    };
  out.triage = {
    question: 'Triage',
    answer: `Score ${result.score}, ${priorityLabels[result.priority]}. ${result.explanation}`,
  };
  return out;
}
