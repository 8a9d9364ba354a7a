import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../../platform/auth/identity.ts';
import type { Platform } from '../../platform/module.ts';
import type { Directory } from './directory.ts';
import { locatePostcode, normalisePostcode } from './directory.ts';
import {
  isForSelf,
  kindOf,
  ReferralIncomplete,
  whoOptions,
  type ReferralDraft,
  type Referrals,
  type Who,
} from './referrals.ts';
import type { BookingsService } from '../bookings/index.ts';
import type { CareSettings } from './settings.ts';
import { londonDay } from '../../platform/time.ts';
import {
  childConcerns,
  difficulties,
  outcomes,
  priorityLabels,
  wellbeingImpacts,
  type OutcomeId,
} from './triage.ts';

const DRAFT = 'careReferral';
const SENT = 'careReferralSent';

type Fields = Record<string, unknown>;
const str = (body: Fields, key: string) => {
  const v = body?.[key];
  return (Array.isArray(v) ? String(v[0] ?? '') : typeof v === 'string' ? v : '').trim();
};
const list = (body: Fields, key: string) => {
  const v = body?.[key];
  return (Array.isArray(v) ? v : v === undefined || v === '' ? [] : [v]).map(String);
};
type FieldError = { field: string; text: string };

/** A date from GOV.UK day, month and year fields, or an error in their words. */
/** The not-found page, for an address that names nothing the visitor may see. */
export const notFound = (reply: FastifyReply) =>
  reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });

export function dateFrom(
  body: Fields,
  prefix: string,
  label: string,
  required: boolean,
): { value: string | null; error?: string } {
  const day = str(body, `${prefix}-day`);
  const month = str(body, `${prefix}-month`);
  const year = str(body, `${prefix}-year`);
  if (!day && !month && !year) return required ? { value: null, error: `Enter ${label}` } : { value: null };
  if (!/^\d{1,2}$/.test(day) || !/^\d{1,2}$/.test(month) || !/^\d{4}$/.test(year))
    return {
      value: null,
      error: `${label[0]!.toUpperCase()}${label.slice(1)} must be a real date, like 27 3 2007`,
    };
  const iso = `${year}-${month.padStart(2, '0')}-${day.padStart(2, '0')}`;
  const d = new Date(`${iso}T00:00:00Z`);
  if (Number.isNaN(d.getTime()) || d.toISOString().slice(0, 10) !== iso)
    return { value: null, error: `${label[0]!.toUpperCase()}${label.slice(1)} must be a real date` };
  if (d.getTime() > Date.now())
    return { value: null, error: `${label[0]!.toUpperCase()}${label.slice(1)} must be in the past` };
  return { value: iso };
}

const email = z.email();

