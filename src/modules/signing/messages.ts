import type { Notify } from '../../platform/notify/index.ts';

/** The emails and text messages Kiln Sign sends. */
export function defineSigningMessages(notify: Notify): void {
  notify.defineTemplate('signing-invitation', {
    subject: 'Please sign: ((title))',
    body:
      'Dear ((name)),\n\n((council)) has sent you a document to sign online: ((title)) (reference ((reference))).\n\n' +
      'Open this link to read and sign it: ((link))\n\n' +
      'The link works once and expires on ((expires)). We will send you a security code to confirm it is you.',
  });
  notify.defineTemplate('signing-code', {
    subject: 'Your security code',
    body: 'Your ((council)) security code to sign a document is ((code)). It expires in ((minutes)) minutes. Do not share it.',
  });
  notify.defineTemplate('signing-completed', {
    subject: 'Signed and sealed: ((title))',
    body:
      'Dear ((name)),\n\nEveryone has signed ((title)) (reference ((reference))). ' +
      'Download your sealed copy: ((link))\n\nKeep it safe: it is your copy of the signed agreement.',
  });
  notify.defineTemplate('letter-delivered', {
    subject: 'You have a new document: ((title))',
    body: '((council)) has sent ((title)) to your account. Read it here: ((link))',
  });
}
