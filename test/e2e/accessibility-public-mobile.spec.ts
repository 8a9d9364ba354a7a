import { publicPagesPassAxe } from './support/public-pages.ts';

// At 360px, the way most residents arrive: without JavaScript and with it.
publicPagesPassAxe([
  { viewport: 'mobile', javaScript: false },
  { viewport: 'mobile', javaScript: true },
]);
