import type { z } from 'zod';
import { STATION_HTTP, type HistoryQuery, type StationApi, type StationEvent } from '../../protocol/station-api.js';
import { StationApiError } from './station-api-error.js';
import {
  batchPlanSchema,
  batchSummariesSchema,
  batchViewSchema,
  benchSchema,
  dashboardViewSchema,
  historyPageSchema,
  historyStatsSchema,
  lanDevicesSchema,
  parseStationEvent,
  parseView,
  serialStatusViewSchema,
  sessionViewSchema,
} from './station-views.js';

/**
 * The web transport: StationApi over the STATION_HTTP route table, JSON bodies, and server-sent events
 * on /api/events. Same-origin only: the station authenticates the page with an HttpOnly cookie, so
 * requests carry `credentials: 'same-origin'` and nothing else.
 */

type RouteName = keyof typeof STATION_HTTP;

/** Opens an event stream and hands each message's data to `onData`; returns the function that closes it. */
export type OpenEventStream = (url: string, onData: (data: string) => void) => () => void;

export interface HttpStationApiOptions {
  fetch: typeof fetch;
  /** `(url, onData) => { const es = new EventSource(url); … }`: EventSource reconnects by itself. */
  openEventStream: OpenEventStream;
  /** Prefix of every route; '' (the default) is the page's own origin. */
  baseUrl?: string;
  /** Where a malformed event is reported; it is never passed on. */
  warn?: (message: string) => void;
}

/** Fixed key order, so that the same filters always give the same URL. */
const HISTORY_QUERY_KEYS = ['from', 'to', 'pid', 'result', 'code', 'operator', 'method', 'batchId', 'text', 'cursor', 'limit'] as const satisfies ReadonlyArray<keyof HistoryQuery>;

/** A HistoryQuery as a query string without the `?`; empty values are left out. */
export function historyQueryString(q: HistoryQuery): string {
  const params = new URLSearchParams();
  for (const key of HISTORY_QUERY_KEYS) {
    const v = q[key];
    if (v === undefined || v === '') continue;
    params.set(key, String(v));
  }
  return params.toString();
}

/** Fills `:id` and `:n` of a route pattern; each value is URL-encoded. */
export function routePath(route: RouteName, params: Record<string, string | number> = {}): string {
  const [, pattern] = STATION_HTTP[route];
  return pattern.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`route ${route} needs the parameter ${name}`);
    return encodeURIComponent(String(v));
  });
}

export function createHttpStationApi(opts: HttpStationApiOptions): StationApi {
  const base = opts.baseUrl ?? '';
  const warn = opts.warn ?? ((m: string) => console.warn(m));

  async function send(route: RouteName, init: { params?: Record<string, string | number>; query?: string; body?: unknown } = {}): Promise<Response> {
    const [method] = STATION_HTTP[route];
    const url = `${base}${routePath(route, init.params)}${init.query ? `?${init.query}` : ''}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    let body: string | undefined;
    if (init.body !== undefined) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(init.body);
    }
    let res: Response;
    try {
      res = await opts.fetch(url, { method, headers, body, credentials: 'same-origin' });
    } catch (err) {
      throw new StationApiError('STATION_UNREACHABLE', `The station did not answer (${err instanceof Error ? err.message : String(err)}).`);
    }
    if (!res.ok) throw await errorOf(res);
    return res;
  }

  async function call<T>(route: RouteName, schema: z.ZodType<T>, init?: Parameters<typeof send>[1]): Promise<T> {
    const res = await send(route, init);
    const text = await res.text();
    let data: unknown = null;
    if (text.length > 0) {
      try {
        data = JSON.parse(text);
      } catch {
        throw new StationApiError('BAD_ANSWER', `The station's answer to ${route} is not JSON.`, res.status);
      }
    }
    return parseView(schema, data, route);
  }

  async function callVoid(route: RouteName, init?: Parameters<typeof send>[1]): Promise<void> {
    const res = await send(route, init);
    await res.text();
  }

  return {
    getSession: () => call('getSession', sessionViewSchema),
    signIn: (req) => call('signIn', sessionViewSchema, { body: req }),
    signOut: () => call('signOut', sessionViewSchema),
    getDashboard: () => call('getDashboard', dashboardViewSchema),
    planBatch: (req) => call('planBatch', batchPlanSchema, { body: req }),
    startBatch: (req) => call('startBatch', batchViewSchema, { body: req }),
    listBatches: () => call('listBatches', batchSummariesSchema),
    getBatch: (id) => call('getBatch', batchViewSchema, { params: { id } }),
    cancelBatch: (id) => call('cancelBatch', batchViewSchema, { params: { id } }),
    scanLabel: (id, label) => call('scanLabel', batchViewSchema, { params: { id }, body: { label } }),
    unlockCodes: (id, wifi) => call('unlockCodes', batchViewSchema, { params: { id }, body: { wifi } }),
    async getCodeSvg(id, n) {
      const res = await send('getCodeSvg', { params: { id, n } });
      return res.text();
    },
    async getPrintSheet(id) {
      const res = await send('getPrintSheet', { params: { id } });
      return res.text();
    },
    showCodes: (batchId, codeIndexes) => callVoid('showCodes', { body: { batchId, codeIndexes } }),
    queryHistory: (q) => call('queryHistory', historyPageSchema, { query: historyQueryString(q) }),
    historyStats: (q) => call('historyStats', historyStatsSchema, { query: historyQueryString(q) }),
    async exportHistoryCsv(q) {
      // The browser downloads it through a link: nothing to request here. Paging does not apply to an export.
      const { cursor: _cursor, limit: _limit, ...filters } = q;
      const query = historyQueryString(filters);
      return { url: `${base}${routePath('exportHistoryCsv')}${query ? `?${query}` : ''}`, savedTo: null };
    },
    getLanDevices: () => call('getLanDevices', lanDevicesSchema),
    refreshLan: () => call('refreshLan', lanDevicesSchema),
    getSerialStatus: () => call('getSerialStatus', serialStatusViewSchema),
    setSerialSettings: (settings) => call('setSerialSettings', serialStatusViewSchema, { body: settings }),
    getBench: () => call('getBench', benchSchema),
    resetBenchDevice: (id) => callVoid('resetBenchDevice', { params: { id } }),
    subscribe(onEvent: (e: StationEvent) => void) {
      return opts.openEventStream(`${base}${routePath('subscribe')}`, (data) => {
        let json: unknown;
        try {
          json = JSON.parse(data);
        } catch {
          warn('station event ignored: not JSON');
          return;
        }
        const parsed = parseStationEvent(json);
        if (parsed.ok) onEvent(parsed.event);
        else warn(`station event ignored: ${parsed.reason}`);
      });
    },
  };
}

async function errorOf(res: Response): Promise<StationApiError> {
  const text = await res.text().catch(() => '');
  try {
    const body: unknown = JSON.parse(text);
    if (typeof body === 'object' && body !== null && 'code' in body && 'message' in body && typeof body.code === 'string' && typeof body.message === 'string') {
      return new StationApiError(body.code, body.message, res.status);
    }
  } catch {
    // Not JSON: fall through to a generic error that keeps the status.
  }
  return new StationApiError(`HTTP_${res.status}`, text.trim().slice(0, 200) || `The station answered ${res.status} ${res.statusText}.`, res.status);
}
