import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { createServer as createTcpServer, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthorityRequestError, createAuthorityClient } from '../../src/batch/station-authority-client.js';
import type { DeviceResult } from '../../src/protocol/index.js';

/**
 * The station's authority client on node:http (16be8e7), at the edges of its transport: what a station feels
 * when the authority (here small real servers that misbehave on purpose) refuses, cuts, stalls, garbles or
 * splits. Coverage tests: each passes on 248a6b3 unless its name says otherwise.
 */
const creds = { clientId: 'client-1', secret: 'secret-secret' };
const me = { accountId: 'acc-1', name: 'Installer', clientId: 'client-1', region: 'EU' };
const result = (seq: number, devId = `dev-${seq}`): DeviceResult => ({ seq, at: '2026-12-04T20:00:00.000Z', devId, serial: null, pid: 'pqr1cam', result: 'UNBOUND', reason: null });
const sse = (seq: number, devId?: string): string => `id: ${seq}\nevent: result\ndata: ${JSON.stringify(result(seq, devId))}\n\n`;
const END = 'event: end\ndata: {"status":"exhausted","used":3}\n\n';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const open: Array<Server | TcpServer> = [];
afterEach(async () => {
  for (const s of open.splice(0)) {
    (s as Server).closeAllConnections?.();
    await new Promise<void>((done) => s.close(() => done()));
  }
});

async function serve(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string; server: Server; sockets: Set<Socket> }> {
  const server = createServer(handler);
  const sockets = new Set<Socket>();
  server.on('connection', (s: Socket) => sockets.add(s));
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  open.push(server);
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server, sockets };
}

const failure = (p: Promise<unknown>): Promise<{ name: string; status?: number; code?: string; message: string }> =>
  p.then(
    () => ({ name: 'none', message: 'it answered' }),
    (e: Error) => (e instanceof AuthorityRequestError ? { name: e.name, status: e.status, code: e.code, message: e.message } : { name: e.name, message: e.message }),
  );

