import type { StationEvent, StationEventDraft } from '../protocol/index.js';

/** Fans station events out to every open UI stream (browser SSE or Electron window). */
export interface EventHub {
  emit(e: StationEventDraft): void;
  subscribe(fn: (e: StationEvent) => void): () => void;
}

/** `complete` fills in what a draft event lacks (a result's tally and code) before any UI sees it. */
export function createEventHub(complete: (e: StationEventDraft) => StationEvent = (e) => e as StationEvent): EventHub {
  const subs = new Set<(e: StationEvent) => void>();
  return {
    emit(draft) {
      if (subs.size === 0) return;
      const e = complete(draft);
      for (const fn of subs) fn(e);
    },
    subscribe(fn) {
      subs.add(fn);
      return () => subs.delete(fn);
    },
  };
}
