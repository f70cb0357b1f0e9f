import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { apiErrorSchema, deviceUnbindResponseSchema, type DeviceUnbindRequest, type DeviceUnbindResponse } from '../../protocol/index.js';
import { abortableSleep } from './abortable-sleep.js';

/** How one device → authority exchange (DESIGN §4.3) ended, as the device can tell. */
export type AuthorityExchange =
  | { kind: 'answer'; response: DeviceUnbindResponse }
  /** The answer arrived but the device did not read it (it lost power, or its address changed). */
  | { kind: 'abandoned' }
  | { kind: 'timeout'; detail: string }
  | { kind: 'unreachable'; detail: string }
  /** Reached, but the answer is not a checked unbind answer: wrong status, not JSON, wrong shape. */
  | { kind: 'bad-answer'; detail: string }
  /** The caller cancelled (the device was reset mid-request). */
  | { kind: 'cancelled' };

export interface ExchangeOptions {
  timeoutMs: number;
  /** Aborts the request when the device is reset. */
  signal?: AbortSignal;
  /** Called once the request is on its way. */
  onSent?: () => void;
  /** Called when the answer's headers arrive: 'abandon' drops the answer unread. */
  onAnswerArriving?: () => 'read' | 'abandon';
}

export const UNBIND_PATH = '/device/v1/unbind';
/** An unbind answer is a few dozen bytes; anything far larger is not one. */
const MAX_ANSWER_BYTES = 64 * 1024;

/**
 * Keep-alive, as fetch's global pool was: one process runs many virtual devices, and each request
 * after the first on a free connection skips the handshake. node:http rather than fetch: the
 * WHATWG request, header and stream objects of fetch cost a device more than its whole exchange.
 * At most MAX_SOCKETS connections per authority, a request waiting in the agent while all are busy:
 * requests in flight at once each opened a connection of their own (~85 for 100 wired devices), and
 * on loopback a new connection costs both ends about as much as one more request on an open one.
 */
const MAX_SOCKETS = 8;
const agents = {
  'http:': new HttpAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
  'https:': new HttpsAgent({ keepAlive: true, maxSockets: MAX_SOCKETS }),
} as const;

interface Answer {
  status: number;
  res: IncomingMessage;
}

function readCapped(res: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    res.on('data', (chunk: Buffer) => {
      total += chunk.length;
      if (total > MAX_ANSWER_BYTES) {
        res.destroy();
        reject(new Error(`answer is longer than ${MAX_ANSWER_BYTES} bytes`));
        return;
      }
      chunks.push(chunk);
    });
    res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete) reject(new Error('the answer was cut off'));
    });
  });
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as Error & { code?: string }).code;
  return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}