describe('one call', () => {
  it('no server listening: CLOUD_UNREACHABLE (status 0)', async () => {
    const s = createTcpServer();
    await new Promise<void>((done) => s.listen(0, '127.0.0.1', done));
    const port = (s.address() as AddressInfo).port;
    await new Promise<void>((done) => s.close(() => done()));
    const f = await failure(createAuthorityClient({ url: `http://127.0.0.1:${port}`, ...creds }).me());
    expect(f).toMatchObject({ name: 'AuthorityRequestError', status: 0, code: 'CLOUD_UNREACHABLE' });
  });

  it('the connection cut before any answer: CLOUD_UNREACHABLE', async () => {
    const { url } = await serve((req) => req.socket.destroy());
    const f = await failure(createAuthorityClient({ url, ...creds }).me());
    expect(f).toMatchObject({ status: 0, code: 'CLOUD_UNREACHABLE' });
  });

  it('an error answer: its status and code; an answer that is not JSON: BAD_ANSWER', async () => {
    let n = 0;
    const { url } = await serve((_req, res) => {
      if (n++ === 0) {
        res.writeHead(403, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ code: 'SIGNATURE_INVALID', message: 'bad signature' }));
      } else res.writeHead(200, { 'content-type': 'text/html' }).end('<html>proxy</html>');
    });
    const client = createAuthorityClient({ url, ...creds });
    expect(await failure(client.me())).toMatchObject({ status: 403, code: 'SIGNATURE_INVALID', message: 'bad signature' });
    expect(await failure(client.me())).toMatchObject({ status: 200, code: 'BAD_ANSWER' });
  });

  it('an answer cut in its body: the call fails (a plain Error, as with fetch; not CLOUD_UNREACHABLE), and the next call gets a new connection', async () => {
    let n = 0;
    const { url } = await serve((_req, res) => {
      if (n++ === 0) {
        res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' });
        res.write('{"accountId":"acc-1",');
        setTimeout(() => res.socket?.destroy(), 50);
      } else res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(me));
    });
    const client = createAuthorityClient({ url, ...creds });
    const f = await failure(client.me());
    expect(f.name).not.toBe('none');
    expect(f.code).toBeUndefined();
    expect((await client.me()).accountId).toBe('acc-1');
  });

  it('an answer whose body stalls after its head: the call ends by the 10 s limit, which covers the body read', async () => {
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json', 'content-length': '200' });
      res.write('{"accountId":');
    });
    const started = Date.now();
    const f = await failure(createAuthorityClient({ url, ...creds }).me());
    const took = Date.now() - started;
    expect(f.name).not.toBe('none');
    // It ended (a hang would fail at the test's limit), and not before the 10 s limit.
    expect(took).toBeGreaterThanOrEqual(9_900);
  }, 20_000);

  it('a thousand calls in a row on one kept-alive connection leave no timer or socket behind per call', async () => {
    const { url, sockets } = await serve((_req, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(me)));
    const client = createAuthorityClient({ url, ...creds });
    await client.me();
    const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
    const before = timers();
    for (let i = 0; i < 1000; i++) await client.me();
    expect(timers()).toBeLessThanOrEqual(before);
    expect(sockets.size).toBeLessThanOrEqual(2); // fetch's pool opened 2, node:http's Agent 1
  });

  it('a big answer (a 6 MB case photo) arrives whole; a photo of another type is refused BAD_ANSWER, and an error answer keeps its code', async () => {
    const photo = Buffer.alloc(6 * 1024 * 1024);
    for (let i = 0; i < photo.length; i++) photo[i] = (i * 31) & 0xff;
    const { url } = await serve((req, res) => {
      if (req.url!.includes('/big/')) res.writeHead(200, { 'content-type': 'image/png' }).end(photo);
      else if (req.url!.includes('/gif/')) res.writeHead(200, { 'content-type': 'image/gif' }).end(photo.subarray(0, 1000));
      else res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'NOT_FOUND', message: 'no such case' }));
    });
    const client = createAuthorityClient({ url, ...creds });
    const got = await client.casePhoto('big');
    expect(got.type).toBe('image/png');
    expect(got.bytes.equals(photo)).toBe(true);
    expect(await failure(client.casePhoto('gif'))).toMatchObject({ code: 'BAD_ANSWER' });
    expect(await failure(client.casePhoto('none'))).toMatchObject({ status: 404, code: 'NOT_FOUND' });
    // The connection is still usable after the refused photo's body was drained.
    expect((await client.casePhoto('big')).bytes.length).toBe(photo.length);
  });

  it('HTTPS with a certificate no default CA signed: CLOUD_UNREACHABLE (node:https checks it, as fetch did)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'review-tls-'));
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem'), '-days', '1', '-subj', '/CN=127.0.0.1'], { stdio: 'ignore' });
    const server = createHttpsServer({ key: readFileSync(join(dir, 'k.pem')), cert: readFileSync(join(dir, 'c.pem')) }, (_req, res) => res.end(JSON.stringify(me)));
    await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
    open.push(server);
    const f = await failure(createAuthorityClient({ url: `https://127.0.0.1:${(server.address() as AddressInfo).port}`, ...creds }).me());
    expect(f).toMatchObject({ status: 0, code: 'CLOUD_UNREACHABLE' });
  });
});

