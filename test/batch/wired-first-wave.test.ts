import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchService, type BatchService } from '../../src/batch/batch-service.js';
import { openBatchStore, type BatchStore } from '../../src/batch/batch-records.js';
import { createAuthorityClient } from '../../src/batch/station-authority-client.js';
import { startWiredBatch } from '../../src/batch/wired-runner.js';
import { resolveBenchLan, startMdnsResponder, startWiredBench, type BenchMdnsResponder, type WiredBench } from '../../src/device/index.js';
import { openHistoryStore, type HistoryStore } from '../../src/history/index.js';
import type { DeviceResultView, StationEvent } from '../../src/protocol/index.js';
import { startLanSweep, type LanSweep, type MdnsLanDevice } from '../../src/wired/index.js';
import { startWiredAuthority, type WiredAuthority } from '../wired/support/authority.js';
import { waitFor } from '../wired/support/lan.js';

/** Its own ports (not in test/wired/support/lan.ts's table). */
const PORTS = { mdns: 25373, sadp: 27033 };

/**
 * The stop rule's first wave (default: 5 of the first 10 results with one code pause the batch) no
 * longer waits for its slowest device: once its results can no longer make the rule fire, the later
 * devices get their tokens. Every part is real; the slow device is a LAN device of the test's own that
 * takes its token and then stays `unbinding` (it never reaches the authority) until the test ends it.
 */
describe('a wired batch hands out the later tokens once the stop rule has judged', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wired-first-wave-'));
  let authority: WiredAuthority;
  let bench: WiredBench;
  let responder: BenchMdnsResponder;
  let sweep: LanSweep;
  let history: HistoryStore;
  let store: BatchStore;
  let batches: BatchService;
  let slow: Server;
  let slowState: 'waiting' | 'unbinding' | 'failed' = 'waiting';
  const results: DeviceResultView[] = [];

  beforeAll(async () => {
    authority = await startWiredAuthority();
    const real = authority.take(14, 'pnvr8ch');
    const stuck = authority.take(1, 'pnvr8ch')[0]!;
    bench = await startWiredBench({ devices: real, regionUrls: { EU: authority.url }, products: authority.demo.products, mdnsPort: PORTS.mdns, sadpPort: PORTS.sadp, sadp: false, log: () => undefined });
    slow = createServer((req, res) => {
      const json = (body: unknown): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/info') return json({ devId: stuck.devId, pid: stuck.pid, sn: stuck.serial, fw: stuck.firmware, rg: 'EU', st: slowState });
      if (req.url === '/unbind') {
        slowState = 'unbinding';
        return req.resume().on('end', () => json({ accepted: true }));
      }
      if (req.url === '/status') return json(slowState === 'failed' ? { st: 'failed', code: 'CLOUD_UNREACHABLE' } : { st: slowState });
      res.writeHead(404).end();
    });
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r));
    responder = await startMdnsResponder({ lan: resolveBenchLan('127.0.0.1'), port: PORTS.mdns });
    responder.publish(stuck.devId, {
      instance: stuck.devId,
      host: stuck.devId,
      address: '127.0.0.1',
      port: (slow.address() as AddressInfo).port,
      txt: { v: '1', id: stuck.devId, pid: stuck.pid, sn: stuck.serial, fw: stuck.firmware, rg: 'EU', st: 'waiting' },
    });
    sweep = await startLanSweep({ interface: '127.0.0.1', mdnsPort: PORTS.mdns, sadp: false });
    await waitFor('15 devices listed', () => sweep.devices().filter((d) => d.source === 'mdns' && (d as MdnsLanDevice).st === 'waiting').length === 15, 10_000);
    history = openHistoryStore(join(dir, 'history.db'));
    store = openBatchStore(join(dir, 'batches.db'));
    const emit = (e: StationEvent): void => void (e.type === 'result' && results.push(e.result));
    batches = createBatchService({ store, history, stationId: 'test-station', emit });
  }, 30_000);
  afterAll(async () => {
    batches?.close();
    store?.close();
    history?.close();
    await sweep?.close();
    await responder?.close();
    await bench?.close();
    await new Promise((r) => slow?.close(r));
    await authority?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('given a first-wave device that stays unbinding, then the 5 later devices are unbound before it ends, and it is recorded when it fails', async () => {
    const ownerAccount = authority.demo.accounts.find((a) => a.role === 'owner' && a.region === 'EU')!;
    const client = createAuthorityClient({ url: authority.url, clientId: ownerAccount.clientId, secret: ownerAccount.secret });
    const session = { client, accountId: (await client.me()).accountId, operator: 'Eva' };
    const listed = sweep.devices().map((d) => d.devId!);
    const stuckId = listed.find((id) => sweep.device(id)!.address === '127.0.0.1')!;
    // The slow device first: it is in the first wave of 10; the last 5 are after it.
    const order = [stuckId, ...listed.filter((id) => id !== stuckId)];
    const later = order.slice(10);
    const started = await startWiredBatch({ batches, sweep, emit: () => undefined }, session, { method: 'wired', devIds: order });
    expect(batches.stopWindow).toBe(10);
    await waitFor('the 5 later devices unbound', () => later.every((id) => results.some((r) => r.devId === id && r.result === 'UNBOUND')), 20_000);
    // Before the change they waited for the first wave's last device, which is still working.
    expect(slowState).toBe('unbinding');
    expect(results.some((r) => r.devId === stuckId)).toBe(false);
    slowState = 'failed';
    // A device that ended CLOUD_UNREACHABLE may still reach the authority: the batch follows its code until expiry.
    await waitFor('the slow device recorded', () => results.some((r) => r.devId === stuckId), 10_000);
    const b = batches.get(started.id);
    expect(b.results.find((r) => r.devId === stuckId)).toMatchObject({ result: 'FAILED', code: 'CLOUD_UNREACHABLE' });
    expect(b.tally).toMatchObject({ unbound: 14, failed: 1, pending: 0 });
  }, 30_000);
});
