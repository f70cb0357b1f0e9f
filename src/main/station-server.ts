import { existsSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { openSseStream, STATION_CALL_NAMES, STATION_CALLS, STATION_EVENTS_PATH, StationError, type CallSpec, type SseStream, type StationEvent } from '../protocol/index.js';
import type { EventHub } from './event-hub.js';
import { invokeCall, toRefusal, type StationHandlers } from './station-calls.js';

/**
 * The station's web face: the renderer's files and the station API (HTTP + server-sent events).
 * It binds 127.0.0.1 and answers only a client that holds the per-start secret: the URL printed at
 * start carries it once, the page trades it for an HttpOnly SameSite=Strict cookie. Another local
 * program or a web page in the same browser has neither; a Host check stops DNS rebinding.
 */
export const SESSION_COOKIE = 'unbind_station';

export interface StationServerOptions {
  handlers: StationHandlers;
  hub: EventHub;
  secret: string;
  /** Routes beside the API (the demo bench's `/bench/screen`); they pass the same key check. */
  routes?: (app: FastifyInstance) => void;
  rendererDir: string;
  logLevel?: string;
}

/** A table route as Fastify matches it: a parameter with a suffix (`:n.svg`) is matched whole, the suffix cut off in httpArgs. */
function fastifyPath(path: string): string {
  return path.replace(/:([A-Za-z]+)\.[A-Za-z]+/g, ':$1');
}

function httpArgs(spec: CallSpec, req: FastifyRequest): unknown[] {
  const params = (req.params ?? {}) as Record<string, string>;
  const body = req.body as Record<string, unknown> | undefined;
  return spec.http.args.map((a) => {
    switch (a.in) {
      case 'param': {
        const suffix = new RegExp(`:${a.name}(\\.[A-Za-z]+)`).exec(spec.http.path)?.[1];
        const v = params[a.name];
        return suffix && v?.endsWith(suffix) ? v.slice(0, -suffix.length) : v;
      }
      case 'query':
        return req.query;
      case 'body':
        return 'key' in a ? (typeof body === 'object' && body !== null ? body[a.key] : undefined) : req.body;
    }
  });
}

function secretsEqual(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

function ownOrigins(host: string | undefined): string[] {
  const port = /:(\d+)$/.exec(host ?? '')?.[1];
  return port ? [`http://127.0.0.1:${port}`, `http://localhost:${port}`, `http://[::1]:${port}`] : [];
}

function cookieValue(header: string | undefined, name: string): string | null {
  for (const part of (header ?? '').split(';')) {
    const [k, ...v] = part.trim().split('=');
    if (k === name) return v.join('=');
  }
  return null;
}

export function buildStationServer(o: StationServerOptions): FastifyInstance {
  const app = Fastify({
    logger: { level: o.logLevel ?? 'info', serializers: { req: (r: FastifyRequest) => ({ method: r.method, url: r.url.split('?')[0] }) } },
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    forceCloseConnections: true,
  });
  const streams = new Set<SseStream>();
  // The hub hands every page's stream the same event object: it is serialised once, not once per page.
  const serialised = new WeakMap<StationEvent, string>();
  const jsonOf = (e: StationEvent): string => {
    let json = serialised.get(e);
    if (json === undefined) {
      json = JSON.stringify(e);
      serialised.set(e, json);
    }
    return json;
  };

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    const refusal = toRefusal(err);
    if (refusal) return reply.status(refusal.status).send({ code: refusal.code, message: refusal.message });
    const status = err.statusCode ?? 500;
    if (status >= 500) {
      req.log.error({ err: { message: err.message, stack: err.stack } }, 'unhandled error');
      return reply.status(500).send({ code: 'INTERNAL', message: 'internal error' });
    }
    return reply.status(status === 415 ? 400 : status).send({ code: err.code ?? 'BAD_REQUEST', message: err.message });
  });

  // Every request: the Host must be this machine (no DNS rebinding), and everything but the page's own
  // files needs the secret. The route is judged as Fastify matched it (req.routeOptions.url), never by
  // the raw path: `/%61pi/…` decodes to `/api/…` and must not slip past.
  app.addHook('onRequest', async (req, reply) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '');
    if (!['127.0.0.1', 'localhost', '[::1]'].includes(host)) throw new StationError(403, 'FORBIDDEN_HOST', 'this station answers only on 127.0.0.1');
    const url = new URL(req.url, 'http://station');
    const key = url.searchParams.get('key');
    if (key !== null && url.pathname === '/') {
      if (!secretsEqual(key, o.secret)) throw new StationError(401, 'BAD_KEY', 'this is not the key this station printed at start');
      reply.header('set-cookie', `${SESSION_COOKIE}=${o.secret}; HttpOnly; SameSite=Strict; Path=/`);
      return reply.redirect('/');
    }
    const route = req.routeOptions.url;
    const pageFile = route === undefined || route === '/*' || route === '/';
    if (pageFile) return;
    const presented = cookieValue(req.headers.cookie, SESSION_COOKIE) ?? req.headers['x-station-key'] ?? key;
    if (typeof presented !== 'string' || !secretsEqual(presented, o.secret)) {
      throw new StationError(401, 'NO_STATION_KEY', 'open the station with the URL it printed at start');
    }
    // SameSite does not tell ports apart: a page on another 127.0.0.1 port would send the cookie.
    // A browser names the page's origin on every request that changes something; only ours may.
    const origin = req.headers.origin;
    if (req.method !== 'GET' && req.method !== 'HEAD' && origin !== undefined && !ownOrigins(req.headers.host).includes(origin)) {
      throw new StationError(403, 'FORBIDDEN_ORIGIN', 'requests from another page are refused');
    }
  });

  // The page may load only its own files; code images are data: URLs; the print sheet (about:blank,
  // which inherits this policy) carries its own <style>. No frames, no plug-ins, no foreign requests.
  app.addHook('onSend', async (_req, reply) => {
    reply.header(
      'content-security-policy',
      "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    );
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
  });

  o.routes?.(app);

  // Every call of the API table, as its entry says: arguments from params/query/body, answer by kind.
  for (const name of STATION_CALL_NAMES) {
    const spec: CallSpec = STATION_CALLS[name];
    app.route({
      method: spec.http.method,
      url: fastifyPath(spec.http.path),
      ...(spec.http.bodyLimit ? { bodyLimit: spec.http.bodyLimit } : {}),
      handler: async (req, reply) => {
        const out: unknown = await invokeCall(o.handlers, name, httpArgs(spec, req));
        const answer = spec.answer;
        switch (answer.kind) {
          case 'none':
            return reply.status(204).send();
          case 'text':
            if (answer.noStore) reply.header('cache-control', 'no-store');
            return reply.type(answer.contentType).send(out);
          case 'download': {
            const day = new Date().toISOString().slice(0, 10);
            return reply.type(answer.contentType).header('content-disposition', `attachment; filename="${answer.fileName}-${day}.csv"`).send(out);
          }
          case 'json':
            return reply.status(spec.http.status ?? 200).send(out);
        }
      },
    });
  }
  app.route({
    method: 'GET',
    url: STATION_EVENTS_PATH,
    handler: async (_req, reply) => {
      reply.hijack();
      const stream = openSseStream(reply.raw, { greeting: 'connected', onClose: () => unsubscribe() });
      const unsubscribe = o.hub.subscribe((e) => stream.send({ data: jsonOf(e) }));
      streams.add(stream);
      reply.raw.once('close', () => streams.delete(stream));
    },
  });
  app.addHook('onClose', async () => {
    for (const s of streams) s.close();
  });

  if (existsSync(o.rendererDir)) {
    app.register(fastifyStatic, { root: o.rendererDir, index: ['index.html'] });
  } else {
    app.get('/', async (_req, reply) => reply.status(503).type('text/plain').send('The renderer is not built: run `npm run build:renderer` (npm start does it).'));
  }
  return app;
}
