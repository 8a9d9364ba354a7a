import { createHmac } from 'node:crypto';
import type { Actor } from '../../platform/actor.ts';
import { recordAudit } from '../../platform/audit/index.ts';
import type { Db } from '../../platform/db/index.ts';
import { isDatabaseUnavailable } from '../../platform/http/errors.ts';
import type { Platform } from '../../platform/module.ts';
import { londonDay } from '../../platform/time.ts';
import { renderChart, formatValue, type ChartSpec } from './charts.ts';
import { checkQuery } from './explorer.ts';
import { fillWeeks, forecastWeekly } from './forecast.ts';
import * as store from './store.ts';

/** Events loaded in one go between analyses of the fact table. */
const ANALYSE_EVERY = 1_000_000;

export type { Filters, FactTable } from './store.ts';

export interface InsightsDependencies {
  /** The case's SLA due date, which its events do not carry. */
  caseDueAt?: (db: Db, reference: string) => Promise<Date | null>;
  /** Staff who work on cases, to name the people in a team's workload. */
  caseWorkers?: (db: Db) => Promise<Array<{ id: string; name: string; team_code?: string | null }>>;
  /** Live services of the catalogue, for the open data. */
  services?: () => Promise<
    Array<{ slug: string; title: string; team: string; topic: string | null; feePence: number | null }>
  >;
  /** Council wards, for the open data. */
  wards?: Array<{ code: string; name: string; centre: [number, number] | null }>;
  /** Residents with an account and those who chose paperless, now. */
  paperlessShare?: (db: Db) => Promise<{ residents: number; paperless: number; share: number }>;
  /** Council buildings in the connectivity register and the day each went on full fibre. */
  fibre?: (db: Db) => Promise<{ councilBuildings: number; connectedOn: string[] }>;
}

export interface InsightsSettings {
  batch: number;
  gapSeconds: number;
  rowLimit: number;
  timeoutMs: number;
  maxCost: number;
}

export const defaultSettings: InsightsSettings = {
  batch: 20_000,
  gapSeconds: 600,
  rowLimit: 1000,
  timeoutMs: 5000,
  maxCost: 5_000_000,
};

export interface Panel {
  id: string;
  area: string;
  title: string;
  headline: string;
  target: string;
  trend: string;
  hasData: boolean;
  note?: string;
  chart: string | null;
  table: { caption: string; columns: string[]; rows: string[][] };
  extra?: { caption: string; columns: string[]; rows: string[][] };
  csv: { columns: string[]; rows: Array<Record<string, unknown>> };
}

// The events these measures count (docs/insights.md): bookings by what was booked (the bookable on
// booking.held), planning decisions with inTime, wellbeing alerts raised and resolved.
export const measureEvents = {
  libraryBookings: '(library-pc|computer|digital-skill)',
  video: 'video',
  alerts: {
    types: '^wellbeing\\.alert_(raised|resolved|handled|closed)$',
    goodTypes: 'alert_(resolved|handled|closed)$',
  },
  planning: { types: '^planning\\.application_decided$', goodWithinTime: true },
  consultations: { types: '^engage\\.consultation_response_received$' },
} as const;

