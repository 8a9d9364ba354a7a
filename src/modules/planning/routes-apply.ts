import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../../platform/auth/identity.ts';
import { UploadError } from '../../platform/files/index.ts';
import { HttpError } from '../../platform/http/errors.ts';
import type { Platform } from '../../platform/module.ts';
import { londonDay } from '../../platform/time.ts';
import { mapSettings } from '../requests/index.ts';
import { dateFrom, formFields, many, one, uploadedFile } from './form.ts';
import { BoundaryError, squareAround } from './geo.ts';
import {
  applicationTypeNames,
  docTypeLabels,
  householderProjects,
  journeyChoices,
  projectTypeLabels,
  propertyTypeLabels,
  publicStatus,
  requiredDocuments,
} from './labels.ts';
import type { ApplicationType } from './schema.ts';
import { PlanningError, responsesOf, type PlanningService } from './service.ts';
import type { ApplicationRow } from './store.ts';

type Errors = Array<{ field: string; text: string }>;

const choiceToType: Record<string, ApplicationType> = {
  householder: 'pp.full.householder',
  full: 'pp.full.minor',
  ldc: 'ldc.proposed',
  priorApproval: 'pa.part1.classA',
  trees: 'wtt.consent',
};
const typeToChoice = (type: ApplicationType | null) =>
  type === 'pp.full.major'
    ? 'full'
    : type === 'wtt.notice'
      ? 'trees'
      : Object.entries(choiceToType).find(([, t]) => t === type)?.[0];

const phone = z
  .string()
  .trim()
  .regex(/^[0-9+()\s-]{10,20}$/, { error: 'Enter a telephone number, like 01632 960 001 or 07700 900 982' });
const email = z
  .email({ error: 'Enter an email address in the correct format, like name@example.com' })
  .max(200);
const name = (what: string) =>
  z
    .string()
    .trim()
    .min(1, { error: `Enter ${what}` })
    .max(100, { error: `${what[0]!.toUpperCase()}${what.slice(1)} must be 100 characters or fewer` });
const postcode = z
  .string()
  .trim()
  .regex(/^[A-Za-z]{1,2}\d[A-Za-z\d]?\s*\d[A-Za-z]{2}$/, { error: 'Enter a full UK postcode' });

const applicantSchema = z.object({
  applicantType: z.enum(['individual', 'company', 'charity', 'public', 'parishCouncil'], {
    error: 'Choose who the applicant is',
  }),
  firstName: name('the applicant’s first name'),
  lastName: name('the applicant’s last name'),
  company: z.string().trim().max(120).optional(),
  email,
  phone,
  sameAddress: z.enum(['yes', 'no'], { error: 'Say whether the applicant lives at the site' }),
  ownership: z.enum(['a', 'b'], { error: 'Say who owns the land' }),
  connection: z.enum(['none', 'employee', 'relation.employee', 'electedMember', 'relation.electedMember'], {
    error: 'Say whether the applicant is connected to the council',
  }),
  connectionDescription: z.string().trim().max(500).optional(),
});

const addressSchema = z.object({
  line1: z.string().trim().min(1, { error: 'Enter the first line of the address' }).max(120),
  town: z.string().trim().min(1, { error: 'Enter the town' }).max(60),
  postcode,
});

function zodErrors(error: z.ZodError, prefix = ''): Errors {
  return error.issues.map((i) => ({ field: `${prefix}${String(i.path[0] ?? '')}`, text: i.message }));
}

async function requireResident(request: FastifyRequest, reply: FastifyReply) {
  if (request.resident) return;
  const returnTo = request.method === 'GET' ? `?returnTo=${encodeURIComponent(request.url)}` : '';
  return reply.redirect(`/sign-in${returnTo}`, 303);
}

