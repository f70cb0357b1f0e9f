import { mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBatchStore, type BatchStore } from '../../src/batch/batch-records.js';
import { createBatchService, type BatchService } from '../../src/batch/batch-service.js';
import { createAuthorityClient } from '../../src/batch/station-authority-client.js';
import { openHistoryStore, type HistoryStore } from '../../src/history/index.js';
import type { StationEvent } from '../../src/protocol/index.js';
import { eligible, startHarness, type Harness } from '../support/authority-harness.js';

/**
 * A TCP proxy in front of the authority whose answers on token event streams can be held (the network
 * slow for a moment) and then let through in one piece: the station reads them as one read of its stream.
 */
interface HoldingProxy {
  url: string;
  /** Holds what the authority sends on the event streams from now on. */
  hold(): void;
  /** What is held so far, as text. */
  held(): string;
  /** Lets everything held through, in one write per stream. */
  release(): void;
  /** Event streams whose first answer bytes came through (the station is subscribed). */
  subscribed(): number;
  close(): Promise<void>;
}

async function startHoldingProxy(target: string): Promise<HoldingProxy> {
  const { hostname, port } = new URL(target);
  let holding = false;
  let subscribed = 0;
  const streams: Array<{ down: Socket; parts: Buffer[] }> = [];
  const sockets = new Set<Socket>();
  const server: Server = createServer((down) => {
    const up = createConnection({ host: hostname, port: Number(port) });
    sockets.add(down).add(up);
    // Connections are kept alive and reused: a connection becomes an event stream with the request that opens one.
    let events = false;
    let answered = false;
    const stream = { down, parts: [] as Buffer[] };
    down.on('data', (c: Buffer) => {
      if (!events && /^GET \S*\/events /.test(c.toString('latin1'))) {
        events = true;
        answered = false;
        streams.push(stream);
      }
      up.write(c);
    });
    up.on('data', (c: Buffer) => {
      if (events && holding) return void stream.parts.push(c);
      if (events && !answered) subscribed++;
      answered = true;
      down.write(c);
    });
    const end = (): void => {
      up.destroy();
      down.destroy();
    };
    up.on('close', end).on('error', end);
    down.on('close', end).on('error', end);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    hold: () => {
      holding = true;
    },
    held: () => Buffer.concat(streams.flatMap((s) => s.parts)).toString('utf8'),
    release: () => {
      holding = false;
      for (const s of streams) {
        const all = Buffer.concat(s.parts.splice(0));
        if (all.length > 0) s.down.write(all);
      }
    },
    subscribed: () => subscribed,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}

const waitUntil = async (what: string, test: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

/**
 * Review finding (low 3): the stop rule fires while the station stores one read of a token's stream (a
 * result it adopts pauses the batch), and the rows stored after it in the same read must not announce
 * the batch as running again: the last `batch` event says what the batch is, paused.
 */
describe('a batch paused in the middle of one read of its stream', () => {
  let h: Harness;
  let proxy: HoldingProxy;
  let dir: string;
  let history: HistoryStore;
  let store: BatchStore;
  let batches: BatchService;
  const events: StationEvent[] = [];
  beforeAll(async () => {
    h = await startHarness();
    proxy = await startHoldingProxy(h.url);
    dir = mkdtempSync(join(tmpdir(), 'batch-stop-mid-read-'));
    history = openHistoryStore(join(dir, 'history.db'));
    store = openBatchStore(join(dir, 'batches.db'));
    batches = createBatchService({ store, history, stationId: 'st-1', emit: (e) => void events.push(e), stopRule: { failures: 2, window: 3 } });
  });
  afterAll(async () => {
    batches.close();
    history.close();
    store.close();
    await proxy.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('given two devices the station recorded as lost answers, when the authority’s failures for them and a third device come in one read, then the batch pauses and its last event says paused', async () => {
    // A partner may unbind NVRs, not gateways: the gateways' requests fail UNAUTHORIZED at the authority.
    const { account } = h.station('partner');
    const client = createAuthorityClient({ url: proxy.url, clientId: account.clientId, secret: account.secret });
    const session = { client, accountId: account.accountId, operator: 'ana' };
    const { batchId, tokens } = await batches.startDeviceBatch(session, { method: 'wired', pids: ['pnvr8ch', 'pnvr8ch', 'pnvr8ch'], manifest: null });
    const token = tokens[0]!;
    await waitUntil('the station subscribed to its token', () => proxy.subscribed() === 1);

    const [a, b, c] = eligible(h, 'pgw1uart').slice(0, 3);
    // The station heard only transport failures from two of them (different codes: the rule does not fire on them).
    batches.recordLocal(batchId, { devId: a!.devId, serial: null, pid: a!.pid, result: 'FAILED', code: 'CLOUD_UNREACHABLE', tokenId: token.tokenId });
    batches.recordLocal(batchId, { devId: b!.devId, serial: null, pid: b!.pid, result: 'FAILED', code: 'TIMEOUT', tokenId: token.tokenId });
    expect(batches.get(batchId).status).toBe('running');

    proxy.hold();
    for (const d of [a!, b!, c!]) expect((await h.unbind(d, token.token)).body).toEqual({ result: 'FAILED', reason: 'UNAUTHORIZED' });
    await waitUntil('the three results held', () => proxy.held().split('event: result').length - 1 === 3);
    const before = events.length;
    proxy.release();
    await waitUntil('the three results stored', () => events.slice(before).filter((e) => e.type === 'result').length === 3);

    const view = batches.get(batchId);
    expect(view.status).toBe('paused');
    expect(view.stop).toMatchObject({ code: 'UNAUTHORIZED', count: 2, threshold: 2, window: 3 });
    expect(view.results.map((r) => [r.devId, r.code]).sort()).toEqual([a!, b!, c!].map((d) => [d.devId, 'UNAUTHORIZED']).sort());
    const said = events.filter((e): e is Extract<StationEvent, { type: 'batch' }> => e.type === 'batch' && e.batch.id === batchId).map((e) => e.batch.status);
    expect(said).toContain('paused');
    expect(said.at(-1)).toBe('paused');
  });
});