export function createInsightsService(
  platform: Platform,
  deps: InsightsDependencies = {},
  settings: InsightsSettings = defaultSettings,
) {
  const { db } = platform;

  // The explorer's own connection, logged in as the reader role, on a PostgreSQL server (opened on
  // the first query). PGlite has one connection: there the query sets the role for its transaction.
  let reader: Promise<store.ReaderConnection | null> | null = null;
  function explorerConnection(): Promise<store.ReaderConnection | null> {
    const connection = platform.database.jobConnection;
    if (platform.database.kind !== 'postgres' || !('connectionString' in connection))
      return Promise.resolve(null);
    const password = createHmac('sha256', platform.config.sessionSecret)
      .update('insights-reader')
      .digest('hex');
    reader ??= store.openReaderConnection(db, connection.connectionString, password).catch(() => null);
    return reader;
  }

  /**
   * Runs a checked query on the reader's own connection (or as the reader role on PGlite). The role
   * belongs to the whole server: another Kiln database on it may have set a new password (or taken
   * its login away) since this pool logged in, which fails the next new connection (28P01, 28000).
   * It may also have ended this pool's connections (57P01), which the pool learns of only when a
   * query meets the closed socket. Either way the pool is opened again and the read-only query tried
   * once more.
   */
  async function runAsReader(query: string) {
    for (let attempt = 1; ; attempt++) {
      const own = await explorerConnection();
      try {
        return await store.runReadOnly(own?.db ?? db, query, {
          rowLimit: settings.rowLimit,
          timeoutMs: settings.timeoutMs,
          maxCost: settings.maxCost,
          useRole: own ? false : await store.readerRoleExists(db),
        });
      } catch (error) {
        const code = (error as { code?: unknown }).code;
        const loginRefused = code === '28P01' || code === '28000';
        if (!own || attempt > 1 || !(loginRefused || isDatabaseUnavailable(error))) throw error;
        reader = null;
        await own.close();
      }
    }
  }

  async function enrich(
    tx: Db,
    created: Array<{ caseId: string; reference: string | null; eventId: number }>,
  ) {
    if (!deps.caseDueAt) return;
    // The latest case.created of each case in the batch (a case's event may be delivered twice).
    const latest = new Map<string, { reference: string | null; eventId: number }>();
    for (const c of created) if ((latest.get(c.caseId)?.eventId ?? -1) < c.eventId) latest.set(c.caseId, c);
    const rows = [];
    for (const [caseId, c] of latest)
      rows.push({
        caseId,
        eventId: c.eventId,
        dueAt: c.reference ? await deps.caseDueAt(tx, c.reference) : null,
      });
    await store.saveCaseSla(tx, rows);
  }

  /** Loads every new event into the warehouse, batch by batch, until none is left. */
  async function load(): Promise<{ events: number; signIns: number; gaps: number }> {
    let events = 0;
    let signIns = 0;
    let gaps = 0;
    let sinceAnalyse = 0;
    for (;;) {
      const r = await store.loadBatch(db, settings, enrich);
      events += r.events.loaded;
      signIns += r.audit.loaded;
      gaps += r.events.gaps + r.audit.gaps;
      if (!r.events.more && !r.audit.more) break;
      // A first load (or a long catch-up) grows the fact table faster than autovacuum analyses it:
      // without fresh statistics the loader's lookups by subject turn into scans.
      sinceAnalyse += r.events.loaded;
      if (sinceAnalyse >= ANALYSE_EVERY) {
        await store.analyseFacts(db);
        sinceAnalyse = 0;
      }
    }
    return { events, signIns, gaps };
  }

  function trendOf(values: Array<number | null>, percent: boolean): string {
    const xs = values.filter((v): v is number => v !== null);
    if (xs.length < 2) return 'Not enough weeks for a trend';
    const last = xs.at(-1)!;
    const earlier = xs.slice(0, -1).reduce((a, b) => a + b, 0) / (xs.length - 1);
    const diff = last - earlier;
    const size = percent
      ? `${Math.abs(Math.round(diff * 1000) / 10)} points`
      : formatValue(Math.abs(Math.round(diff * 10) / 10));
    if (Math.abs(diff) < (percent ? 0.005 : 0.5)) return 'Steady against earlier weeks';
    return `${diff > 0 ? 'Up' : 'Down'} ${size} on the average of earlier weeks`;
  }

  function chart(spec: ChartSpec): string {
    return renderChart(spec);
  }

  const share = (a: number, b: number) => (b > 0 ? a / b : null);
  const pct = (v: number | null) => formatValue(v, true);
  const pounds = (pence: number) =>
    `£${(pence / 100).toLocaleString('en-GB', { minimumFractionDigits: 2, maximumFractionDigits: 2 })}`;

  function countPanel(
    id: string,
    area: string,
    title: string,
    rows: Array<{ week: string; count: number }>,
    opts: { target: string; noun: string; note?: string },
  ): Panel {
    const values = rows.map((r) => r.count);
    const total = values.reduce((a, b) => a + b, 0);
    return {
      id,
      area,
      title,
      headline: rows.length ? `${formatValue(total)} ${opts.noun} in the period` : 'No data yet',
      target: opts.target,
      trend: trendOf(values, false),
      hasData: rows.length > 0,
      note: opts.note,
      chart: rows.length
        ? chart({
            id,
            title,
            description: describe(
              rows.map((r) => r.week),
              values,
              false,
              opts.noun,
            ),
            labels: rows.map((r) => r.week),
            series: [{ label: opts.noun, values }],
            kind: 'bar',
          })
        : null,
      table: {
        caption: `${title} by week`,
        columns: ['Week beginning', capitalise(opts.noun)],
        rows: rows.map((r) => [r.week, formatValue(r.count)]),
      },
      csv: { columns: ['week', 'count'], rows },
    };
  }

  /** Every success measure of the strategy for a period, ward, service and team. */
  async function measures(f: store.Filters): Promise<Panel[]> {
    const [shift, pay, paper, library, video, alerts, sla, planning, consult] = await Promise.all([
      store.channelShift(db, f),
      store.payments(db, f),
      store.paperless(db, f),
      store.bookingsPerWeek(db, f, measureEvents.libraryBookings),
      store.bookingsPerWeek(db, f, measureEvents.video),
      store.eventsPerWeek(db, f, measureEvents.alerts),
      store.resolvedWithinSla(db, f),
      store.eventsPerWeek(db, f, measureEvents.planning),
      store.eventsPerWeek(db, f, measureEvents.consultations),
    ]);
    const panels: Panel[] = [];

    // 1. Channel shift
    {
      const shares = shift.weekly.map((w) => share(w.digital, w.total));
      const digital = shift.weekly.reduce((a, w) => a + w.digital, 0);
      const total = shift.weekly.reduce((a, w) => a + w.total, 0);
      panels.push({
        id: 'channel-shift',
        area: 'Digital by default',
        title: 'Requests made digitally rather than by phone or face to face',
        headline: total
          ? `${pct(share(digital, total))} of ${formatValue(total)} requests were made online`
          : 'No data yet',
        target: '80% of requests made online',
        trend: trendOf(shares, true),
        hasData: total > 0,
        chart: total
          ? chart({
              id: 'channel-shift',
              title: 'Share of requests made online, by week',
              description: describe(
                shift.weekly.map((w) => w.week),
                shares,
                true,
                'made online',
              ),
              labels: shift.weekly.map((w) => w.week),
              series: [{ label: 'Online share', values: shares }],
              target: 0.8,
              percent: true,
            })
          : null,
        table: {
          caption: 'Requests by week',
          columns: ['Week beginning', 'Online', 'All channels', 'Online share'],
          rows: shift.weekly.map((w) => [
            w.week,
            formatValue(w.digital),
            formatValue(w.total),
            pct(share(w.digital, w.total)),
          ]),
        },
        extra: {
          caption: 'Requests by service',
          columns: ['Service', 'Online', 'All channels', 'Online share'],
          rows: shift.byService.map((s) => [
            s.service,
            formatValue(s.digital),
            formatValue(s.total),
            pct(share(s.digital, s.total)),
          ]),
        },
        csv: { columns: ['week', 'digital', 'total'], rows: shift.weekly },
      });
    }

    // 2. Payments
    {
      const cashShares = pay.map((w) => share(w.cash, w.count));
      const count = pay.reduce((a, w) => a + w.count, 0);
      const cash = pay.reduce((a, w) => a + w.cash, 0);
      const online = pay.reduce((a, w) => a + w.online_pence, 0);
      panels.push({
        id: 'payments',
        area: 'Digital by default',
        title: 'Cash share of payments and online revenue',
        headline: count
          ? `${pct(share(cash, count))} of ${formatValue(count)} payments in cash; ${pounds(online)} paid online`
          : 'No data yet',
        target: 'Cash below 10% of payments',
        trend: trendOf(cashShares, true),
        hasData: count > 0,
        chart: count
          ? chart({
              id: 'payments',
              title: 'Cash share of payments, by week',
              description: describe(
                pay.map((w) => w.week),
                cashShares,
                true,
                'of payments in cash',
              ),
              labels: pay.map((w) => w.week),
              series: [{ label: 'Cash share', values: cashShares }],
              target: 0.1,
              percent: true,
            })
          : null,
        table: {
          caption: 'Settled payments by week',
          columns: ['Week beginning', 'Payments', 'In cash', 'Cash share', 'Paid online'],
          rows: pay.map((w) => [
            w.week,
            formatValue(w.count),
            formatValue(w.cash),
            pct(share(w.cash, w.count)),
            pounds(w.online_pence),
          ]),
        },
        csv: { columns: ['week', 'count', 'cash', 'total_pence', 'online_pence'], rows: pay },
      });
    }

    // 3. Paperless
    {
      const values = paper.map((w) => w.paperless);
      const now = deps.paperlessShare ? await deps.paperlessShare(db) : null;
      const any = values.some((v) => v > 0) || Boolean(now?.paperless);
      panels.push({
        id: 'paperless',
        area: 'Digital by default',
        title: 'Residents who have gone paperless',
        headline: any
          ? `${formatValue(values.at(-1) ?? 0)} residents paperless at the end of the period${now ? ` (${pct(now.share)} of ${formatValue(now.residents)} with an account today)` : ''}`
          : 'No data yet',
        target: 'Half of residents with an account paperless',
        trend: trendOf(values, false),
        hasData: any,
        chart: any
          ? chart({
              id: 'paperless',
              title: 'Residents paperless, by week',
              description: describe(
                paper.map((w) => w.week),
                values,
                false,
                'residents paperless',
              ),
              labels: paper.map((w) => w.week),
              series: [{ label: 'Paperless residents', values }],
            })
          : null,
        table: {
          caption: 'Paperless residents at the end of each week',
          columns: ['Week beginning', 'Residents paperless'],
          rows: paper.map((w) => [w.week, formatValue(w.paperless)]),
        },
        csv: { columns: ['week', 'paperless'], rows: paper },
      });
    }

    panels.push(
      countPanel('library-bookings', 'Digital inclusion', 'Library PC and digital-skills bookings', library, {
        target: 'More bookings each quarter',
        noun: 'bookings',
      }),
      countPanel('video-consultations', 'Care closer to home', 'Video consultations', video, {
        target: 'More consultations by video each quarter',
        noun: 'video consultations',
      }),
    );

    // Council buildings on full fibre: the register holds the day each was connected, so the share
    // at the end of each week comes from those days. Buildings are counted as they are today.
    {
      const fibre = deps.fibre ? await deps.fibre(db) : null;
      const weeks = weeksFrom(mondayOf(f.from), f.to);
      const connectedBy = (day: string) => fibre?.connectedOn.filter((d) => d <= day).length ?? 0;
      const rows = weeks.map((week) => {
        const end = addDays(week, 6) < f.to ? addDays(week, 6) : f.to;
        return { week, connected: connectedBy(end), buildings: fibre?.councilBuildings ?? 0 };
      });
      const shares = rows.map((r) => share(r.connected, r.buildings));
      const any = Boolean(fibre?.councilBuildings);
      const last = rows.at(-1);
      panels.push({
        id: 'full-fibre',
        area: 'Digital inclusion',
        title: 'Council buildings on full fibre',
        headline:
          any && last
            ? `${pct(share(last.connected, last.buildings))} of ${formatValue(last.buildings)} council buildings on full fibre at the end of the period (${formatValue(last.connected)} connected)`
            : 'No data yet',
        target: 'Every council building on full fibre',
        trend: trendOf(shares, true),
        hasData: any,
        note: 'From the connectivity register; not divided by ward, service or team.',
        chart: any
          ? chart({
              id: 'full-fibre',
              title: 'Share of council buildings on full fibre, by week',
              description: describe(
                rows.map((r) => r.week),
                shares,
                true,
                'of council buildings on full fibre',
              ),
              labels: rows.map((r) => r.week),
              series: [{ label: 'Connected share', values: shares }],
              target: 1,
              percent: true,
            })
          : null,
        table: {
          caption: 'Council buildings on full fibre at the end of each week',
          columns: ['Week beginning', 'Connected', 'Council buildings', 'Share connected'],
          rows: rows.map((r) => [
            r.week,
            formatValue(r.connected),
            formatValue(r.buildings),
            pct(share(r.connected, r.buildings)),
          ]),
        },
        csv: { columns: ['week', 'connected', 'buildings'], rows },
      });
    }

    // Sensor homes and alerts handled
    {
      const raised = alerts.map((w) => w.count - w.good);
      const handled = alerts.map((w) => w.good);
      const homes = await store.sensorHomes(db, f.to);
      const totalRaised = raised.reduce((a, b) => a + b, 0);
      const totalHandled = handled.reduce((a, b) => a + b, 0);
      const any = alerts.length > 0 || homes > 0;
      panels.push({
        id: 'sensor-alerts',
        area: 'Care closer to home',
        title: 'Homes with sensors and alerts handled',
        headline: any
          ? `${formatValue(homes)} homes with sensors; ${formatValue(totalHandled)} of ${formatValue(totalRaised)} alerts handled`
          : 'No data yet',
        target: 'Every alert handled',
        trend: trendOf(
          alerts.map((w, i) => share(handled[i]!, raised[i]!)),
          true,
        ),
        hasData: any,
        chart: alerts.length
          ? chart({
              id: 'sensor-alerts',
              title: 'Alerts raised and handled, by week',
              description: `${formatValue(totalRaised)} alerts raised and ${formatValue(totalHandled)} handled over ${alerts.length} weeks.`,
              labels: alerts.map((w) => w.week),
              series: [
                { label: 'Raised', values: raised },
                { label: 'Handled', values: handled },
              ],
              kind: 'bar',
            })
          : null,
        table: {
          caption: 'Alerts by week',
          columns: ['Week beginning', 'Raised', 'Handled'],
          rows: alerts.map((w, i) => [w.week, formatValue(raised[i]!), formatValue(handled[i]!)]),
        },
        csv: {
          columns: ['week', 'raised', 'handled'],
          rows: alerts.map((w, i) => ({ week: w.week, raised: raised[i], handled: handled[i] })),
        },
      });
    }

    // Requests resolved within SLA
    {
      const shares = sla.map((w) => share(w.within, w.with_sla));
      const within = sla.reduce((a, w) => a + w.within, 0);
      const withSla = sla.reduce((a, w) => a + w.with_sla, 0);
      const resolved = sla.reduce((a, w) => a + w.resolved, 0);
      panels.push({
        id: 'sla',
        area: 'Responsive services',
        title: 'Requests resolved within their service level',
        headline: resolved
          ? `${pct(share(within, withSla))} of ${formatValue(withSla)} requests with a target were resolved within it`
          : 'No data yet',
        target: '90% resolved within target',
        trend: trendOf(shares, true),
        hasData: resolved > 0,
        chart: resolved
          ? chart({
              id: 'sla',
              title: 'Share resolved within target, by week',
              description: describe(
                sla.map((w) => w.week),
                shares,
                true,
                'resolved within target',
              ),
              labels: sla.map((w) => w.week),
              series: [{ label: 'Within target', values: shares }],
              target: 0.9,
              percent: true,
            })
          : null,
        table: {
          caption: 'Requests resolved by week',
          columns: ['Week beginning', 'Resolved', 'With a target', 'Within target', 'Share'],
          rows: sla.map((w) => [
            w.week,
            formatValue(w.resolved),
            formatValue(w.with_sla),
            formatValue(w.within),
            pct(share(w.within, w.with_sla)),
          ]),
        },
        csv: { columns: ['week', 'resolved', 'with_sla', 'within'], rows: sla },
      });
    }

    // Planning determinations within time
    {
      const shares = planning.map((w) => share(w.good, w.count));
      const decided = planning.reduce((a, w) => a + w.count, 0);
      const inTime = planning.reduce((a, w) => a + w.good, 0);
      panels.push({
        id: 'planning',
        area: 'Responsive services',
        title: 'Planning applications determined within time',
        headline: decided
          ? `${pct(share(inTime, decided))} of ${formatValue(decided)} decisions made within time`
          : 'No data yet',
        target: '90% determined within time',
        trend: trendOf(shares, true),
        hasData: decided > 0,
        chart: decided
          ? chart({
              id: 'planning',
              title: 'Share determined within time, by week',
              description: describe(
                planning.map((w) => w.week),
                shares,
                true,
                'within time',
              ),
              labels: planning.map((w) => w.week),
              series: [{ label: 'Within time', values: shares }],
              target: 0.9,
              percent: true,
            })
          : null,
        table: {
          caption: 'Decisions by week',
          columns: ['Week beginning', 'Decisions', 'Within time'],
          rows: planning.map((w) => [w.week, formatValue(w.count), formatValue(w.good)]),
        },
        csv: {
          columns: ['week', 'count', 'good'],
          rows: planning.map((w) => ({ week: w.week, count: w.count, good: w.good })),
        },
      });
    }

    panels.push(
      countPanel('consultation-responses', 'Listening to residents', 'Consultation responses', consult, {
        target: 'More responses to each consultation',
        noun: 'responses',
      }),
    );
    return panels;
  }

  /** Weekly demand per service with a 12-week forecast and its error on held-out weeks. */
  async function forecasts(f: Pick<store.Filters, 'ward' | 'team'>) {
    const rows = await store.weeklyDemand(db, f);
    const byService = new Map<string, Array<{ week: string; n: number }>>();
    for (const r of rows)
      byService.set(r.service, [...(byService.get(r.service) ?? []), { week: r.week, n: r.n }]);
    const thisWeek = mondayOf(londonDay());
    return [...byService.entries()].map(([service, points]) => {
      const history = fillWeeks(points, thisWeek);
      const result = forecastWeekly(history);
      const shown = history.slice(-26);
      const labels = [...weeksBack(thisWeek, shown.length), ...weeksAhead(thisWeek, 12)];
      return {
        service,
        ...result,
        weeksOfHistory: history.length,
        chart: renderChart({
          id: `forecast-${service}`,
          title: `Weekly requests for ${service}: the last ${shown.length} weeks and a 12-week forecast`,
          description: `Forecast by ${result.method}: about ${formatValue(result.forecast.reduce((a, b) => a + b, 0))} requests over the next 12 weeks.`,
          labels,
          series: [
            { label: 'Requests', values: [...shown, ...Array(12).fill(null)] },
            { label: 'Forecast', values: [...Array(shown.length).fill(null), ...result.forecast] },
          ],
        }),
        futureWeeks: weeksAhead(thisWeek, 12),
      };
    });
  }

  /** The open cases of a team: how old they are, their SLA risk and who holds them. */
  async function teamDashboard(team: string | null, now = new Date()) {
    const open = await store.openCases(db, team);
    const workers = deps.caseWorkers ? await deps.caseWorkers(db) : [];
    const names = new Map(workers.map((w) => [w.id, w.name]));
    const ages = [
      { label: 'Under 3 days', max: 3 },
      { label: '3 to 7 days', max: 8 },
      { label: '8 to 14 days', max: 15 },
      { label: '15 to 30 days', max: 31 },
      { label: 'Over 30 days', max: Infinity },
    ].map((b) => ({ ...b, count: 0 }));
    const risk = { breached: 0, at_risk: 0, on_track: 0, none: 0 };
    const workload = new Map<string, { name: string; open: number; breached: number; atRisk: number }>();
    for (const c of open) {
      const days = (now.getTime() - c.created_at.getTime()) / 86_400_000;
      ages.find((b) => days < b.max)!.count++;
      const state = slaRisk(c.created_at, c.sla_due_at, now);
      risk[state]++;
      const key = c.assigned_to ?? '';
      const w = workload.get(key) ?? {
        name: c.assigned_to ? (names.get(c.assigned_to) ?? 'Former colleague') : 'Unassigned',
        open: 0,
        breached: 0,
        atRisk: 0,
      };
      w.open++;
      if (state === 'breached') w.breached++;
      if (state === 'at_risk') w.atRisk++;
      workload.set(key, w);
    }
    const soonest = open
      .filter((c) => c.sla_due_at)
      .sort((a, b) => a.sla_due_at!.getTime() - b.sla_due_at!.getTime())
      .slice(0, 10);
    return {
      open: open.length,
      ages,
      risk,
      workload: [...workload.values()].sort((a, b) => b.open - a.open),
      soonest,
      chart: renderChart({
        id: 'ageing',
        title: 'Open cases by age',
        description: ages.map((a) => `${a.label}: ${a.count}`).join('; '),
        labels: ages.map((a) => a.label),
        series: [{ label: 'Open cases', values: ages.map((a) => a.count) }],
        kind: 'bar',
      }),
    };
  }

  return {
    load,
    /** Empties the warehouse and loads it again from every event. */
    async rebuild(actor: Actor) {
      await store.resetWarehouse(db);
      const loaded = await load();
      await recordAudit(db, { actor, action: 'insights.rebuilt', detail: { events: loaded.events } });
      return loaded;
    },
    /** Recomputes the daily rollups from the facts (the facts stay as they are). */
    rebuildRollups: () => store.rebuildRollups(db),
    state: async () => ({ sources: await store.loadState(db), gaps: await store.pendingGaps(db) }),
    measures,
    forecasts,
    teamDashboard,
    filterChoices: () => store.filterChoices(db),
    eventTypes: (f: store.Filters) => store.eventTypes(db, f),
    signIns: (f: store.Filters) => store.signIns(db, f),
    tableRows: (table: store.FactTable, options?: { limit?: number; offset?: number }) =>
      store.tableRows(db, table, options),
    tableColumns: (table: store.FactTable) => store.tableColumns(db, table),
    factTables: Object.keys(store.factKeys) as store.FactTable[],

    /** Runs an analyst's query: checked, read-only, limited in time, cost and rows. */
    async runQuery(query: string, actor: Actor) {
      const checked = checkQuery(query, await store.foreignNames(db));
      if (!checked.ok) return { ok: false as const, message: checked.message };
      try {
        const result = await runAsReader(checked.query);
        await recordAudit(db, {
          actor,
          action: 'insights.query_run',
          detail: { length: query.length, rows: result.rows.length },
        });
        return { ok: true as const, ...result, rowLimit: settings.rowLimit };
      } catch (error) {
        return { ok: false as const, message: explain(error) };
      }
    },
    /** The explorer's own connection as the reader role (null on PGlite, or where not permitted). */
    explorerConnection,
    async close() {
      const open = await reader;
      reader = null;
      await open?.close();
    },
    savedQueries: () => store.savedQueries(db),
    findSavedQuery: (id: string) => store.findSavedQuery(db, id),
    async saveQuery(
      input: { title: string; query: string; chart: string | null },
      actor: Actor & { id: string },
    ) {
      return db.transaction().execute(async (tx) => {
        const saved = await store.saveQuery(tx, { ...input, createdBy: actor.id });
        await recordAudit(tx, {
          actor,
          action: 'insights.query_saved',
          subjectType: 'insights_query',
          subjectId: saved.id,
          detail: { title: input.title },
        });
        return saved;
      });
    },

    /** Recomputes the published datasets from the warehouse (a job does this every hour). */
    async refreshOpenData() {
      await load();
      const services = deps.services ? await deps.services() : [];
      const datasets: Record<string, unknown[]> = {
        'service-requests': await store.openServiceRequests(db),
        'planning-applications': await store.openPlanningApplications(db),
        services: services.map((s) => ({
          slug: s.slug,
          title: s.title,
          team: s.team,
          topic: s.topic,
          fee_pence: s.feePence,
        })),
        // Without the council's ward list, the wards seen in requests (codes only).
        locations: deps.wards
          ? deps.wards.map((w) => ({
              ward_code: w.code,
              ward_name: w.name,
              latitude: w.centre?.[1] ?? null,
              longitude: w.centre?.[0] ?? null,
            }))
          : (await store.filterChoices(db)).wards.map((code) => ({
              ward_code: code,
              ward_name: null,
              latitude: null,
              longitude: null,
            })),
      };
      for (const [slug, rows] of Object.entries(datasets)) await store.saveOpenData(db, slug, rows);
    },
    openData: (slug: string) => store.findOpenData(db, slug),
    listOpenData: () => store.listOpenData(db),
  };
}

