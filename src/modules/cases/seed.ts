import { systemActor, type Actor } from '../../platform/actor.ts';
import type { Platform } from '../../platform/module.ts';
import type { CaseStatus, Channel } from './schema.ts';
import type { CasesService } from './service.ts';
import { slaDueAt, type SlaTarget } from './sla.ts';
import * as store from './store.ts';

// Demo services by literal slug, title, team and target: the same as the catalogue's demo services.
// Street problems appear twice so the streets team, where the demo officer works, has a full queue.
interface DemoService {
  slug: string;
  title: string;
  teamCode: string;
  sla: SlaTarget;
  examples: Array<{ summary: string; answers: Record<string, { question: string; answer: string }> }>;
}

const q = (question: string, answer: string) => ({ question, answer });

const services: DemoService[] = [
  {
    slug: 'report-a-street-problem',
    title: 'Report a street problem',
    teamCode: 'streets',
    sla: { value: 5, unit: 'working_days' },
    examples: [
      {
        summary: 'Pothole – Kiln Street, outside number 14',
        answers: {
          problem: q('What is the problem?', 'Pothole'),
          location: q('Where is it?', 'Kiln Street, Kilnford, outside number 14'),
          details: q('Tell us more', 'About 30cm across and deep enough to damage a wheel.'),
        },
      },
      {
        summary: 'Fly-tipping – Clay Pit Road',
        answers: {
          problem: q('What is the problem?', 'Fly-tipping'),
          location: q('Where is it?', 'Clay Pit Road, Kilnford, by the gate to the allotments'),
          details: q('Tell us more', 'A mattress and about six black bags.'),
        },
      },
      {
        summary: 'Street light not working – Saggar Row',
        answers: {
          problem: q('What is the problem?', 'Street light not working'),
          location: q('Where is it?', 'Saggar Row, Kilnford, lamp post 7'),
          details: q('Tell us more', 'Off for three nights now.'),
        },
      },
      {
        summary: 'Graffiti – Glaze Bridge underpass',
        answers: {
          problem: q('What is the problem?', 'Graffiti'),
          location: q('Where is it?', 'Glaze Bridge underpass, Kilnford'),
          details: q('Tell us more', 'Offensive words on the north wall.'),
        },
      },
    ],
  },
  {
    slug: 'missed-bin-collection',
    title: 'Report a missed bin collection',
    teamCode: 'waste',
    sla: { value: 2, unit: 'working_days' },
    examples: [
      {
        summary: 'Recycling bin missed – 12 Bottle Kiln Lane',
        answers: {
          bin: q('Which bin was missed?', 'Recycling (blue lid)'),
          address: q('Address', '12 Bottle Kiln Lane, Kilnford KF1 2AB'),
          out: q('Was the bin out by 7am?', 'Yes'),
        },
      },
      {
        summary: 'General waste missed – 3 Flint Close',
        answers: {
          bin: q('Which bin was missed?', 'General waste (black lid)'),
          address: q('Address', '3 Flint Close, Kilnford KF2 4PL'),
          out: q('Was the bin out by 7am?', 'Yes'),
        },
      },
    ],
  },
  {
    slug: 'report-a-street-problem',
    title: 'Report a street problem',
    teamCode: 'streets',
    sla: { value: 5, unit: 'working_days' },
    examples: [
      {
        summary: 'Broken paving slab – Marl Lane',
        answers: {
          problem: q('What is the problem?', 'Broken paving'),
          location: q('Where is it?', 'Marl Lane, Kilnford, by the bus stop'),
          details: q('Tell us more', 'A raised slab someone could trip on.'),
        },
      },
      {
        summary: 'Builders’ rubble dumped – Potters Way',
        answers: {
          problem: q('What is the problem?', 'Fly-tipping'),
          location: q('Where is it?', 'Potters Way, Kilnford, lay-by'),
          details: q('Tell us more', 'Rubble and plasterboard.'),
        },
      },
    ],
  },
  {
    slug: 'apply-for-a-garden-waste-permit',
    title: 'Apply for a garden waste permit',
    teamCode: 'waste',
    sla: { value: 10, unit: 'working_days' },
    examples: [
      {
        summary: 'One bin – 27 Throwers Row',
        answers: {
          bins: q('How many bins?', '1'),
          address: q('Address', '27 Throwers Row, Kilnford KF3 1QT'),
        },
      },
    ],
  },
  {
    slug: 'request-a-council-tax-single-person-discount',
    title: 'Apply for a council tax single person discount',
    teamCode: 'revenues',
    sla: { value: 10, unit: 'working_days' },
    examples: [
      {
        summary: 'Living alone since 1 October',
        answers: {
          account: q('Council tax account number', '40012345'),
          since: q('When did you start living alone?', '1 October 2026'),
        },
      },
    ],
  },
  {
    slug: 'report-a-housing-repair',
    title: 'Report a repair to your council home',
    teamCode: 'housing',
    sla: { value: 20, unit: 'working_days' },
    examples: [
      {
        summary: 'Leaking kitchen tap – Flat 4, Kiln Court',
        answers: {
          repair: q('What needs repairing?', 'Kitchen tap leaking constantly'),
          address: q('Address', 'Flat 4, Kiln Court, Kilnford KF1 3DD'),
          access: q('When can we get in?', 'Weekday mornings'),
        },
      },
      {
        summary: 'Front door will not lock – 9 Slip Street',
        answers: {
          repair: q('What needs repairing?', 'Front door lock broken'),
          address: q('Address', '9 Slip Street, Kilnford KF2 8RR'),
          access: q('When can we get in?', 'Any time'),
        },
      },
    ],
  },
  {
    slug: 'ask-for-an-adult-social-care-assessment',
    title: 'Ask for an adult social care assessment',
    teamCode: 'adult-social-care',
    sla: { value: 10, unit: 'working_days' },
    examples: [
      {
        summary: 'Help at home after a fall',
        answers: {
          who: q('Who needs support?', 'My father'),
          needs: q('What help is needed?', 'Help getting washed and dressed after a fall in September'),
        },
      },
    ],
  },
  {
    slug: 'apply-for-a-street-trading-licence',
    title: 'Apply for a street trading licence',
    teamCode: 'business',
    sla: { value: 28, unit: 'working_days' },
    examples: [
      {
        summary: 'Coffee cart – Market Square, weekends',
        answers: {
          trade: q('What will you sell?', 'Hot drinks and pastries from a cart'),
          pitch: q('Where?', 'Market Square, Kilnford'),
          days: q('Which days?', 'Saturdays and Sundays'),
        },
      },
    ],
  },
];

