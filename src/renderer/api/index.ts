import type { StationApi } from '../../protocol/station-api.js';
import type { StationBridge } from '../../protocol/station-bridge.js';
import { createHttpStationApi, type OpenEventStream } from './http-station-api.js';
import { createIpcStationApi } from './ipc-station-api.js';

export { StationApiError, toStationError } from './station-api-error.js';

export type StationTransport = 'ipc' | 'http';

/** EventSource reconnects by itself after a drop; the station's messages are unnamed `data:` lines. */
const openEventSource: OpenEventStream = (url, onData) => {
  const source = new EventSource(url);
  source.onmessage = (ev: MessageEvent<unknown>) => {
    if (typeof ev.data === 'string') onData(ev.data);
  };
  return () => source.close();
};

/**
 * Picks the transport once, at start: inside Electron the preload exposes `window.unbindStation`;
 * in a browser there is none and the station's own web server answers on the page's origin.
 */
export function createStationApi(host: { unbindStation?: StationBridge; fetch: typeof fetch }): { api: StationApi; transport: StationTransport } {
  if (host.unbindStation) return { api: createIpcStationApi(host.unbindStation), transport: 'ipc' };
  return { api: createHttpStationApi({ fetch: (input, init) => host.fetch(input, init), openEventStream: openEventSource }), transport: 'http' };
}
