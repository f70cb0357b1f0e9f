import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import { z } from 'zod';
import {
  accountIdSchema,
  deviceLogQuerySchema,
  deviceUnbindRequestSchema,
  idParamSchema,
  issueTokenRequestSchema,
  memberGrantRequestSchema,
  partnerGrantRequestSchema,
  pidSchema,
  quotaTicketDecisionSchema,
  quotaTicketRequestSchema,
  roleRequestSchema,
  IDEMPOTENT_REPLAYED_HEADER,
  type QuotaView,
} from '../../protocol/index.js';
import type { AccountRecord } from '../accounts.js';
import { AuthorityError } from '../errors.js';
import { AUTH_FAILURES, createAuthFailureGuard, DEFAULT_AUTH_FAILURE_LIMITS, type AuthFailureLimits } from '../auth-failures.js';
import type { AuthorityServices } from '../services.js';
import { createStationAuth } from './station-auth.js';
import { createUnbindBatcher } from './unbind-batcher.js';
import { toWireAnswer } from '../unbind.js';
import { idempotencyKeyOf } from './idempotency-key.js';
import { streamTokenEvents } from './token-events-stream.js';
import { parseOr400, checkInputOnEveryRoute } from './validate.js';

declare module 'fastify' {
  interface FastifyRequest {
    rawBody: Buffer;
    account: AccountRecord | null;
  }
}

