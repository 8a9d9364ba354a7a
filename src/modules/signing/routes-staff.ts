import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../../platform/auth/identity.ts';
import type { Platform } from '../../platform/module.ts';
import { formFields, uploadedFile } from './form-body.ts';
import { templateKinds, type TemplateKind } from './schema.ts';
import { mergeFieldsOf, SigningError, statusText, type NewSigner, type SigningService } from './service.ts';

const MAX_SIGNERS = 4;
const kindLabels: Record<TemplateKind, string> = {
  tenancy_agreement: 'Tenancy agreement',
  trade_waste_contract: 'Trade waste contract',
  employment_contract: 'Employment contract',
  letter: 'Letter',
};

const signerSchema = z.object({
  name: z
    .string()
    .trim()
    .min(1, { error: 'Enter the signer’s full name' })
    .max(100, { error: 'Name must be 100 characters or fewer' }),
  role: z
    .string()
    .trim()
    .min(1, { error: 'Enter what they sign as, for example Tenant' })
    .max(60, { error: 'Role must be 60 characters or fewer' }),
  email: z.email({ error: 'Enter an email address in the correct format, like name@example.com' }).max(200),
  phone: z
    .string()
    .trim()
    .regex(/^(\+44\s?7\d{3}|07\d{3})\s?\d{3}\s?\d{3}$/, {
      error: 'Enter a UK mobile number, like 07700 900 982',
    })
    .optional()
    .or(z.literal('')),
});

const templateSchema = z.object({
  slug: z
    .string()
    .trim()
    .regex(/^[a-z0-9-]{3,60}$/, {
      error: 'Enter a short name of 3 to 60 lower-case letters, numbers or hyphens',
    }),
  kind: z.enum(templateKinds, { error: 'Choose the kind of document' }),
  title: z
    .string()
    .trim()
    .min(1, { error: 'Enter a title' })
    .max(120, { error: 'Title must be 120 characters or fewer' }),
  body: z
    .string()
    .trim()
    .min(1, { error: 'Enter the text of the document' })
    .max(100_000, { error: 'The text must be 100,000 characters or fewer' }),
});

