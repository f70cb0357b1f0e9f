import type { Readable } from 'node:stream';
import {
  STATION_CALLS,
  STATION_REFUSALS,
  StationError,
  type StationCallAnswer,
  type StationCallArgs,
  type StationCallName,
  type StationCalls,
} from '../protocol/index.js';
import { HistoryInputError } from '../history/index.js';

/**
 * The station's side of the API table: every call's arguments checked against the table's tuple at the
 * boundary (for both transports: the HTTP server turns a request into these arguments, the Electron main
 * process receives them over IPC), then handed to its handler.
 */

/** A handler answers what the table says; the CSV export answers the CSV itself, each transport delivers it. */
type HandlerAnswer<K extends StationCallName> = StationCalls[K]['answer'] extends { kind: 'download' } ? Readable : StationCallAnswer<K>;

export type StationHandlers = {
  [K in StationCallName]: (...args: StationCallArgs<K>) => HandlerAnswer<K> | Promise<HandlerAnswer<K>>;
};

/** The names of a call's arguments as an operator reads them in a refusal (from where HTTP carries them). */
function argName(name: StationCallName, index: number): string {
  const a = STATION_CALLS[name].http.args[index];
  if (!a) return `argument ${index}`;
  return a.in === 'param' ? a.name : a.in === 'query' ? 'query' : 'key' in a ? a.key : 'body';
}

export function parseCallArgs<K extends StationCallName>(name: K, raw: readonly unknown[]): StationCallArgs<K> {
  const spec = STATION_CALLS[name];
  // Absent trailing arguments are undefined, so a default (the history query's `{}`) applies.
  const padded = Array.from({ length: spec.args.def.items.length }, (_, i) => raw[i]);
  const r = spec.args.safeParse(padded);
  if (r.success) return r.data as StationCallArgs<K>;
  const issue = r.error.issues[0];
  const [index, ...path] = issue?.path ?? [];
  const what = typeof index === 'number' ? argName(name, index) : 'arguments';
  throw new StationError(400, 'BAD_REQUEST', `${path.length ? `${what}.${path.join('.')}` : what}: ${issue?.message ?? 'invalid'}`);
}

export async function invokeCall<K extends StationCallName>(handlers: StationHandlers, name: K, raw: readonly unknown[]): Promise<HandlerAnswer<K>> {
  const args = parseCallArgs(name, raw);
  return (handlers[name] as (...a: unknown[]) => HandlerAnswer<K> | Promise<HandlerAnswer<K>>)(...args);
}

export interface Refusal {
  status: number;
  code: string;
  message: string;
}

/** Any error of a call as the `{code, message}` and status both transports answer; null for a crash. */
export function toRefusal(err: unknown): Refusal | null {
  if (err instanceof StationError) return { status: err.status, code: err.code, message: err.message };
  if (err instanceof HistoryInputError) return { status: STATION_REFUSALS.BAD_REQUEST.status, code: 'BAD_REQUEST', message: err.message };
  // The authority's own refusal, passed on with its code (an upstream failure for this station: 502).
  const upstream = err as { name?: string; code?: unknown; message?: unknown };
  if (upstream?.name === 'AuthorityRequestError') return { status: STATION_REFUSALS.CLOUD_UNREACHABLE.status, code: typeof upstream.code === 'string' ? upstream.code : 'CLOUD_UNREACHABLE', message: String(upstream.message) };
  return null;
}
