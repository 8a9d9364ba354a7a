/**
 * What the assistant knows without the catalogue: questions and answers from the council's
 * content, small talk, and the ways residents ask for the things it does itself. A council edits
 * this file like any other content; every answer that has a page links to it.
 */

export interface Answer {
  intent: string;
  examples: string[];
  text: string;
  link?: { href: string; text: string };
}

/** Questions answered from content, each with a link to read more. */
export const contentAnswers: Answer[] = [
  {
    intent: 'faq.opening_hours',
    examples: [
      'what are your opening hours',
      'when is the civic centre open',
      'what time do you open',
      'what time does the council office close',
      'are you open on saturday',
      'opening times',
      'when can I visit the council offices',
      'is the tip open today',
      'what time does the recycling centre shut',
      'library opening hours',
      'when does the library open',
      'are you open bank holidays',
    ],
    text:
      'The Civic Centre, Market Square, is open Monday to Friday, 9am to 5pm. Libraries are open Monday to Saturday, 9am to 6pm. ' +
      'The household waste recycling centre on Furnace Road is open every day, 8am to 6pm, except Christmas Day, Boxing Day and New Year’s Day.',
    link: { href: '/services', text: 'Council services online, open all day' },
  },
  {
    intent: 'faq.council_tax',
    examples: [
      'how do I pay my council tax',
      'council tax payment',
      'what band is my house',
      'how much is council tax',
      'can I pay council tax by direct debit',
      'I cannot afford my council tax',
      'council tax bill',
      'help paying council tax',
      'council tax reduction',
      'when is my council tax due',
    ],
    text:
      'You can pay council tax by Direct Debit, online by card, or at any PayPoint with the barcode on your bill. ' +
      'If you live alone you can ask for a 25% single person discount, and if you are struggling to pay, contact us early: we can spread the payments.',
    link: { href: '/services#council-tax', text: 'Council tax services' },
  },
  {
    intent: 'faq.contact',
    examples: [
      'what is your phone number',
      'how do I contact the council',
      'can I email you',
      'what is the council address',
      'how can I get in touch',
      'contact details',
      'phone number for the council',
      'where are your offices',
      'emergency out of hours number',
    ],
    text: 'Call us on 01632 960 000 (Monday to Friday, 8:30am to 5pm; emergencies at any time), or write to Kilnford City Council, Civic Centre, Market Square, Kilnford KF1 1CC.',
    link: { href: '/services', text: 'Do it online' },
  },
  {
    intent: 'faq.recycling',
    examples: [
      'what can I put in my recycling bin',
      'what goes in the blue bin',
      'can I recycle plastic bags',
      'which bin does glass go in',
      'where do I put food waste',
      'can pizza boxes be recycled',
      'what goes in the black bin',
      'how do I recycle batteries',
    ],
    text:
      'Blue bin: paper, card, cans, plastic bottles, pots, tubs and trays. Glass box: glass bottles and jars. Food caddy: all food waste. ' +
      'Black bin: everything else that cannot be recycled. Take batteries, electricals and plastic bags to the recycling centre on Furnace Road.',
    link: { href: '/services#bins-and-recycling', text: 'Bins and recycling' },
  },
];