const channelsCycle: Channel[] = [
  'web',
  'web',
  'phone',
  'app',
  'web',
  'email',
  'face_to_face',
  'chatbot',
  'web',
  'letter',
];
// Hours ago each case arrived: a spread from this morning to a few weeks back.
const ages = [1, 3, 6, 20, 26, 30, 47, 52, 70, 75, 96, 120, 150, 170, 200, 260, 320, 400, 500, 650];
// What has happened to each case since, in turn.
const journeys: Array<CaseStatus | 'new-assigned' | 'noted'> = [
  'received',
  'new-assigned',
  'in_progress',
  'received',
  'waiting_for_customer',
  'in_progress',
  'noted',
  'resolved',
  'received',
  'in_progress',
  'closed',
  'new-assigned',
  'resolved',
  'received',
];

const demoResidents = [
  {
    name: 'Morgan Fenwick',
    email: 'morgan.fenwick@example.com',
    phone: '07700 900456',
    address: '3 Flint Close, Kilnford KF2 4PL',
  },
  {
    name: 'Bernadette Lyle',
    email: null,
    phone: '01632 960 118',
    address: 'Flat 4, Kiln Court, Kilnford KF1 3DD',
  },
  { name: 'Idris Parry', email: 'idris.parry@example.com', phone: null, address: null },
];

/**
 * About forty demo cases across teams, statuses, channels and SLA states, some for the demo
 * resident. Built through the cases service (then dated back), and skipped when cases exist.
 */
