import { NotifyClient } from 'notifications-node-client';

export interface OutgoingMessage {
  id: string;
  channel: 'email' | 'sms';
  recipient: string;
  template: string;
  personalisation: Record<string, string>;
  subject: string | null;
  body: string;
}

/** Where messages leave Kiln. */
export interface NotifyAdapter {
  name: string;
  send(message: OutgoingMessage): Promise<{ providerReference: string }>;
}

/**
 * The default: nothing leaves the machine. The stored message is the delivery; staff read it in
 * the outbox and, in demo mode, residents read theirs in the demo inbox.
 */
export function sandboxAdapter(): NotifyAdapter {
  return { name: 'sandbox', send: async (message) => ({ providerReference: `sandbox-${message.id}` }) };
}

/** GOV.UK Notify: each Kiln template maps to a Notify template whose fields are ((subject)) and ((body)). */
export function govukNotifyAdapter(apiKey: string, templateIds: Record<string, string>): NotifyAdapter {
  const client = new NotifyClient(apiKey);
  return {
    name: 'govuk-notify',
    async send(message) {
      const templateId = templateIds[message.template] ?? templateIds[`default-${message.channel}`];
      if (!templateId) throw new Error(`No GOV.UK Notify template id for ${message.template}`);
      const personalisation = {
        ...message.personalisation,
        subject: message.subject ?? '',
        body: message.body,
      };
      const options = { personalisation, reference: message.id };
      const response =
        message.channel === 'email'
          ? await client.sendEmail(templateId, message.recipient, options)
          : await client.sendSms(templateId, message.recipient, options);
      return { providerReference: String((response as { data?: { id?: string } }).data?.id ?? message.id) };
    },
  };
}
