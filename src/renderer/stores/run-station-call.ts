import type { Ref } from 'vue';
import type { StationError } from '../../protocol/station-api.js';
import { toStationError } from '../api/station-api-error.js';

export type StationCallOutcome<T> = { ok: true; value: T } | { ok: false; error: StationError };

/** The state of a store one call reports to; every part is optional. */
export interface StationCallState {
  /** True while the call runs. */
  busy?: Ref<boolean>;
  /** Cleared when the call succeeds, set to its refusal when it fails. */
  error?: Ref<StationError | null>;
  /** When it answers false once the call settled (e.g. a newer search started), the state is left as it is. */
  stillWanted?: () => boolean;
}

/**
 * Runs one station call the way every store does: busy while it runs, the error cleared on success and
 * kept (as `{code, message}`) on failure; nothing is thrown, the outcome says which it was.
 */
export async function runStationCall<T>(call: () => Promise<T>, state: StationCallState = {}): Promise<StationCallOutcome<T>> {
  const { busy, error, stillWanted = () => true } = state;
  if (busy) busy.value = true;
  let outcome: StationCallOutcome<T>;
  try {
    outcome = { ok: true, value: await call() };
  } catch (err) {
    outcome = { ok: false, error: toStationError(err) };
  }
  if (stillWanted()) {
    if (busy) busy.value = false;
    if (error) error.value = outcome.ok ? null : outcome.error;
  }
  return outcome;
}