/** Small talk: a short, friendly answer and back to what it can do. */
export const smallTalk: Answer[] = [
  {
    intent: 'smalltalk.greet',
    examples: [
      'hello',
      'hi',
      'hiya',
      'good morning',
      'good afternoon',
      'hey there',
      'alright',
      'hi bot',
      'evening',
    ],
    text: 'Hello. I am the Kilnford City Council assistant. I can report a pothole, tell you your bin day, check a request, book a bulky waste collection or start any of our services. What do you need?',
  },
  {
    intent: 'smalltalk.thanks',
    examples: [
      'thanks',
      'thank you',
      'cheers',
      'ta',
      'thanks a lot',
      'thank you very much',
      'brilliant thanks',
      'great, thanks',
    ],
    text: 'You are welcome. Is there anything else I can help with?',
  },
  {
    intent: 'smalltalk.bye',
    examples: [
      'bye',
      'goodbye',
      'see you',
      'that is all',
      'nothing else',
      'no that is everything',
      'ta ra',
      'cheerio',
    ],
    text: 'Goodbye. You can come back any time.',
  },
  {
    intent: 'smalltalk.help',
    examples: [
      'what can you do',
      'help',
      'what can I ask you',
      'how does this work',
      'what do you do',
      'menu',
      'options',
      'what are you for',
    ],
    text: 'I can report a pothole or other street problem, tell you your bin collection day, book a bulky waste collection, check the progress of a request, answer questions about opening hours, council tax and recycling, start any of our online services, or put you through to a person.',
  },
  {
    intent: 'smalltalk.bot',
    examples: [
      'are you a robot',
      'am I talking to a real person',
      'are you human',
      'who are you',
      'is this a bot',
      'what is your name',
    ],
    text: 'I am the council’s automated assistant, not a person. Say “talk to a person” at any time to reach an adviser.',
  },
  {
    intent: 'smalltalk.how_are_you',
    examples: ['how are you', 'how are you doing', 'you alright', 'how is it going', 'how are things'],
    text: 'I am fine, thank you. What can I help you with today?',
  },
];

/** The things the assistant does itself, with the ways residents ask for them. */
export const taskIntents: Array<{ intent: string; examples: string[] }> = [
  {
    intent: 'bins.day',
    examples: [
      'when is my bin collection',
      'what day are my bins collected',
      'when do the bins go out',
      'bin day',
      'which day is bin day',
      'when is the recycling collected',
      'when will my black bin be emptied',
      'what day is my blue bin',
      'next bin collection',
      'when are the bins picked up on my street',
      'is it recycling week',
      'bin collection day for my address',
      'when do you collect the rubbish',
      'when is the garden waste collected',
      'which bin goes out this week',
    ],
  },
  {
    intent: 'bulky.book',
    examples: [
      'book a bulky waste collection',
      'I need a sofa collected',
      'can you take away an old fridge',
      'collect my old mattress',
      'bulky item collection',
      'get rid of a wardrobe',
      'how do I dispose of a large item of furniture',
      'pick up an old washing machine',
      'large item collection',
      'book a collection for a bed',
      'remove old furniture from my house',
    ],
  },
  {
    intent: 'case.status',
    examples: [
      'what is happening with my request',
      'check the status of my report',
      'any update on my complaint',
      'track my request',
      'I reported something last week, what is happening',
      'has my pothole report been fixed',
      'where is my case up to',
      'progress of my request',
      'I have a reference number',
      'status of KLN-ABCD-EF',
      'update on my reference',
      'is my request done yet',
    ],
  },
  {
    intent: 'agent.handover',
    examples: [
      'talk to a person',
      'speak to someone',
      'can I speak to a human',
      'I want a real person',
      'put me through to an adviser',
      'agent please',
      'speak to customer services',
      'let me talk to somebody',
      'connect me to an operator',
      'human',
      'I need to speak to someone about my problem',
      'this is not helping, get me a person',
    ],
  },
];

