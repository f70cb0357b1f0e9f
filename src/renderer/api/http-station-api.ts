import {
  STATION_CALL_NAMES,
  STATION_CALLS,
  STATION_EVENTS_PATH,
  TRANSPORT_FAILURES,
  historyQuerySchema,
  httpFailureCode,
  type CallSpec,
  type HistoryQuery,
  type StationApi,
  type StationCallName,
  type StationEvent,
} from '../../protocol/station-api.js';
import { StationApiError } from './station-api-error.js';
import { checkAnswer, parseStationEvent, parseView } from './station-views.js';

/**
 * The web transport: StationApi derived from the API table — each call's route, method and where its
 * arguments travel (path, query, JSON body) — and server-sent events on STATION_EVENTS_PATH. Same-origin
 * only: the station authenticates the page with an HttpOnly cookie, so requests carry
 * `credentials: 'same-origin'` and nothing else.
 */

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

/** An object as a query string without the `?`, keys in the given order; empty values are left out. */
function queryString(q: Record<string, unknown>, keys: readonly string[]): string {
  const params = new URLSearchParams();
  for (const key of keys) {
    const v = q[key];
    if (v === undefined || v === '' || v === null) continue;
    params.set(key, String(v));
  }
  return params.toString();
}

/** A HistoryQuery as a query string without the `?`, in the schema's key order; empty values are left out. */
export function historyQueryString(q: HistoryQuery): string {
  return queryString(q, Object.keys(historyQuerySchema.shape));
}

/** Fills the `:name` parameters of a call's route; each value is URL-encoded. */
export function routePath(route: StationCallName, params: Record<string, string | number> = {}): string {
  return fillPath(route, STATION_CALLS[route].http.path, params);
}

function fillPath(route: string, pattern: string, params: Record<string, unknown>): string {
  return pattern.replace(/:([A-Za-z]+)/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`route ${route} needs the parameter ${name}`);
    return encodeURIComponent(String(v));
  });
}

/** A call's arguments laid out as its table entry says: path parameters, query string, JSON body. */
function requestOf(name: StationCallName, spec: CallSpec, args: readonly unknown[]): { path: string; query: string; body: unknown } {
  const params: Record<string, unknown> = {};
  let query = '';
  let body: unknown;
  spec.http.args.forEach((a, i) => {
    const v = args[i];
    if (a.in === 'param') params[a.name] = v;
    else if (a.in === 'query') query = queryString((v ?? {}) as Record<string, unknown>, a.keys);
    else if ('key' in a) body = { ...(body as object | undefined), [a.key]: v };
    else body = v;
  });
  return { path: fillPath(name, spec.http.path, params), query, body };
}

export function createHttpStationApi(opts: HttpStationApiOptions): StationApi {
  const base = opts.baseUrl ?? '';
  const warn = opts.warn ?? ((m: string) => console.warn(m));

  async function send(name: StationCallName, spec: CallSpec, args: readonly unknown[]): Promise<Response> {
    const { path, query, body } = requestOf(name, spec, args);
    const url = `${base}${path}${query ? `?${query}` : ''}`;
    const headers: Record<string, string> = { accept: 'application/json' };
    let text: string | undefined;
    if (body !== undefined) {
      headers['content-type'] = 'application/json';
      text = JSON.stringify(body);
    }
    let res: Response;
    try {
      res = await opts.fetch(url, { method: spec.http.method, headers, body: text, credentials: 'same-origin' });
    } catch (err) {
      throw new StationApiError('STATION_UNREACHABLE', `${TRANSPORT_FAILURES.STATION_UNREACHABLE} (${err instanceof Error ? err.message : String(err)})`);
    }
    if (!res.ok) throw await errorOf(res);
    return res;
  }

  async function invoke(name: StationCallName, args: readonly unknown[]): Promise<unknown> {
    const spec: CallSpec = STATION_CALLS[name];
    const answer = spec.answer;
    if (answer.kind === 'download') {
      // The browser downloads it through a link: nothing to request here.
      const { path, query } = requestOf(name, spec, args);
      return parseView(answer.schema, { url: `${base}${path}${query ? `?${query}` : ''}`, savedTo: null }, name);
    }
    const res = await send(name, spec, args);
    const text = await res.text();
    if (answer.kind !== 'json') return checkAnswer(answer, text, name);
    let data: unknown = null;
    if (text.length > 0) {
      try {
        data = JSON.parse(text);
      } catch {
        throw new StationApiError('BAD_ANSWER', `The station's answer to ${name} is not JSON.`, res.status);
      }
    }
    return parseView(answer.schema, data, name);
  }

  const calls = Object.fromEntries(STATION_CALL_NAMES.map((name) => [name, (...args: unknown[]) => invoke(name, args)]));
  return {
    ...(calls as Omit<StationApi, 'subscribe'>),
    subscribe(onEvent: (e: StationEvent) => void) {
      return opts.openEventStream(`${base}${STATION_EVENTS_PATH}`, (data) => {
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
  return new StationApiError(httpFailureCode(res.status), text.trim().slice(0, 200) || `The station answered ${res.status} ${res.statusText}.`, res.status);
}
