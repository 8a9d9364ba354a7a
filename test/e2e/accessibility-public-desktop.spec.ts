import { publicPagesPassAxe } from './support/public-pages.ts';

publicPagesPassAxe([{ viewport: 'desktop', javaScript: true }]);
