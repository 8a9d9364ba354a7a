import { systemActor } from '../../platform/actor.ts';
import type { Question, ServiceDetails } from './definition.ts';
import type { CatalogueService } from './service.ts';

type DemoService = ServiceDetails & { questions: Question[] };

const online = [
  'web',
  'app',
  'chatbot',
  'phone',
  'face_to_face',
  'email',
  'api',
] as ServiceDetails['channels'];
const req = { required: true };
const optional = { required: false };
const contactEmail: Question = {
  id: 'email',
  type: 'email',
  label: 'What is your email address?',
  hint: 'We will send your reference and updates to this address',
  errorName: 'your email address',
  validation: req,
  contactEmail: true,
};

/** The fictional council's services, one or more per topic. */
export const demoServices: DemoService[] = [
  {
    slug: 'report-a-street-problem',
    title: 'Report a street problem',
    summary: 'Tell us about a pothole, broken street light, graffiti, fly-tipping or a blocked drain.',
    description:
      'Use this service to report a problem on a road, pavement or public space in Kilnford, such as a pothole, a street light that is not working, graffiti, fly-tipping or a blocked drain.\n\nIf the problem is dangerous, for example exposed wires or a deep hole in the road, call us on 01632 960 000 at any time.',
    topic: 'roads-and-streets',
    teamCode: 'streets',
    sla: { value: 5, unit: 'working_days' },
    feePence: null,
    channels: online,
    nextSteps:
      'An inspector will look at the problem and decide what to do. We will email you when it is fixed.',
    questions: [
      {
        id: 'problem',
        type: 'single_choice',
        label: 'What is the problem?',
        errorName: 'the problem',
        options: [
          { value: 'pothole', text: 'Pothole' },
          { value: 'street-light', text: 'Broken street light' },
          { value: 'graffiti', text: 'Graffiti' },
          { value: 'fly-tipping', text: 'Fly-tipping' },
          { value: 'blocked-drain', text: 'Blocked drain' },
          { value: 'other', text: 'Something else' },
        ],
        validation: req,
      },
      {
        id: 'pothole-depth',
        type: 'single_choice',
        label: 'How deep is the pothole?',
        errorName: 'how deep the pothole is',
        options: [
          { value: 'under-4cm', text: 'Less than 4cm (about the height of a matchbox)' },
          { value: '4-to-10cm', text: 'Between 4cm and 10cm' },
          { value: 'over-10cm', text: 'More than 10cm' },
        ],
        validation: req,
        showWhen: { question: 'problem', equals: 'pothole' },
      },
      {
        id: 'location',
        type: 'location',
        label: 'Where is the problem?',
        hint: 'Type the name of the street',
        errorName: 'the street where the problem is',
        validation: req,
      },
      {
        id: 'description',
        type: 'long_text',
        label: 'Describe the problem',
        hint: 'For example, how big it is and whether it is getting worse',
        errorName: 'a description of the problem',
        validation: { required: true, maxLength: 2000 },
      },
      {
        id: 'photo',
        type: 'file',
        label: 'Add a photo (optional)',
        hint: 'A photo helps us find and fix the problem. JPG, PNG, HEIC or PDF, smaller than 10MB.',
        errorName: 'a photo',
        validation: optional,
      },
      contactEmail,
    ],
  },
  {
    slug: 'missed-bin-collection',
    title: 'Report a missed bin collection',
    summary: 'Tell us if your bin was not emptied on your collection day.',
    description:
      'Use this service if your bin was out by 7am on your collection day and was not emptied. Report it within 2 working days of your collection day.',
    topic: 'bins-and-recycling',
    teamCode: 'waste',
    sla: { value: 2, unit: 'working_days' },
    feePence: null,
    channels: online,
    nextSteps: 'We will come back to empty your bin within 2 working days. Leave it out until then.',
    questions: [
      {
        id: 'address',
        type: 'address',
        label: 'What is the address?',
        errorName: 'the address',
        validation: req,
      },
      {
        id: 'bins',
        type: 'multiple_choice',
        label: 'Which bins were missed?',
        errorName: 'which bins were missed',
        options: [
          { value: 'general', text: 'General waste (black bin)' },
          { value: 'recycling', text: 'Recycling (blue bin)' },
          { value: 'food', text: 'Food waste (green caddy)' },
          { value: 'garden', text: 'Garden waste (brown bin)' },
        ],
        validation: req,
      },
      {
        id: 'collection-date',
        type: 'date',
        label: 'When was your collection day?',
        hint: 'For example, 27 3 2026',
        errorName: 'your collection day',
        validation: { required: true, date: 'past' },
      },
      contactEmail,
    ],
  },
  {
    slug: 'apply-for-a-garden-waste-permit',
    title: 'Apply for a garden waste permit',
    summary: 'Pay for a year of fortnightly brown bin collections for garden waste and recycling.',
    description:
      'Garden waste collections are a paid service. A permit covers one brown bin for 12 months, collected every 2 weeks from March to November.\n\nYou can get a 50% discount if you receive Council Tax Reduction.',
    topic: 'bins-and-recycling',
    teamCode: 'waste',
    sla: { value: 10, unit: 'working_days' },
    feePence: 4800,
    channels: online,
    nextSteps:
      'We will deliver your permit sticker within 10 working days. Stick it on the lid of your brown bin.',
    questions: [
      {
        id: 'address',
        type: 'address',
        label: 'What is the address?',
        errorName: 'the address',
        validation: req,
      },
      {
        id: 'bins',
        type: 'number',
        label: 'How many brown bins do you need?',
        hint: 'You can have up to 3',
        errorName: 'how many bins you need',
        validation: { required: true, min: 1, max: 3 },
      },
      {
        id: 'council-tax-reduction',
        type: 'yes_no',
        label: 'Do you receive Council Tax Reduction?',
        errorName: 'if you receive Council Tax Reduction',
        validation: req,
      },
      contactEmail,
    ],
  },
  {
    slug: 'request-a-council-tax-single-person-discount',
    title: 'Apply for a council tax single person discount',
    summary: 'Get 25% off your council tax if you are the only adult living in your home.',
    description:
      'You can get a 25% discount on your council tax bill if you are the only adult (aged 18 or over) who lives in your home.\n\nTell us within 21 days if someone aged 18 or over moves in.',
    topic: 'council-tax',
    teamCode: 'revenues',
    sla: { value: 10, unit: 'working_days' },
    feePence: null,
    channels: online,
    nextSteps: 'We will check your application and send you a new bill.',
    questions: [
      {
        id: 'account-number',
        type: 'text',
        label: 'What is your council tax account number?',
        hint: 'It is 8 digits and starts with 5. You can find it on your bill.',
        errorName: 'your council tax account number',
        validation: {
          required: true,
          pattern: {
            regex: '5\\d{7}',
            message: 'Council tax account number must be 8 digits and start with 5',
          },
        },
      },
      {
        id: 'address',
        type: 'address',
        label: 'What is the address of the property?',
        errorName: 'the address',
        validation: req,
      },
      {
        id: 'since',
        type: 'date',
        label: 'When did you start living alone?',
        errorName: 'the date you started living alone',
        validation: { required: true, date: 'past' },
      },
      contactEmail,
    ],
  },
  {
    slug: 'report-a-housing-repair',
    title: 'Report a repair to your council home',
    summary: 'Tell us about a repair needed in your council home, such as a leak or a broken boiler.',
    description:
      'Use this service if you rent your home from Kilnford City Council.\n\nFor emergencies such as no heating in winter, a gas smell or flooding, call 01632 960 111 straight away.',
    topic: 'housing',
    teamCode: 'housing',
    sla: { value: 20, unit: 'working_days' },
    feePence: null,
    channels: online,
    questions: [
      {
        id: 'address',
        type: 'address',
        label: 'What is your address?',
        errorName: 'your address',
        validation: req,
      },
      {
        id: 'room',
        type: 'single_choice',
        label: 'Where is the repair needed?',
        errorName: 'where the repair is needed',
        options: [
          { value: 'kitchen', text: 'Kitchen' },
          { value: 'bathroom', text: 'Bathroom' },
          { value: 'bedroom', text: 'Bedroom' },
          { value: 'living-room', text: 'Living room' },
          { value: 'outside', text: 'Outside' },
          { value: 'heating', text: 'Heating or hot water' },
        ],
        validation: req,
      },
      {
        id: 'description',
        type: 'long_text',
        label: 'Describe the repair',
        errorName: 'a description of the repair',
        validation: { required: true, maxLength: 2000 },
      },
      {
        id: 'phone',
        type: 'phone',
        label: 'What phone number can we call to arrange a visit?',
        errorName: 'a phone number',
        validation: req,
      },
      contactEmail,
    ],
  },
  {
    slug: 'join-the-library',
    title: 'Join the library',
    summary: 'Get a free library card to borrow books, e-books and audiobooks.',
    description:
      'Anyone who lives, works or studies in Kilnford can join the library for free. Children under 16 need a parent or carer to join for them.',
    topic: 'libraries',
    teamCode: 'libraries',
    sla: { value: 5, unit: 'working_days' },
    feePence: null,
    channels: online,
    nextSteps: 'Collect your card from any Kilnford library. Bring proof of your address.',
    questions: [
      {
        id: 'name',
        type: 'text',
        label: 'What is your full name?',
        errorName: 'your full name',
        validation: { required: true, maxLength: 200 },
      },
      {
        id: 'date-of-birth',
        type: 'date',
        label: 'What is your date of birth?',
        hint: 'For example, 27 3 2007',
        errorName: 'your date of birth',
        validation: { required: true, date: 'past' },
      },
      {
        id: 'address',
        type: 'address',
        label: 'What is your address?',
        errorName: 'your address',
        validation: req,
      },
      contactEmail,
    ],
  },
  {
    slug: 'ask-for-an-adult-social-care-assessment',
    title: 'Ask for an adult social care assessment',
    summary: 'Ask us to assess what help you, or someone you care for, need to live independently.',
    description:
      'A needs assessment looks at how you manage everyday tasks, such as washing, dressing and cooking, and what support could help. It is free.\n\nYou can ask for yourself or for someone else, with their permission.',
    topic: 'social-care',
    teamCode: 'adult-social-care',
    sla: { value: 10, unit: 'working_days' },
    feePence: null,
    channels: online,
    questions: [
      {
        id: 'for-whom',
        type: 'single_choice',
        label: 'Who is the assessment for?',
        errorName: 'who the assessment is for',
        options: [
          { value: 'me', text: 'Me' },
          { value: 'someone-else', text: 'Someone I care for' },
        ],
        validation: req,
      },
      {
        id: 'permission',
        type: 'yes_no',
        label: 'Do they know you are asking for an assessment for them?',
        errorName: 'if they know you are asking',
        validation: req,
        showWhen: { question: 'for-whom', equals: 'someone-else' },
      },
      {
        id: 'needs',
        type: 'multiple_choice',
        label: 'What do they need help with?',
        errorName: 'what help is needed',
        options: [
          { value: 'personal-care', text: 'Washing and dressing' },
          { value: 'meals', text: 'Preparing meals' },
          { value: 'mobility', text: 'Getting around the home' },
          { value: 'medication', text: 'Taking medication' },
          { value: 'other', text: 'Something else' },
        ],
        validation: req,
      },
      {
        id: 'phone',
        type: 'phone',
        label: 'What phone number can we call?',
        errorName: 'a phone number',
        validation: req,
      },
      contactEmail,
    ],
  },
  {
    slug: 'ask-for-pre-application-planning-advice',
    title: 'Ask for pre-application planning advice',
    summary: 'Get advice from a planning officer before you apply for planning permission.',
    description:
      'Pre-application advice tells you whether your plans are likely to get permission and what to change. It is for householders and small developers.',
    topic: 'planning',
    teamCode: 'planning',
    sla: { value: 20, unit: 'working_days' },
    feePence: 9000,
    channels: online,
    questions: [
      {
        id: 'site-address',
        type: 'address',
        label: 'What is the address of the site?',
        errorName: 'the address of the site',
        validation: req,
      },
      {
        id: 'proposal',
        type: 'long_text',
        label: 'Describe what you want to build or change',
        errorName: 'a description of your plans',
        validation: { required: true, minLength: 20, maxLength: 4000 },
      },
      {
        id: 'plans',
        type: 'file',
        label: 'Upload a sketch or plan (optional)',
        errorName: 'a sketch or plan',
        validation: optional,
      },
      contactEmail,
    ],
  },
  {
    slug: 'apply-for-a-street-trading-licence',
    title: 'Apply for a street trading licence',
    summary: 'Get a licence to sell goods or food from a stall or van on a Kilnford street.',
    description:
      'You need a licence to sell anything on the street in Kilnford. Licences last up to 12 months.',
    topic: 'business',
    teamCode: 'business',
    sla: { value: 28, unit: 'working_days' },
    feePence: 25000,
    channels: online,
    questions: [
      {
        id: 'business-name',
        type: 'text',
        label: 'What is the name of your business?',
        errorName: 'the name of your business',
        validation: { required: true, maxLength: 200 },
      },
      {
        id: 'goods',
        type: 'single_choice',
        label: 'What will you sell?',
        errorName: 'what you will sell',
        options: [
          { value: 'hot-food', text: 'Hot food or drink' },
          { value: 'cold-food', text: 'Cold food' },
          { value: 'goods', text: 'Goods' },
        ],
        validation: req,
      },
      {
        id: 'food-registration',
        type: 'text',
        label: 'What is your food business registration number?',
        errorName: 'your food business registration number',
        validation: req,
        showWhen: { question: 'goods', in: ['hot-food', 'cold-food'] },
      },
      {
        id: 'pitch',
        type: 'location',
        label: 'Where do you want to trade?',
        errorName: 'the street where you want to trade',
        validation: req,
      },
      {
        id: 'start',
        type: 'date',
        label: 'When do you want to start trading?',
        errorName: 'the date you want to start',
        validation: { required: true, date: 'future' },
      },
      contactEmail,
    ],
  },
];

/** Creates and publishes the demo services that are not there yet; idempotent. */
export async function seedCatalogue(catalogue: CatalogueService): Promise<number> {
  const existing = new Set((await catalogue.listForEditing()).map((s) => s.row.slug));
  let added = 0;
  for (const service of demoServices) {
    if (existing.has(service.slug)) continue;
    await catalogue.createService(service, systemActor);
    await catalogue.publish(service.slug, systemActor);
    added++;
  }
  return added;
}
