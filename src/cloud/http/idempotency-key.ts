import type { FastifyRequest } from 'fastify';
import { IDEMPOTENCY_KEY_HEADER, idempotencyKeySchema } from '../../protocol/index.js';
import { AuthorityError } from '../errors.js';

/** The request's Idempotency-Key (DESIGN §4.4), if it sent one; a malformed or repeated header is refused 400. */
export function idempotencyKeyOf(req: FastifyRequest): string | null {
  const raw = req.headers[IDEMPOTENCY_KEY_HEADER];
  if (raw === undefined) return null;
  const parsed = idempotencyKeySchema.safeParse(raw);
  if (!parsed.success) throw new AuthorityError(400, 'IDEMPOTENCY_KEY_INVALID', 'Idempotency-Key must be one header of 16–64 URL-safe characters (A–Z a–z 0–9 - _)');
  return parsed.data;
}
