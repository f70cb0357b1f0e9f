import {
  adminUnbindResponseSchema,
  apiErrorSchema,
  applyResetCodeResponseSchema,
  parseResetRequestXml,
  type AdminUnbindRequest,
  type AdminUnbindResponse,
  type ApplyResetCodeResponse,
  type ResetRequest,
  deviceInfoSchema,
  deviceStatusSchema,
  failureCodeSchema,
  localUnbindResponseSchema,
  type DeviceInfo,
  type DeviceStatus,
  type FailureCode,
} from '../protocol/index.js';
import { Agent, request, type ClientRequest } from 'node:http';
import { z } from 'zod';
import { createLimiter, type Limiter } from './request-limiter.js';

/**
 * The client of a device's local API (DESIGN §4.5): `GET /info`, `POST /unbind {token}`,
 * `GET /status`. Every answer passes the protocol's schema; every call ends within its timeout and
 * never throws: what the LAN gives back is reported as a kind the caller decides on.
 */
export interface DeviceEndpoint {
  address: string;
  port: number;
}

export type LocalUnbindResponse = z.infer<typeof localUnbindResponseSchema>;

export type ApiFailureKind =
  /** No answer within the timeout. */
  | 'timeout'
  /** No connection: refused, reset, no route. */
  | 'unreachable'
  /** The device answered with a `{code, message}` refusal (a 4xx with a failure code). */
  | 'refused'
  /** An answer that is not one of the API's: wrong status, not JSON, wrong shape, too long. */
  | 'bad-answer'
  /** The caller cancelled. */
  | 'cancelled';

export type ApiResult<T> = { ok: true; value: T } | { ok: false; kind: ApiFailureKind; detail: string; code?: FailureCode };

export interface DeviceApiClient {
  info(at: DeviceEndpoint, signal?: AbortSignal): Promise<ApiResult<DeviceInfo>>;
  unbind(at: DeviceEndpoint, token: string, signal?: AbortSignal): Promise<ApiResult<LocalUnbindResponse>>;
  status(at: DeviceEndpoint, signal?: AbortSignal): Promise<ApiResult<DeviceStatus>>;
  /** `POST /unbind-local {token, challenge, proof}` (DESIGN §4.8). */
  unbindLocal(at: DeviceEndpoint, req: AdminUnbindRequest, signal?: AbortSignal): Promise<ApiResult<AdminUnbindResponse>>;
  /** `GET /reset-request`: the device's `<ResetRequest>` XML, read (DESIGN §4.9). */
  resetRequest(at: DeviceEndpoint, signal?: AbortSignal): Promise<ApiResult<{ request: ResetRequest; xml: string }>>;
  /** `POST /reset-code {code, newPassword}` (DESIGN §4.9). */
  applyResetCode(at: DeviceEndpoint, code: string, newPassword: string, signal?: AbortSignal): Promise<ApiResult<ApplyResetCodeResponse>>;
}

/** A `<ResetRequest>` answer: the XML as the device wrote it, and what it says. */
const resetRequestAnswerSchema = z.string().transform((xml, ctx) => {
  const request = parseResetRequestXml(xml);
  if (!request) {
    ctx.addIssue({ code: 'custom', message: 'not a <ResetRequest>' });
    return z.NEVER;
  }
  return { request, xml };
});

export interface DeviceApiClientOptions {
  /** Per request, ms (default 3000). */
  timeoutMs?: number;
  /** Requests in flight at once, over all devices (default 16). */
  concurrency?: number;
}

/** The API's answers are a few hundred bytes; a device sending megabytes is not answering. */
const MAX_ANSWER_BYTES = 16 * 1024;

function endpointUrl(at: DeviceEndpoint, path: string): string {
  return `http://${at.address}:${at.port}${path}`;
}

interface RawAnswer {
  status: number;
  text: string;
}

/**
 * One HTTP exchange on node:http. Not fetch: fetch refuses "bad ports" (554, 6000, 10080, …) that
 * a device on a LAN may well serve its API on.
 */
