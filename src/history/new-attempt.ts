import { z } from 'zod';
import { failureCodeSchema, unbindResultSchema } from '../protocol/failure-codes.js';
import { pidSchema, serialSchema } from '../protocol/device-messages.js';
import { historyMethodSchema } from '../protocol/station-api.js';
import { TOKEN_ID_LENGTH } from '../protocol/token.js';
import { describeIssues, HistoryInputError } from './errors.js';

/** Free text a person typed (operator name) or the station configured: no control characters. */
const label = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}]*$/u, 'must not contain control characters');
const urlSafeId = z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'must be 1–64 letters, digits or _ . : -');
/**
 * Wider than the wire's devIdSchema on purpose: a device that never reported has no id from the
 * authority, and the station names it after its label (`unreported-<serial>`), so serial characters
 * and the extra length must fit.
 */
const deviceId = z.string().regex(/^[A-Za-z0-9_.:/-]{1,128}$/, 'devId must be 1–128 label characters');

/**
 * One unbind attempt as the station reports it. Strict: an unknown key (a `wifiPassword`, a full
 * `token`) is refused rather than silently dropped, so a caller that means to store it finds out.
 */
export const newAttemptSchema = z
  .strictObject({
    /** Unix time in ms of the result. */
    at: z.number().int().min(0).max(8.64e15),
    stationId: label(64),
    operator: label(64),
    accountId: urlSafeId,
    method: historyMethodSchema,
    batchId: urlSafeId.nullable().default(null),
    pid: pidSchema.nullable().default(null),
    devId: deviceId,
    serial: serialSchema.nullable().default(null),
    result: unbindResultSchema,
    code: failureCodeSchema.nullable().default(null),
    // The public id part of a token only: its exact length keeps a whole token (id + secret) out.
    tokenId: z
      .string()
      .regex(new RegExp(`^[A-Za-z0-9_-]{${TOKEN_ID_LENGTH}}$`), `tokenId must be the ${TOKEN_ID_LENGTH}-character token id, not the token`)
      .nullable()
      .default(null),
    seq: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER).nullable().default(null),
  })
  // A failure always says why. Other results may carry a code as a flag: a device unbound although it
  // is outside the batch's manifest is UNBOUND with SERIAL_MISMATCH (the authority already acted).
  .refine((a) => a.result !== 'FAILED' || a.code !== null, { path: ['code'], message: 'a FAILED attempt needs a failure code' });

/** What callers pass: nullable fields may be omitted. */
export type NewAttempt = z.input<typeof newAttemptSchema>;
/** What the store writes: every field present. */
export type ValidAttempt = z.output<typeof newAttemptSchema>;

export function parseAttempt(input: unknown, where = 'attempt'): ValidAttempt {
  const r = newAttemptSchema.safeParse(input);
  if (!r.success) throw new HistoryInputError('INVALID_ATTEMPT', `${where} rejected: ${describeIssues(r.error.issues)}`, r.error.issues);
  return r.data;
}

/** All or nothing: one bad row rejects the whole list before anything is written. */
export function parseAttempts(input: unknown): ValidAttempt[] {
  if (!Array.isArray(input)) throw new HistoryInputError('INVALID_ATTEMPT', 'attempts rejected: expected an array');
  return input.map((a, i) => parseAttempt(a, `attempts[${i}]`));
}
