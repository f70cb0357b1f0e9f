import type { z } from 'zod';
import { AuthorityError } from '../errors.js';

/** Parses input at the HTTP boundary; a mismatch is a 400 naming the field and what is wrong. */
export function parseOr400<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue?.path.length ? `${what}.${issue.path.join('.')}` : what;
  throw new AuthorityError(400, 'BAD_REQUEST', `${field}: ${issue?.message ?? 'invalid'}`);
}
