import type { Server } from './support/processes.ts';

export interface PageTarget {
  name: string;
  path: string;
  /** Why this path and not the intended one, when a stand-in is used. */
  note?: string;
}

const SERVICE = 'report-a-street-problem';

/**
 * The pages to measure: the home page and the first question of "Report a street problem".
 * The question's id is read from the service's start page, so the benchmark follows the form's
 * definition. Until that page exists the accessibility statement stands in for it.
 */
export async function pageTargets(server: Server): Promise<PageTarget[]> {
  const targets: PageTarget[] = [];
  if ((await status(server, '/')) === 200) targets.push({ name: 'Home page', path: '/' });
  else targets.push({ name: 'Home page', path: '/accessibility', note: '/ not served yet' });

  const question = await firstQuestionPath(server);
  if (question) targets.push({ name: 'Question page', path: question });
  else
    targets.push({
      name: 'Question page',
      path: '/accessibility',
      note: `no question page for ${SERVICE} yet: the accessibility statement stands in`,
    });
  return targets;
}

async function firstQuestionPath(server: Server): Promise<string | undefined> {
  const pattern = new RegExp(`/services/${SERVICE}/questions/[A-Za-z0-9_-]+`);
  for (const path of [`/services/${SERVICE}`, `/services/${SERVICE}/start`]) {
    const response = await fetch(server.url + path, { redirect: 'manual' });
    const location = response.headers.get('location') ?? '';
    const body = response.status === 200 ? await response.text() : '';
    const found = location.match(pattern)?.[0] ?? body.match(pattern)?.[0];
    if (found && (await status(server, found)) === 200) return found;
  }
  return undefined;
}

async function status(server: Server, path: string): Promise<number> {
  const response = await fetch(server.url + path, { redirect: 'manual' });
  await response.arrayBuffer();
  return response.status;
}