describe('a token watch', () => {
  it('a token the authority does not know (404): done rejects TOKEN_UNKNOWN, with no reconnect', async () => {
    let connections = 0;
    const { url } = await serve((_req, res) => {
      connections++;
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ code: 'NOT_FOUND', message: 'no token' }));
    });
    const watch = createAuthorityClient({ url, ...creds }).watchToken('tok00001', 0, () => undefined);
    expect(await failure(watch.done)).toMatchObject({ status: 404, code: 'TOKEN_UNKNOWN' });
    await sleep(1_300);
    expect(connections).toBe(1);
  });

  it('answers that are not 2xx, streams that end without an end event: it connects again after its delay each time (no spin), from the last seq', async () => {
    const lastIds: string[] = [];
    const { url } = await serve((req, res) => {
      lastIds.push(String(req.headers['last-event-id']));
      const n = lastIds.length;
      if (n === 1) return res.writeHead(503).end();
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      if (n === 2) return res.end(sse(1)); // ends with no end event
      res.end(sse(2) + sse(3) + END);
    });
    const got: number[] = [];
    const started = Date.now();
    const watch = createAuthorityClient({ url, ...creds }).watchToken('tok00001', 0, (rs) => got.push(...rs.map((r) => r.seq)));
    expect(await watch.done).toEqual({ status: 'exhausted' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_900);
    expect(lastIds).toEqual(['0', '0', '1']);
    expect(got).toEqual([1, 2, 3]);
  });

  it('events split anywhere across reads, a character split across reads: each result once, whole, in order', async () => {
    const body = Buffer.from(sse(1, 'dev-é-1') + ': heartbeat\n\n' + sse(2, 'dev-设备-2') + sse(3, 'dev-😀-3') + END, 'utf8');
    // Cut inside each multi-byte character and between the two newlines of an event's end.
    const cuts: number[] = [];
    for (const ch of ['é', '设', '😀']) cuts.push(body.indexOf(Buffer.from(ch)) + 1);
    cuts.push(body.indexOf('\n\n') + 1);
    cuts.sort((a, b) => a - b);
    const { url } = await serve(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      let at = 0;
      for (const cut of [...cuts, body.length]) {
        res.write(body.subarray(at, cut));
        at = cut;
        await sleep(30);
      }
      res.end();
    });
    const groups: string[][] = [];
    const watch = createAuthorityClient({ url, ...creds }).watchToken('tok00001', 0, (rs) => groups.push(rs.map((r) => r.devId)));
    expect(await watch.done).toEqual({ status: 'exhausted' });
    expect(groups.flat()).toEqual(['dev-é-1', 'dev-设备-2', 'dev-😀-3']);
  });

  it('closed while connecting (no answer yet, none ever): done is closed, the connection is dropped, no error escapes', async () => {
    const { url, server } = await serve(() => undefined); // never answers
    let connected: () => void = () => undefined;
    const reached = new Promise<void>((done) => (connected = done));
    const gone = new Promise<void>((done) => server.once('connection', (s: Socket) => (connected(), s.once('close', () => done()))));
    const watch = createAuthorityClient({ url, ...creds }).watchToken('tok00001', 0, () => undefined);
    await reached; // connected, waiting for an answer that never comes
    watch.close();
    expect(await watch.done).toEqual({ status: 'closed' });
    await gone;
  });

  it('closed while reading (the stream never ends): done is closed, the connection is dropped, nothing more is delivered', async () => {
    let resClosed = false;
    let stream: ServerResponse | undefined;
    const { url } = await serve((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(sse(1));
      res.on('close', () => (resClosed = true));
      stream = res;
    });
    const got: number[] = [];
    const watch = createAuthorityClient({ url, ...creds }).watchToken('tok00001', 0, (rs) => got.push(...rs.map((r) => r.seq)));
    while (got.length === 0) await sleep(10); // reading: the first result is in
    watch.close();
    expect(await watch.done).toEqual({ status: 'closed' });
    // What the stream would still have said is not delivered.
    if (stream!.writable) stream!.write(sse(2));
    while (!resClosed) await sleep(10);
    await sleep(50);
    expect(got).toEqual([1]);
  });

  it('closed during the reconnect delay: done is closed by the end of the delay, and no connection follows', async () => {
    let connections = 0;
    const { url } = await serve((_req, res) => {
      connections++;
      res.writeHead(500).end();
    });
    const watch = createAuthorityClient({ url, ...creds }).watchToken('tok00001', 0, () => undefined);
    await sleep(300);
    watch.close();
    expect(await watch.done).toEqual({ status: 'closed' });
    await sleep(1_200);
    expect(connections).toBe(1);
  });

  it('many reconnects leave no listener or timer behind (no MaxListeners warning, timers back to where they were)', async () => {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(w.name);
    process.on('warning', onWarning);
    try {
      const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;
      const before = timers();
      let n = 0;
      const { url } = await serve((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        n++;
        if (n < 4) res.end(sse(n));
        else res.end(sse(n) + END);
      });
      const watch = createAuthorityClient({ url, ...creds }).watchToken('tok00001', 0, () => undefined);
      expect(await watch.done).toEqual({ status: 'exhausted' });
      await sleep(50);
      expect(timers()).toBeLessThanOrEqual(before);
      expect(warnings).toEqual([]);
    } finally {
      process.off('warning', onWarning);
    }
  });
});
