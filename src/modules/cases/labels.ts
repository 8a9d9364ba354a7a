import type { CaseStatus, Channel } from './schema.ts';
import type { SlaState } from './sla.ts';

/** Case statuses in the words staff and residents read. */
export const statusLabels: Record<CaseStatus, string> = {
  received: 'Received',
  in_progress: 'In progress',
  waiting_for_customer: 'Waiting for customer',
  resolved: 'Resolved',
  closed: 'Closed',
};

export const channelLabels: Record<Channel, string> = {
  web: 'Online',
  app: 'App',
  chatbot: 'Chat',
  sms: 'Text message',
  voice: 'Automated phone line',
  phone: 'Phone',
  face_to_face: 'Face to face',
  email: 'Email',
  letter: 'Letter',
  api: 'Partner system',
};

/** SLA states as GOV.UK tags: breached is red, so it stands out in a queue. */
export const slaTags: Record<SlaState, { text: string; classes: string }> = {
  on_track: { text: 'On track', classes: 'govuk-tag--green' },
  at_risk: { text: 'At risk', classes: 'govuk-tag--yellow' },
  breached: { text: 'Breached', classes: 'govuk-tag--red kiln-tag-sla-breached' },
  met: { text: 'Met', classes: 'govuk-tag--grey' },
  none: { text: 'No target', classes: 'govuk-tag--grey' },
};

export const statusTagClasses: Record<CaseStatus, string> = {
  received: '',
  in_progress: 'govuk-tag--teal',
  waiting_for_customer: 'govuk-tag--orange',
  resolved: 'govuk-tag--green',
  closed: 'govuk-tag--grey',
};

/** Channels an agent can record for assisted digital contact. */
export const assistedChannels = ['phone', 'face_to_face', 'email', 'letter'] as const;
export type AssistedChannel = (typeof assistedChannels)[number];

export const assistedChannelLabels: Record<AssistedChannel, string> = {
  phone: 'by phone',
  face_to_face: 'face to face',
  email: 'by email',
  letter: 'by letter',
};
