import { createServer as createHttpServer, type Server } from 'node:http';
import { createServer as createTcpServer, connect, type AddressInfo, type Server as TcpServer, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { AuthorityRequestError, createAuthorityClient } from '../../src/batch/station-authority-client.js';

/**
 * A kept-alive connection the authority closes while the station's next request is on its way. The authority
 * (Fastify) announces its idle limit in `Keep-Alive: timeout=N` (72 s by default); a client must stop reusing
 * a connection a little before it (fetch/undici: N − 1 s), or a request sent as the server's close travels
 * back finds the connection gone: no answer, CLOUD_UNREACHABLE. Node 20's http.Agent honours the hint only
 * when the agent has a `timeout` of its own (keepSocketAlive: `serverHintTimeout < agentTimeout`, with
 * agentTimeout 0 when none is set). Real servers: a node:http server with a 2 s idle limit, behind a TCP relay
 * that delays each direction by 200 ms (the network between station and authority). The window is narrow in the
 * field (a request sent within a round trip of the authority's idle close, 72 + 1 s after the last answer) but
 * any station idle that long between two requests may hit it.
 */
const DELAY_MS = 200;

function relay(to: number): Promise<TcpServer> {
  const server = createTcpServer({ allowHalfOpen: true }, (down: Socket) => {
    const up = connect({ port: to, host: '127.0.0.1', allowHalfOpen: true });
    const later = (f: () => void): void => void setTimeout(f, DELAY_MS);
    down.on('data', (d) => later(() => up.writable && up.write(d)));
    up.on('data', (d) => later(() => down.writable && down.write(d)));
    down.on('end', () => later(() => up.end()));
    up.on('end', () => later(() => down.end()));
    down.on('error', () => later(() => up.destroy()));
    up.on('error', () => later(() => down.destroy()));
    down.on('close', () => later(() => up.destroy()));
    up.on('close', () => later(() => down.destroy()));
  });
  return new Promise((done) => server.listen(0, '127.0.0.1', () => done(server)));
}

describe('the station client on a kept-alive connection', () => {
  const toClose: Array<Server | TcpServer> = [];
  afterEach(async () => {
    for (const s of toClose.splice(0)) await new Promise<void>((done) => s.close(() => done()));
  });

  it('does not reuse one past the idle limit the authority announced (less a margin): the next read gets its answer', async () => {
    const http = createHttpServer((req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ accountId: 'acc-1', name: 'Installer', clientId: 'client-1', region: 'EU' }));
    });
    http.keepAliveTimeout = 2_000; // announces `Keep-Alive: timeout=2`
    const sockets = new Set<Socket>();
    http.on('connection', (s: Socket) => sockets.add(s));
    await new Promise<void>((done) => http.listen(0, '127.0.0.1', done));
    toClose.push(http);
    const proxy = await relay((http.address() as AddressInfo).port);
    toClose.push(proxy);
    const client = createAuthorityClient({ url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`, clientId: 'client-1', secret: 'secret-secret' });

    expect((await client.me()).accountId).toBe('acc-1');
    // Node's server (Fastify's too) closes an idle connection 1 s after the limit it announces: here 3 s after its
    // answer. 2.8 s after the answer came here: the request reaches the server after its close, which is still on
    // its way back (fetch would have dropped the connection 1 s after the answer: the announced 2 s less 1 s).
    await new Promise((r) => setTimeout(r, 2_800));
    const second = await client.me().then(
      (me) => me.accountId,
      (err: unknown) => (err instanceof AuthorityRequestError ? `${err.code}: ${err.message}` : String(err)),
    );
    for (const s of sockets) s.destroy();
    expect(second).toBe('acc-1');
  }, 20_000);
});
