import type { z } from 'zod';
import { stationEventSchema, type AnswerSpec, type StationEvent } from '../../protocol/station-api.js';
import { StationApiError } from './station-api-error.js';

/**
 * Where answers cross into the renderer (both transports): checked against the API table's answer
 * schemas instead of cast. Unknown keys are dropped.
 */

/** Checks an answer against its schema; a mismatch is the station breaking the contract. */
export function parseView<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : 'answer';
  throw new StationApiError('BAD_ANSWER', `The station's answer to ${what} does not match the contract (${where}: ${issue?.message ?? 'invalid'}).`);
}

/** A text answer is passed through as it is (a QR image, a print sheet); only its kind is checked. */
export function checkAnswer(answer: AnswerSpec<unknown>, value: unknown, what: string): unknown {
  if (answer.kind === 'none') return undefined;
  if (typeof value !== 'string') throw new StationApiError('BAD_ANSWER', `The station's answer to ${what} is not text.`);
  return value;
}

export type EventParse = { ok: true; event: StationEvent } | { ok: false; reason: string };

/** A pushed event, checked: its `type` must be known and its payload well-formed. */
export function parseStationEvent(data: unknown): EventParse {
  const r = stationEventSchema.safeParse(data);
  if (r.success) return { ok: true, event: r.data };
  const issue = r.error.issues[0];
  return { ok: false, reason: `${issue?.path.join('.') || 'event'}: ${issue?.message ?? 'invalid'}` };
}
