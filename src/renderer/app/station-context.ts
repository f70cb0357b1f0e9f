import { inject, type App, type InjectionKey } from 'vue';
import type { StationApi } from '../../protocol/station-api.js';

/** The little of Web Storage the stores need; `window.localStorage` fits, and so does a Map-backed fake. */
export interface KeyValueStorage {
  getItem(key: string): string | null;
  setItem(key: string, value: string): void;
}

export interface StationContext {
  api: StationApi;
  storage: KeyValueStorage;
}

const STATION_CONTEXT: InjectionKey<StationContext> = Symbol('station-context');

/**
 * Provides the station API (and storage) to the app; setup stores reach it with `inject` because Pinia
 * runs them inside the app's context. Call it after `app.use(pinia)`, before the first store is used.
 */
export function provideStationContext(app: App, ctx: StationContext): void {
  app.provide(STATION_CONTEXT, ctx);
}

export function useStationContext(): StationContext {
  const ctx = inject(STATION_CONTEXT, null);
  if (!ctx) throw new Error('no station context: call provideStationContext(app, …) and app.use(pinia) before using a store');
  return ctx;
}

export function useStationApi(): StationApi {
  return useStationContext().api;
}
