import type { StationApi, StationCallName, StationError, StationEvent } from './station-api.js';

/**
 * What the Electron preload exposes as `window.unbindStation` (contextBridge), one named function per
 * entry of the station API table: the preload and the renderer both import this type, and neither
 * imports the other. Types only: the preload must not pull runtime code from here.
 *
 * Each call answers an envelope instead of rejecting, because a rejection crossing `ipcRenderer.invoke`
 * keeps only a message string: the `{code, message}` of a refusal would be lost.
 */
export type BridgeResult<T> = { ok: true; value: T } | { ok: false; error: StationError };

export type { StationCallName } from './station-api.js';

export type StationBridgeCalls = {
  [K in StationCallName]: (...args: Parameters<StationApi[K]>) => Promise<BridgeResult<Awaited<ReturnType<StationApi[K]>>>>;
};

export interface StationBridge extends StationBridgeCalls {
  /** Registers a listener for station events; returns the function that removes it. */
  onEvent(listener: (event: StationEvent) => void): () => void;
}

/** The IPC channel of a call, and the one of events. */
export type StationIpcChannel = `station:${StationCallName}` | 'station:event';
export const stationCallChannel = <K extends StationCallName>(name: K): `station:${K}` => `station:${name}`;
export const STATION_EVENT_CHANNEL = 'station:event';
