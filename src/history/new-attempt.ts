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

/** The fields a batch's attempts share (who, where, which batch): checked once for a list that shares them. */
const commonShape = {
  stationId: label(64),
  operator: label(64),
  accountId: urlSafeId,
  method: historyMethodSchema,
  batchId: urlSafeId.nullable().default(null),
};
/** Each attempt's own fields. */
const ownShape = {
  /** Unix time in ms of the result. */
  at: z.number().int().min(0).max(8.64e15),
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
};
// A failure always says why. Other results may carry a code as a flag: a device unbound although it
// is outside the batch's manifest is UNBOUND with SERIAL_MISMATCH (the authority already acted).
const failureHasCode = (a: { result: string; code: string | null }): boolean => a.result !== 'FAILED' || a.code !== null;
const failureHasCodeIssue = { path: ['code'], message: 'a FAILED attempt needs a failure code' };

/**
 * One unbind attempt as the station reports it. Strict: an unknown key (a `wifiPassword`, a full
 * `token`) is refused rather than silently dropped, so a caller that means to store it finds out.
 */
export const newAttemptSchema = z
  .strictObject({ at: ownShape.at, ...commonShape, pid: ownShape.pid, devId: ownShape.devId, serial: ownShape.serial, result: ownShape.result, code: ownShape.code, tokenId: ownShape.tokenId, seq: ownShape.seq })
  .refine(failureHasCode, failureHasCodeIssue);

/** The shared fields alone, and the rest with the same strictness (the shared keys admitted, checked by the first). */
const commonSchema = z.object(commonShape);
const ownSchema = z
  .strictObject({ ...ownShape, stationId: z.unknown(), operator: z.unknown(), accountId: z.unknown(), method: z.unknown(), batchId: z.unknown() })
  .refine(failureHasCode, failureHasCodeIssue);
const COMMON_KEYS = Object.keys(commonShape) as Array<keyof typeof commonShape>;

/** What callers pass: nullable fields may be omitted. */
export type NewAttempt = z.input<typeof newAttemptSchema>;
/** What the store writes: every field present. */
export type ValidAttempt = z.output<typeof newAttemptSchema>;

export function parseAttempt(input: unknown, where = 'attempt'): ValidAttempt {
  const r = newAttemptSchema.safeParse(input);
  if (!r.success) throw new HistoryInputError('INVALID_ATTEMPT', `${where} rejected: ${describeIssues(r.error.issues)}`, r.error.issues);
  return r.data;
}

/**
 * All or nothing: one bad row rejects the whole list before anything is written. A batch's results
 * share station, operator, account, method and batch: when every row holds the very same values for
 * them, they are checked once for the list and each row's own fields with the same rules (the same
 * answer as checking every row whole, at less than half the cost); a row that fails is checked whole
 * again, so that its error reads as it always did.
 */
export function parseAttempts(input: unknown): ValidAttempt[] {
  if (!Array.isArray(input)) throw new HistoryInputError('INVALID_ATTEMPT', 'attempts rejected: expected an array');
  const first: unknown = input[0];
  const shared =
    input.length > 1 &&
    typeof first === 'object' &&
    first !== null &&
    input.every((a: unknown) => typeof a === 'object' && a !== null && COMMON_KEYS.every((k) => (a as Record<string, unknown>)[k] === (first as Record<string, unknown>)[k]));
  const common = shared ? commonSchema.safeParse(first) : null;
  if (!common?.success) return input.map((a, i) => parseAttempt(a, `attempts[${i}]`));
  const c = common.data;
  return input.map((a, i) => {
    const own = ownSchema.safeParse(a);
    if (!own.success) return parseAttempt(a, `attempts[${i}]`);
    const o = own.data;
    return { at: o.at, stationId: c.stationId, operator: c.operator, accountId: c.accountId, method: c.method, batchId: c.batchId, pid: o.pid, devId: o.devId, serial: o.serial, result: o.result, code: o.code, tokenId: o.tokenId, seq: o.seq };
  });
}
