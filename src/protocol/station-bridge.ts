import type { StationApi, StationError, StationEvent } from './station-api.js';

/**
 * What the Electron preload exposes as `window.unbindStation` (contextBridge), one named function per
 * StationApi method: the preload and the renderer both import this type, and neither imports the other.
 * Types only: the preload must not pull runtime code from here.
 *
 * Each call answers an envelope instead of rejecting, because a rejection crossing `ipcRenderer.invoke`
 * keeps only a message string: the `{code, message}` of a refusal would be lost.
 */
export type BridgeResult<T> = { ok: true; value: T } | { ok: false; error: StationError };

/** The StationApi methods that are plain calls (everything but `subscribe`). */
export type StationCallName = Exclude<keyof StationApi, 'subscribe'>;

export type StationBridgeCalls = {
  [K in StationCallName]: (...args: Parameters<StationApi[K]>) => Promise<BridgeResult<Awaited<ReturnType<StationApi[K]>>>>;
};

export interface StationBridge extends StationBridgeCalls {
  /** Registers a listener for station events; returns the function that removes it. */
  onEvent(listener: (event: StationEvent) => void): () => void;
}

/** Suggested IPC channel names, `station:<method>` for calls and `station:event` for events. */
export type StationIpcChannel = `station:${StationCallName}` | 'station:event';