/** The applicant's journey: a task list, each task a question page, then check, declare, pay and send. */
export function registerApplyRoutes(app: FastifyInstance, platform: Platform, service: PlanningService) {
  const signedIn = { preHandler: requireResident };
  const submissions = { preHandler: requireResident, config: { rateLimit: platform.rateLimits.submissions } };

  async function owned(request: FastifyRequest, reply: FastifyReply): Promise<ApplicationRow | null> {
    const { reference } = request.params as { reference: string };
    const row = await service.editable(reference, request.resident!.id);
    if (!row) {
      reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
      return null;
    }
    if (!['draft', 'awaiting_payment', 'invalid'].includes(row.status)) {
      reply.redirect(`/planning/applications/${row.reference}`, 303);
      return null;
    }
    return row;
  }

  const base = (row: ApplicationRow) => `/planning/apply/${row.reference}`;
  const page = (
    reply: FastifyReply,
    template: string,
    row: ApplicationRow,
    context: Record<string, unknown>,
  ) =>
    reply.render(`planning/views/${template}.njk`, {
      navSection: 'services',
      application: row,
      backLink: base(row),
      errors: [],
      ...context,
    });

  // The start page, which lists the applicant's own applications; My account links to the same list.
  app.get('/account/planning', signedIn, async (_request, reply) =>
    reply.redirect('/planning/apply#yours', 303),
  );
  app.get('/planning/apply', async (request, reply) =>
    reply.render('planning/views/apply-start.njk', {
      title: 'Apply for planning permission',
      navSection: 'services',
      applications: request.resident
        ? (await service.listForResident(request.resident.id)).map((a) => ({
            ...a,
            statusText: publicStatus(a, londonDay()),
            typeName: a.application_type ? applicationTypeNames[a.application_type] : 'Not chosen yet',
            href: ['draft', 'awaiting_payment', 'invalid'].includes(a.status)
              ? `/planning/apply/${a.reference}`
              : `/planning/applications/${a.reference}`,
          }))
        : [],
    }),
  );

  app.post('/planning/apply', submissions, async (request, reply) => {
    const role = one(formFields(request.body), 'role') === 'agent' ? 'agent' : 'applicant';
    const row = await service.startApplication(request.resident!.id, role);
    return reply.redirect(`/planning/apply/${row.reference}`, 303);
  });

  // The task list: where an applicant returns to carry on.
  app.get('/planning/apply/:reference', signedIn, async (request, reply) => {
    const row = await owned(request, reply);
    if (!row) return reply;
    const documents = await service.documentsOf(row.id);
    const needs = requiredDocuments(row.application_type);
    const done = {
      address: Boolean(row.uprn),
      type: Boolean(row.application_type),
      details: Boolean(row.description),
      boundary: Boolean(row.site_boundary || row.location_plan_file_id),
      documents: needs.length > 0 && needs.every((n) => documents.some((d) => n.anyOf.includes(d.doc_type))),
      applicant: Boolean(row.applicant),
    };
    const task = (title: string, key: keyof typeof done, path: string, canStart = true) => ({
      title: { text: title },
      href: canStart ? `${base(row)}/${path}` : undefined,
      status: done[key]
        ? { text: 'Completed' }
        : canStart
          ? { tag: { text: 'Incomplete', classes: 'govuk-tag--blue' } }
          : { text: 'Cannot start yet', classes: 'govuk-task-list__status--cannot-start-yet' },
    });
    const items = [
      task('Find the property', 'address', 'address'),
      task('What you want to do', 'type', 'type'),
      task('About the project', 'details', 'details', done.type),
      task('Site boundary', 'boundary', 'boundary', done.address),
      task('Plans and documents', 'documents', 'documents', done.type),
      task('Applicant details', 'applicant', 'applicant'),
    ];
    const complete = Object.values(done).filter(Boolean).length;
    return reply.render('planning/views/apply-tasks.njk', {
      title:
        row.status === 'invalid' ? 'Make the changes the council asked for' : 'Your planning application',
      navSection: 'services',
      backLink: '/planning/apply',
      application: row,
      items,
      complete,
      total: items.length,
      ready: complete === items.length,
    });
  });

  // Find the property

  app.get('/planning/apply/:reference/address', signedIn, async (request, reply) => {
    const row = await owned(request, reply);
    if (!row) return reply;
    const lookup = String((request.query as Record<string, unknown>).lookup ?? '').trim();
    const errors: Errors = [];
    const found = lookup ? service.findAddresses(lookup) : [];
    if (lookup && !found.length)
      errors.push({
        field: 'lookup',
        text: 'No addresses in Kilnford match. Check the postcode or street name',
      });
    return page(reply.code(errors.length ? 400 : 200), 'apply-address', row, {
      title: 'Find the property',
      lookup,
      addresses: found.map((a) => ({ value: a.uprn, text: a.text, checked: a.uprn === row.uprn })),
      errors,
    });
  });

  app.post('/planning/apply/:reference/address', submissions, async (request, reply) => {
    const row = await owned(request, reply);
    if (!row) return reply;
    const fields = formFields(request.body);
    const uprn = one(fields, 'uprn');
    const lookup = one(fields, 'lookup');
    if (!uprn) {
      if (lookup) return reply.redirect(`${base(row)}/address?lookup=${encodeURIComponent(lookup)}`, 303);
      return page(reply.code(400), 'apply-address', row, {
        title: 'Find the property',
        lookup,
        addresses: [],
        errors: [{ field: 'lookup', text: 'Enter a postcode or street name' }],
      });
    }
    try {
      await service.setAddress(row, uprn);
    } catch (error) {
      if (!(error instanceof PlanningError)) throw error;
      const found = lookup ? service.findAddresses(lookup) : [];
      return page(reply.code(400), 'apply-address', row, {
        title: 'Find the property',
        lookup,
        addresses: found.map((a) => ({ value: a.uprn, text: a.text })),
        errors: [{ field: found.length ? 'uprn' : 'lookup', text: error.message }],
      });
    }
    return reply.redirect(row.application_type ? base(row) : `${base(row)}/type`, 303);
  });

  // What you want to do

  const typePage = (reply: FastifyReply, row: ApplicationRow, errors: Errors = []) =>
    page(reply.code(errors.length ? 400 : 200), 'apply-type', row, {
      title: 'What do you want to do?',
      choices: journeyChoices.map((c) => ({
        value: c.value,
        text: c.text,
        hint: { text: c.hint },
        checked: typeToChoice(row.application_type) === c.value,
      })),
      errors,
    });

  app.get('/planning/apply/:reference/type', signedIn, async (request, reply) => {
    const row = await owned(request, reply);
    return row ? typePage(reply, row) : reply;
  });

  app.post('/planning/apply/:reference/type', submissions, async (request, reply) => {
    const row = await owned(request, reply);
    if (!row) return reply;
    const choice = one(formFields(request.body), 'choice');
    const type = choiceToType[choice];
    if (!type) return typePage(reply, row, [{ field: 'choice', text: 'Choose what you want to do' }]);
    if (typeToChoice(row.application_type) !== choice) await service.setType(row, type);
    return reply.redirect(`${base(row)}/details`, 303);
  });

  // About the project: the questions branch on the type

  const detailsPage = (
    reply: FastifyReply,
    row: ApplicationRow,
    values: Record<string, unknown>,
    errors: Errors = [],
  ) =>
    page(reply.code(errors.length ? 400 : 200), 'apply-details', row, {
      title: 'About the project',
      choice: typeToChoice(row.application_type),
      values,
      projects: householderProjects.map((p) => ({
        value: p,
        text: projectTypeLabels[p],
        checked: Array.isArray(values.projectTypes) && (values.projectTypes as string[]).includes(p),
      })),
      propertyTypes: Object.entries(propertyTypeLabels)
        .filter(([k]) => k.startsWith('residential.'))
        .filter(([k]) => k !== 'residential.house')
        .map(([value, text]) => ({ value, text, checked: values.propertyType === value })),
      errors,
    });

  app.get('/planning/apply/:reference/details', signedIn, async (request, reply) => {
    const row = await owned(request, reply);
    if (!row) return reply;
    if (!row.application_type) return reply.redirect(`${base(row)}/type`, 303);
    return detailsPage(reply, row, { ...row.answers, description: row.description ?? '' });
  });

  app.post('/planning/apply/:reference/details', submissions, async (request, reply) => {
    const row = await owned(request, reply);
    if (!row) return reply;
    if (!row.application_type) return reply.redirect(`${base(row)}/type`, 303);
    const f = formFields(request.body);
    const choice = typeToChoice(row.application_type);
    const errors: Errors = [];
    const answers: Record<string, unknown> = {};
    const number = (field: string, label: string, min: number, max: number, integer = false) => {
      const raw = one(f, field);
      const value = Number(raw);
      if (!raw) errors.push({ field, text: `Enter ${label}` });
      else if (!Number.isFinite(value) || (integer && !Number.isInteger(value)))
        errors.push({ field, text: `${label[0]!.toUpperCase()}${label.slice(1)} must be a number` });
      else if (value < min || value > max)
        errors.push({
          field,
          text: `${label[0]!.toUpperCase()}${label.slice(1)} must be between ${min} and ${max}`,
        });
      else answers[field] = value;
    };
    if (choice === 'householder' || choice === 'ldc' || choice === 'priorApproval') {
      const propertyType = one(f, 'propertyType');
      if (!propertyTypeLabels[propertyType] || !propertyType.startsWith('residential.'))
        errors.push({ field: 'propertyType', text: 'Choose the type of property' });
      else answers.propertyType = propertyType;
    }
    if (choice === 'householder' || choice === 'ldc') {
      const projects = many(f, 'projectTypes').filter((p) => householderProjects.includes(p));
      if (!projects.length) errors.push({ field: 'projectTypes', text: 'Choose the works you are planning' });
      answers.projectTypes = projects;
      answers.dwellingsAltered = one(f, 'dwellingsAltered') === '2' ? 2 : 1;
      // Only an extension has a size to give: the question appears when one is chosen.
      if (projects.some((p) => p.startsWith('extend.') && p !== 'extend.porch'))
        number('extensionAreaM2', 'the floor area the extension adds', 1, 500);
    }
    if (choice === 'priorApproval') {
      answers.projectTypes = ['extend.rear.rear'];
      number('extensionDepthM', 'how far the extension goes back', 0.1, 20);
      number('extensionHeightM', 'the height of the extension', 0.1, 10);
      const detached = answers.propertyType === 'residential.house.detached';
      const depth = Number(answers.extensionDepthM ?? 0);
      const limit = detached ? 8 : 6;
      if (depth > limit)
        errors.push({
          field: 'extensionDepthM',
          text: `A larger home extension can go back up to ${limit} metres from a ${detached ? 'detached' : 'semi-detached or terraced'} house. Apply for householder planning permission instead`,
        });
      if (Number(answers.extensionHeightM ?? 0) > 4)
        errors.push({
          field: 'extensionHeightM',
          text: 'A larger home extension can be up to 4 metres high. Apply for householder planning permission instead',
        });
    }
    if (choice === 'full') {
      number('newDwellings', 'the number of new homes', 0, 10_000, true);
      number('floorAreaM2', 'the new floor space for other uses', 0, 1_000_000);
      answers.projectTypes = Number(answers.newDwellings ?? 0) > 0 ? ['new.dwelling.house'] : ['extend'];
    }
    if (choice === 'trees') {
      const protection = one(f, 'treeProtection');
      if (protection !== 'tpo' && protection !== 'conservationArea')
        errors.push({ field: 'treeProtection', text: 'Say how the tree is protected' });
      answers.treeProtection = protection;
      const work = one(f, 'treeWorkType');
      if (work !== 'prune' && work !== 'remove')
        errors.push({ field: 'treeWorkType', text: 'Say what you want to do to the tree' });
      answers.projectTypes = [work === 'remove' ? 'alter.trees.tree.remove' : 'alter.trees.tree.prune'];
      answers.treeWorkType = work;
      const tree = one(f, 'treeDescription');
      if (!tree) errors.push({ field: 'treeDescription', text: 'Describe which tree and where it is' });
      answers.treeDescription = tree.slice(0, 500);
    }
    const description = one(f, 'description');
    if (!description) errors.push({ field: 'description', text: 'Describe the project' });
    else if (description.length > 2000)
      errors.push({ field: 'description', text: 'The description must be 2,000 characters or fewer' });
    if (errors.length)
      return detailsPage(reply, row, { ...answers, ...f, projectTypes: many(f, 'projectTypes') }, errors);
    await service.setDetails(row, answers, description);
    return reply.redirect(
      row.site_boundary || row.location_plan_file_id ? base(row) : `${base(row)}/boundary`,
      303,
    );
  });

  // Site boundary: drawn on the map with JavaScript, or a location plan uploaded without

  const boundaryPage = (reply: FastifyReply, row: ApplicationRow, errors: Errors = [], geojson?: string) =>
    page(
      reply.code(
        errors.length
          ? errors[0]!.field === 'locationPlan' && errors[0]!.text.includes('smaller')
            ? 413
            : 400
          : 200,
      ),
      'apply-boundary',
      row,
      {
        title: 'Where is the site?',
        map: mapSettings(),
        geojson: geojson ?? (row.site_boundary ? JSON.stringify(row.site_boundary) : ''),
        start:
          row.lat !== null && row.lng !== null
            ? JSON.stringify(squareAround({ lat: row.lat, lng: row.lng }))
            : '',
        centre: { lat: row.lat ?? 52.95, lng: row.lng ?? -2.15 },
        hasPlan: Boolean(row.location_plan_file_id),
        errors,
      },
    );

  app.get('/planning/apply/:reference/boundary', signedIn, async (request, reply) => {
    const row = await owned(request, reply);
    if (!row) return reply;
    if (!row.uprn) return reply.redirect(`${base(row)}/address`, 303);
    return boundaryPage(reply, row);
  });

  const uploadTooLarge =
    (render: (reply: FastifyReply, request: FastifyRequest) => Promise<unknown>) =>
    (error: FastifyError, request: FastifyRequest, reply: FastifyReply) => {
      if (error.code !== 'FST_REQ_FILE_TOO_LARGE' && error.statusCode !== 413) throw error;
      // A body over the limit fails while it is parsed, before the sign-in check has run: without
      // a resident there is no application to show again, so the platform's 413 page answers.
      if (!request.resident) throw new HttpError(413, 'The file is too large', limitText());
      return render(reply.code(413), request);
    };
  const limitText = () =>
    `The selected file must be smaller than ${Math.floor(platform.config.UPLOAD_LIMIT_BYTES / 1_048_576)}MB`;

  app.post(
    '/planning/apply/:reference/boundary',
    {
      ...submissions,
      errorHandler: uploadTooLarge(async (reply, request) => {
        const row = await service.editable(
          (request.params as { reference: string }).reference,
          request.resident!.id,
        );
        if (!row) throw new HttpError(413, 'The file is too large', limitText());
        return boundaryPage(reply, row, [{ field: 'locationPlan', text: limitText() }]);
      }),
    },
    async (request, reply) => {
      const row = await owned(request, reply);
      if (!row) return reply;
      const f = formFields(request.body);
      const geojson = one(f, 'boundary');
      const plan = await uploadedFile(request.body, 'locationPlan');
      if (!geojson && !plan)
        return boundaryPage(reply, row, [
          { field: 'locationPlan', text: 'Mark the site boundary on the map, or upload a location plan' },
        ]);
      try {
        if (geojson) await service.setBoundary(row, geojson);
        if (plan) await service.setLocationPlan(row, plan);
      } catch (error) {
        if (error instanceof BoundaryError)
          return boundaryPage(reply, row, [{ field: 'boundary-map', text: error.message }], geojson);
        if (error instanceof UploadError)
          return boundaryPage(reply, row, [{ field: 'locationPlan', text: error.message }]);
        throw error;
      }
      const docs = await service.documentsOf(row.id);
      return reply.redirect(
        docs.some((d) => d.doc_type !== 'locationPlan') ? base(row) : `${base(row)}/documents`,
        303,
      );
    },
  );

  // Plans and documents

  const documentsPage = async (
    reply: FastifyReply,
    row: ApplicationRow,
    errors: Errors = [],
    values: Record<string, string> = {},
  ) => {
    const documents = await service.documentsOf(row.id);
    return page(
      reply.code(errors.length ? (errors.some((e) => e.text.includes('smaller')) ? 413 : 400) : 200),
      'apply-documents',
      row,
      {
        title: 'Upload plans and documents',
        documents: documents.map((d) => ({ ...d, typeName: docTypeLabels[d.doc_type] ?? d.doc_type })),
        needs: requiredDocuments(row.application_type).map((n) => ({
          ...n,
          done: documents.some((d) => n.anyOf.includes(d.doc_type)),
        })),
        docTypes: Object.entries(docTypeLabels)
          .filter(([k]) => k !== 'locationPlan')
          .map(([value, text]) => ({ value, text, selected: values.docType === value })),
        limitMb: Math.floor(platform.config.UPLOAD_LIMIT_BYTES / 1_048_576),
        errors,
      },
    );
  };

  app.get('/planning/apply/:reference/documents', signedIn, async (request, reply) => {
    const row = await owned(request, reply);
    return row ? documentsPage(reply, row) : reply;
  });

  app.post(
    '/planning/apply/:reference/documents',
    {
      ...submissions,
      errorHandler: uploadTooLarge(async (reply, request) => {
        const row = await service.editable(
          (request.params as { reference: string }).reference,
          request.resident!.id,
        );
        if (!row) throw new HttpError(413, 'The file is too large', limitText());
        return documentsPage(reply, row, [{ field: 'document', text: limitText() }]);
      }),
    },
    async (request, reply) => {
      const row = await owned(request, reply);
      if (!row) return reply;
      const f = formFields(request.body);
      const remove = one(f, 'remove');
      if (remove) {
        await service.removeDocument(row, remove);
        return reply.redirect(`${base(row)}/documents`, 303);
      }
      if (one(f, 'action') === 'continue') return reply.redirect(base(row), 303);
      const docType = one(f, 'docType');
      const file = await uploadedFile(request.body, 'document');
      const errors: Errors = [];
      if (!docLabel(docType)) errors.push({ field: 'docType', text: 'Choose what the document shows' });
      if (!file) errors.push({ field: 'document', text: 'Choose a file to upload' });
      if (errors.length) return documentsPage(reply, row, errors, { docType });
      try {
        await service.addDocument(row, docType, file!);
      } catch (error) {
        if (error instanceof UploadError)
          return documentsPage(reply, row, [{ field: 'document', text: error.message }], { docType });
        throw error;
      }
      return reply.redirect(`${base(row)}/documents`, 303);
    },
  );

  // Applicant details; an agent gives their own and their client's

  const applicantPage = (
    reply: FastifyReply,
    row: ApplicationRow,
    values: Record<string, unknown>,
    errors: Errors = [],
  ) =>
    page(reply.code(errors.length ? 400 : 200), 'apply-applicant', row, {
      title: row.user_role === 'agent' ? 'Your client and you' : 'About the applicant',
      agent: row.user_role === 'agent',
      values,
      errors,
    });

  app.get('/planning/apply/:reference/applicant', signedIn, async (request, reply) => {
    const row = await owned(request, reply);
    if (!row) return reply;
    const a = row.applicant;
    const g = row.agent;
    return applicantPage(reply, row, {
      applicantType: a?.type,
      firstName: a?.firstName,
      lastName: a?.lastName,
      company: a?.company,
      email: a?.email ?? (row.user_role === 'applicant' ? request.resident!.email : ''),
      phone: a?.phone,
      sameAddress: a ? (a.address ? 'no' : 'yes') : undefined,
      line1: a?.address?.line1,
      town: a?.address?.town,
      postcode: a?.address?.postcode,
      ownership: a?.ownership,
      connection: a?.connection,
      connectionDescription: a?.connectionDescription,
      agentFirstName: g?.firstName,
      agentLastName: g?.lastName,
      agentCompany: g?.company,
      agentEmail: g?.email ?? (row.user_role === 'agent' ? request.resident!.email : ''),
      agentPhone: g?.phone,
      agentLine1: g?.address.line1,
      agentTown: g?.address.town,
      agentPostcode: g?.address.postcode,
    });
  });

  app.post('/planning/apply/:reference/applicant', submissions, async (request, reply) => {
    const row = await owned(request, reply);
    if (!row) return reply;
    const f = Object.fromEntries(
      Object.entries(formFields(request.body)).map(([k, v]) => [k, Array.isArray(v) ? v[0] : v]),
    ) as Record<string, string>;
    const errors: Errors = [];
    const parsed = applicantSchema.safeParse({ ...f, company: f.company || undefined });
    if (!parsed.success) errors.push(...zodErrors(parsed.error));
    let address = null;
    if (f.sameAddress === 'no') {
      const a = addressSchema.safeParse({ line1: f.line1, town: f.town, postcode: f.postcode });
      if (!a.success) errors.push(...zodErrors(a.error));
      else address = { ...a.data, postcode: a.data.postcode.toUpperCase() };
    }
    if (f.connection && f.connection !== 'none' && !f.connectionDescription?.trim())
      errors.push({ field: 'connectionDescription', text: 'Describe the connection to the council' });
    let agent = null;
    if (row.user_role === 'agent') {
      const g = z
        .object({
          firstName: name('your first name'),
          lastName: name('your last name'),
          email,
          phone,
          line1: z.string().trim().min(1, { error: 'Enter the first line of your address' }).max(120),
          town: z.string().trim().min(1, { error: 'Enter your town' }).max(60),
          postcode,
        })
        .safeParse({
          firstName: f.agentFirstName,
          lastName: f.agentLastName,
          email: f.agentEmail,
          phone: f.agentPhone,
          line1: f.agentLine1,
          town: f.agentTown,
          postcode: f.agentPostcode,
        });
      if (!g.success)
        errors.push(
          ...zodErrors(g.error).map((e) => ({
            ...e,
            field: `agent${e.field[0]!.toUpperCase()}${e.field.slice(1)}`,
          })),
        );
      else
        agent = {
          firstName: g.data.firstName,
          lastName: g.data.lastName,
          ...(f.agentCompany?.trim() ? { company: f.agentCompany.trim().slice(0, 120) } : {}),
          email: g.data.email,
          phone: g.data.phone,
          address: { line1: g.data.line1, town: g.data.town, postcode: g.data.postcode.toUpperCase() },
        };
    }
    if (errors.length || !parsed.success) return applicantPage(reply, row, f, errors);
    const d = parsed.data;
    await service.setApplicant(
      row,
      {
        type: d.applicantType,
        firstName: d.firstName,
        lastName: d.lastName,
        ...(d.company ? { company: d.company } : {}),
        email: d.email,
        phone: d.phone,
        address,
        ownership: d.ownership,
        connection: d.connection,
        ...(d.connection !== 'none' ? { connectionDescription: d.connectionDescription ?? '' } : {}),
      },
      agent,
    );
    return reply.redirect(base(row), 303);
  });

  // Check, fee, declare and send

  const checkPage = async (
    reply: FastifyReply,
    row: ApplicationRow,
    errors: Errors = [],
    values: Record<string, unknown> = {},
  ) => {
    const documents = await service.documentsOf(row.id);
    const fee = service.feeOf(row);
    const payment = await service.paymentOf(row);
    return page(reply.code(errors.length ? 400 : 200), 'apply-check', row, {
      title:
        row.status === 'invalid'
          ? 'Check your changes and send them'
          : 'Check your answers and send your application',
      responses: responsesOf(row),
      documents: documents.map((d) => ({ ...d, typeName: docTypeLabels[d.doc_type] ?? d.doc_type })),
      fee,
      feeAnswers: { ...row.fee_answers, ...values },
      resubmission: row.status === 'invalid',
      unpaid: row.status === 'awaiting_payment' && payment?.status !== 'success',
      missing: await service.missing(row),
      applicant: row.applicant,
      agent: row.agent,
      typeName: row.application_type ? applicationTypeNames[row.application_type] : '',
      boundaryText: row.site_boundary
        ? `Drawn on the map (${Math.round(row.site_area_m2 ?? 0)} square metres)`
        : row.location_plan_file_id
          ? 'Shown on the uploaded location plan'
          : '',
      errors,
    });
  };

  app.get('/planning/apply/:reference/check', signedIn, async (request, reply) => {
    const row = await owned(request, reply);
    return row ? checkPage(reply, row) : reply;
  });

  // The fee questions sit on the check page, so the fee shown is the fee the applicant will pay.
  app.post('/planning/apply/:reference/fee', submissions, async (request, reply) => {
    const row = await owned(request, reply);
    if (!row) return reply;
    const f = formFields(request.body);
    const feeAnswers: Record<string, unknown> = {
      disability: one(f, 'disability') === 'yes' ? 'yes' : 'no',
      parishCouncil: row.applicant?.type === 'parishCouncil' ? 'yes' : 'no',
      resubmission: one(f, 'resubmission') === 'yes' ? 'yes' : 'no',
    };
    if (feeAnswers.resubmission === 'yes') {
      const made = dateFrom(f, 'earlierMade');
      const decided = dateFrom(f, 'earlierDecided');
      const errors: Errors = [];
      if (!made)
        errors.push({
          field: 'earlierMade-day',
          text: 'Enter the date the earlier application was made, like 27 3 2023',
        });
      if (!decided)
        errors.push({
          field: 'earlierDecided-day',
          text: 'Enter the date the earlier application was decided or withdrawn',
        });
      if (made && decided && decided < made)
        errors.push({
          field: 'earlierDecided-day',
          text: 'The decision date must be after the date it was made',
        });
      if (errors.length) return checkPage(reply, row, errors, f);
      feeAnswers.earlierMade = made;
      feeAnswers.earlierDecided = decided;
    }
    await service.setFeeAnswers(row, feeAnswers);
    return reply.redirect(`${base(row)}/check#fee`, 303);
  });

  app.post('/planning/apply/:reference/check', submissions, async (request, reply) => {
    const row = await owned(request, reply);
    if (!row) return reply;
    const f = formFields(request.body);
    if (row.status === 'awaiting_payment') {
      const payment = await service.paymentOf(row);
      if (payment?.status === 'success') {
        await service.settlePayment(row.id, actorOf(request));
        return reply.redirect(`/planning/apply/${row.reference}/paid`, 303);
      }
    }
    if (one(f, 'declaration') !== 'yes')
      return checkPage(reply, row, [
        { field: 'declaration', text: 'Confirm the information is correct to send the application' },
      ]);
    try {
      const { payment } = await service.submit(row, actorOf(request));
      if (payment) {
        const next = await service.paymentUrl(payment, row.reference);
        if (next) return reply.redirect(next, 303);
      }
    } catch (error) {
      if (error instanceof PlanningError)
        return checkPage(reply, row, [{ field: 'declaration', text: error.message }]);
      throw error;
    }
    return reply.redirect(`/planning/apply/${row.reference}/paid`, 303);
  });

  // Back from paying (or sent without a fee): the confirmation, or what is still owed
  app.get('/planning/apply/:reference/paid', signedIn, async (request, reply) => {
    const { reference } = request.params as { reference: string };
    let row = await service.editable(reference, request.resident!.id);
    if (!row) return reply.code(404).render('pages/not-found.njk', { title: 'Page not found' });
    if (row.status === 'awaiting_payment')
      row = (await service.settlePayment(row.id, actorOf(request))) ?? row;
    if (row.status === 'awaiting_payment') {
      return reply.render('planning/views/apply-unpaid.njk', {
        title: 'Your application has not been sent',
        navSection: 'services',
        application: row,
        feePence: row.fee_pence,
      });
    }
    return reply.render('planning/views/apply-confirmation.njk', {
      title: 'Application sent',
      navSection: 'services',
      application: row,
      payment: await service.paymentOf(row),
    });
  });
}

function docLabel(docType: string) {
  return docType !== 'locationPlan' ? docTypeLabels[docType] : undefined;
}
