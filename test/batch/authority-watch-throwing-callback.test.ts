import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { createAuthorityClient } from '../../src/batch/station-authority-client.js';
import type { DeviceResult } from '../../src/protocol/index.js';

/**
 * The batch service's onResults throws by design (recordResultsNow: "the refusal is thrown below", and a
 * closed history store throws too). The watch must survive it as the fetch version did (its once() rejected,
 * the loop reconnected): a throw out of a node:http 'data' listener is an uncaught exception, i.e. the
 * station process ends.
 */
const result = (seq: number): DeviceResult => ({ seq, at: new Date().toISOString(), devId: `dev-${seq}`, serial: null, pid: 'pqr1cam', result: 'UNBOUND', reason: null });

describe('a token watch whose onResults throws', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((done) => (server ? server.close(() => done()) : done())));

  it('does not raise an uncaught exception, and follows the stream to its end', async () => {
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
