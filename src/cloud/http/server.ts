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
  approveCaseRequestSchema,
  caseIdSchema,
  caseListQuerySchema,
  CASE_BODY_LIMIT,
  fileCaseRequestSchema,
  rejectCaseRequestSchema,
} from '../../protocol/index.js';
import type { AccountRecord } from '../accounts.js';
import { AuthorityError } from '../errors.js';
import { AUTH_FAILURES, createAuthFailureGuard, DEFAULT_AUTH_FAILURE_LIMITS, type AuthFailureLimits } from '../auth-failures.js';
import type { AuthorityStore } from '../store.js';
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
export function buildAuthorityServer(s: AuthorityStore, opts: ServerOptions = {}): FastifyInstance {
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
  const auth = createStationAuth(s, s.clock);
  const openStreams = new Set<() => void>();
  const batcher = createUnbindBatcher(s.unbind);
  const authFailures = createAuthFailureGuard({
    clock: s.clock,
    log: (l) => app.log[l.level](l.fields, l.message),
    onUnchecked: (devId, count, firstAt, lastAt) =>
      void s.logs
        .appendUnchecked(devId, 'RATE_LIMITED', count, firstAt, lastAt)
        .catch((err: Error) => app.log.warn({ evt: 'auth-failures-folded', message: err.message }, 'folding failed device authentications failed')),
    ...(opts.authFailureLimits ? { limits: opts.authFailureLimits } : {}),
  });
  // One transaction for the window's folded rows; the last window is flushed before the store closes.
  const flushAuthFailures = (): void => {
    try {
      s.together(() => authFailures.flush());
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
        req.account = await auth.verify(req, req.rawBody ?? Buffer.alloc(0));
      });
      const me = (req: FastifyRequest): AccountRecord => req.account!;

      api.get('/me', async (req) => {
        const { secret: _secret, ...view } = me(req);
        return { ...view, verifiedInstaller: await s.accounts.isVerifiedInstaller(view.accountId) };
      });
      api.get('/products', async (req) => {
        return { items: await s.grants.unbindableProducts(me(req).accountId), nextCursor: null };
      });
      api.get('/quota', async (req): Promise<QuotaView> => {
        const now = s.clock();
        const w = await s.quota.window(now);
        const products = await s.grants.unbindableProducts(me(req).accountId);
        return {
          day: w.day,
          timeZone: s.quota.timeZone,
          startsAt: new Date(w.startsAt).toISOString(),
          endsAt: new Date(w.endsAt).toISOString(),
          account: await s.quota.counter('account', me(req).accountId, now),
          products: await Promise.all(products.map(async (p) => ({ pid: p.pid, ...(await s.quota.counter('product', p.pid, now)) }))),
        };
      });
      api.post('/unbind-tokens', async (req, reply) => {
        const body = parseOr400(issueTokenRequestSchema, req.body, 'body');
        const key = idempotencyKeyOf(req);
        const { token: issued, replayed } = key
          ? await s.tokens.issueOnce(me(req).accountId, me(req).region, body, s.clock(), key)
          : { token: await s.tokens.issue(me(req).accountId, me(req).region, body, s.clock()), replayed: false };
        if (replayed) return reply.status(201).header(IDEMPOTENT_REPLAYED_HEADER, 'true').send(issued);
        req.log.info({ evt: 'token-issued', tokenId: issued.id, account: me(req).accountId, capacity: issued.capacity, channel: issued.channel }, 'token issued');
        return reply.status(201).send(issued);
      });
      api.get('/unbind-tokens/:id', async (req) => {
        const { id } = parseOr400(idParamSchema, req.params, 'path');
        return await s.tokens.viewFor(me(req).accountId, id, s.clock());
      });
      // No HEAD: Node sends a HEAD answer's headers only at its end, and a stream ends when the token does.
      api.get('/unbind-tokens/:id/events', { exposeHeadRoute: false }, async (req, reply) => {
        const { id } = parseOr400(idParamSchema, req.params, 'path');
        await streamTokenEvents(s, me(req).accountId, id, req, reply, openStreams);
      });
      api.get('/device-logs', { config: { query: deviceLogQuerySchema } }, async (req) => await s.logs.query(me(req).accountId, parseOr400(deviceLogQuerySchema, req.query, 'query')));

      api.post('/quota-tickets', async (req, reply) => {
        const body = parseOr400(quotaTicketRequestSchema, req.body, 'body');
        return reply.status(201).send(await s.tickets.request(me(req).accountId, body, s.clock()));
      });
      api.get('/quota-tickets', async (req) => ({ items: await s.tickets.list(me(req).accountId), nextCursor: null }));
      for (const decision of ['approve', 'reject'] as const) {
        api.post(`/quota-tickets/:id/${decision}`, async (req) => {
          const { id } = parseOr400(idParamSchema, req.params, 'path');
          // A body is optional (an approve without words): none reads as `{}`.
          const { reason } = parseOr400(quotaTicketDecisionSchema, req.body ?? {}, 'body');
          return await s.tickets.decide(me(req).accountId, id, decision === 'approve', s.clock(), reason);
        });
      }

      const cases = () => s.cases;
      // Cases (§4.10). The body limit is raised for the filing alone, just enough for a 5 MB photo in base64.
      api.post('/cases', { bodyLimit: CASE_BODY_LIMIT }, async (req, reply) => {
        const body = parseOr400(fileCaseRequestSchema, req.body, 'body');
        const view = await cases().file(me(req).accountId, body, s.clock());
        req.log.info({ evt: 'case-filed', caseId: view.id, kind: view.kind, devId: view.devId, account: view.filer }, 'case filed');
        return reply.status(201).send(view);
      });
      api.get('/cases', { config: { query: caseListQuerySchema } }, async (req) => await cases().list(me(req).accountId, parseOr400(caseListQuerySchema, req.query, 'query')));
      api.get('/cases/:id/photo', async (req, reply) => {
        const { id } = parseOr400(z.strictObject({ id: caseIdSchema }), req.params, 'path');
        const photo = await cases().photo(me(req).accountId, id);
        return reply.type(photo.type).header('cache-control', 'private, no-store').header('x-content-type-options', 'nosniff').send(photo.bytes);
      });
      api.post('/cases/:id/approve', async (req) => {
        const { id } = parseOr400(z.strictObject({ id: caseIdSchema }), req.params, 'path');
        const body = parseOr400(approveCaseRequestSchema.optional(), req.body, 'body');
        const view = await cases().approve(me(req).accountId, id, body?.note, s.clock());
        // The view may carry a reset code: the line names the case, never the code.
        req.log.info({ evt: 'case-approved', caseId: id, kind: view.kind, devId: view.devId }, 'case approved');
        return view;
      });
      api.post('/cases/:id/reject', async (req) => {
        const { id } = parseOr400(z.strictObject({ id: caseIdSchema }), req.params, 'path');
        const body = parseOr400(rejectCaseRequestSchema, req.body, 'body');
        const view = await cases().reject(me(req).accountId, id, body, s.clock());
        req.log.info({ evt: 'case-rejected', caseId: id, reason: body.reason }, 'case rejected');
        return view;
      });

      api.get('/authorizations', async (req) => await s.authorizations.view(me(req).accountId));
      api.post('/authorizations/partners', async (req, reply) => {
        const b = parseOr400(partnerGrantRequestSchema, req.body, 'body');
        await s.authorizations.grantPartner(me(req).accountId, b.pid, b.accountId, s.clock());
        return reply.status(201).send(await s.authorizations.view(me(req).accountId));
      });
      api.delete('/authorizations/partners/:pid/:accountId', async (req) => {
        const p = parseOr400(z.strictObject({ pid: pidSchema, accountId: accountIdSchema }), req.params, 'path');
        await s.authorizations.revokePartner(me(req).accountId, p.pid, p.accountId, s.clock());
        return await s.authorizations.view(me(req).accountId);
      });
      api.post('/authorizations/roles', async (req, reply) => {
        const b = parseOr400(roleRequestSchema, req.body, 'body');
        return reply.status(201).send(await s.authorizations.createRole(me(req).accountId, b));
      });
      api.post('/authorizations/members', async (req, reply) => {
        const b = parseOr400(memberGrantRequestSchema, req.body, 'body');
        await s.authorizations.setMember(me(req).accountId, b.accountId, b.roleId, s.clock());
        return reply.status(201).send(await s.authorizations.view(me(req).accountId));
      });
      api.delete('/authorizations/members/:accountId', async (req) => {
        const p = parseOr400(z.strictObject({ accountId: accountIdSchema }), req.params, 'path');
        await s.authorizations.removeMember(me(req).accountId, p.accountId);
        return await s.authorizations.view(me(req).accountId);
      });
    },
    { prefix: '/api/v1' },
  );

  const purgeTimer = setInterval(() => void auth.purgeNonces(s.clock()).catch(() => {}), 60_000);
  purgeTimer.unref();
  app.addHook('onClose', async () => clearInterval(purgeTimer));
  return app;
}
