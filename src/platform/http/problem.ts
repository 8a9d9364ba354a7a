import type { FastifyReply } from 'fastify';
import type { ZodError } from 'zod';

/** One invalid field, as RFC 9457 extension member `errors` lists them. */
export interface FieldProblem {
  /** JSON Pointer to the field in the request body (or query), e.g. "/answers/email". */
  pointer: string;
  detail: string;
}

export interface Problem {
  type?: string;
  title: string;
  status: number;
  detail?: string;
  instance?: string;
  errors?: FieldProblem[];
  [extension: string]: unknown;
}

/** Sends an RFC 9457 problem document. */
export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  return reply
    .code(problem.status)
    .type('application/problem+json; charset=utf-8')
    .send({ type: 'about:blank', instance: reply.request.url, ...problem });
}

/** Turns zod's issues into problem `errors`, one per invalid field. */
export function fieldProblems(error: ZodError, root = ''): FieldProblem[] {
  return error.issues.map((issue) => ({
    pointer: `${root}/${issue.path.map((p) => String(p).replace(/~/g, '~0').replace(/\//g, '~1')).join('/')}`,
    detail: issue.message,
  }));
}

/** A 400 problem listing every invalid field. */
export function sendValidationProblem(reply: FastifyReply, errors: FieldProblem[]): FastifyReply {
  return sendProblem(reply, {
    type: 'https://kiln.example/problems/validation',
    title: 'Your request is not valid',
    status: 400,
    detail: `${errors.length} field${errors.length === 1 ? ' is' : 's are'} not valid`,
    errors,
  });
}

/** Whether a path is served as an API (problem+json errors) rather than as pages. */
export function isApiPath(url: string): boolean {
  return /^\/(api|open311|fhir)(\/|$)/.test(url);
}
