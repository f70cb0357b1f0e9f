import { composeStation, type RunningStation } from './compose-station.js';
import { configFromArgv } from './station-config.js';

export { START_USAGE, StartUsageError } from './station-config.js';
export type { RunningStation } from './compose-station.js';

/**
 * `unbind start`: the main job. The station, and unless told otherwise the embedded authority with its
 * demo world and a virtual bench of cameras looking at the codes this station shows. The flags become a
 * checked config (station-config.ts); composeStation builds the same services the Electron app gets.
 */
export async function startStation(argv: string[], out?: (line: string) => void): Promise<RunningStation> {
  return composeStation(configFromArgv(argv), out);
}
