import { STATION_CALL_NAMES, STATION_CALLS, type CallSpec, type StationApi, type StationCallName } from '../../protocol/station-api.js';
import type { BridgeResult, StationBridge } from '../../protocol/station-bridge.js';
import { StationApiError } from './station-api-error.js';
import { checkAnswer, parseStationEvent, parseView } from './station-views.js';

/**
 * The Electron transport: StationApi over the preload's `window.unbindStation` bridge, one function per
 * entry of the API table. What crosses the process boundary is checked with the table's answer schemas,
 * as the web transport's answers are.
 */
export function createIpcStationApi(bridge: StationBridge, warn: (message: string) => void = (m) => console.warn(m)): StationApi {
  async function invoke(name: StationCallName, args: unknown[]): Promise<unknown> {
    const fn = bridge[name] as (...a: unknown[]) => Promise<BridgeResult<unknown>>;
    const r = await fn(...args);
    if (!r.ok) throw new StationApiError(r.error.code, r.error.message);
    const answer: CallSpec['answer'] = STATION_CALLS[name].answer;
    return answer.kind === 'json' || answer.kind === 'download' ? parseView(answer.schema, r.value, name) : checkAnswer(answer, r.value, name);
  }

  const calls = Object.fromEntries(STATION_CALL_NAMES.map((name) => [name, (...args: unknown[]) => invoke(name, args)]));
  return {
    ...(calls as Omit<StationApi, 'subscribe'>),
    subscribe: (onEvent) =>
      bridge.onEvent((raw) => {
        const parsed = parseStationEvent(raw);
        if (parsed.ok) onEvent(parsed.event);
        else warn(`station event ignored: ${parsed.reason}`);
      }),
  };
}
