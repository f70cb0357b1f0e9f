import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBatchStore, type BatchStore } from '../../src/batch/batch-records.js';
import { createBatchService, type BatchService } from '../../src/batch/batch-service.js';
import { openHistoryStore, type HistoryStore } from '../../src/history/index.js';
import type { StationEvent } from '../../src/protocol/index.js';
import { eligible, startHarness, type Harness } from '../support/authority-harness.js';

/**
 * Issue 9: a station batch takes the authority's result for a device as the one result it is, also when
 * the station had written that device's end itself first (the answer was lost; the device's retry was
 * told the decision, replayed).
 */
describe('a batch reconciles a replayed result', () => {
  let h: Harness;
  let dir: string;
  let history: HistoryStore;
  let store: BatchStore;
  let batches: BatchService;
  const events: StationEvent[] = [];
  const onEvent = new Set<() => void>();
  beforeAll(async () => {
    h = await startHarness();
    dir = mkdtempSync(join(tmpdir(), 'batch-replay-'));
    history = openHistoryStore(join(dir, 'history.db'));
    store = openBatchStore(join(dir, 'batches.db'));
    const emit = (e: StationEvent): void => {
      events.push(e);
      for (const w of [...onEvent]) w();
    };
    batches = createBatchService({ store, history, stationId: 'st-1', emit });
  });
  afterAll(async () => {
    batches.close();
    history.close();
    store.close();
    await h.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /** Resolves once `test` holds, checked at every event the station sends. */
  const until = (test: () => boolean): Promise<void> =>
    new Promise((resolve) => {
      const check = (): void => {
        if (!test()) return;
        onEvent.delete(check);
        resolve();
      };
      onEvent.add(check);
      check();
    });

  it('given a device the station recorded CLOUD_UNREACHABLE, when its retry is told UNBOUND (replayed), then the batch holds one UNBOUND for it, counted once; and a device’s own UNBOUND written early is the same attempt', async () => {
    const [lost, early, plain] = eligible(h, 'pnvr8ch').slice(0, 3);
    const session = { client: h.station('owner').client, accountId: h.station('owner').account.accountId, operator: 'ana' };
    const { batchId, tokens } = await batches.startDeviceBatch(session, { method: 'wired', pids: ['pnvr8ch', 'pnvr8ch', 'pnvr8ch'], manifest: null });
    const token = tokens[0]!;
    const local = (devId: string, result: 'FAILED' | 'UNBOUND', code: 'CLOUD_UNREACHABLE' | null) =>
      batches.recordLocal(batchId, { devId, serial: null, pid: 'pnvr8ch', result, code, tokenId: token.tokenId });

    // The device's first request was decided and its answer lost: the station heard only a transport failure.
    local(lost!.devId, 'FAILED', 'CLOUD_UNREACHABLE');
    expect(batches.get(batchId).tally).toMatchObject({ unbound: 0, failed: 1 });
    expect((await h.unbind(lost!, token.token)).body).toEqual({ result: 'UNBOUND' });
    expect((await h.unbind(lost!, token.token)).body).toEqual({ result: 'UNBOUND', replayed: true });
    // The device said UNBOUND before the authority's stream did.
    local(early!.devId, 'UNBOUND', null);
    expect((await h.unbind(early!, token.token)).body).toEqual({ result: 'UNBOUND' });
    expect((await h.unbind(plain!, token.token)).body).toEqual({ result: 'UNBOUND' });

    await until(() => batches.get(batchId).tally.unbound === 3);
    const view = batches.get(batchId);
    expect(view.tally).toMatchObject({ unbound: 3, failed: 0, notBound: 0 });
    const rows = history.batchAttempts(batchId);
    expect(rows.map((r) => [r.devId, r.result, r.code])).toEqual([
      [lost!.devId, 'UNBOUND', null],
      [early!.devId, 'UNBOUND', null],
      [plain!.devId, 'UNBOUND', null],
    ]);
    // The authority's results came through the stream once each, and again on reconciliation: still one row each.
    await batches.closeCodes(batchId);
    expect(history.batchAttempts(batchId)).toHaveLength(3);
    expect(batches.get(batchId).tally).toMatchObject({ unbound: 3, failed: 0 });
  });
});