function exchange(agent: Agent, at: DeviceEndpoint, method: string, path: string, body: string | undefined): { answer: Promise<RawAnswer>; abort(): void } {
  let req: ClientRequest | undefined;
  const answer = new Promise<RawAnswer>((resolve, reject) => {
    req = request(
      {
        host: at.address,
        port: at.port,
        method,
        path,
        agent,
        headers: body === undefined ? {} : { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let total = 0;
        res.on('data', (chunk: Buffer) => {
          total += chunk.length;
          if (total > MAX_ANSWER_BYTES) {
            res.destroy();
            return reject(new Error(`answer is longer than ${MAX_ANSWER_BYTES} bytes`));
          }
          chunks.push(chunk);
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
        res.on('close', () => {
          if (!res.complete) reject(new Error('the answer was cut off'));
        });
      },
    );
    req.on('error', reject);
    req.end(body);
  });
  // Ended by destroying the request, however far it got (not request's `signal` option: a listener
  // of its own per request for what one call to destroy does).
  return { answer, abort: () => req?.destroy(new Error('aborted')) };
}

function describe(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  const code = (err as Error & { code?: string }).code;
  return code && !err.message.includes(code) ? `${code}: ${err.message}` : err.message;
}

async function call<S extends z.ZodType>(
  limit: Limiter,
  agent: Agent,
  timeoutMs: number,
  at: DeviceEndpoint,
  method: 'GET' | 'POST',
  path: string,
  schema: S,
  body: unknown,
  signal: AbortSignal | undefined,
  ahead = false,
  /** The answer of a 200 is text (XML), handed to the schema as it is. */
  textAnswer = false,
): Promise<ApiResult<z.infer<S>>> {
  return limit(async () => {
    if (signal?.aborted) return { ok: false, kind: 'cancelled', detail: 'cancelled' };
    const where = `${method} ${endpointUrl(at, path)}`;
    const sent = exchange(agent, at, method, path, body === undefined ? undefined : JSON.stringify(body));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      sent.abort();
    }, timeoutMs);
    const cancel = (): void => sent.abort();
    signal?.addEventListener('abort', cancel, { once: true });
    try {
      let answer: RawAnswer;
      try {
        answer = await sent.answer;
      } catch (err) {
        if (timedOut) return { ok: false, kind: 'timeout', detail: `${where}: no answer within ${timeoutMs} ms` };
        if (signal?.aborted) return { ok: false, kind: 'cancelled', detail: 'cancelled' };
        const tooLong = err instanceof Error && err.message.startsWith('answer is longer');
        return { ok: false, kind: tooLong ? 'bad-answer' : 'unreachable', detail: `${where}: ${describe(err)}` };
      }
      let json: unknown;
      try {
        json = textAnswer && answer.status === 200 ? answer.text : JSON.parse(answer.text);
      } catch {
        return { ok: false, kind: 'bad-answer', detail: `${where}: HTTP ${answer.status}, answer is not JSON` };
      }
      if (answer.status !== 200) {
        const refusal = apiErrorSchema.safeParse(json);
        if (!refusal.success) return { ok: false, kind: 'bad-answer', detail: `${where}: HTTP ${answer.status}` };
        const code = failureCodeSchema.safeParse(refusal.data.code);
        const detail = `${where}: HTTP ${answer.status} ${refusal.data.code}: ${refusal.data.message}`;
        return code.success && answer.status < 500 ? { ok: false, kind: 'refused', detail, code: code.data } : { ok: false, kind: 'bad-answer', detail };
      }
      const parsed = schema.safeParse(json);
      if (!parsed.success) {
        const issue = parsed.error.issues[0];
        return { ok: false, kind: 'bad-answer', detail: `${where}: answer ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}` };
      }
      return { ok: true, value: parsed.data };
    } finally {
      clearTimeout(timer);
      signal?.removeEventListener('abort', cancel);
    }
  }, { ahead });
}

export function createDeviceApiClient(opts: DeviceApiClientOptions = {}): DeviceApiClient {
  const timeoutMs = opts.timeoutMs ?? 3000;
  const limit = createLimiter(opts.concurrency ?? 16);
  // Keep-alive: following a device's /status reuses one connection instead of a handshake per poll.
  const agent = new Agent({ keepAlive: true, maxSockets: 2 });
  return {
    info: (at, signal) => call(limit, agent, timeoutMs, at, 'GET', '/info', deviceInfoSchema, undefined, signal),
    // A device that answered its check takes its token before the next devices are checked.
    unbind: (at, token, signal) => call(limit, agent, timeoutMs, at, 'POST', '/unbind', localUnbindResponseSchema, { token }, signal, true),
    status: (at, signal) => call(limit, agent, timeoutMs, at, 'GET', '/status', deviceStatusSchema, undefined, signal),
    unbindLocal: (at, req, signal) => call(limit, agent, timeoutMs, at, 'POST', '/unbind-local', adminUnbindResponseSchema, req, signal, true),
    resetRequest: (at, signal) => call(limit, agent, timeoutMs, at, 'GET', '/reset-request', resetRequestAnswerSchema, undefined, signal, false, true),
    applyResetCode: (at, code, newPassword, signal) => call(limit, agent, timeoutMs, at, 'POST', '/reset-code', applyResetCodeResponseSchema, { code, newPassword }, signal),
  };
}