/** POSTs one signed unbind request to `${baseUrl}/device/v1/unbind`; never throws. */
export async function exchangeUnbind(baseUrl: string, request: DeviceUnbindRequest, opts: ExchangeOptions): Promise<AuthorityExchange> {
  let url: URL;
  try {
    url = new URL(UNBIND_PATH, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  } catch {
    return { kind: 'unreachable', detail: `authority address "${baseUrl}" is not a URL` };
  }
  const controller = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    controller.abort();
  }, opts.timeoutMs);
  const onCancel = (): void => controller.abort();
  opts.signal?.addEventListener('abort', onCancel, { once: true });
  const interrupted = (): AuthorityExchange | null =>
    timedOut ? { kind: 'timeout', detail: `no answer within ${opts.timeoutMs} ms` } : opts.signal?.aborted ? { kind: 'cancelled' } : null;
  try {
    if (opts.signal?.aborted) return { kind: 'cancelled' };
    const agent = url.protocol === 'http:' || url.protocol === 'https:' ? agents[url.protocol] : null;
    if (!agent) return { kind: 'unreachable', detail: `authority address "${baseUrl}" is not http(s)` };
    const body = JSON.stringify(request);
    const pending = new Promise<Answer>((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(url, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) =>
        resolve({ status: res.statusCode ?? 0, res }),
      );
      req.on('error', reject);
      // The request goes with the controller: a timeout or a cancel ends it, however far it got.
      controller.signal.addEventListener('abort', () => req.destroy(new Error('aborted')), { once: true });
      req.end(body);
    });
    opts.onSent?.();
    let response: Answer;
    try {
      response = await pending;
    } catch (err) {
      return interrupted() ?? { kind: 'unreachable', detail: describe(err) };
    }
    if (opts.onAnswerArriving?.() === 'abandon') {
      response.res.destroy();
      return { kind: 'abandoned' };
    }
    let text: string;
    try {
      text = await readCapped(response.res);
    } catch (err) {
      return interrupted() ?? { kind: 'bad-answer', detail: describe(err) };
    }
    if (response.status !== 200) {
      let detail = `HTTP ${response.status}`;
      try {
        const e = apiErrorSchema.safeParse(JSON.parse(text));
        if (e.success) detail += ` ${e.data.code}: ${e.data.message}`;
      } catch {
        // a non-JSON error page: the status alone says enough
      }
      return { kind: 'bad-answer', detail };
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return { kind: 'bad-answer', detail: 'answer is not JSON' };
    }
    const parsed = deviceUnbindResponseSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return { kind: 'bad-answer', detail: `answer ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}` };
    }
    return { kind: 'answer', response: parsed.data };
  } finally {
    clearTimeout(timer);
    opts.signal?.removeEventListener('abort', onCancel);
  }
}

/**
 * How often a device asks again when the answer is lost (connection refused or reset, no answer in time):
 * each time a new request (new nonce and ts) for the same token. The authority tells a retry what it had
 * decided (`replayed: true`, DESIGN §4.3), so asking again never unbinds twice.
 */
export interface RetryPolicy {
  /** Requests in all, the first included (1: never retry). */
  attempts: number;
  /** The pause before the first retry; doubled each time up to `maxBackoffMs`. */
  backoffMs: number;
  maxBackoffMs: number;
}
export const DEFAULT_RETRY: RetryPolicy = { attempts: 3, backoffMs: 200, maxBackoffMs: 2_000 };

/** The request may have been decided but its answer never came: only then is asking again right. */
export function answerLost(e: AuthorityExchange): boolean {
  return e.kind === 'unreachable' || e.kind === 'timeout';
}

export interface RetryingExchangeOptions extends ExchangeOptions {
  retry?: RetryPolicy;
  /** Called before each retry, with the exchange that lost its answer. */
  onRetry?: (attempt: number, lost: AuthorityExchange) => void;
}

/**
 * The device → authority exchange with retries: `sign` makes a fresh signed request each time. The hooks
 * of the first send (faults of the virtual devices) apply to it alone. Never throws.
 */
export async function exchangeUnbindRetrying(baseUrl: string, sign: () => DeviceUnbindRequest, opts: RetryingExchangeOptions): Promise<AuthorityExchange> {
  const { retry = DEFAULT_RETRY, onRetry, onSent, onAnswerArriving, ...rest } = opts;
  let exchange = await exchangeUnbind(baseUrl, sign(), { ...rest, ...(onSent ? { onSent } : {}), ...(onAnswerArriving ? { onAnswerArriving } : {}) });
  let pause = retry.backoffMs;
  for (let attempt = 2; attempt <= retry.attempts && answerLost(exchange); attempt++) {
    onRetry?.(attempt, exchange);
    if (opts.signal) await abortableSleep(pause, opts.signal);
    else await new Promise((r) => setTimeout(r, pause));
    if (opts.signal?.aborted) return { kind: 'cancelled' };
    pause = Math.min(pause * 2, retry.maxBackoffMs);
    exchange = await exchangeUnbind(baseUrl, sign(), rest);
  }
  return exchange;
}