export interface ServerOptions {
  logLevel?: string;
  /** Where structured logs go (default stdout). */
  logStream?: NodeJS.WritableStream;
  /** Rate limits and log window of failed device authentication (default DEFAULT_AUTH_FAILURE_LIMITS). */
  authFailureLimits?: Partial<AuthFailureLimits>;
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** The authority's HTTP face: the station API (signed, DESIGN §4.4) and the device API (§4.3). */
export function buildAuthorityServer(s: AuthorityServices, opts: ServerOptions = {}): FastifyInstance {
  const app = Fastify({
    logger: {
      level: opts.logLevel ?? 'info',
      ...(opts.logStream ? { stream: opts.logStream } : {}),
      // Requests are logged without headers: those carry signatures and client ids.
      serializers: { req: (r: FastifyRequest) => ({ method: r.method, url: r.url.split('?')[0] }) },
    },
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 64 * 1024,
    forceCloseConnections: true,
    return503OnClosing: true,
  });
  const auth = createStationAuth(s.db, s.accounts, s.clock);
  const openStreams = new Set<() => void>();
  const batcher = createUnbindBatcher(s.unbind);
  const authFailures = createAuthFailureGuard({
    clock: s.clock,
    log: (l) => app.log[l.level](l.fields, l.message),
    onUnchecked: (devId, count, firstAt, lastAt) => s.logs.appendUnchecked(devId, 'RATE_LIMITED', count, firstAt, lastAt),
    ...(opts.authFailureLimits ? { limits: opts.authFailureLimits } : {}),
  });
  // One transaction for the window's folded rows; the last window is flushed before the store closes.
  const foldWindow = s.db.transaction(() => authFailures.flush());
  const flushAuthFailures = (): void => {
    try {
      foldWindow();
    } catch (err) {
      app.log.warn({ evt: 'auth-failures-folded', message: (err as Error).message }, 'folding failed device authentications failed');
    }
  };
  const authFailureTimer = setInterval(flushAuthFailures, opts.authFailureLimits?.windowMs ?? DEFAULT_AUTH_FAILURE_LIMITS.windowMs);
  authFailureTimer.unref();
  app.addHook('onClose', async () => {
    clearInterval(authFailureTimer);
    flushAuthFailures();
  });

  app.decorateRequest('rawBody', null as unknown as Buffer);
  app.decorateRequest('account', null);
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('application/json', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    req.rawBody = body;
    if (body.length === 0) return done(null, undefined);
    try {
      done(null, JSON.parse(utf8.decode(body)));
    } catch {
      req.bodyRefusal = new AuthorityError(400, 'BAD_JSON', 'body is not valid UTF-8 JSON');
      done(null, undefined);
    }
  });
  // Body refusals are thrown after the signature check (validate.ts): an unsigned request is told 401, whatever its body.
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (req, body: Buffer, done) => {
    req.rawBody = body;
    req.bodyRefusal = new AuthorityError(400, 'BAD_CONTENT_TYPE', 'send application/json');
    done(null, undefined);
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err instanceof AuthorityError) return reply.status(err.status).send({ code: err.code, message: err.message });
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      req.log.error({ err: { message: err.message, stack: err.stack } }, 'unhandled error');
      return reply.status(500).send({ code: 'INTERNAL', message: 'internal error' });
    }
    // Fastify's own refusals (body too large, bad content-type, ...) in our error shape.
    return reply.status(status === 415 ? 400 : status).send({ code: err.code ?? 'BAD_REQUEST', message: err.message });
  });
  app.setNotFoundHandler((req, reply) => reply.status(404).send({ code: 'NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0]}` }));
  app.addHook('onClose', async () => {
    for (const close of [...openStreams]) close();
  });
  checkInputOnEveryRoute(app);

  // ---- device API (DESIGN §4.3): unsigned by the station scheme, signed by the device key inside ----
  app.post('/device/v1/unbind', async (req) => {
    const body = parseOr400(deviceUnbindRequestSchema, req.body, 'body');
    // A (device, address) or an address that keeps failing is answered unchecked: no store, no log line.
    if (!authFailures.admit(body.devId, req.ip)) return { result: 'FAILED', reason: 'RATE_LIMITED' };
    const out = await batcher.submit(body);
    if (out.reason && AUTH_FAILURES.has(out.reason)) authFailures.record(body.devId, req.ip, out.reason);
    else if (out.result === 'FAILED') req.log.info({ evt: 'unbind', devId: body.devId, tokenId: out.log.token_id, result: out.result, reason: out.reason }, 'device unbind refused');
    else req.log.debug({ evt: 'unbind', devId: body.devId, tokenId: out.log.token_id, result: out.result }, 'device unbind');
    return toWireAnswer(out);
  });

  // ---- station API (DESIGN §4.4) ----
  app.register(
    async (api) => {
      api.addHook('preHandler', async (req) => {
        req.account = auth.verify(req, req.rawBody ?? Buffer.alloc(0));
      });
      const me = (req: FastifyRequest): AccountRecord => req.account!;

      api.get('/me', async (req) => {
        const { secret: _secret, ...view } = me(req);
        return view;
      });
      api.get('/products', async (req) => {
        return { items: s.grants.unbindableProducts(me(req).accountId), nextCursor: null };
      });
      api.get('/quota', async (req): Promise<QuotaView> => {
        const now = s.clock();
        const w = s.quota.window(now);
        return {
          day: w.day,
          timeZone: s.quota.timeZone,
          startsAt: new Date(w.startsAt).toISOString(),
          endsAt: new Date(w.endsAt).toISOString(),
          account: s.quota.counter('account', me(req).accountId, now),
          products: s.grants.unbindableProducts(me(req).accountId).map((p) => ({ pid: p.pid, ...s.quota.counter('product', p.pid, now) })),
        };
      });
      api.post('/unbind-tokens', async (req, reply) => {
        const body = parseOr400(issueTokenRequestSchema, req.body, 'body');
        const key = idempotencyKeyOf(req);
        const { token: issued, replayed } = key
          ? s.tokens.issueOnce(me(req).accountId, me(req).region, body, s.clock(), key)
          : { token: s.tokens.issue(me(req).accountId, me(req).region, body, s.clock()), replayed: false };
        if (replayed) return reply.status(201).header(IDEMPOTENT_REPLAYED_HEADER, 'true').send(issued);
        req.log.info({ evt: 'token-issued', tokenId: issued.id, account: me(req).accountId, capacity: issued.capacity, channel: issued.channel }, 'token issued');
        return reply.status(201).send(issued);
      });
      api.get('/unbind-tokens/:id', async (req) => {
        const { id } = parseOr400(idParamSchema, req.params, 'path');
        return s.tokens.viewFor(me(req).accountId, id, s.clock());
      });
      // No HEAD: Node sends a HEAD answer's headers only at its end, and a stream ends when the token does.
      api.get('/unbind-tokens/:id/events', { exposeHeadRoute: false }, async (req, reply) => {
        const { id } = parseOr400(idParamSchema, req.params, 'path');
        streamTokenEvents(s, me(req).accountId, id, req, reply, openStreams);
      });
      api.get('/device-logs', { config: { query: deviceLogQuerySchema } }, async (req) => s.logs.query(me(req).accountId, parseOr400(deviceLogQuerySchema, req.query, 'query')));

      api.post('/quota-tickets', async (req, reply) => {
        const body = parseOr400(quotaTicketRequestSchema, req.body, 'body');
        return reply.status(201).send(s.tickets.request(me(req).accountId, body, s.clock()));
      });
      api.get('/quota-tickets', async (req) => ({ items: s.tickets.list(me(req).accountId), nextCursor: null }));
      for (const decision of ['approve', 'reject'] as const) {
        api.post(`/quota-tickets/:id/${decision}`, async (req) => {
          const { id } = parseOr400(idParamSchema, req.params, 'path');
          // A body is optional (an approve without words): none reads as `{}`.
          const { reason } = parseOr400(quotaTicketDecisionSchema, req.body ?? {}, 'body');
          return s.tickets.decide(me(req).accountId, id, decision === 'approve', s.clock(), reason);
        });
      }

      api.get('/authorizations', async (req) => s.authorizations.view(me(req).accountId));
      api.post('/authorizations/partners', async (req, reply) => {
        const b = parseOr400(partnerGrantRequestSchema, req.body, 'body');
        s.authorizations.grantPartner(me(req).accountId, b.pid, b.accountId, s.clock());
        return reply.status(201).send(s.authorizations.view(me(req).accountId));
      });
      api.delete('/authorizations/partners/:pid/:accountId', async (req) => {
        const p = parseOr400(z.strictObject({ pid: pidSchema, accountId: accountIdSchema }), req.params, 'path');
        s.authorizations.revokePartner(me(req).accountId, p.pid, p.accountId, s.clock());
        return s.authorizations.view(me(req).accountId);
      });
      api.post('/authorizations/roles', async (req, reply) => {
        const b = parseOr400(roleRequestSchema, req.body, 'body');
        return reply.status(201).send(s.authorizations.createRole(me(req).accountId, b));
      });
      api.post('/authorizations/members', async (req, reply) => {
        const b = parseOr400(memberGrantRequestSchema, req.body, 'body');
        s.authorizations.setMember(me(req).accountId, b.accountId, b.roleId, s.clock());
        return reply.status(201).send(s.authorizations.view(me(req).accountId));
      });
      api.delete('/authorizations/members/:accountId', async (req) => {
        const p = parseOr400(z.strictObject({ accountId: accountIdSchema }), req.params, 'path');
        s.authorizations.removeMember(me(req).accountId, p.accountId);
        return s.authorizations.view(me(req).accountId);
      });
    },
    { prefix: '/api/v1' },
  );

  const purgeTimer = setInterval(() => auth.purgeNonces(s.clock()), 60_000);
  purgeTimer.unref();
  app.addHook('onClose', async () => clearInterval(purgeTimer));
  return app;
}