export type InsightsService = ReturnType<typeof createInsightsService>;

function explain(error: unknown): string {
  if (error instanceof store.QueryTooCostly)
    return 'The query would read too much of the warehouse: add a WHERE condition or aggregate more';
  const message = String((error as { message?: string }).message ?? error);
  if (/statement timeout|canceling statement/i.test(message))
    return 'The query took too long and was stopped';
  if (/permission denied/i.test(message)) return 'Queries may only read the analytics tables';
  if (/read-only transaction/i.test(message)) return 'The explorer only reads';
  // PostgreSQL's own message about the SQL (a syntax error, an unknown column) helps the analyst.
  return `The database could not run the query: ${message.split('\n')[0]}`;
}

function slaRisk(created: Date, due: Date | null, now: Date): 'breached' | 'at_risk' | 'on_track' | 'none' {
  if (!due) return 'none';
  if (now > due) return 'breached';
  const slack = Math.max((due.getTime() - created.getTime()) / 5, 4 * 3_600_000);
  return due.getTime() - now.getTime() <= slack ? 'at_risk' : 'on_track';
}

function describe(labels: string[], values: Array<number | null>, percent: boolean, noun: string): string {
  if (labels.length === 0) return 'No data.';
  const first = values.find((v) => v !== null) ?? null;
  const last = [...values].reverse().find((v) => v !== null) ?? null;
  return `${labels.length} weeks from ${labels[0]} to ${labels.at(-1)}: ${formatValue(first, percent)} ${noun} in the first week, ${formatValue(last, percent)} in the last.`;
}

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

