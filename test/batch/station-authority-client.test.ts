import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthorityClient } from '../../src/batch/station-authority-client.js';
import type { DeviceResult } from '../../src/protocol/index.js';

/**
 * The station's follow of a token's event stream, against a small real HTTP server standing for the
 * authority's stream (the authority itself never garbles an event; a proxy or a cut connection can).
 */
const result = (seq: number): DeviceResult => ({ seq, at: new Date().toISOString(), devId: `dev-${seq}`, serial: null, pid: 'pqr1cam', result: 'UNBOUND', reason: null });

describe('following a token stream', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

  it('a garbled event is not skipped for good: the watcher reconnects from the last good one and gets it', async () => {
    const lastIds: string[] = [];
    server = createServer((req, res) => {
      lastIds.push(String(req.headers['last-event-id']));
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const from = Number(req.headers['last-event-id'] ?? 0);
      const send = (seq: number, body = JSON.stringify(result(seq))) => res.write(`id: ${seq}\nevent: result\ndata: ${body}\n\n`);
      if (lastIds.length === 1) {
        send(1);
        send(2, '{"seq": 2, "devId": "dev-2", garbled');
        send(3);
        return; // leave it open: the client must drop it itself
      }
      for (let seq = from + 1; seq <= 3; seq++) send(seq);
      res.end('event: end\ndata: {"status":"exhausted","used":3}\n\n');
    });
    await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = createAuthorityClient({ url, clientId: 'client-1', secret: 'secret-secret' });
    const got: number[] = [];
    const watch = client.watchToken('tok00001', 0, (rs) => got.push(...rs.map((r) => r.seq)));
    expect(await watch.done).toEqual({ status: 'exhausted' });
    expect(got).toEqual([1, 2, 3]);
    expect(lastIds).toEqual(['0', '1']);
  });

  it('a callback that throws (the batch service throws a refused result by design, a closed history store throws) raises no uncaught exception: the watcher reconnects and follows the stream to its end', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => void uncaught.push(err);
    // vitest reports these too; listening here also lets the assertion below name it.
    process.on('uncaughtException', onUncaught);
    let connections = 0;
    server = createServer((req, res) => {
      connections++;
      const from = Number(req.headers['last-event-id'] ?? 0);
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      for (let seq = from + 1; seq <= 3; seq++) res.write(`id: ${seq}\nevent: result\ndata: ${JSON.stringify(result(seq))}\n\n`);
      res.end('event: end\ndata: {"status":"exhausted","used":3}\n\n');
    });
    await new Promise<void>((done) => server!.listen(0, '127.0.0.1', done));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const client = createAuthorityClient({ url, clientId: 'client-1', secret: 'secret-secret' });
    let calls = 0;
    const watch = client.watchToken('tok00001', 0, () => {
      calls++;
      if (calls === 1) throw new Error('history store is closed');
    });
    try {
      const ended = await Promise.race([watch.done, new Promise((r) => setTimeout(() => r('still open'), 5_000))]);
      await new Promise((r) => setTimeout(r, 100));
      expect(uncaught.map((e) => (e as Error).message)).toEqual([]);
      expect(ended).toEqual({ status: 'exhausted' });
      expect(connections).toBeGreaterThanOrEqual(1);
    } finally {
      watch.close();
      process.off('uncaughtException', onUncaught);
    }
  });
});
