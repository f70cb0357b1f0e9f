import type { AnswerOf, ArgsOf, CallSpec } from './call-spec.js';
import { batchCalls } from './batches.js';
import { benchCalls } from './bench.js';
import { caseCalls } from './cases.js';
import type { StationEvent } from './events.js';
import { historyCalls } from './history.js';
import { lanCalls } from './lan.js';
import { serialCalls } from './serial.js';
import { sessionCalls } from './session.js';

/**
 * The station API table (DESIGN §4.11): every call the UI can make, one entry per call, a file per
 * domain. A new call is one entry here and one handler in src/main. (Room for the tickets and cases
 * domains: `tickets.ts`, `cases.ts` beside these, spread in below.)
 */
export const STATION_CALLS = {
  ...sessionCalls,
  ...batchCalls,
  ...historyCalls,
  ...lanCalls,
  ...serialCalls,
  ...benchCalls,
  ...caseCalls,
} satisfies Record<string, CallSpec>;

export type StationCalls = typeof STATION_CALLS;
export type StationCallName = keyof StationCalls;
export const STATION_CALL_NAMES = Object.keys(STATION_CALLS) as StationCallName[];

export type StationCallArgs<K extends StationCallName> = ArgsOf<StationCalls[K]>;
export type StationCallAnswer<K extends StationCallName> = AnswerOf<StationCalls[K]>;

/** The API both sides program against, derived from the table, plus the event stream. */
export type StationApi = { [K in StationCallName]: (...args: StationCallArgs<K>) => Promise<StationCallAnswer<K>> } & {
  subscribe(onEvent: (e: StationEvent) => void): () => void;
};