export function mondayOf(day: string): string {
  const d = new Date(`${day}T00:00:00Z`);
  const back = (d.getUTCDay() + 6) % 7;
  return new Date(d.getTime() - back * 86_400_000).toISOString().slice(0, 10);
}

function addDays(day: string, n: number): string {
  return new Date(new Date(`${day}T00:00:00Z`).getTime() + n * 86_400_000).toISOString().slice(0, 10);
}

/** Mondays from `monday` up to and including the week of `until` (at most ten years of them). */
function weeksFrom(monday: string, until: string): string[] {
  const out: string[] = [];
  for (let w = monday; w <= until && out.length < 530; w = addDays(w, 7)) out.push(w);
  return out;
}

function weeksBack(monday: string, n: number): string[] {
  const base = new Date(`${monday}T00:00:00Z`).getTime();
  return Array.from({ length: n }, (_, i) =>
    new Date(base - (n - 1 - i) * 7 * 86_400_000).toISOString().slice(0, 10),
  );
}

function weeksAhead(monday: string, n: number): string[] {
  const base = new Date(`${monday}T00:00:00Z`).getTime();
  return Array.from({ length: n }, (_, i) =>
    new Date(base + (i + 1) * 7 * 86_400_000).toISOString().slice(0, 10),
  );
}
