import { EventEmitter } from 'node:events';
import type { DeviceResult } from '../protocol/index.js';

/** In-process fan-out of device results to the event streams watching a token. */
export interface TokenEvents {
  publish(tokenId: string, result: DeviceResult, exhausted: boolean): void;
  subscribe(tokenId: string, onResult: (r: DeviceResult, exhausted: boolean) => void): () => void;
}

export function createTokenEvents(): TokenEvents {
  const bus = new EventEmitter();
  bus.setMaxListeners(0); // one listener per open stream; streams are bounded by the HTTP server
  return {
    publish(tokenId, result, exhausted) {
      bus.emit(tokenId, result, exhausted);
    },
    subscribe(tokenId, onResult) {
      bus.on(tokenId, onResult);
      return () => bus.off(tokenId, onResult);
    },
  };
}
