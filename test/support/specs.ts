import { resolve } from 'node:path';

/** The published schemas and corpora kept beside the repository, in ../shared/specs. */
export const specsDir = resolve(import.meta.dirname, '../../../shared/specs');