/** The directory and the self-referral journey: public pages, each working without JavaScript. */
export function registerPublicRoutes(
  app: FastifyInstance,
  platform: Platform,
  deps: {
    directory: Directory;
    referrals: Referrals;
    settings: CareSettings;
    bookings?: Pick<BookingsService, 'findBookables' | 'availability'>;
  },
) {
  const { directory, referrals, settings, bookings } = deps;
  const submissions = { rateLimit: platform.rateLimits.submissions };
  const emergency = {
    dutyPhone: settings.CARE_DUTY_PHONE,
    outOfHoursPhone: settings.CARE_OUT_OF_HOURS_PHONE,
  };

  app.get('/care', { config: { pageCache: true } }, async (_request, reply) =>
    reply.render('care/views/start.njk', { title: 'Care and support', navSection: 'services', ...emergency }),
  );

  // ------------------------------------------------------------ video consultations (bookings module)

  app.get('/care/video', async (_request, reply) => {
    const calendars = bookings
      ? await bookings.findBookables(platform.db, { kind: 'calendar', category: 'video-consultation' })
      : [];
    const from = londonDay();
    const to = londonDay(new Date(Date.now() + 14 * 86_400_000));
    const offers = [];
    for (const c of calendars) {
      const slots = await bookings!.availability(platform.db, c.slug, { from, to });
      offers.push({
        slug: c.slug,
        title: c.title,
        next: slots.find((s) => s.remaining > 0) ?? null,
        free: slots.filter((s) => s.remaining > 0).length,
      });
    }
    return reply.render('care/views/video.njk', {
      title: 'Book a video call with a social worker',
      navSection: 'services',
      backLink: '/care',
      offers,
      ...emergency,
    });
  });

  // ------------------------------------------------------------ directory

  app.get('/care/directory', async (request, reply) => {
    const q = request.query as Fields;
    const terms = await directory.terms();
    const need = list(q, 'need').filter((n) => terms.some((t) => t.id === n));
    const ageText = str(q, 'age');
    const postcode = str(q, 'postcode');
    const distance = str(q, 'distance');
    const errors: FieldError[] = [];
    let age: number | undefined;
    if (ageText) {
      if (!/^\d{1,3}$/.test(ageText) || Number(ageText) > 120)
        errors.push({ field: 'age', text: 'Enter an age in years, like 67' });
      else age = Number(ageText);
    }
    let near = undefined;
    if (postcode) {
      near = locatePostcode(postcode) ?? undefined;
      if (!normalisePostcode(postcode))
        errors.push({ field: 'postcode', text: 'Enter a real postcode, like KF1 2AB' });
      else if (!near) errors.push({ field: 'postcode', text: 'Enter a postcode in Kilnford, like KF1 2AB' });
    }
    const searched = Boolean(need.length || ageText || postcode || str(q, 'text'));
    const services =
      searched && !errors.length
        ? await directory.search({
            text: str(q, 'text') || undefined,
            termIds: need.length ? need : undefined,
            age,
            near,
            withinMetres: near && distance ? Number(distance) * 1609 : undefined,
          })
        : [];
    return reply.code(errors.length ? 400 : 200).render('care/views/directory.njk', {
      title: 'Find help and support near you',
      navSection: 'services',
      backLink: '/care',
      terms: terms.map((t) => ({ value: t.id, text: t.term, checked: need.includes(t.id) })),
      values: { text: str(q, 'text'), age: ageText, postcode, distance },
      services: services.map((s) => ({
        ...s,
        miles: s.distanceMetres === null ? null : (s.distanceMetres / 1609).toFixed(1),
      })),
      searched,
      errors,
    });
  });

  app.get('/care/directory/services/:id', async (request, reply) => {
    const service = await directory.service((request.params as { id: string }).id);
    if (!service || service.status !== 'active') return notFound(reply);
    return reply.render('care/views/directory-service.njk', {
      title: service.name,
      navSection: 'services',
      backLink: '/care/directory',
      service,
    });
  });

  // ------------------------------------------------------------ self-referral and first assessment

  async function draftOf(request: FastifyRequest) {
    const id = request.session.get(DRAFT) as string | undefined;
    return { id: id ?? null, draft: (await referrals.loadDraft(id)) ?? ({} as ReferralDraft) };
  }
  async function save(request: FastifyRequest, id: string | null, draft: ReferralDraft) {
    const saved = await referrals.saveDraft(id, draft);
    if (saved !== id) request.session.set(DRAFT, saved);
  }
  const startAgain = (reply: FastifyReply) => reply.redirect('/care/refer', 303);
  const page = (reply: FastifyReply, view: string, context: Record<string, unknown>) =>
    reply.render(`care/views/${view}.njk`, { navSection: 'services', ...emergency, ...context });

  app.get('/care/refer', async (_request, reply) =>
    page(reply, 'refer-start', { title: 'Ask for care and support', backLink: '/care' }),
  );

  const whoPage = (reply: FastifyReply, draft: ReferralDraft, errors: FieldError[] = []) =>
    page(reply.code(errors.length ? 400 : 200), 'refer-who', {
      title: 'Who do you need help for?',
      backLink: '/care/refer',
      options: whoOptions.map((o) => ({
        value: o.value,
        text: o.text,
        hint: { text: o.hint },
        checked: draft.who === o.value,
      })),
      errors,
    });
  app.get('/care/refer/who', async (request, reply) => whoPage(reply, (await draftOf(request)).draft));
  app.post('/care/refer/who', { config: submissions }, async (request, reply) => {
    const { id, draft } = await draftOf(request);
    const who = str(request.body as Fields, 'who') as Who;
    if (!whoOptions.some((o) => o.value === who))
      return whoPage(reply, draft, [{ field: 'who', text: 'Select who you need help for' }]);
    if (draft.who && kindOf(draft.who) !== kindOf(who)) {
      delete draft.outcomes;
      delete draft.concerns;
    }
    await save(request, id, { ...draft, who });
    return reply.redirect('/care/refer/safety', 303);
  });

  const safetyPage = (reply: FastifyReply, draft: ReferralDraft, errors: FieldError[] = []) =>
    page(reply.code(errors.length ? 400 : 200), 'refer-safety', {
      title:
        draft.who === 'child'
          ? 'Is the child in danger or at risk of harm?'
          : 'Is anyone in danger or at risk of harm?',
      backLink: '/care/refer/who',
      values: { safety: draft.safety },
      child: draft.who === 'child',
      errors,
    });
  app.get('/care/refer/safety', async (request, reply) => {
    const { draft } = await draftOf(request);
    if (!draft.who) return startAgain(reply);
    return safetyPage(reply, draft);
  });
  app.post('/care/refer/safety', { config: submissions }, async (request, reply) => {
    const { id, draft } = await draftOf(request);
    if (!draft.who) return startAgain(reply);
    const safety = str(request.body as Fields, 'safety');
    if (!['immediate', 'safeguarding', 'none'].includes(safety))
      return safetyPage(reply, draft, [
        { field: 'safety', text: 'Select whether anyone is in danger or at risk of harm' },
      ]);
    await save(request, id, { ...draft, safety: safety as ReferralDraft['safety'] });
    return reply.redirect(safety === 'none' ? '/care/refer/needs' : '/care/refer/urgent', 303);
  });

  // A safeguarding concern or an immediate risk: emergency contacts first, then a short form.
  const urgentPage = (reply: FastifyReply, draft: ReferralDraft, errors: FieldError[] = []) =>
    page(reply.code(errors.length ? 400 : 200), 'refer-urgent', {
      title: draft.safety === 'immediate' ? 'If someone is in danger now, call 999' : 'Get help now',
      backLink: '/care/refer/safety',
      immediate: draft.safety === 'immediate',
      child: draft.who === 'child',
      values: { whatIsHappening: draft.whatIsHappening ?? '' },
      errors,
    });
  app.get('/care/refer/urgent', async (request, reply) => {
    const { draft } = await draftOf(request);
    if (!draft.who || !draft.safety || draft.safety === 'none') return startAgain(reply);
    return urgentPage(reply, draft);
  });
  app.post('/care/refer/urgent', { config: submissions }, async (request, reply) => {
    const { id, draft } = await draftOf(request);
    if (!draft.who || !draft.safety || draft.safety === 'none') return startAgain(reply);
    const text = str(request.body as Fields, 'whatIsHappening');
    const errors: FieldError[] = [];
    if (!text) errors.push({ field: 'whatIsHappening', text: 'Tell us what is happening' });
    else if (text.length > 2000)
      errors.push({ field: 'whatIsHappening', text: 'What is happening must be 2,000 characters or fewer' });
    if (errors.length) return urgentPage(reply, { ...draft, whatIsHappening: text }, errors);
    await save(request, id, { ...draft, whatIsHappening: text });
    return reply.redirect('/care/refer/about', 303);
  });

  const needsPage = (reply: FastifyReply, draft: ReferralDraft, errors: FieldError[] = []) => {
    const child = draft.who === 'child';
    const self = isForSelf(draft.who);
    return page(reply.code(errors.length ? 400 : 200), child ? 'refer-needs-child' : 'refer-needs', {
      title: child
        ? 'What are you worried about?'
        : draft.who === 'carer'
          ? 'How is the person you care for managing day to day?'
          : self
            ? 'How are you managing day to day?'
            : 'How are they managing day to day?',
      backLink: '/care/refer/safety',
      outcomes: outcomes
        .filter((o) => draft.who !== 'carer' || o.id !== 'caring')
        .map((o) => ({
          id: o.id,
          label: o.label,
          items: difficulties.map((d) => ({
            value: d.value,
            text: d.text,
            checked: draft.outcomes?.[o.id] === d.value,
          })),
        })),
      wellbeing: wellbeingImpacts.map((w) => ({
        value: w.value,
        text: w.text,
        checked: draft.wellbeing === w.value,
      })),
      concerns: childConcerns.map((c) => ({
        value: c.value,
        text: c.text,
        checked: draft.concerns?.includes(c.value),
      })),
      values: {
        impairment: draft.impairment,
        livesAlone: draft.livesAlone,
        childAge: draft.childAge ?? '',
        whatIsHappening: draft.whatIsHappening ?? '',
      },
      self,
      errors,
    });
  };
  app.get('/care/refer/needs', async (request, reply) => {
    const { draft } = await draftOf(request);
    if (!draft.who || !draft.safety) return startAgain(reply);
    return needsPage(reply, draft);
  });
  app.post('/care/refer/needs', { config: submissions }, async (request, reply) => {
    const { id, draft } = await draftOf(request);
    if (!draft.who || !draft.safety) return startAgain(reply);
    const body = request.body as Fields;
    const errors: FieldError[] = [];
    const next: ReferralDraft = {
      ...draft,
      whatIsHappening: str(body, 'whatIsHappening') || draft.whatIsHappening,
    };
    if (next.whatIsHappening && next.whatIsHappening.length > 2000)
      errors.push({ field: 'whatIsHappening', text: 'What is happening must be 2,000 characters or fewer' });
    if (draft.who === 'child') {
      next.concerns = list(body, 'concerns').filter((c) =>
        childConcerns.some((k) => k.value === c),
      ) as ReferralDraft['concerns'];
      next.childAge = str(body, 'childAge');
      if (!next.concerns!.length)
        errors.push({ field: 'concerns', text: 'Select what you are worried about' });
      if (next.childAge && (!/^\d{1,2}$/.test(next.childAge) || Number(next.childAge) > 17))
        errors.push({
          field: 'childAge',
          text: 'Enter the child’s age in years, from 0 to 17, or leave it blank if you do not know',
        });
    } else {
      next.outcomes = {};
      for (const o of outcomes) {
        if (draft.who === 'carer' && o.id === 'caring') continue;
        const value = str(body, `outcome-${o.id}`);
        if (difficulties.some((d) => d.value === value)) next.outcomes[o.id as OutcomeId] = value as never;
        else
          errors.push({
            field: `outcome-${o.id}`,
            text: `Select how much difficulty there is with ${o.label.toLowerCase()}`,
          });
      }
      const impairment = str(body, 'impairment');
      if (impairment === 'yes' || impairment === 'no') next.impairment = impairment;
      else
        errors.push({
          field: 'impairment',
          text: 'Select yes if this is because of a health condition, illness or disability',
        });
      const wellbeing = str(body, 'wellbeing');
      if (wellbeingImpacts.some((w) => w.value === wellbeing)) next.wellbeing = wellbeing as never;
      else errors.push({ field: 'wellbeing', text: 'Select how much this affects their wellbeing' });
      const livesAlone = str(body, 'livesAlone');
      if (livesAlone === 'yes' || livesAlone === 'no') next.livesAlone = livesAlone;
      else errors.push({ field: 'livesAlone', text: 'Select yes if they live alone' });
    }
    if (errors.length) return needsPage(reply, next, errors);
    await save(request, id, next);
    return reply.redirect('/care/refer/about', 303);
  });

  const aboutPage = (reply: FastifyReply, draft: ReferralDraft, values: Fields, errors: FieldError[] = []) =>
    page(reply.code(errors.length ? 400 : 200), 'refer-about', {
      title: isForSelf(draft.who)
        ? 'Your details'
        : draft.who === 'child'
          ? 'About the child and you'
          : 'About them and you',
      backLink: draft.safety === 'none' ? '/care/refer/needs' : '/care/refer/urgent',
      self: isForSelf(draft.who),
      child: draft.who === 'child',
      values,
      errors,
    });
  const aboutValues = (draft: ReferralDraft, signedInEmail: string | null): Fields => {
    const [year, month, day] = (draft.subject?.dateOfBirth ?? '').split('-');
    return {
      name: draft.subject?.name ?? '',
      'dob-day': day ? String(Number(day)) : '',
      'dob-month': month ? String(Number(month)) : '',
      'dob-year': year ?? '',
      address: draft.subject?.address ?? '',
      phone: draft.subject?.phone ?? '',
      contactName: draft.contact?.name ?? '',
      relationship: draft.contact?.relationship ?? '',
      email: draft.contact?.email ?? signedInEmail ?? '',
      contactPhone: draft.contact?.phone ?? '',
      knows: draft.knowsAboutReferral,
    };
  };
  app.get('/care/refer/about', async (request, reply) => {
    const { draft } = await draftOf(request);
    if (!draft.who || !draft.safety) return startAgain(reply);
    return aboutPage(reply, draft, aboutValues(draft, request.resident?.email ?? null));
  });
  app.post('/care/refer/about', { config: submissions }, async (request, reply) => {
    const { id, draft } = await draftOf(request);
    if (!draft.who || !draft.safety) return startAgain(reply);
    const body = request.body as Fields;
    const self = isForSelf(draft.who);
    const errors: FieldError[] = [];
    const name = str(body, 'name');
    if (!name)
      errors.push({
        field: 'name',
        text: self ? 'Enter your full name' : 'Enter their full name, or what you know of it',
      });
    else if (name.length > 100) errors.push({ field: 'name', text: 'Name must be 100 characters or fewer' });
    const dob = dateFrom(body, 'dob', self ? 'your date of birth' : 'their date of birth', self);
    if (dob.error) errors.push({ field: 'dob-day', text: dob.error });
    const address = str(body, 'address');
    if (!address)
      errors.push({
        field: 'address',
        text: self ? 'Enter your address' : 'Enter their address, or where they can be found',
      });
    else if (address.length > 300)
      errors.push({ field: 'address', text: 'Address must be 300 characters or fewer' });
    const phone = str(body, 'phone').slice(0, 30);
    const contactName = self ? name : str(body, 'contactName');
    if (!self && !contactName) errors.push({ field: 'contactName', text: 'Enter your full name' });
    const relationship = self
      ? draft.who === 'carer'
        ? 'Carer'
        : 'Self'
      : str(body, 'relationship').slice(0, 100);
    if (!self && !relationship)
      errors.push({ field: 'relationship', text: 'Enter how you know them, like neighbour or daughter' });
    const mail = str(body, 'email');
    const contactPhone = self ? phone : str(body, 'contactPhone').slice(0, 30);
    if (mail && !email.safeParse(mail).success)
      errors.push({
        field: 'email',
        text: 'Enter an email address in the correct format, like name@example.com',
      });
    if (!mail && !contactPhone)
      errors.push({ field: 'email', text: 'Enter an email address or a phone number so we can contact you' });
    const knows = str(body, 'knows');
    if (!self && knows !== 'yes' && knows !== 'no')
      errors.push({ field: 'knows', text: 'Select yes if they know you are contacting us' });
    if (errors.length) return aboutPage(reply, draft, body, errors);
    await save(request, id, {
      ...draft,
      subject: { name, dateOfBirth: dob.value, address, phone },
      contact: { name: contactName, email: mail.toLowerCase(), phone: contactPhone, relationship },
      knowsAboutReferral: self ? 'yes' : (knows as 'yes' | 'no'),
    });
    return reply.redirect('/care/refer/check', 303);
  });

  app.get('/care/refer/check', async (request, reply) => {
    const { draft } = await draftOf(request);
    if (!draft.who || !draft.safety || !draft.subject || !draft.contact) return startAgain(reply);
    const triage = referrals.triageOf(draft);
    const label = <T extends { value: string; text: string }>(l: readonly T[], v?: string) =>
      l.find((x) => x.value === v)?.text ?? '';
    const rows: Array<{ key: string; value: string; href: string }> = [
      { key: 'Who you need help for', value: label(whoOptions, draft.who), href: '/care/refer/who' },
      {
        key: 'Danger or risk of harm',
        value:
          draft.safety === 'immediate'
            ? 'Someone is in danger now'
            : draft.safety === 'safeguarding'
              ? 'Someone is at risk of abuse or neglect'
              : 'No',
        href: '/care/refer/safety',
      },
    ];
    if (draft.whatIsHappening)
      rows.push({
        key: 'What is happening',
        value: draft.whatIsHappening,
        href: draft.safety === 'none' ? '/care/refer/needs' : '/care/refer/urgent',
      });
    if (draft.safety === 'none') {
      if (draft.who === 'child') {
        rows.push({
          key: 'Worried about',
          value: (draft.concerns ?? []).map((c) => label(childConcerns, c)).join(', '),
          href: '/care/refer/needs',
        });
        rows.push({ key: 'Child’s age', value: draft.childAge || 'Not known', href: '/care/refer/needs' });
      } else {
        for (const o of outcomes) {
          const d = draft.outcomes?.[o.id];
          if (d) rows.push({ key: o.label, value: label(difficulties, d), href: '/care/refer/needs' });
        }
        rows.push({
          key: 'Because of a health condition or disability',
          value: draft.impairment === 'yes' ? 'Yes' : 'No',
          href: '/care/refer/needs',
        });
        rows.push({
          key: 'Effect on wellbeing',
          value: label(wellbeingImpacts, draft.wellbeing),
          href: '/care/refer/needs',
        });
        rows.push({
          key: 'Lives alone',
          value: draft.livesAlone === 'yes' ? 'Yes' : 'No',
          href: '/care/refer/needs',
        });
      }
    }
    const s = draft.subject;
    rows.push({
      key: isForSelf(draft.who) ? 'Your name' : 'Their name',
      value: s.name,
      href: '/care/refer/about',
    });
    if (s.dateOfBirth) rows.push({ key: 'Date of birth', value: s.dateOfBirth, href: '/care/refer/about' });
    rows.push({ key: 'Address', value: s.address, href: '/care/refer/about' });
    if (!isForSelf(draft.who)) {
      rows.push({
        key: 'Your name',
        value: `${draft.contact.name} (${draft.contact.relationship})`,
        href: '/care/refer/about',
      });
      rows.push({
        key: 'They know you are contacting us',
        value: draft.knowsAboutReferral === 'yes' ? 'Yes' : 'No',
        href: '/care/refer/about',
      });
    }
    rows.push({
      key: 'How we contact you',
      value: [draft.contact.email, draft.contact.phone].filter(Boolean).join(', '),
      href: '/care/refer/about',
    });
    return page(reply, 'refer-check', {
      title: 'Check your answers before sending',
      backLink: '/care/refer/about',
      rows,
      urgent: triage.priority === 'urgent',
    });
  });

  app.post('/care/refer/check', { config: submissions }, async (request, reply) => {
    const { id, draft } = await draftOf(request);
    if (!id) return startAgain(reply);
    try {
      const { reference } = await referrals.submit(actorOf(request), id, draft, request.resident?.id ?? null);
      request.session.set(DRAFT, undefined);
      request.session.set(SENT, reference);
      return reply.redirect(`/care/refer/sent/${reference}`, 303);
    } catch (error) {
      if (error instanceof ReferralIncomplete) return startAgain(reply);
      throw error;
    }
  });

  app.get('/care/refer/sent/:reference', async (request, reply) => {
    const reference = (request.params as { reference: string }).reference;
    // Only the person who sent it sees what it became; anyone else sees nothing about it.
    if (request.session.get(SENT) !== reference) return notFound(reply);
    const referral = await referrals.findReferral(reference);
    if (!referral) return notFound(reply);
    return page(reply, 'refer-sent', {
      title: 'Referral sent',
      reference,
      urgent: referral.priority === 'urgent',
      priority: priorityLabels[referral.priority],
      child: referral.kind === 'child',
      signedIn: Boolean(request.resident),
      canBookVideo: referral.kind !== 'child' && referral.priority !== 'urgent',
    });
  });
}
