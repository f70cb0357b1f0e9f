import { beforeEach, describe, expect, it } from 'vitest';
import { useBatchListStore } from '../../src/renderer/stores/use-batch-list-store.js';
import { useCodeScreenStore } from '../../src/renderer/stores/use-code-screen-store.js';
import { useCurrentBatchStore } from '../../src/renderer/stores/use-current-batch-store.js';
import { useNewBatchStore } from '../../src/renderer/stores/use-new-batch-store.js';
import { routeEvent } from '../../src/renderer/app/event-dispatch.js';
import type { BatchView } from '../../src/protocol/station-api.js';
import { batchEvent, batchView, code, createFakeStationApi, installStores, result, resultEvent, settle, tally, type FakeStationApi } from './support/fake-station-api.js';

/** Issue 11: several batches at once in the page; starting one never loses another. */
const QR = 'b-20250301-qrqrqr';
const WIRED = 'b-20250301-wiwiwi';
const QR2 = 'b-20250301-qr2qr2';
const summaryOf = ({ results: _r, manifest: _m, scanned: _s, ...rest }: BatchView) => rest;

describe('many batches in the page', () => {
  let api: FakeStationApi;
  const views = new Map<string, BatchView>();
  beforeEach(() => {
    views.clear();
    views.set(QR, batchView({ id: QR, expected: 11, tally: tally({}, 11), codes: [code(0, { capacity: 11 })] }));
    views.set(WIRED, batchView({ id: WIRED, method: 'wired', pid: 'pnvr8ch', ssid: null, expected: 3, codes: [], tally: tally({}, 3), createdAt: '2025-03-01T10:05:00.000Z' }));
    views.set(QR2, batchView({ id: QR2, pid: 'pfwcam2', expected: 6, tally: tally({}, 6), codes: [code(0, { capacity: 6, tokenId: 'tokQR2aaaa' })], createdAt: '2025-03-01T10:06:00.000Z' }));
    api = createFakeStationApi({
      getBatch: async (id: string) => views.get(id)!,
      startBatch: async (req) => views.get(req.method === 'wired' ? WIRED : QR2)!,
      showCodes: async () => undefined,
      resumeBatch: async (id: string) => ({ ...views.get(id)!, status: 'running' }),
    });
    installStores(api);
  });

  it('given a QR batch with 11 pending, when a wired batch starts, then the QR batch is still followed, its results still count, and the code screen still lists it', async () => {
    const batch = useCurrentBatchStore();
    await batch.open(QR);
    expect(await useNewBatchStore().startDevices({ method: 'wired', devIds: ['nvr-0001', 'nvr-0002', 'nvr-0003'] })).toEqual({ ok: true });
    expect(batch.current?.id).toBe(WIRED);
    expect(batch.runningBatches.map((b) => b.id)).toEqual([WIRED, QR]);
    expect(batch.runningQrBatches.map((b) => b.id)).toEqual([QR]);
    // A camera reports on the QR batch while the wired one is current: it is counted there.
    batch.applyResult(resultEvent(QR, result('cam-1'), tally({ unbound: 1 }, 11), code(0, { capacity: 11, used: 1 })));
    batch.applyResult(resultEvent(WIRED, result('nvr-0001', { pid: 'pnvr8ch' }), tally({ unbound: 1 }, 3)));
    expect(batch.progressText).toBe('1 / 3');
    expect(await batch.select(QR)).toBe(true);
    expect(api.callsOf('getBatch')).toEqual([[QR]]); // switching back fetched nothing
    expect(batch.progressText).toBe('1 / 11');
    expect(batch.results.map((r) => r.devId)).toEqual(['cam-1']);
    expect(batch.codes[0]?.used).toBe(1);
  });

  it('two QR batches: each batch tells the station its own codes; taking one off leaves the other', async () => {
    const batch = useCurrentBatchStore();
    const screen = useCodeScreenStore();
    await batch.open(QR);
    await batch.open(QR2);
    expect(batch.runningQrBatches.map((b) => b.id)).toEqual([QR2, QR]);
    for (const b of batch.runningQrBatches) await screen.showOnScreen(b.codes.map((c) => c.index), b.id);
    await screen.clearScreen(QR2);
    expect(api.callsOf('showCodes')).toEqual([
      [QR2, [0]],
      [QR, [0]],
      [QR2, []],
    ]);
    api.answers.getCodeSvg = async (id: string, n: number) => `<svg><title>${id} ${n}</title></svg>`;
    await screen.loadCodeImage(views.get(QR)!.codes[0]!, QR);
    await screen.loadCodeImage(views.get(QR2)!.codes[0]!, QR2);
    expect(screen.codeImage(views.get(QR)!.codes[0]!, QR)?.state).toBe('ready');
    expect(screen.codeImage(views.get(QR2)!.codes[0]!, QR2)?.state).toBe('ready');
  });

  it('a running batch the page did not start (another window) is followed when its event comes, without becoming current', async () => {
    const batch = useCurrentBatchStore();
    await batch.open(QR);
    batch.applyBatchEvent(batchEvent(views.get(WIRED)!, { codes: [] }));
    await settle();
    expect(batch.current?.id).toBe(QR);
    expect(batch.runningBatches.map((b) => b.id)).toEqual([WIRED, QR]);
  });

  it('a finished batch is reopened with its results from the list', async () => {
    views.set('b-done', batchView({ id: 'b-done', status: 'completed', tally: { unbound: 2, notBound: 0, failed: 0, pending: 0 }, expected: 2, results: [result('cam-b'), result('cam-a')] }));
    const batch = useCurrentBatchStore();
    await batch.open(QR);
    expect(await batch.select('b-done')).toBe(true);
    expect(batch.current?.status).toBe('completed');
    expect(batch.results.map((r) => r.devId)).toEqual(['cam-a', 'cam-b']);
    expect(batch.runningBatches.map((b) => b.id)).toEqual([QR]);
  });

  it('a batch the stop rule paused shows as paused with its reason; resume asks the station and it runs again', async () => {
    const batch = useCurrentBatchStore();
    await batch.open(WIRED);
    const stop = { code: 'CLOUD_UNREACHABLE' as const, count: 5, threshold: 5, window: 10, at: '2025-03-01T10:06:00.000Z', resumedAt: null };
    batch.applyBatchEvent(batchEvent(views.get(WIRED)!, { status: 'paused', stop, codes: [] }));
    expect(batch.paused).toBe(true);
    expect(batch.running).toBe(true);
    expect(batch.current?.stop).toEqual(stop);
    expect(await batch.resume()).toBe(true);
    expect(api.callsOf('resumeBatch')).toEqual([[WIRED]]);
    expect(batch.paused).toBe(false);
  });

  it('the no-report notice arrives with the batch event and goes with the next', async () => {
    const batch = useCurrentBatchStore();
    await batch.open(QR);
    const notice = { kind: 'no-report' as const, seconds: 60, since: '2025-03-01T10:01:00.000Z', causes: [{ code: 'WIFI_AUTH' as const, hint: 'check the Wi-Fi password' }] };
    batch.applyBatchEvent(batchEvent(views.get(QR)!, { notice }));
    expect(batch.current?.notice).toEqual(notice);
    batch.applyBatchEvent(batchEvent(views.get(QR)!, { notice: null }));
    expect(batch.current?.notice).toBeNull();
  });

  it('the batch list: running first, then newest; filtered by today, operator, method and product; events keep it current', async () => {
    const list = useBatchListStore();
    const done = { ...summaryOf(batchView({ id: 'b-old', status: 'completed', createdAt: '2025-02-28T09:00:00.000Z', operator: 'Bo' })) };
    api.answers.listBatches = async () => [done, summaryOf(views.get(QR)!), summaryOf(views.get(WIRED)!)];
    list.now = () => new Date('2025-03-01T12:00:00.000Z');
    await list.load();
    expect(list.shown.map((b) => b.id)).toEqual([WIRED, QR, 'b-old']);
    list.setFilter({ today: true });
    expect(list.shown.map((b) => b.id)).toEqual([WIRED, QR]);
    list.setFilter({ today: false, operator: 'Bo' });
    expect(list.shown.map((b) => b.id)).toEqual(['b-old']);
    list.setFilter({ operator: null, method: 'wired' });
    expect(list.shown.map((b) => b.id)).toEqual([WIRED]);
    list.setFilter({ method: null, pid: 'pqr1cam' });
    expect(list.shown.map((b) => b.id)).toEqual([QR, 'b-old']);
    list.clearFilter();
    expect(list.operators).toEqual(['Ana', 'Bo']);
    // The QR batch ends: it moves below the running one, and a new batch joins the list.
    const batch = useCurrentBatchStore();
    routeEvent({ type: 'batch', batch: batchEvent(views.get(QR)!, { status: 'completed', codes: [] }) }, { batch, batchList: list } as never);
    routeEvent({ type: 'batch', batch: batchEvent(views.get(QR2)!, { codes: [] }) }, { batch, batchList: list } as never);
    expect(list.shown.map((b) => [b.id, b.status])).toEqual([
      [QR2, 'running'],
      [WIRED, 'running'],
      [QR, 'completed'],
      ['b-old', 'completed'],
    ]);
  });
  it('given a wired batch fetched again, when its "completed" event overtakes that answer, then it stays completed with every row (CI stop 15: stuck "running" at 8 / 8)', async () => {
    const batch = useCurrentBatchStore();
    await batch.open(WIRED);
    // A result the page missed: it fetches the batch again; the station reads it now, the answer is slow.
    let answer!: (v: BatchView) => void;
    api.answers.getBatch = () => new Promise<BatchView>((resolve) => (answer = resolve));
    const rows = [result('nvr-0001', { pid: 'pnvr8ch' }), result('nvr-0002', { pid: 'pnvr8ch', at: '2025-03-01T10:01:01.000Z' })];
    batch.applyResult(resultEvent(WIRED, rows[1]!, tally({ unbound: 2 }, 3)));
    expect(api.callsOf('getBatch')).toHaveLength(2);
    // Meanwhile the last device and the end come by the event stream.
    const last = result('nvr-0003', { pid: 'pnvr8ch', at: '2025-03-01T10:01:02.000Z' });
    batch.applyResult(resultEvent(WIRED, last, tally({ unbound: 3 }, 3)));
    batch.applyBatchEvent(batchEvent(views.get(WIRED)!, { status: 'completed', tally: tally({ unbound: 3 }, 3), codes: [] }));
    // The answer, as read before those two: running, 2 of 3.
    answer({ ...views.get(WIRED)!, tally: tally({ unbound: 2 }, 3), results: [...rows].reverse() });
    await settle();
    expect(batch.current?.status).toBe('completed');
    expect(batch.progressText).toBe('3 / 3');
    expect(batch.results.map((r) => r.devId)).toEqual(['nvr-0001', 'nvr-0002', 'nvr-0003']);
  });

  it('given the batch list being read, when a batch ends and another starts meanwhile, then the list shows both as the events said', async () => {
    const list = useBatchListStore();
    let answer!: (v: ReturnType<typeof summaryOf>[]) => void;
    api.answers.listBatches = () => new Promise((resolve) => (answer = resolve));
    const loading = list.load();
    const batch = useCurrentBatchStore();
    routeEvent({ type: 'batch', batch: batchEvent(views.get(QR)!, { status: 'completed', codes: [] }) }, { batch, batchList: list } as never);
    routeEvent({ type: 'batch', batch: batchEvent(views.get(QR2)!, { codes: [] }) }, { batch, batchList: list } as never);
    answer([summaryOf(views.get(QR)!), summaryOf(views.get(WIRED)!)].map((b) => ({ ...b, stamp: 0 })));
    await loading;
    expect(list.shown.map((b) => [b.id, b.status])).toEqual([
      [QR2, 'running'],
      [WIRED, 'running'],
      [QR, 'completed'],
    ]);
  });
  it('given a label by event after a snapshot was read, when that (newer) snapshot arrives, then the label stays', async () => {
    const batch = useCurrentBatchStore();
    await batch.open(QR);
    let answer!: (v: BatchView) => void;
    api.answers.getBatch = () => new Promise<BatchView>((resolve) => (answer = resolve));
    const fetching = batch.resync(QR);
    batch.applyLabel(QR, 'QC1-2611-000009');
    answer({ ...views.get(QR)!, scanned: [] });
    await fetching;
    expect(batch.current?.scanned).toEqual(['QC1-2611-000009']);
  });
});
