import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import type { z } from 'zod';
import {
  apiErrorSchema,
  deviceResultSchema,
  IDEMPOTENCY_KEY_HEADER,
  issuedTokenSchema,
  meSchema,
  pageSchema,
  productViewSchema,
  quotaTicketViewSchema,
  quotaViewSchema,
  randomUrlSafe,
  stationRequestHeaders,
  tokenEndEventSchema,
  tokenViewSchema,
  caseViewSchema,
  type CaseListQuery,
  type CaseRejectCode,
  type CaseView,
  type FileCaseRequest,
  type Page,
  type PhotoType,
  type DeviceResult,
  type IssueTokenRequest,
  type IssuedToken,
  type Me,
  type ProductView,
  type QuotaTicketDecision,
  type QuotaTicketRequest,
  type QuotaTicketView,
  type QuotaView,
  type TokenView,
} from '../protocol/index.js';

/** The station's signed client of the authority (DESIGN §4.4); every answer passes a schema. */
export interface AuthorityCredentials {
  url: string;
  clientId: string;
  secret: string;
}

export class AuthorityRequestError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AuthorityRequestError';
  }
}

export interface TokenWatch {
  close(): void;
  /** Resolves when the token ended (expired or exhausted) or the watch was closed. */
  done: Promise<{ status: 'expired' | 'exhausted' | 'closed' }>;
}

export interface AuthorityClient {
  readonly url: string;
  me(): Promise<Me>;
  products(): Promise<ProductView[]>;
  quota(): Promise<QuotaView>;
  /** Both at once: what every plan needs. */
  productsAndQuota(): Promise<{ products: ProductView[]; quota: QuotaView }>;
  /** Sends an Idempotency-Key, and asks once again with it when the answer is lost (no answer, connection cut). */
  issueToken(req: IssueTokenRequest): Promise<IssuedToken>;
  token(id: string): Promise<TokenView>;
  /**
   * Follows a token's result stream from `afterSeq`, reconnecting (with Last-Event-ID) until it ends.
   * The new results of each read arrive together, in order (a group the authority decided at once).
   */
  watchToken(id: string, afterSeq: number, onResults: (rs: DeviceResult[]) => void): TokenWatch;
  /** Quota tickets this account asked for or decides (DESIGN §8), newest first. */
  tickets(): Promise<QuotaTicketView[]>;
  requestTicket(req: QuotaTicketRequest): Promise<QuotaTicketView>;
  decideTicket(id: string, approve: boolean, decision: QuotaTicketDecision): Promise<QuotaTicketView>;
  /** Cases (DESIGN §4.10). */
  fileCase(req: FileCaseRequest): Promise<CaseView>;
  cases(q: CaseListQuery): Promise<Page<CaseView>>;
  casePhoto(id: string): Promise<{ type: PhotoType; bytes: Buffer }>;
  approveCase(id: string, note?: string): Promise<CaseView>;
  rejectCase(id: string, reason: CaseRejectCode, note?: string): Promise<CaseView>;
}

const REQUEST_TIMEOUT_MS = 10_000;
/** Built once: zod compiles a schema's parser on its first use, and every plan reads the products. */
const productPageSchema = pageSchema(productViewSchema);
const RECONNECT_MS = 1_000;

export interface SignedRequestOptions {
  /** The JSON text to send; it is what the signature covers. */
  body?: string;
  /** Headers the signature does not cover (`last-event-id`). */
  headers?: Record<string, string>;
  signal?: AbortSignal;
  clock?: () => number;
}

/** The signed headers of one request (DESIGN §4.4): a fresh nonce and `t` from the clock. */
function signedHeaders(c: AuthorityCredentials, method: string, pathWithQuery: string, body: string, opts: SignedRequestOptions): Record<string, string> {
  return {
    ...opts.headers,
    ...stationRequestHeaders({ clientId: c.clientId, secret: c.secret, method, pathWithQuery, body, nonce: randomUrlSafe(24), now: (opts.clock ?? Date.now)() }),
    ...(body ? { 'content-type': 'application/json' } : {}),
  };
}

/**
 * Sends one request signed as DESIGN §4.4 says, with fetch: for tests and tools that call the
 * authority as a station would. The client below signs the same way over node:http.
 */