export async function seedDemoCases(platform: Platform, cases: CasesService, count = 40): Promise<number> {
  const { db } = platform;
  if ((await store.countCases(db)) > 0) return 0;
  return db.transaction().execute(async (tx) => {
    const resident = await store.findResidentByEmail(tx, 'resident@kilnford.example');
    const staff = await store.listActiveStaff(tx);
    const officer = staff.find((s) => s.email === 'officer@kilnford.example');
    const lead = staff.find((s) => s.email === 'lead@kilnford.example');
    const others = [];
    for (const r of demoResidents) {
      others.push(
        (await store.findResidentByEmail(tx, r.email ?? '')) ??
          (await cases.createResident(tx, { ...r, actor: systemActor })),
      );
    }
    const now = Date.now();
    for (let i = 0; i < count; i++) {
      const service = services[i % services.length]!;
      const example = service.examples[Math.floor(i / services.length) % service.examples.length]!;
      const channel = channelsCycle[i % channelsCycle.length]!;
      const residentId =
        i % 4 === 0 ? (resident?.id ?? null) : i % 4 === 1 ? others[i % others.length]!.id : null;
      const staffChannel = ['phone', 'face_to_face', 'email', 'letter'].includes(channel);
      const actor: Actor =
        staffChannel && lead
          ? { type: 'staff', id: lead.id }
          : residentId
            ? { type: 'resident', id: residentId }
            : { type: 'resident', id: null };
      const created = await cases.createCase(tx, {
        service: {
          slug: service.slug,
          title: service.title,
          version: 1,
          teamCode: service.teamCode,
          sla: service.sla,
        },
        residentId,
        channel,
        answers: example.answers,
        summary: example.summary,
        idempotencyKey: `demo-case-${i}`,
        actor,
        contactEmail: residentId ? null : `reporter${i}@example.com`,
      });
      const receivedAt = new Date(now - ages[i % ages.length]! * 3_600_000 - i * 60_000);
      await store.backdateCase(tx, created.id, receivedAt, slaDueAt(receivedAt, service.sla));
      const journey = journeys[i % journeys.length]!;
      const worker = i % 3 === 0 ? lead : officer;
      const by: Actor = { type: 'staff', id: worker?.id ?? null };
      if (journey === 'received') continue;
      if (worker) await cases.assign(tx, { caseId: created.id, assigneeId: worker.id, actor: by });
      if (journey === 'noted') {
        await cases.addNote(tx, {
          caseId: created.id,
          body: 'Checked the site photos; needs a crew visit.',
          actor: by,
        });
      }
      if (['in_progress', 'waiting_for_customer', 'resolved', 'closed', 'noted'].includes(journey)) {
        await cases.changeStatus(tx, { caseId: created.id, status: 'in_progress', actor: by });
      }
      if (journey === 'waiting_for_customer') {
        await cases.changeStatus(tx, { caseId: created.id, status: 'waiting_for_customer', actor: by });
        await cases.postPublicUpdate(tx, {
          caseId: created.id,
          message:
            'Could you tell us the nearest house number or landmark? We could not find the exact spot.',
          actor: by,
        });
      }
      if (journey === 'resolved') {
        await cases.postPublicUpdate(tx, {
          caseId: created.id,
          message: 'A crew has been out and the work is done.',
          actor: by,
        });
        await cases.changeStatus(tx, {
          caseId: created.id,
          status: 'resolved',
          reason: 'Work completed on site',
          actor: by,
        });
      }
      if (journey === 'closed') {
        await cases.changeStatus(tx, {
          caseId: created.id,
          status: 'closed',
          reason: 'Duplicate of an earlier report',
          actor: by,
        });
      }
      // Things happened a while after the case arrived, not all this minute.
      const age = now - receivedAt.getTime();
      await store.backdateLatestChanges(
        tx,
        created.id,
        new Date(receivedAt.getTime() + Math.min(age * 0.4, 48 * 3_600_000)),
      );
    }
    return count;
  });
}