/** Back-office pages: send documents, follow envelopes, void or remind, manage templates. */
export function registerStaffRoutes(app: FastifyInstance, platform: Platform, service: SigningService) {
  const { db } = platform;
  const send = { permission: 'signing:send' as const };
  const manage = { permission: 'signing:templates' as const };

  app.get('/staff/signing', { config: send }, async (_request, reply) =>
    reply.render('signing/views/staff-envelopes.njk', {
      title: 'Documents for signature',
      navSection: 'signing',
      envelopes: (await service.listEnvelopes(db)).map((e) => ({ ...e, statusText: statusText(e.status) })),
    }),
  );

  app.get('/staff/signing/send', { config: send }, async (request, reply) => {
    const templates = await service.listTemplates(db);
    const error = (request.query as Record<string, string>).error;
    return reply.render('signing/views/staff-send-choose.njk', {
      title: 'What do you want to send?',
      navSection: 'signing',
      templates,
      errors: error ? [{ field: 'template', text: 'Choose a template or upload a PDF' }] : [],
    });
  });

  async function detailsPage(reply: FastifyReply, templateSlug: string, extra: Record<string, unknown> = {}) {
    const template = templateSlug === 'upload' ? null : await service.getTemplate(db, templateSlug);
    if (templateSlug !== 'upload' && !template)
      return reply.redirect('/staff/signing/send?error=template', 303);
    return reply.render('signing/views/staff-send-details.njk', {
      title: template ? `Send ${template.title}` : 'Send an uploaded PDF',
      navSection: 'signing',
      template,
      templateSlug,
      fields: template
        ? mergeFieldsOf(template.body).map((f) => ({ name: f, label: f.replace(/_/g, ' ') }))
        : [],
      signerRows: Array.from({ length: MAX_SIGNERS }, (_, i) => i + 1),
      values: { title: template?.title ?? '' },
      ...extra,
    });
  }

  app.get('/staff/signing/send/details', { config: send }, async (request, reply) => {
    const slug = String((request.query as Record<string, unknown>).template ?? '');
    if (!slug) return reply.redirect('/staff/signing/send?error=template', 303);
    return detailsPage(reply, slug);
  });

  app.post(
    '/staff/signing/send/details',
    {
      config: send,
      // A file over the upload limit is refused by the parser before the handler runs.
      errorHandler: (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
        if (error.code === 'FST_REQ_FILE_TOO_LARGE' || error.statusCode === 413) {
          return detailsPage(reply.code(413), 'upload', {
            errors: [
              {
                field: 'document',
                text: `The selected file must be smaller than ${Math.floor(platform.config.UPLOAD_LIMIT_BYTES / 1_048_576)}MB`,
              },
            ],
          });
        }
        throw error;
      },
    },
    async (request, reply) => {
      const fields = formFields(request.body);
      const slug = fields.template ?? '';
      const errors: Array<{ field: string; text: string }> = [];
      const title = (fields.title ?? '').trim();
      if (!title) errors.push({ field: 'title', text: 'Enter a title for the document' });
      else if (title.length > 120)
        errors.push({ field: 'title', text: 'Title must be 120 characters or fewer' });

      const signers: NewSigner[] = [];
      for (let i = 1; i <= MAX_SIGNERS; i++) {
        const row = {
          name: fields[`signer${i}Name`] ?? '',
          role: fields[`signer${i}Role`] ?? '',
          email: (fields[`signer${i}Email`] ?? '').trim(),
          phone: fields[`signer${i}Phone`] ?? '',
        };
        if (i > 1 && !row.name.trim() && !row.email && !row.role.trim() && !row.phone.trim()) continue;
        const parsed = signerSchema.safeParse(row);
        if (parsed.success) signers.push({ ...parsed.data, phone: parsed.data.phone || null });
        else {
          for (const issue of parsed.error.issues) {
            const key = String(issue.path[0]);
            errors.push({
              field: `signer${i}${key[0]!.toUpperCase()}${key.slice(1)}`,
              text: `Signer ${i}: ${issue.message}`,
            });
          }
        }
      }
      if (fields.countersign === 'yes' && request.staff) {
        signers.push({ name: request.staff.name, role: 'Council officer', email: request.staff.email });
      }
      let upload: Buffer | null = null;
      const values: Record<string, string> = {};
      if (slug === 'upload') {
        upload = await uploadedFile(request.body, 'document');
        if (!upload) errors.push({ field: 'document', text: 'Select a PDF to upload' });
      } else {
        const template = await service.getTemplate(db, slug);
        for (const f of template ? mergeFieldsOf(template.body) : []) {
          values[f] = (fields[`field_${f}`] ?? '').trim();
          if (!values[f]) errors.push({ field: `field_${f}`, text: `Enter the ${f.replace(/_/g, ' ')}` });
          else if (values[f].length > 500)
            errors.push({
              field: `field_${f}`,
              text: `The ${f.replace(/_/g, ' ')} must be 500 characters or fewer`,
            });
        }
      }
      const again = (list: typeof errors) =>
        detailsPage(reply.code(400), slug, { errors: list, values: fields });
      if (errors.length) return again(errors);
      try {
        const actor = actorOf(request) as { type: 'staff'; id: string };
        const { reference } = await service.sendEnvelope(actor, {
          title,
          signers,
          ...(upload ? { upload } : { template: { slug, values } }),
        });
        request.session.set('flash', `Sent for signature. The first signer has been emailed.`);
        return reply.redirect(`/staff/signing/envelopes/${reference}`, 303);
      } catch (error) {
        if (error instanceof SigningError && error.code === 'invalid') {
          return again([{ field: upload ? 'document' : 'title', text: error.message }]);
        }
        throw error;
      }
    },
  );

  app.get('/staff/signing/envelopes/:reference', { config: send }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const detail = await service.envelopeDetail(db, reference);
    if (!detail) return reply.callNotFound();
    return reply.render('signing/views/staff-envelope.njk', {
      title: detail.envelope.title,
      navSection: 'signing',
      ...detail,
      statusText: statusText(detail.envelope.status),
      errors:
        (request.query as Record<string, string>).error === 'reason'
          ? [{ field: 'reason', text: 'Enter why you are voiding it' }]
          : [],
    });
  });

  app.get('/staff/signing/envelopes/:reference/sealed.pdf', { config: send }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const found = await service.sealedDocument(db, reference);
    if (!found) return reply.callNotFound();
    return reply
      .type('application/pdf')
      .header('Content-Disposition', `attachment; filename="${reference}-sealed.pdf"`)
      .send(found.pdf);
  });

  app.get('/staff/signing/envelopes/:reference/document.pdf', { config: send }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const detail = await service.envelopeDetail(db, reference);
    if (!detail) return reply.callNotFound();
    return reply
      .type('application/pdf')
      .header('Content-Disposition', `inline; filename="${reference}.pdf"`)
      .send(detail.envelope.document);
  });

  app.post('/staff/signing/envelopes/:reference/void', { config: send }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    const reason = String((request.body as Record<string, unknown>)?.reason ?? '')
      .trim()
      .slice(0, 500);
    if (!reason) return reply.redirect(`/staff/signing/envelopes/${reference}?error=reason`, 303);
    try {
      await service.voidEnvelope(actorOf(request), reference, reason);
      request.session.set('flash', 'The envelope has been voided. Its links no longer work.');
    } catch (error) {
      if (!(error instanceof SigningError)) throw error;
      request.session.set('flash', error.message);
    }
    return reply.redirect(`/staff/signing/envelopes/${reference}`, 303);
  });

  app.post('/staff/signing/envelopes/:reference/remind', { config: send }, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    try {
      await service.remind(actorOf(request), reference);
      request.session.set(
        'flash',
        'A new link has been sent to the signer whose turn it is. The old link no longer works.',
      );
    } catch (error) {
      if (!(error instanceof SigningError)) throw error;
      request.session.set('flash', error.message);
    }
    return reply.redirect(`/staff/signing/envelopes/${reference}`, 303);
  });

  app.get('/staff/signing/templates', { config: manage }, async (_request, reply) =>
    reply.render('signing/views/staff-templates.njk', {
      title: 'Document templates',
      navSection: 'signing',
      templates: (await service.listTemplates(db)).map((t) => ({ ...t, kindLabel: kindLabels[t.kind] })),
    }),
  );

  const kinds = templateKinds.map((k) => ({ value: k, text: kindLabels[k] }));

  app.get('/staff/signing/templates/new', { config: manage }, async (_request, reply) =>
    reply.render('signing/views/staff-template-form.njk', {
      title: 'New template',
      navSection: 'signing',
      kinds,
      values: {},
      isNew: true,
    }),
  );

  app.get('/staff/signing/templates/:slug', { config: manage }, async (request, reply) => {
    const { slug } = request.params as { slug: string };
    const template = await service.getTemplate(db, slug);
    if (!template) return reply.callNotFound();
    return reply.render('signing/views/staff-template-form.njk', {
      title: `Edit ${template.title}`,
      navSection: 'signing',
      kinds,
      values: template,
      versions: await service.templateVersions(db, slug),
      isNew: false,
    });
  });

  app.post('/staff/signing/templates', { config: manage }, async (request, reply) => {
    const body = (request.body ?? {}) as Record<string, unknown>;
    const parsed = templateSchema.safeParse(body);
    const isNew = body.isNew === 'yes';
    const errors = parsed.success
      ? []
      : parsed.error.issues.map((i) => ({ field: String(i.path[0]), text: i.message }));
    if (parsed.success && isNew && (await service.getTemplate(db, parsed.data.slug))) {
      errors.push({ field: 'slug', text: 'A template with this short name already exists' });
    }
    if (!parsed.success || errors.length) {
      return reply.code(400).render('signing/views/staff-template-form.njk', {
        title: isNew ? 'New template' : 'Edit template',
        navSection: 'signing',
        kinds,
        values: body,
        errors,
        isNew,
      });
    }
    const saved = await service.saveTemplate(actorOf(request), parsed.data);
    request.session.set('flash', `Saved version ${saved.version} of ${saved.title}`);
    return reply.redirect('/staff/signing/templates', 303);
  });
}
