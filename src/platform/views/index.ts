import { createHash } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import nunjucks from 'nunjucks';
import { formatLondon } from '../time.ts';

export { formatLondon };

const here = dirname(fileURLToPath(import.meta.url));
// The project folder (where package.json and node_modules are), from src/ or from a build in dist/.
export const rootDir = findProjectRoot(here);
export const govukDir = join(rootDir, 'node_modules/govuk-frontend/dist');
export const platformAssetsDir = join(here, 'assets');
const cacheDir = join(rootDir, '.cache/assets');

export interface ViewOptions {
  councilName: string;
  demoMode: boolean;
  /** Re-read templates on every render (development). */
  watch?: boolean;
}

function findProjectRoot(start: string): string {
  let dir = start;
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw new Error(`No package.json above ${start}`);
    dir = parent;
  }
  return dir;
}

/** The Nunjucks environment: platform templates, every module's templates, and GOV.UK Frontend. */
export function createViews(options: ViewOptions): nunjucks.Environment {
  const env = new nunjucks.Environment(
    new nunjucks.FileSystemLoader([join(here, 'templates'), resolve(here, '../../modules'), govukDir], {
      noCache: options.watch ?? false,
    }),
    { autoescape: true, throwOnUndefined: false },
  );
  env.addGlobal('councilName', options.councilName);
  env.addGlobal('demoMode', options.demoMode);
  // The GOV.UK errorMessage option for one field, or undefined when the field is valid.
  env.addGlobal('errorFor', (errors: unknown, field: string) => {
    if (!Array.isArray(errors)) return undefined;
    const found = errors.find((e: { field?: string }) => e.field === field) as { text: string } | undefined;
    return found ? { text: found.text } : undefined;
  });
  env.addFilter('londonDateTime', (value: unknown) => formatLondon(value, true));
  env.addFilter('londonDate', (value: unknown) => formatLondon(value, false));
  env.addFilter('pounds', (pence: unknown) =>
    typeof pence === 'number' ? `£${(pence / 100).toFixed(2)}` : '',
  );
  // Nunjucks' own trim runs /^\s*|\s*$/g, which rescans every run of whitespace; GOV.UK templates
  // trim whole blocks of HTML on every page, where that regex cost a fifth of the render time.
  env.addFilter('trim', (value: { trim(): string }) => {
    const trimmed = value.trim();
    return value instanceof nunjucks.runtime.SafeString ? new nunjucks.runtime.SafeString(trimmed) : trimmed;
  });
  registerGovukMacros(env);
  return env;
}

interface ExportingTemplate {
  getExported(cb: (error: Error | null, exported: Record<string, unknown>) => void): void;
}

/**
 * Every GOV.UK Frontend macro (govukInput, govukRadios, …) as a global, imported once at start.
 * Importing them with `{% from %}` in the layout re-ran each import on every render, half of a
 * page's render time. A macro keeps no state between calls, so one instance serves every page.
 */
function registerGovukMacros(env: nunjucks.Environment): void {
  const componentsDir = join(govukDir, 'govuk/components');
  for (const component of readdirSync(componentsDir)) {
    if (!existsSync(join(componentsDir, component, 'macro.njk'))) continue;
    const template = env.getTemplate(
      `govuk/components/${component}/macro.njk`,
    ) as unknown as ExportingTemplate;
    let loaded = false;
    template.getExported((error, exported) => {
      if (error) throw error;
      for (const [name, macro] of Object.entries(exported)) env.addGlobal(name, macro);
      loaded = true;
    });
    // Templates load synchronously from disk, so the callback has run by now.
    if (!loaded) throw new Error(`GOV.UK macro ${component} did not load`);
  }
}

/** The hash of GOV.UK Frontend's one inline script, so the CSP can allow it and nothing else inline. */
export function govukInlineScriptHash(): string {
  const template = readFileSync(join(govukDir, 'govuk/template.njk'), 'utf8');
  const match = template.match(/<script[^>]*>([^<]+)<\/script>/);
  if (!match?.[1]) throw new Error('GOV.UK Frontend template has no inline script to hash');
  return `'sha256-${createHash('sha256').update(match[1]).digest('base64')}'`;
}

/**
 * Compiles the stylesheet once per change of its sources (or of GOV.UK Frontend) and caches it.
 * Returns the file's path. Written to a temporary name and renamed, so parallel starts are safe.
 */
export async function buildStylesheet(): Promise<string> {
  const sources = [join(platformAssetsDir, 'kiln.scss'), join(govukDir, '../package.json')];
  const modulesDir = resolve(here, '../../modules');
  for (const mod of existsSync(modulesDir) ? readdirSync(modulesDir) : []) {
    const file = join(modulesDir, mod, 'views/module.scss');
    if (existsSync(file)) sources.push(file);
  }
  const hash = createHash('sha256');
  for (const file of sources) hash.update(readFileSync(file));
  const target = join(cacheDir, `kiln-${hash.digest('hex').slice(0, 12)}.css`);
  if (existsSync(target) && statSync(target).size > 0) return target;
  const sass = await import('sass');
  const moduleImports = sources
    .slice(2)
    .map((file) => `@import "${file.replace(/\\/g, '/')}";`)
    .join('\n');
  const entry = readFileSync(sources[0]!, 'utf8') + '\n' + moduleImports;
  const result = await sass.compileStringAsync(entry, {
    loadPaths: [govukDir, platformAssetsDir],
    style: 'compressed',
    quietDeps: true,
    silenceDeprecations: ['import', 'global-builtin', 'mixed-decls', 'color-functions'],
    logger: { warn: () => {} },
  });
  mkdirSync(cacheDir, { recursive: true });
  const temp = `${target}.${process.pid}.tmp`;
  writeFileSync(temp, result.css);
  renameSync(temp, target);
  return target;
}
