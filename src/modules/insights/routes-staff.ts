import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { actorOf } from '../../platform/auth/identity.ts';
import { can } from '../../platform/auth/permissions.ts';
import { HttpError } from '../../platform/http/errors.ts';
import { londonDay } from '../../platform/time.ts';
import { renderChart, toCsv } from './charts.ts';
import { writeParquet } from './parquet.ts';
import type { Filters, InsightsService } from './service.ts';
import { mondayOf } from './service.ts';

const read = { permission: 'insights:read' as const };
const explore = { permission: 'insights:explore' as const };
const manage = { permission: 'insights:manage' as const };

const DATE = /^\d{4}-\d{2}-\d{2}$/;
const CODE = /^[A-Za-z0-9_.:-]{1,64}$/;

function isRealDate(value: string): boolean {
  if (!DATE.test(value)) return false;
  const d = new Date(`${value}T00:00:00Z`);
  return !Number.isNaN(d.getTime()) && d.toISOString().slice(0, 10) === value;
}

/** The dashboard's filters from the query string, or the errors to show beside them. */
export function parseFilters(query: Record<string, unknown>, today = londonDay()) {
  const raw = {
    from: typeof query.from === 'string' ? query.from.trim() : '',
    to: typeof query.to === 'string' ? query.to.trim() : '',
    ward: typeof query.ward === 'string' ? query.ward.trim() : '',
    service: typeof query.service === 'string' ? query.service.trim() : '',
    team: typeof query.team === 'string' ? query.team.trim() : '',
  };
  const errors: Array<{ field: string; text: string }> = [];
  const defaultFrom = new Date(new Date(`${mondayOf(today)}T00:00:00Z`).getTime() - 11 * 7 * 86_400_000)
    .toISOString()
    .slice(0, 10);
  const from = raw.from || defaultFrom;
  const to = raw.to || today;
  if (raw.from && !isRealDate(raw.from))
    errors.push({ field: 'from', text: 'The start of the period must be a real date, like 2026-09-01' });
  if (raw.to && !isRealDate(raw.to))
    errors.push({ field: 'to', text: 'The end of the period must be a real date, like 2026-11-30' });
  if (errors.length === 0 && from > to)
    errors.push({ field: 'to', text: 'The end of the period must be the same as or after the start' });
  if (errors.length === 0 && Date.parse(to) - Date.parse(from) > 3 * 366 * 86_400_000)
    errors.push({ field: 'from', text: 'The period must be 3 years or shorter' });
  for (const key of ['ward', 'service', 'team'] as const)
    if (raw[key] && !CODE.test(raw[key])) errors.push({ field: key, text: `Choose a ${key} from the list` });
  const filters: Filters = {
    from,
    to,
    ward: raw.ward || null,
    service: raw.service || null,
    team: raw.team || null,
  };
  return { raw: { ...raw, from, to }, filters, errors };
}

const querySchema = z.object({
  query: z.string().max(5000, { error: 'Queries must be 5000 characters or fewer' }),
  chart: z.enum(['none', 'line', 'bar']).optional().default('none'),
});
const saveSchema = querySchema.extend({
  title: z
    .string()
    .trim()
    .min(1, { error: 'Enter a title for the query' })
    .max(120, { error: 'The title must be 120 characters or fewer' }),
});