export function sendSignedRequest(c: AuthorityCredentials, method: string, pathWithQuery: string, opts: SignedRequestOptions = {}): Promise<Response> {
  const body = opts.body ?? '';
  const headers = signedHeaders(c, method, pathWithQuery, body, opts);
  return fetch(c.url + pathWithQuery, { method, headers, ...(body ? { body } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
}

/** How long an idle kept-alive connection is reused when the authority announces no limit (undici's default). */
const IDLE_REUSE_MS = 4_000;
/** A margin below the idle limit the authority announces: its close may be on its way (undici's threshold). */
const IDLE_MARGIN_MS = 1_000;

/**
 * An agent whose connections, while idle in its pool, are reused only until `Keep-Alive: timeout=N` less
 * IDLE_MARGIN_MS (IDLE_REUSE_MS without a hint), as fetch's: the authority closes an idle one after N, and a
 * request sent on it as it does gets no answer. Node's own Agent honours the hint only with a `timeout`
 * option, which also times every socket in use (a timer refreshed on each read and write); this one times
 * a connection only while it sits in the pool.
 */
function idleLimited<A extends HttpAgent>(agent: A): A {
  // Typed as void in @types/node; the agent keeps the socket when it answers true.
  const keep = agent.keepSocketAlive.bind(agent) as unknown as (socket: Socket) => boolean;
  const reuse = agent.reuseSocket.bind(agent);
  const keepSocketAlive = (socket: Socket): boolean => {
    if (!keep(socket)) return false;
    const hint = /^timeout=(\d+)/.exec(String((socket as { _httpMessage?: { res?: IncomingMessage } })._httpMessage?.res?.headers['keep-alive'] ?? ''))?.[1];
    const idleMs = hint === undefined ? IDLE_REUSE_MS : Number(hint) * 1000 - IDLE_MARGIN_MS;
    if (!(idleMs > 0)) return false;
    // The agent destroys a socket whose timeout fires while it is in the pool.
    socket.setTimeout(Math.min(idleMs, 600_000));
    return true;
  };
  Object.assign(agent, {
    keepSocketAlive,
    reuseSocket(socket: Socket, req: ClientRequest): void {
      socket.setTimeout(0);
      reuse(socket, req);
    },
  });
  return agent;
}

/**
 * Keep-alive, as fetch's global pool was (no limit per authority: a token's event stream holds its
 * connection). node:http rather than fetch: fetch's WHATWG request, header and web-stream objects
 * cost the station more than the exchange itself, on the path every batch waits for (its tokens)
 * and on every read of a token's event stream.
 */
const agents = { 'http:': idleLimited(new HttpAgent({ keepAlive: true })), 'https:': idleLimited(new HttpsAgent({ keepAlive: true })) } as const;

interface SignedExchange {
  /** The answer's head; rejects when no answer came (no connection, cut, aborted). */
  response: Promise<IncomingMessage>;
  /**
   * Ends the exchange however far it got. With no error once the answer may be complete: a socket
   * destroyed with one just as it returns to the agent's pool emits it where no one listens.
   */
  abort(err?: Error): void;
}

/** One signed request on node:http: the station's signed transport (the client below uses nothing else). */
function exchangeSigned(c: AuthorityCredentials, method: string, pathWithQuery: string, opts: SignedRequestOptions = {}): SignedExchange {
  let req: ClientRequest | undefined;
  const response = new Promise<IncomingMessage>((resolve, reject) => {
    const url = new URL(c.url + pathWithQuery);
    const agent = url.protocol === 'http:' || url.protocol === 'https:' ? agents[url.protocol] : null;
    if (!agent) throw new TypeError(`authority address "${c.url}" is not http(s)`);
    const body = opts.body ?? '';
    const headers = signedHeaders(c, method, pathWithQuery, body, opts);
    // As fetch: a length on every request that may carry a body, 0 for none (not chunked).
    if (body || (method !== 'GET' && method !== 'HEAD')) headers['content-length'] = String(Buffer.byteLength(body));
    req = (url.protocol === 'https:' ? httpsRequest : httpRequest)(url, { method, headers, agent }, resolve);
    req.on('error', reject);
    req.end(body || undefined);
  });
  return { response, abort: (err) => req?.destroy(err) };
}

/** An answer's body. */
function readBytes(res: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    res.on('data', (chunk: Buffer) => chunks.push(chunk));
    res.on('end', () => resolve(Buffer.concat(chunks)));
    res.on('error', reject);
    res.on('close', () => {
      if (!res.complete) reject(new Error('the answer was cut off'));
    });
  });
}

/** An answer's body as text (UTF-8, as fetch's `text()`). */
const readText = async (res: IncomingMessage): Promise<string> => (await readBytes(res)).toString('utf8');

const isOk = (status: number | undefined): boolean => status !== undefined && status >= 200 && status < 300;
/** The transport's idle limit on a token's event stream (fetch's default body timeout): heartbeats come every 15 s. */
const WATCH_IDLE_MS = 300_000;

export function createAuthorityClient(c: AuthorityCredentials, opts: { clock?: () => number } = {}): AuthorityClient {
  const clock = opts.clock ?? Date.now;

  async function call<S extends z.ZodType>(schema: S, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<z.output<S>> {
    const text = body === undefined ? '' : JSON.stringify(body);
    const sent = exchangeSigned(c, method, path, { body: text, clock, ...(headers ? { headers } : {}) });
    // As the signal of a fetch: the whole exchange, answer read included, ends within the timeout.
    const timer = setTimeout(() => sent.abort(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
    let status: number;
    let raw: string;
    try {
      let res: IncomingMessage;
      try {
        res = await sent.response;
      } catch (err) {
        throw new AuthorityRequestError(0, 'CLOUD_UNREACHABLE', `the authority at ${c.url} did not answer: ${(err as Error).message}`);
      }
      status = res.statusCode ?? 0;
      raw = await readText(res);
    } finally {
      clearTimeout(timer);
    }
    let json: unknown;
    try {
      json = raw ? JSON.parse(raw) : undefined;
    } catch {
      throw new AuthorityRequestError(status, 'BAD_ANSWER', `the authority answered ${status} with a body that is not JSON`);
    }
    if (!isOk(status)) {
      const e = apiErrorSchema.safeParse(json);
      throw new AuthorityRequestError(status, e.success ? e.data.code : 'BAD_ANSWER', e.success ? e.data.message : `the authority answered ${status}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new AuthorityRequestError(status, 'BAD_ANSWER', `unexpected answer from ${path}: ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  }

  function watchToken(id: string, afterSeq: number, onResults: (rs: DeviceResult[]) => void): TokenWatch {
    const ac = new AbortController();
    let last = afterSeq;
    const path = `/api/v1/unbind-tokens/${encodeURIComponent(id)}/events`;

    /** One connection to the stream: its end event's status, or null to connect again; rejects when it could not be read. */
    function once(): Promise<'expired' | 'exhausted' | null> {
      if (ac.signal.aborted) return Promise.reject(new Error('closed'));
      const sent = exchangeSigned(c, 'GET', path, { headers: { 'last-event-id': String(last) }, clock });
      const close = (): void => sent.abort();
      ac.signal.addEventListener('abort', close, { once: true });
      return new Promise<'expired' | 'exhausted' | null>((resolve, reject) => {
        let over = false;
        /** Ends this connection's read (and its request, when the stream is still open); closed, the watch ends at once. */
        const stop = (ended: 'expired' | 'exhausted' | null): void => {
          if (over) return;
          over = true;
          sent.abort();
          if (ac.signal.aborted) reject(new Error('closed'));
          else resolve(ended);
        };
        sent.response.then((res) => {
          res.on('error', () => stop(null));
          res.on('close', () => stop(null));
          if (res.statusCode === 404) {
            over = true;
            res.resume();
            return reject(new AuthorityRequestError(404, 'TOKEN_UNKNOWN', `token ${id} is unknown to the authority`));
          }
          if (!isOk(res.statusCode)) {
            over = true;
            res.resume();
            return resolve(null);
          }
          // A stream that falls silent past the heartbeats is dead: connect again.
          res.setTimeout(WATCH_IDLE_MS, () => stop(null));
          // Decoded as it streams: a character split across reads is kept whole.
          res.setEncoding('utf8');
          let buf = '';
          res.on('data', (chunk: string) => {
            if (over) return;
            buf += chunk;
            const fresh: DeviceResult[] = [];
            const deliver = (): void => {
              if (!fresh.length) return;
              // The caller may throw (a refused result): out of a 'data' listener that would be uncaught and end
              // the process; as the fetch read did, this connection ends and the watch connects again.
              try {
                onResults(fresh.splice(0));
              } catch {
                stop(null);
              }
            };
            let sep: number;
            while ((sep = buf.indexOf('\n\n')) >= 0) {
              const block = buf.slice(0, sep);
              buf = buf.slice(sep + 2);
              let event = 'message';
              let data = '';
              for (const line of block.split('\n')) {
                if (line.startsWith('event: ')) event = line.slice(7);
                else if (line.startsWith('data: ')) data += line.slice(6);
              }
              if (!data) continue;
              let json: unknown;
              try {
                json = JSON.parse(data);
              } catch {
                json = undefined;
              }
              if (event === 'result') {
                const r = deviceResultSchema.safeParse(json);
                if (!r.success) {
                  // Skipping it would lose it for good (the next good seq moves past it): reconnect from the last good one.
                  deliver();
                  return stop(null);
                }
                if (r.data.seq > last) {
                  last = r.data.seq;
                  fresh.push(r.data);
                }
              } else if (event === 'end') {
                const e = tokenEndEventSchema.safeParse(json);
                if (e.success) {
                  deliver();
                  return stop(e.data.status);
                }
              }
            }
            deliver();
          });
          res.on('end', () => stop(null));
        }, reject);
      }).finally(() => ac.signal.removeEventListener('abort', close));
    }

    const done = (async (): Promise<{ status: 'expired' | 'exhausted' | 'closed' }> => {
      while (!ac.signal.aborted) {
        try {
          const ended = await once();
          if (ended) return { status: ended };
        } catch (err) {
          if (ac.signal.aborted) break;
          if (err instanceof AuthorityRequestError && err.status === 404) throw err;
        }
        await new Promise((r) => setTimeout(r, RECONNECT_MS));
      }
      return { status: 'closed' };
    })();
    return { close: () => ac.abort(), done };
  }

  const products = async (): Promise<ProductView[]> => (await call(productPageSchema, 'GET', '/api/v1/products')).items;
  const quota = (): Promise<QuotaView> => call(quotaViewSchema, 'GET', '/api/v1/quota');
  return {
    url: c.url,
    me: () => call(meSchema, 'GET', '/api/v1/me'),
    products,
    quota,
    async productsAndQuota() {
      const [p, q] = await Promise.all([products(), quota()]);
      return { products: p, quota: q };
    },
    async issueToken(req) {
      // One key per token wanted: if the answer is lost, the retry gets the token already issued, not a second one.
      const headers = { [IDEMPOTENCY_KEY_HEADER]: randomUrlSafe(32) };
      const issue = (): Promise<IssuedToken> => call(issuedTokenSchema, 'POST', '/api/v1/unbind-tokens', req, headers);
      try {
        return await issue();
      } catch (err) {
        if (!(err instanceof AuthorityRequestError && err.status === 0)) throw err;
        return issue();
      }
    },
    token: (id) => call(tokenViewSchema, 'GET', `/api/v1/unbind-tokens/${encodeURIComponent(id)}`),
    watchToken,
    tickets: async () => (await call(pageSchema(quotaTicketViewSchema), 'GET', '/api/v1/quota-tickets')).items,
    requestTicket: (req) => call(quotaTicketViewSchema, 'POST', '/api/v1/quota-tickets', req),
    decideTicket: (id, approve, decision) => call(quotaTicketViewSchema, 'POST', `/api/v1/quota-tickets/${encodeURIComponent(id)}/${approve ? 'approve' : 'reject'}`, decision),
    fileCase: (req) => call(caseViewSchema, 'POST', '/api/v1/cases', req),
    cases(q) {
      const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])).toString();
      return call(pageSchema(caseViewSchema), 'GET', `/api/v1/cases${qs ? `?${qs}` : ''}`);
    },
    async casePhoto(id) {
      const path = `/api/v1/cases/${encodeURIComponent(id)}/photo`;
      const sent = exchangeSigned(c, 'GET', path, { clock });
      const timer = setTimeout(() => sent.abort(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)), REQUEST_TIMEOUT_MS);
      try {
        let res: IncomingMessage;
        try {
          res = await sent.response;
        } catch (err) {
          throw new AuthorityRequestError(0, 'CLOUD_UNREACHABLE', `the authority at ${c.url} did not answer: ${(err as Error).message}`);
        }
        const status = res.statusCode ?? 0;
        if (!isOk(status)) {
          const e = apiErrorSchema.safeParse(
            await readText(res)
              .then((t) => JSON.parse(t) as unknown)
              .catch(() => undefined),
          );
          throw new AuthorityRequestError(status, e.success ? e.data.code : 'BAD_ANSWER', e.success ? e.data.message : `the authority answered ${status}`);
        }
        const type = res.headers['content-type'] ?? null;
        if (type !== 'image/jpeg' && type !== 'image/png') {
          res.resume();
          throw new AuthorityRequestError(status, 'BAD_ANSWER', `the case photo came as ${type}, not a JPEG or PNG`);
        }
        return { type, bytes: await readBytes(res) };
      } finally {
        clearTimeout(timer);
      }
    },
    approveCase: (id, note) => call(caseViewSchema, 'POST', `/api/v1/cases/${encodeURIComponent(id)}/approve`, note === undefined ? undefined : { note }),
    rejectCase: (id, reason, note) => call(caseViewSchema, 'POST', `/api/v1/cases/${encodeURIComponent(id)}/reject`, { reason, ...(note === undefined ? {} : { note }) }),
  };
}
