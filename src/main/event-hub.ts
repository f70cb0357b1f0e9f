import type { StationEvent } from '../protocol/index.js';

/** Fans station events out to every open UI stream (browser SSE or Electron window). */
export interface EventHub {
  emit(e: StationEvent): void;
  subscribe(fn: (e: StationEvent) => void): () => void;
}

export function createEventHub(): EventHub {
  const subs = new Set<(e: StationEvent) => void>();
  return {
    emit(e) {
      for (const fn of subs) fn(e);
    },
    subscribe(fn) {
      subs.add(fn);
      return () => subs.delete(fn);
    },
  };
}
