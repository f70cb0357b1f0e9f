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
import { resolveBenchLan, startMdnsResponder, type BenchMdnsResponder } from '../../src/device/index.js';
import { openHistoryStore, type HistoryStore } from '../../src/history/index.js';
import { startLanSweep, type LanSweep, type MdnsLanDevice } from '../../src/wired/index.js';
import { startWiredAuthority, type WiredAuthority } from '../wired/support/authority.js';
import { waitFor } from '../wired/support/lan.js';

/** Its own ports (not in test/wired/support/lan.ts's table). */
const PORTS = { mdns: 25374, sadp: 27034 };

/**
 * A wired batch cancelled while a device is still being checked hands that device no token: the
 * authority keeps a cancelled batch's tokens valid, so a token sent after the cancel would still
 * unbind it. Real authority, sweep, batch service and stores; the device is a LAN device of the
 * test's own whose check answers only when the test lets it.
 */
describe('a wired batch cancelled during the checks', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wired-cancel-'));
  let authority: WiredAuthority;
  let responder: BenchMdnsResponder;
  let sweep: LanSweep;
  let history: HistoryStore;
  let store: BatchStore;
  let batches: BatchService;
  let device: Server;
  let answerInfo: (() => void) | null = null;
  let infoAsked = false;
  let unbindAsked = false;

  beforeAll(async () => {
    authority = await startWiredAuthority();
    const d = authority.take(1, 'pnvr8ch')[0]!;
    device = createServer((req, res) => {
      const json = (body: unknown): void => void res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(body));
      if (req.url === '/info') {
        infoAsked = true;
        answerInfo = () => json({ devId: d.devId, pid: d.pid, sn: d.serial, fw: d.firmware, rg: 'EU', st: 'waiting' });
        return;
      }
      if (req.url === '/unbind') unbindAsked = true;
      json({ st: 'waiting' });
    });
    await new Promise<void>((r) => device.listen(0, '127.0.0.1', r));
    responder = await startMdnsResponder({ lan: resolveBenchLan('127.0.0.1'), port: PORTS.mdns });
    responder.publish(d.devId, { instance: d.devId, host: d.devId, address: '127.0.0.1', port: (device.address() as AddressInfo).port, txt: { v: '1', id: d.devId, pid: d.pid, sn: d.serial, fw: d.firmware, rg: 'EU', st: 'waiting' } });
    sweep = await startLanSweep({ interface: '127.0.0.1', mdnsPort: PORTS.mdns, sadp: false });
    await waitFor('the device listed', () => sweep.devices().some((x) => x.source === 'mdns' && (x as MdnsLanDevice).st === 'waiting'), 10_000);
    history = openHistoryStore(join(dir, 'history.db'));
    store = openBatchStore(join(dir, 'batches.db'));
    batches = createBatchService({ store, history, stationId: 'test-station', emit: () => undefined });
  }, 30_000);
  afterAll(async () => {
    batches?.close();
    store?.close();
    history?.close();
    await sweep?.close();
    await responder?.close();
    device?.closeAllConnections();
    await new Promise((r) => device?.close(r));
    await authority?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('given the batch cancelled before the device answered its check, then the device is sent no token', async () => {
    const owner = authority.demo.accounts.find((a) => a.role === 'owner' && a.region === 'EU')!;
    const client = createAuthorityClient({ url: authority.url, clientId: owner.clientId, secret: owner.secret });
    const session = { client, accountId: (await client.me()).accountId, operator: 'Eva' };
    const started = await startWiredBatch({ batches, sweep, emit: () => undefined }, session, { method: 'wired', devIds: sweep.devices().map((x) => x.devId!) });
    await waitFor('the device being checked', () => infoAsked, 10_000);
    expect(batches.cancel(started.id).status).toBe('cancelled');
    answerInfo!();
    await batches.whenFinished(started.id);
    expect(unbindAsked).toBe(false);
  }, 30_000);
});
