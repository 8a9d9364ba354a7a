import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { recordAudit } from '../../platform/audit/index.ts';
import { actorOf } from '../../platform/auth/identity.ts';
import {
  listPasskeys,
  registrationOptions,
  removePasskey,
  verifyRegistration,
  type RelyingParty,
} from '../../platform/auth/passkeys.ts';
import type { Platform } from '../../platform/module.ts';
import type { AccountsService } from './service.ts';
import { channelsSchema, detailsSchema, formErrors, type FormError } from './validation.ts';

const view = (name: string) => `accounts/views/${name}.njk`;

/** Every My account page is for the signed-in resident only; others are sent to sign in first. */
async function requireResident(request: FastifyRequest, reply: FastifyReply) {
  if (request.resident) return;
  const returnTo = request.method === 'GET' ? `?returnTo=${encodeURIComponent(request.url)}` : '';
  return reply.redirect(`/sign-in${returnTo}`, 303);
}

const body = (request: FastifyRequest) => (request.body ?? {}) as Record<string, unknown>;

export function registerAccountRoutes(
  app: FastifyInstance,
  platform: Platform,
  service: AccountsService,
  rp: RelyingParty,
): void {
  const { db } = platform;
  const signedIn = { preHandler: requireResident };

  app.get('/account', signedIn, async (request, reply) => {
    const overview = await service.overview(request.resident!.id);
    return reply.render(view('overview'), { title: 'Your account', navSection: 'account', ...overview });
  });

  app.get('/account/requests/:reference', signedIn, async (request, reply) => {
    const reference = String((request.params as { reference: string }).reference).toUpperCase();
    const found = await service.requests.find(db, request.resident!.id, reference);
    // Someone else's request looks exactly like one that does not exist.
    if (!found) return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
    return reply.render(view('request'), {
      title: `${found.request.service}: ${found.request.reference}`,
      navSection: 'account',
      backLink: '/account',
      ...found,
    });
  });

  // ---- Your details ----
  const detailsPage = (reply: FastifyReply, values: object, errors: FormError[] = []) =>
    reply.code(errors.length ? 400 : 200).render(view('details'), {
      title: 'Your details',
      navSection: 'account',
      backLink: '/account',
      values,
      errors,
    });

  app.get('/account/details', signedIn, async (request, reply) => {
    const r = await service.findResident(request.resident!.id);
    return detailsPage(reply, { name: r?.name, phone: r?.phone, address: r?.address });
  });

  app.post('/account/details', signedIn, async (request, reply) => {
    const input = body(request);
    const parsed = detailsSchema.safeParse({ name: input.name, phone: input.phone, address: input.address });
    if (!parsed.success) return detailsPage(reply, input, formErrors(parsed.error));
    await service.updateDetails(request.resident!.id, parsed.data, actorOf(request));
    request.session.set('flash', 'Your details have been saved');
    return reply.redirect('/account', 303);
  });

  // ---- How we contact you ----
  const contactPage = (reply: FastifyReply, channels: string[], errors: FormError[] = []) =>
    reply.code(errors.length ? 400 : 200).render(view('notifications'), {
      title: 'How we contact you',
      navSection: 'account',
      backLink: '/account',
      channels,
      errors,
    });

  app.get('/account/notifications', signedIn, async (request, reply) => {
    const r = await service.findResident(request.resident!.id);
    const channels = [...(r?.notify_by_email ? ['email'] : []), ...(r?.notify_by_sms ? ['sms'] : [])];
    return contactPage(reply, channels);
  });

  app.post('/account/notifications', signedIn, async (request, reply) => {
    const raw = body(request).channels;
    const chosen = [raw ?? []].flat().map(String);
    const parsed = channelsSchema.safeParse({ channels: raw });
    if (!parsed.success) return contactPage(reply, chosen, formErrors(parsed.error));
    const result = await service.updateContactPreferences(
      request.resident!.id,
      parsed.data.channels,
      actorOf(request),
    );
    if (!result.ok) {
      const text =
        result.reason === 'no-phone'
          ? 'To get text messages, add a mobile phone number to your details first'
          : 'Your phone number is not a mobile number. To get text messages, change it to a mobile number first';
      return contactPage(reply, chosen, [{ field: 'channels', text }]);
    }
    request.session.set('flash', 'How we contact you has been saved');
    return reply.redirect('/account', 303);
  });

  // ---- Download my data ----
  app.get('/account/download', signedIn, async (request, reply) => {
    const data = await service.exportData(request.resident!.id, actorOf(request));
    return reply
      .header('Content-Type', 'application/json; charset=utf-8')
      .header('Content-Disposition', `attachment; filename="my-data-${request.resident!.reference}.json"`)
      .header('Cache-Control', 'no-store')
      .send(JSON.stringify(data, null, 2));
  });

  // ---- Delete my account ----
  const deletePage = (reply: FastifyReply, errors: FormError[] = []) =>
    reply.code(errors.length ? 400 : 200).render(view('delete'), {
      title: 'Delete your account',
      navSection: 'account',
      backLink: '/account',
      errors,
    });

  app.get('/account/delete', signedIn, async (_request, reply) => deletePage(reply));

  app.post('/account/delete', signedIn, async (request, reply) => {
    const confirm = body(request).confirm;
    if (confirm === 'no') return reply.redirect('/account', 303);
    if (confirm !== 'yes') {
      return deletePage(reply, [{ field: 'confirm', text: 'Select yes if you want to delete your account' }]);
    }
    await service.deleteAccount(request.resident!.id, actorOf(request));
    request.session.destroy();
    return reply.redirect('/account/deleted', 303);
  });

  // Shown after deletion, when nobody is signed in any more.
  app.get('/account/deleted', async (_request, reply) =>
    reply.render(view('deleted'), { title: 'Your account has been deleted' }),
  );

  // ---- Passkeys ----
  const passkeysPage = async (request: FastifyRequest, reply: FastifyReply, errors: FormError[] = []) =>
    reply.code(errors.length ? 400 : 200).render(view('passkeys'), {
      title: 'Passkeys',
      navSection: 'account',
      backLink: '/account',
      passkeys: await listPasskeys(db, request.resident!.id),
      values: errors.length ? { label: body(request).label } : {},
      errors,
    });

  app.get('/account/passkeys', signedIn, async (request, reply) => passkeysPage(request, reply));

  app.post('/account/passkeys/options', signedIn, async (request, reply) =>
    reply
      .header('Cache-Control', 'no-store')
      .send(await registrationOptions(db, request, rp, request.resident!)),
  );

  app.post('/account/passkeys', signedIn, async (request, reply) => {
    const input = body(request);
    const label = typeof input.label === 'string' ? input.label.trim() : '';
    if (label.length > 50) {
      return passkeysPage(request, reply, [
        { field: 'label', text: 'The name of your passkey must be 50 characters or fewer' },
      ]);
    }
    const residentId = request.resident!.id;
    const result = await db.transaction().execute(async (tx) => {
      const outcome = await verifyRegistration(tx, request, rp, residentId, {
        response: input.response,
        label: label || 'Passkey',
      });
      await recordAudit(tx, {
        actor: actorOf(request),
        action: outcome.ok ? 'resident.passkey_added' : 'resident.passkey_refused',
        subjectType: 'resident',
        subjectId: residentId,
        detail: outcome.ok ? { label: label || 'Passkey' } : { reason: outcome.reason },
      });
      return outcome;
    });
    if (!result.ok) {
      const text =
        result.reason === 'already-registered'
          ? 'That passkey is already in your account'
          : result.reason === 'no-challenge'
            ? 'Adding the passkey took too long. Try again'
            : 'Your device did not create a passkey. Try again';
      return passkeysPage(request, reply, [{ field: 'label', text }]);
    }
    request.session.set('flash', 'Passkey added. You can now use it to sign in');
    return reply.redirect('/account/passkeys', 303);
  });

  const credentialParam = (request: FastifyRequest) => {
    const id = String((request.params as { id: string }).id);
    return /^[A-Za-z0-9_-]{1,1024}$/.test(id) ? id : null;
  };

  app.get('/account/passkeys/:id/remove', signedIn, async (request, reply) => {
    const id = credentialParam(request);
    const passkey = (await listPasskeys(db, request.resident!.id)).find((p) => p.credentialId === id);
    if (!passkey) return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
    return reply.render(view('passkey-remove'), {
      title: `Remove the passkey ${passkey.label}?`,
      navSection: 'account',
      backLink: '/account/passkeys',
      passkey,
    });
  });

  app.post('/account/passkeys/:id/remove', signedIn, async (request, reply) => {
    const id = credentialParam(request);
    const residentId = request.resident!.id;
    const removed = await db.transaction().execute(async (tx) => {
      const ok = id ? await removePasskey(tx, residentId, id) : false;
      if (ok) {
        await recordAudit(tx, {
          actor: actorOf(request),
          action: 'resident.passkey_removed',
          subjectType: 'resident',
          subjectId: residentId,
        });
      }
      return ok;
    });
    if (!removed) return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
    request.session.set('flash', 'Passkey removed');
    return reply.redirect('/account/passkeys', 303);
  });
}