/** Extra ways of asking for the demo council's catalogue services, by slug (the catalogue gives titles and summaries). */
export const serviceExamples: Record<string, string[]> = {
  'missed-bin-collection': [
    'my bin was not emptied',
    'you missed my bin',
    'bin men did not collect my rubbish',
    'the recycling was not collected today',
    'my bin has been missed',
    'bins were not picked up',
  ],
  'apply-for-a-garden-waste-permit': [
    'I want a garden waste bin',
    'sign up for garden waste collection',
    'brown bin subscription',
    'garden waste permit',
    'pay for green waste collection',
  ],
  'request-a-council-tax-single-person-discount': [
    'I live on my own, can I get a discount',
    'single person discount',
    'I live alone, council tax discount',
    'claim 25 percent off council tax',
    'my partner moved out, can I pay less council tax',
  ],
  'report-a-housing-repair': [
    'my council house needs a repair',
    'the boiler in my council flat is broken',
    'report a leak in my council home',
    'my tenancy property has damp',
    'broken window in my council house',
    'repair for my flat',
  ],
  'join-the-library': [
    'how do I join the library',
    'get a library card',
    'become a library member',
    'sign up for the library',
    'borrow books',
  ],
  'ask-for-an-adult-social-care-assessment': [
    'my mum needs help at home',
    'care assessment for my dad',
    'I need support with daily living',
    'help for an elderly relative',
    'social care needs assessment',
    'I am a carer and need support',
  ],
  'ask-for-pre-application-planning-advice': [
    'planning advice before I apply',
    'do I need planning permission for an extension',
    'pre application advice',
    'talk to a planner about building work',
    'can I build a conservatory',
  ],
  'apply-for-a-street-trading-licence': [
    'street trading licence',
    'I want to sell food from a van',
    'licence for a market stall',
    'permission to trade on the street',
    'run a burger van in town',
  ],
};

/** Ways of reporting each street problem (Report it's categories), beyond its name and keywords. */
export const reportExamples: Record<string, string[]> = {
  pothole: [
    'there is a pothole in the road',
    'report a pothole',
    'big hole in the road',
    'the road surface is broken',
    'pothole outside my house',
    'damaged road surface',
    'a crater in the street',
    'hole in the pavement',
    'my car hit a pothole',
    'the tarmac is breaking up',
  ],
  graffiti: [
    'someone has sprayed graffiti on a wall',
    'report graffiti',
    'vandalism spray paint on the bus shelter',
    'tagging on the fence',
  ],
  'fly-tipping': [
    'someone has dumped rubbish',
    'report fly tipping',
    'there is a mattress dumped in the lane',
    'bags of rubbish left on the street',
    'illegal dumping',
  ],
  'street-light': [
    'the street light is not working',
    'lamp post is broken',
    'street lamp flickering',
    'the light outside my house is out',
    'street light on all day',
  ],
  'dog-fouling': [
    'dog mess on the pavement',
    'report dog fouling',
    'dog poo in the park',
    'someone did not pick up after their dog',
  ],
  'abandoned-vehicle': [
    'there is an abandoned car',
    'a car has been left on my street for weeks',
    'untaxed vehicle abandoned',
    'report an abandoned vehicle',
  ],
  'blocked-drain': [
    'the drain is blocked',
    'blocked gully',
    'water not draining from the road',
    'flooding from a drain',
    'drain overflowing',
  ],
};

/** What residents ask that the council's assistant cannot help with: taught so it knows when it does not know. */
export const outOfScopeExamples = [
  'what is the weather tomorrow',
  'tell me a joke',
  'who won the football',
  'what is the capital of france',
  'order me a pizza',
  'play some music',
  'how tall is mount everest',
  'what is the meaning of life',
  'book me a taxi',
  'what films are on at the cinema',
  'how do I cook pasta',
  'translate hello into spanish',
  'what is the bitcoin price',
  'recommend a good restaurant',
  'set an alarm for 7am',
  'what is two plus two',
  'who is the prime minister',
  'write me a poem',
  'can you do my homework',
  'when does the next train to london leave',
  'I want to buy a car',
  'what is my horoscope',
  'how do I fix my laptop',
  'where can I buy cheap flights',
];

/** The council's contact centre: the hours advisers answer chats and what residents can do otherwise. */
export const outOfHoursText =
  'Our advisers are not available right now. They answer chats Monday to Friday, 8:30am to 5pm. ' +
  'You can still report a problem, check your bin day or start a service with me now, or do it online at any time. ' +
  'If someone is in danger or there is an emergency such as a dangerous road or a gas smell, call 01632 960 000 at any time.';
