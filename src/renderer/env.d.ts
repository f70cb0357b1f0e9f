import type { StationBridge } from '../protocol/station-bridge.js';

declare global {
  interface Window {
    /** Exposed by the Electron preload (contextBridge); absent in a browser. */
    readonly unbindStation?: StationBridge;
  }
}
