import type { z } from 'zod';
import {
  apiErrorSchema,
  deviceResultSchema,
  IDEMPOTENCY_KEY_HEADER,
  issuedTokenSchema,
  meSchema,
  pageSchema,
  productViewSchema,
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

/**
 * Sends one request signed as DESIGN §4.4 says, with a fresh nonce and `t` from the clock: the one
 * signed transport of the station (the client below uses nothing else) and of tests that call the
 * authority as a station would.
 */
export function sendSignedRequest(c: AuthorityCredentials, method: string, pathWithQuery: string, opts: SignedRequestOptions = {}): Promise<Response> {
  const body = opts.body ?? '';
  const headers = {
    ...opts.headers,
    ...stationRequestHeaders({ clientId: c.clientId, secret: c.secret, method, pathWithQuery, body, nonce: randomUrlSafe(24), now: (opts.clock ?? Date.now)() }),
    ...(body ? { 'content-type': 'application/json' } : {}),
  };
  return fetch(c.url + pathWithQuery, { method, headers, ...(body ? { body } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
}

export function createAuthorityClient(c: AuthorityCredentials, opts: { clock?: () => number } = {}): AuthorityClient {
  const clock = opts.clock ?? Date.now;

  async function call<S extends z.ZodType>(schema: S, method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<z.output<S>> {
    const text = body === undefined ? '' : JSON.stringify(body);
    let res: Response;
    try {
      res = await sendSignedRequest(c, method, path, { body: text, signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), clock, ...(headers ? { headers } : {}) });
    } catch (err) {
      throw new AuthorityRequestError(0, 'CLOUD_UNREACHABLE', `the authority at ${c.url} did not answer: ${(err as Error).message}`);
    }
    const raw = await res.text();
    let json: unknown;
    try {
      json = raw ? JSON.parse(raw) : undefined;
    } catch {
      throw new AuthorityRequestError(res.status, 'BAD_ANSWER', `the authority answered ${res.status} with a body that is not JSON`);
    }
    if (!res.ok) {
      const e = apiErrorSchema.safeParse(json);
      throw new AuthorityRequestError(res.status, e.success ? e.data.code : 'BAD_ANSWER', e.success ? e.data.message : `the authority answered ${res.status}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) throw new AuthorityRequestError(res.status, 'BAD_ANSWER', `unexpected answer from ${path}: ${parsed.error.issues[0]?.message}`);
    return parsed.data;
  }

  function watchToken(id: string, afterSeq: number, onResults: (rs: DeviceResult[]) => void): TokenWatch {
    const ac = new AbortController();
    let last = afterSeq;
    const path = `/api/v1/unbind-tokens/${encodeURIComponent(id)}/events`;

    async function once(): Promise<'expired' | 'exhausted' | null> {
      const res = await sendSignedRequest(c, 'GET', path, { headers: { 'last-event-id': String(last) }, signal: ac.signal, clock });
      if (res.status === 404) throw new AuthorityRequestError(404, 'TOKEN_UNKNOWN', `token ${id} is unknown to the authority`);
      if (!res.ok || !res.body) return null;
      // Bytes decoded here (streaming, so a character split across reads is kept whole): one stream layer, not two.
      const reader = res.body.getReader();
      const decoder = new TextDecoder();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return null;
        buf += decoder.decode(value, { stream: true });
        const fresh: DeviceResult[] = [];
        const deliver = (): void => {
          if (fresh.length) onResults(fresh.splice(0));
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
              await reader.cancel().catch(() => undefined);
              return null;
            }
            if (r.data.seq > last) {
              last = r.data.seq;
              fresh.push(r.data);
            }
          } else if (event === 'end') {
            const e = tokenEndEventSchema.safeParse(json);
            if (e.success) {
              deliver();
              await reader.cancel().catch(() => undefined);
              return e.data.status;
            }
          }
        }
        deliver();
      }
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
    fileCase: (req) => call(caseViewSchema, 'POST', '/api/v1/cases', req),
    cases(q) {
      const qs = new URLSearchParams(Object.entries(q).filter(([, v]) => v !== undefined).map(([k, v]) => [k, String(v)])).toString();
      return call(pageSchema(caseViewSchema), 'GET', `/api/v1/cases${qs ? `?${qs}` : ''}`);
    },
    async casePhoto(id) {
      const path = `/api/v1/cases/${encodeURIComponent(id)}/photo`;
      let res: Response;
      try {
        res = await sendSignedRequest(c, 'GET', path, { signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS), clock });
      } catch (err) {
        throw new AuthorityRequestError(0, 'CLOUD_UNREACHABLE', `the authority at ${c.url} did not answer: ${(err as Error).message}`);
      }
      if (!res.ok) {
        const e = apiErrorSchema.safeParse(await res.json().catch(() => undefined));
        throw new AuthorityRequestError(res.status, e.success ? e.data.code : 'BAD_ANSWER', e.success ? e.data.message : `the authority answered ${res.status}`);
      }
      const type = res.headers.get('content-type');
      if (type !== 'image/jpeg' && type !== 'image/png') throw new AuthorityRequestError(res.status, 'BAD_ANSWER', `the case photo came as ${type}, not a JPEG or PNG`);
      return { type, bytes: Buffer.from(await res.arrayBuffer()) };
    },
    approveCase: (id, note) => call(caseViewSchema, 'POST', `/api/v1/cases/${encodeURIComponent(id)}/approve`, note === undefined ? undefined : { note }),
    rejectCase: (id, reason, note) => call(caseViewSchema, 'POST', `/api/v1/cases/${encodeURIComponent(id)}/reject`, { reason, ...(note === undefined ? {} : { note }) }),
  };
}
