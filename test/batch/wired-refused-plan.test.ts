import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createBatchService, type BatchService } from '../../src/batch/batch-service.js';
import { openBatchStore, type BatchStore } from '../../src/batch/batch-records.js';
import { createAuthorityClient } from '../../src/batch/station-authority-client.js';
import { startWiredBatch } from '../../src/batch/wired-runner.js';
import { startWiredBench, type WiredBench } from '../../src/device/index.js';
import { openHistoryStore, type HistoryStore } from '../../src/history/index.js';
import type { StationEvent } from '../../src/protocol/index.js';
import { StationError } from '../../src/protocol/station-api/refusals.js';
import { startLanSweep, type LanSweep } from '../../src/wired/index.js';
import { startWiredAuthority, type WiredAuthority } from '../wired/support/authority.js';
import { waitFor } from '../wired/support/lan.js';

/** Its own ports (not in test/wired/support/lan.ts's table). */
const PORTS = { mdns: 25375, sadp: 27035 };

/**
 * The first devices are checked while the batch is planned (GET /info changes nothing on a device). A
 * plan the authority's rights refuse is the operator's answer, as before: no batch, no token to any
 * device, nothing recorded, no progress shown.
 */
describe('a wired batch whose plan is refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wired-refused-'));
  let authority: WiredAuthority;
  let bench: WiredBench;
  let sweep: LanSweep;
  let history: HistoryStore;
  let store: BatchStore;
  let batches: BatchService;
  const events: StationEvent[] = [];

  beforeAll(async () => {
    authority = await startWiredAuthority();
    const gateways = authority.take(3, 'pgw1uart');
    bench = await startWiredBench({ devices: gateways, regionUrls: { EU: authority.url }, products: authority.demo.products, mdnsPort: PORTS.mdns, sadpPort: PORTS.sadp, sadp: false, log: () => undefined });
    sweep = await startLanSweep({ interface: '127.0.0.1', mdnsPort: PORTS.mdns, sadp: false });
    await waitFor('3 devices listed', () => sweep.devices().length === 3, 10_000);
    history = openHistoryStore(join(dir, 'history.db'));
    store = openBatchStore(join(dir, 'batches.db'));
    batches = createBatchService({ store, history, stationId: 'test-station', emit: (e) => void events.push(e) });
  }, 30_000);
  afterAll(async () => {
    batches?.close();
    store?.close();
    history?.close();
    await sweep?.close();
    await bench?.close();
    await authority?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('given a partner without rights on gateways, then the start is refused, and no device got a token or shows progress', async () => {
    const partner = authority.demo.accounts.find((a) => a.role === 'partner' && a.region === 'EU')!;
    const client = createAuthorityClient({ url: authority.url, clientId: partner.clientId, secret: partner.secret });
    const session = { client, accountId: (await client.me()).accountId, operator: 'Eva' };
    const devIds = sweep.devices().map((d) => d.devId!);
    const refused = await startWiredBatch({ batches, sweep, emit: (e) => void events.push(e) }, session, { method: 'wired', devIds }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StationError);
    expect((refused as StationError).status).toBe(409);
    // Whatever the devices' checks were doing when the plan was refused has ended by now.
    await new Promise((r) => setTimeout(r, 500));
    expect(store.list()).toEqual([]);
    expect(bench.devices.map((d) => d.state)).toEqual(['waiting', 'waiting', 'waiting']);
    expect(events).toEqual([]);
    expect(await authority.deviceLogs({ devId: devIds[0]! })).toEqual([]);
  });
});
