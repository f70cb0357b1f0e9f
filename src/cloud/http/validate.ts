import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { z } from 'zod';
import { AuthorityError } from '../errors.js';

declare module 'fastify' {
  interface FastifyRequest {
    /** Why the body could not be read (not JSON, not UTF-8, another content type), thrown once the request is authenticated. */
    bodyRefusal: AuthorityError | null;
  }
  interface FastifyContextConfig {
    /** The query a route takes (its keys are the parameters it knows); a route that names none takes no query. */
    query?: z.ZodObject;
  }
}

/** `what.field: what is wrong`, from the first issue of a failed parse. */
export function describeFirstIssue(error: z.ZodError, what: string): string {
  const issue = error.issues[0];
  const field = issue?.path.length ? `${what}.${issue.path.join('.')}` : what;
  return `${field}: ${issue?.message ?? 'invalid'}`;
}

/** Parses input at the HTTP boundary; a mismatch is a 400 naming the field and what is wrong. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  throw new AuthorityError(400, 'BAD_REQUEST', describeFirstIssue(r.error, what));
}

/** A 400 UNKNOWN_QUERY_PARAMETER naming the first query parameter the route does not know. */
export async function refuseUnknownQuery(req: FastifyRequest): Promise<void> {
  const known = Object.keys(req.routeOptions.config.query?.shape ?? {});
  const unknown = Object.keys((req.query ?? {}) as object).find((name) => !known.includes(name));
  if (unknown === undefined) return;
  const takes = known.length ? `this route takes only ${known.join(', ')}` : 'this route takes no query';
  throw new AuthorityError(400, 'UNKNOWN_QUERY_PARAMETER', `query parameter ${JSON.stringify(unknown)} is unknown: ${takes}`);
}

/** The body parser's refusal, if it had one. */
export async function refuseUnreadBody(req: FastifyRequest): Promise<void> {
  if (req.bodyRefusal) throw req.bodyRefusal;
}

/**
 * Every route registered after this call, in any plugin, refuses a body that did not parse and query
 * parameters it does not know. Added as the route's last preHandlers, so both come after the station
 * API's signature check: an unsigned request is told 401 before anything about its input.
 */
export function checkInputOnEveryRoute(app: FastifyInstance): void {
  app.decorateRequest('bodyRefusal', null);
  app.addHook('onRoute', (route) => {
    const own = route.preHandler === undefined ? [] : Array.isArray(route.preHandler) ? route.preHandler : [route.preHandler];
    route.preHandler = [...own, refuseUnreadBody, refuseUnknownQuery];
  });
}
