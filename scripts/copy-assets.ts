// After `tsc` compiles src/ into dist/src/, copies what is not TypeScript (templates, styles,
// browser scripts, images, fixtures) beside it, so `npm run start:dist` finds them.
import { cpSync } from 'node:fs';

cpSync('src', 'dist/src', { recursive: true, filter: (path) => !path.endsWith('.ts') });
