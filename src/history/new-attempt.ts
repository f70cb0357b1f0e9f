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

/** What callers pass: nullable fields may be omitted. */
export type NewAttempt = z.input<typeof newAttemptSchema>;
/** What the store writes: every field present. */
export type ValidAttempt = z.output<typeof newAttemptSchema>;

/** The fields in the schema's order, each with its own schema. */
const FIELDS = Object.entries(newAttemptSchema.shape) as Array<[keyof ValidAttempt, z.ZodType]>;
const KNOWN_KEYS: ReadonlySet<string> = new Set(FIELDS.map(([k]) => k));
/**
 * Fields whose values repeat from row to row (a batch's station, operator, account, method, batch,
 * product, token; the result and code): each remembers the values it accepted, with what it made of
 * them (a label trimmed), so a repeat is not checked again. The time, device, serial and seq are new
 * in every row and are checked every time. Bounded: far more values than a station uses at once.
 */
const REPEATING: ReadonlySet<string> = new Set(['stationId', 'operator', 'accountId', 'method', 'batchId', 'pid', 'result', 'code', 'tokenId']);
const ACCEPTED_MAX = 256;
const accepted = new Map<string, Map<unknown, unknown>>([...REPEATING].map((k) => [k, new Map()]));

/**
 * The schema's answer for an attempt it accepts, reached field by field with each field's own schema
 * (the object's strictness and the failure rule checked here as the schema does): null whenever
 * anything is off, and the caller then asks the whole schema, for its verdict and its words. A
 * property test holds this to the whole schema. (Whole, the object schema cost about 0.1–0.3 ms a row
 * on the station's code paths, which run too seldom for V8 to optimise zod's.)
 */
function acceptedAttempt(input: unknown): ValidAttempt | null {
  if (typeof input !== 'object' || input === null || Array.isArray(input)) return null;
  // As zod's strict object: every enumerable key, inherited ones too.
  for (const k in input) if (!KNOWN_KEYS.has(k)) return null;
  const raw = input as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const [k, schema] of FIELDS) {
    const v = raw[k];
    const memo = accepted.get(k);
    if (memo?.has(v)) {
      out[k] = memo.get(v);
      continue;
    }
    const r = schema.safeParse(v);
    if (!r.success) return null;
    out[k] = r.data;
    if (memo && (v === null || typeof v !== 'object')) {
      if (memo.size >= ACCEPTED_MAX) memo.clear();
      memo.set(v, r.data);
    }
  }
  const a = out as ValidAttempt;
  return failureHasCode(a) ? a : null;
}

export function parseAttempt(input: unknown, where = 'attempt'): ValidAttempt {
  const quick = acceptedAttempt(input);
  if (quick) return quick;
  const r = newAttemptSchema.safeParse(input);
  if (!r.success) throw new HistoryInputError('INVALID_ATTEMPT', `${where} rejected: ${describeIssues(r.error.issues)}`, r.error.issues);
  return r.data;
}

/** All or nothing: one bad row rejects the whole list before anything is written. */
export function parseAttempts(input: unknown): ValidAttempt[] {
  if (!Array.isArray(input)) throw new HistoryInputError('INVALID_ATTEMPT', 'attempts rejected: expected an array');
  return input.map((a, i) => parseAttempt(a, `attempts[${i}]`));
}
