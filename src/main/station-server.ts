import { existsSync } from 'node:fs';
import { timingSafeEqual } from 'node:crypto';
import Fastify, { LogController, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { historyQuerySchema, STATION_HTTP } from '../protocol/index.js';
import { StationError } from '../batch/station-error.js';
import { HistoryInputError } from '../history/index.js';
import type { StationCore } from './station-core.js';
import { parseArg, STATION_CALLS } from './station-calls.js';

/**
 * The station's web face: the renderer's files and the station API (HTTP + server-sent events).
 * It binds 127.0.0.1 and answers only a client that holds the per-start secret: the URL printed at
 * start carries it once, the page trades it for an HttpOnly SameSite=Strict cookie. Another local
 * program or a web page in the same browser has neither; a Host check stops DNS rebinding.
 */
export const SESSION_COOKIE = 'unbind_station';

export interface StationServerOptions {
  core: StationCore;
  secret: string;
  rendererDir: string;
  logLevel?: string;
}

function route(name: keyof typeof STATION_HTTP): { method: string; url: string } {
  const [method, path] = STATION_HTTP[name];
  return { method, url: path.replace(':n.svg', ':n') };
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
  const { core } = o;
  const app = Fastify({
    logger: { level: o.logLevel ?? 'info', serializers: { req: (r: FastifyRequest) => ({ method: r.method, url: r.url.split('?')[0] }) } },
    logController: new LogController({ disableRequestLogging: true }),
    bodyLimit: 1024 * 1024,
    forceCloseConnections: true,
  });
  const streams = new Set<FastifyReply>();

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, req, reply) => {
    if (err instanceof StationError) return reply.status(err.status).send({ code: err.code, message: err.message });
    if (err instanceof HistoryInputError) return reply.status(400).send({ code: 'BAD_REQUEST', message: err.message });
    const upstream = err as { status?: number; code?: string };
    if (err.name === 'AuthorityRequestError') return reply.status(502).send({ code: upstream.code ?? 'CLOUD_UNREACHABLE', message: err.message });
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

  app.get('/bench/screen', async () => core.screen());

  const r = route;
  const call = (name: keyof typeof STATION_CALLS, args: (req: FastifyRequest) => unknown[], status = 200) =>
    app.route({
      ...r(name),
      handler: async (req, reply) => {
        const out = await STATION_CALLS[name](core, args(req));
        return out === undefined ? reply.status(204).send() : reply.status(status).send(out);
      },
    });
  const body = (req: FastifyRequest): unknown => req.body;
  const id = (req: FastifyRequest): unknown => (req.params as { id?: string }).id;
  call('getSession', () => []);
  call('signIn', (req) => [body(req)]);
  call('signOut', () => []);
  call('getDashboard', () => []);
  call('planBatch', (req) => [body(req)]);
  call('startBatch', (req) => [body(req)], 201);
  call('listBatches', () => []);
  call('getBatch', (req) => [id(req)]);
  call('cancelBatch', (req) => [id(req)]);
  call('scanLabel', (req) => [id(req), (req.body as { label?: unknown } | undefined)?.label]);
  call('unlockCodes', (req) => [id(req), (req.body as { wifi?: unknown } | undefined)?.wifi]);
  call('showCodes', (req) => [(req.body as { batchId?: unknown } | undefined)?.batchId, (req.body as { codeIndexes?: unknown } | undefined)?.codeIndexes]);
  call('queryHistory', (req) => [req.query]);
  call('historyStats', (req) => [req.query]);
  call('getLanDevices', () => []);
  call('refreshLan', () => []);
  call('getSerialStatus', () => []);
  call('setSerialSettings', (req) => [body(req)]);
  call('getBench', () => []);
  call('resetBenchDevice', (req) => [id(req)]);
  app.route({
    ...r('getCodeSvg'),
    handler: async (req, reply) => {
      const p = req.params as { id: string; n: string };
      const svg = await STATION_CALLS.getCodeSvg(core, [p.id, String(p.n).replace(/\.svg$/, '')]);
      return reply.type('image/svg+xml').header('cache-control', 'no-store').send(svg);
    },
  });
  app.route({
    ...r('getPrintSheet'),
    handler: async (req, reply) => reply.type('text/html; charset=utf-8').send(await STATION_CALLS.getPrintSheet(core, [id(req)])),
  });
  app.route({
    ...r('exportHistoryCsv'),
    handler: async (req, reply) => {
      const stream = await core.exportHistoryCsv(parseArg(historyQuerySchema, req.query, 'query'));
      const day = new Date().toISOString().slice(0, 10);
      return reply.type('text/csv; charset=utf-8').header('content-disposition', `attachment; filename="unbind-history-${day}.csv"`).send(stream);
    },
  });
  app.route({
    ...r('subscribe'),
    handler: async (req, reply) => {
      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
      res.write(': connected\n\n');
      streams.add(reply);
      const unsubscribe = core.hub.subscribe((e) => res.write(`data: ${JSON.stringify(e)}\n\n`));
      const heartbeat = setInterval(() => res.write(': ping\n\n'), 15_000);
      res.on('close', () => {
        unsubscribe();
        clearInterval(heartbeat);
        streams.delete(reply);
      });
    },
  });
  app.addHook('onClose', async () => {
    for (const s of streams) s.raw.end();
  });

  if (existsSync(o.rendererDir)) {
    app.register(fastifyStatic, { root: o.rendererDir, index: ['index.html'] });
  } else {
    app.get('/', async (_req, reply) => reply.status(503).type('text/plain').send('The renderer is not built: run `npm run build:renderer` (npm start does it).'));
  }
  return app;
}