/** The back office: success measures, team dashboards, forecasts, the explorer and exports. */
export function registerStaffRoutes(app: FastifyInstance, service: InsightsService) {
  async function dashboard(request: FastifyRequest, reply: FastifyReply) {
    const { raw, filters, errors } = parseFilters(request.query as Record<string, unknown>);
    const choices = await service.filterChoices();
    const state = await service.state();
    const base = {
      title: 'Success measures',
      navSection: 'insights',
      values: raw,
      choices,
      state,
      canExplore: Boolean(request.staff && can(request.staff.role, 'insights:explore')),
      query: new URLSearchParams(
        Object.entries(raw).filter(([, v]) => v) as Array<[string, string]>,
      ).toString(),
    };
    if (errors.length)
      return reply.code(400).render('insights/views/dashboard.njk', { ...base, errors, panels: [] });
    const [panels, types] = await Promise.all([service.measures(filters), service.eventTypes(filters)]);
    return reply.render('insights/views/dashboard.njk', { ...base, errors: [], panels, types });
  }

  app.get('/staff/insights', { config: read }, dashboard);

  app.get<{ Params: { id: string } }>(
    '/staff/insights/panels/:id.csv',
    { config: read },
    async (request, reply) => {
      const { filters, errors } = parseFilters(request.query as Record<string, unknown>);
      if (errors.length)
        throw new HttpError(400, 'The filters are not valid', errors.map((e) => e.text).join('. '));
      const panel = (await service.measures(filters)).find((p) => p.id === request.params.id);
      if (!panel) throw new HttpError(404, 'There is no such panel');
      return reply
        .type('text/csv; charset=utf-8')
        .header(
          'content-disposition',
          `attachment; filename="${panel.id}-${filters.from}-to-${filters.to}.csv"`,
        )
        .send(toCsv(panel.csv.columns, panel.csv.rows));
    },
  );

  app.post('/staff/insights/refresh', { config: read }, async (_request, reply) => {
    await service.load();
    return reply.redirect('/staff/insights', 303);
  });

  app.post('/staff/insights/rebuild', { config: manage }, async (request, reply) => {
    await service.rebuild(actorOf(request));
    return reply.redirect('/staff/insights', 303);
  });

  app.get('/staff/insights/teams', { config: read }, async (request, reply) => {
    const q = request.query as Record<string, unknown>;
    const team = typeof q.team === 'string' && CODE.test(q.team) ? q.team : null;
    const teams = (await service.filterChoices()).teams;
    const chosen =
      team ??
      (request.staff?.teamCode && teams.includes(request.staff.teamCode) ? request.staff.teamCode : null);
    return reply.render('insights/views/teams.njk', {
      title: 'Team dashboard',
      navSection: 'insights',
      teams,
      team: chosen,
      board: await service.teamDashboard(chosen),
    });
  });

  app.get('/staff/insights/forecasts', { config: read }, async (request, reply) => {
    const { filters } = parseFilters(request.query as Record<string, unknown>);
    return reply.render('insights/views/forecasts.njk', {
      title: 'Demand forecasts',
      navSection: 'insights',
      forecasts: await service.forecasts(filters),
    });
  });

  // ---- Explorer ----
  async function explorerPage(
    request: FastifyRequest,
    reply: FastifyReply,
    extra: Record<string, unknown> = {},
    status = 200,
  ) {
    return reply.code(status).render('insights/views/explorer.njk', {
      title: 'Explore the warehouse',
      navSection: 'insights',
      saved: await service.savedQueries(),
      tables: await Promise.all(
        service.factTables.map(async (t) => ({ name: t, columns: await service.tableColumns(t) })),
      ),
      values: {
        query: 'select day, count(*) as events\n  from fact_event\n group by day\n order by day',
        chart: 'none',
      },
      errors: [],
      ...extra,
    });
  }

  app.get('/staff/insights/explorer', { config: explore }, async (request, reply) => {
    const id = (request.query as Record<string, unknown>).saved;
    if (typeof id === 'string') {
      const saved = await service.findSavedQuery(id);
      if (!saved) throw new HttpError(404, 'There is no such saved query');
      return run(request, reply, { query: saved.query, chart: saved.chart ?? 'none' });
    }
    return explorerPage(request, reply);
  });

  async function run(request: FastifyRequest, reply: FastifyReply, input: { query: string; chart: string }) {
    const result = await service.runQuery(input.query, actorOf(request));
    if (!result.ok)
      return explorerPage(
        request,
        reply,
        { values: input, errors: [{ field: 'query', text: result.message }] },
        400,
      );
    return explorerPage(request, reply, { values: input, result, chart: chartOf(result, input.chart) });
  }

  app.post('/staff/insights/explorer', { config: explore }, async (request, reply) => {
    const parsed = querySchema.safeParse(request.body);
    if (!parsed.success)
      return explorerPage(
        request,
        reply,
        { errors: parsed.error.issues.map((i) => ({ field: 'query', text: i.message })) },
        400,
      );
    return run(request, reply, parsed.data);
  });

  app.post('/staff/insights/explorer/save', { config: explore }, async (request, reply) => {
    const parsed = saveSchema.safeParse(request.body);
    const body = (request.body ?? {}) as Record<string, string>;
    if (!parsed.success)
      return explorerPage(
        request,
        reply,
        {
          values: { query: body.query ?? '', chart: body.chart ?? 'none', title: body.title ?? '' },
          errors: parsed.error.issues.map((i) => ({
            field: i.path[0] === 'title' ? 'title' : 'query',
            text: i.message,
          })),
        },
        400,
      );
    const checked = await service.runQuery(parsed.data.query, actorOf(request));
    if (!checked.ok)
      return explorerPage(
        request,
        reply,
        { values: parsed.data, errors: [{ field: 'query', text: checked.message }] },
        400,
      );
    const saved = await service.saveQuery(
      { title: parsed.data.title, query: parsed.data.query, chart: parsed.data.chart },
      { type: 'staff', id: request.staff!.id },
    );
    return reply.redirect(`/staff/insights/explorer?saved=${saved.id}`, 303);
  });

  // ---- Exports of the warehouse ----
  app.get('/staff/insights/exports', { config: explore }, async (_request, reply) =>
    reply.render('insights/views/exports.njk', {
      title: 'Export the warehouse',
      navSection: 'insights',
      tables: service.factTables,
    }),
  );

  app.get<{ Params: { table: string; format: string } }>(
    '/staff/insights/exports/:table.:format',
    { config: explore },
    async (request, reply) => {
      const table = service.factTables.find((t) => t === request.params.table);
      if (!table || !['csv', 'parquet'].includes(request.params.format))
        throw new HttpError(404, 'There is no such export');
      const columns = await service.tableColumns(table);
      const rows = await service.tableRows(table);
      const name = `kiln-${table}-${londonDay()}.${request.params.format}`;
      reply.header('content-disposition', `attachment; filename="${name}"`);
      if (request.params.format === 'csv')
        return reply.type('text/csv; charset=utf-8').send(
          toCsv(
            columns.map((c) => c.column_name),
            rows,
          ),
        );
      return reply.type('application/vnd.apache.parquet').send(await writeParquet(columns, rows));
    },
  );
}

function chartOf(result: { columns: string[]; rows: Array<Record<string, unknown>> }, kind: string) {
  if (kind === 'none' || result.columns.length < 2 || result.rows.length === 0) return null;
  const [labelColumn, ...valueColumns] = result.columns;
  const numeric = valueColumns.filter((c) =>
    result.rows.every((r) => r[c] === null || !Number.isNaN(Number(r[c]))),
  );
  if (numeric.length === 0) return null;
  const rows = result.rows.slice(0, 200);
  return renderChart({
    id: 'explorer-chart',
    title: `${numeric.join(', ')} by ${labelColumn}`,
    description: `A ${kind} chart of ${rows.length} rows of the query result; the table below holds the same numbers.`,
    labels: rows.map((r) =>
      String(
        r[labelColumn!] instanceof Date
          ? (r[labelColumn!] as Date).toISOString().slice(0, 10)
          : r[labelColumn!],
      ),
    ),
    series: numeric
      .slice(0, 5)
      .map((c) => ({ label: c, values: rows.map((r) => (r[c] === null ? null : Number(r[c]))) })),
    kind: kind === 'bar' ? 'bar' : 'line',
  });
}
