import { beforeEach, describe, expect, it } from 'vitest';
import { StationApiError } from '../../src/renderer/api/station-api-error.js';
import { useCodeScreenStore } from '../../src/renderer/stores/use-code-screen-store.js';
import { useCurrentBatchStore } from '../../src/renderer/stores/use-current-batch-store.js';
import { useDeviceProgressStore } from '../../src/renderer/stores/use-device-progress-store.js';
import { batchScreenOf } from '../../src/renderer/stores/use-navigation-store.js';
import { planKey, useNewBatchStore } from '../../src/renderer/stores/use-new-batch-store.js';
import { batchEvent, batchView, code, createFakeStationApi, installStores, plan, result, resultEvent, settle, stamp, tally, type FakeStationApi } from './support/fake-station-api.js';

const BATCH = 'b-20250301-abc123';

describe('batch stores', () => {
  let api: FakeStationApi;
  beforeEach(() => {
    api = createFakeStationApi({
      planBatch: async () => plan(),
      startBatch: async () => batchView(),
      getBatch: async () => batchView(),
    });
    installStores(api);
  });

  it('given the store is defined and used, then it has asked the station nothing', () => {
    const batch = useCurrentBatchStore();
    useNewBatchStore();
    useDeviceProgressStore();
    useCodeScreenStore();
    expect(batch.current).toBeNull();
    expect(api.calls).toEqual([]);
  });

  it('given a wired batch whose results arrive before the answer that starts it, when the answer comes, then the screen shows every result, not fewer', async () => {
    // The station started the batch and its two devices answered before the start answer reached the page.
    let answerStart: (v: ReturnType<typeof batchView>) => void = () => undefined;
    api.answers.startBatch = () => new Promise((resolve) => (answerStart = resolve));
    const early = [result('nvr-0001', { at: '2025-03-01T10:01:00.000Z' }), result('nvr-0002', { at: '2025-03-01T10:01:01.000Z' })];
    api.answers.getBatch = async () => batchView({ method: 'wired', expected: 2, status: 'completed', tally: tally({ unbound: 2 }, 2), results: [...early].reverse() });
    const batch = useCurrentBatchStore();
    const starting = useNewBatchStore().startDevices({ method: 'wired', devIds: ['nvr-0001', 'nvr-0002'] });
    await settle();
    batch.applyResult(resultEvent(BATCH, early[0]!, tally({ unbound: 1 }, 2)));
    batch.applyResult(resultEvent(BATCH, early[1]!, tally({ unbound: 2 }, 2)));
    batch.applyBatchEvent({ ...batchView({ method: 'wired', expected: 2, status: 'completed', tally: tally({ unbound: 2 }, 2) }), codes: [] });
    // The start answer was computed before those results: it shows none of them.
    answerStart(batchView({ method: 'wired', expected: 2, tally: tally({}, 2), results: [] }));
    expect(await starting).toEqual({ ok: true });
    await settle();
    await settle();
    expect(batch.progressText).toBe('2 / 2');
    expect(batch.results.map((r) => r.devId)).toEqual(['nvr-0001', 'nvr-0002']);
    expect(batch.current?.status).toBe('completed');
  });

  describe('plan and start', () => {
    const req = { method: 'qr' as const, pid: 'pqr1cam', deviceCount: 45 };

    it('given no plan, when the operator starts, then it is refused without asking the station', async () => {
      const batch = useNewBatchStore();
      expect(batch.canStart(req)).toBe(false);
      expect(await batch.start({ ...req, wifi: { ssid: 'bench-wifi', password: 'secret-pass-1' } })).toBe(false);
      expect(batch.error?.code).toBe('PLAN_REQUIRED');
      expect(api.callsOf('startBatch')).toEqual([]);
    });

    it('given an ok plan for this request, then Start is enabled; when the request changes, then it is not', async () => {
      const batch = useNewBatchStore();
      await batch.checkPlan(req);
      expect(batch.planOf(req)?.codes).toEqual([30, 15]);
      expect(batch.canStart(req)).toBe(true);
      expect(batch.canStart({ ...req, deviceCount: 46 })).toBe(false);
      expect(batch.planOf({ method: 'qr', pid: 'pqr1cam', manifest: ['SN-0001'] })).toBeNull();
    });

    it('given the planner refuses, then Start stays disabled and the refusal is kept for display', async () => {
      api.answers.planBatch = async () =>
        plan({ ok: false, remaining: 3, productRemaining: 3, refusal: { code: 'QUOTA_PRODUCT', nextStep: 'request-ticket', owner: 'Owner Co', message: 'Only 3 unbinds left today for product pqr1cam; this batch needs 45.' } });
      const batch = useNewBatchStore();
      await batch.checkPlan(req);
      expect(batch.canStart(req)).toBe(false);
      expect(batch.planOf(req)?.refusal?.message).toMatch(/Only 3 unbinds left today/);
    });

    it('when the station fails to plan, then the error is kept and there is no plan', async () => {
      api.answers.planBatch = async () => {
        throw new StationApiError('SIGNED_OUT', 'sign in first', 401);
      };
      const batch = useNewBatchStore();
      expect(await batch.checkPlan(req)).toBeNull();
      expect(batch.planError).toEqual({ code: 'SIGNED_OUT', message: 'sign in first' });
      expect(batch.canStart(req)).toBe(false);
    });

    it('when started, then the Wi-Fi goes to the station but the password is kept nowhere in the store', async () => {
      const newBatch = useNewBatchStore();
      const batch = useCurrentBatchStore();
      await newBatch.checkPlan(req);
      const ok = await newBatch.start({ ...req, wifi: { ssid: 'bench-wifi', password: 'secret-pass-1' } });
      expect(ok).toBe(true);
      expect(api.callsOf('startBatch')).toEqual([[{ ...req, wifi: { ssid: 'bench-wifi', password: 'secret-pass-1' } }]]);
      expect(batch.current?.id).toBe('b-20250301-abc123');
      expect(JSON.stringify([newBatch.$state, batch.$state])).not.toContain('secret-pass-1');
      expect(newBatch.plan).toBeNull();
    });

    it('a plan key ignores the device count when a manifest is given', () => {
      expect(planKey({ method: 'qr', pid: 'p1x', manifest: ['SN-1'] })).toBe(planKey({ method: 'qr', pid: 'p1x', manifest: ['SN-1'], deviceCount: 3 }));
    });
  });

  describe('live results', () => {
    it('given a running batch of 45, when results arrive as events, then they are listed newest first and counted', async () => {
      const batch = useCurrentBatchStore();
      await batch.open('b-20250301-abc123');
      batch.applyResult(resultEvent(BATCH, result('dev-a', { at: '2025-03-01T10:01:00.000Z' }), tally({ unbound: 1 }), code(0, { used: 1 })));
      batch.applyResult(resultEvent(BATCH, result('dev-b', { at: '2025-03-01T10:02:00.000Z', result: 'NOT_BOUND' }), tally({ unbound: 1, notBound: 1 }), code(0, { used: 2 })));
      batch.applyResult(resultEvent(BATCH, result('dev-c', { at: '2025-03-01T10:03:00.000Z', result: 'FAILED', code: 'WIFI_AUTH' }), tally({ unbound: 1, notBound: 1, failed: 1 }), code(0, { used: 2 })));

      expect(batch.resultsNewestFirst.map((r) => r.devId)).toEqual(['dev-c', 'dev-b', 'dev-a']);
      expect(batch.tally).toEqual({ unbound: 1, notBound: 1, failed: 1, pending: 42 });
      expect(batch.progressText).toBe('3 / 45');
      // Failures use no place on a code.
      expect(batch.codes[0]?.used).toBe(2);
    });

    it('when the same report arrives twice, or a report of another batch arrives, then it is not counted', async () => {
      const batch = useCurrentBatchStore();
      await batch.open('b-20250301-abc123');
      batch.applyResult(resultEvent(BATCH, result('dev-a'), tally({ unbound: 1 })));
      batch.applyResult(resultEvent(BATCH, result('dev-a'), tally({ unbound: 1 })));
      batch.applyResult(resultEvent('b-other', result('dev-z'), tally({ unbound: 1 })));
      expect(batch.results).toHaveLength(1);
      expect(batch.progressText).toBe('1 / 45');
    });

    // This test asserted last-wins ({failed: 1}, two rows), computed here, while the station's tally
    // lets the best result win (test/batch/batch-views.test.ts): the station's rule wins, and the
    // screen shows the tally and the device's row the station sends.
    it('when a device reports twice, then the tally and the device row are the ones the station sent (it counts the best result)', async () => {
      const batch = useCurrentBatchStore();
      await batch.open('b-20250301-abc123');
      batch.applyResult(resultEvent(BATCH, result('dev-a', { at: '2025-03-01T10:01:00.000Z' }), tally({ unbound: 1 })));
      const reused = result('dev-a', { at: '2025-03-01T10:05:00.000Z', result: 'FAILED', code: 'TOKEN_REUSED' });
      batch.applyResult(resultEvent(BATCH, reused, tally({ unbound: 1 })));
      expect(batch.tally).toEqual({ unbound: 1, notBound: 0, failed: 0, pending: 44 });
      expect(batch.results).toEqual([reused]);
    });

    it('given a fetch of one batch still on its way, when another batch becomes current and misses a result, then that batch is fetched too', async () => {
      const OTHER = 'b-20250301-def456';
      const pending = new Map<string, (v: ReturnType<typeof batchView>) => void>();
      api.answers.getBatch = (id: string) => new Promise((resolve) => pending.set(id, resolve));
      const batch = useCurrentBatchStore();
      const openingA = batch.open(BATCH);
      pending.get(BATCH)!(batchView());
      await openingA;
      // A result of A whose tally counts two: one was missed, so A is fetched again (and that fetch hangs).
      batch.applyResult(resultEvent(BATCH, result('dev-a'), tally({ unbound: 2 })));
      await settle();
      expect(api.callsOf('getBatch')).toHaveLength(2);
      const openingB = batch.open(OTHER);
      pending.get(OTHER)!(batchView({ id: OTHER }));
      await openingB;
      pending.delete(OTHER);
      batch.applyResult(resultEvent(OTHER, result('dev-x'), tally({ unbound: 2 })));
      await settle();
      expect(pending.has(OTHER)).toBe(true);
      pending.get(OTHER)!(batchView({ id: OTHER, tally: tally({ unbound: 2 }), results: [result('dev-y', { at: '2025-03-01T10:00:30.000Z' }), result('dev-x')] }));
      await settle();
      expect(batch.current?.id).toBe(OTHER);
      expect(batch.results.map((r) => r.devId).sort()).toEqual(['dev-x', 'dev-y']);
    });

    it('given all 45 devices reported, then progress reads "45 / 45"', async () => {
      const batch = useCurrentBatchStore();
      await batch.open('b-20250301-abc123');
      for (let i = 0; i < 45; i++) batch.applyResult(resultEvent(BATCH, result(`dev-${i}`, { at: new Date(Date.UTC(2025, 2, 1, 10, 1, i)).toISOString() }), tally({ unbound: i + 1 })));
      expect(batch.progressText).toBe('45 / 45');
      expect(batch.tally?.pending).toBe(0);
    });

    it('when a batch event says cancelled, then the status and codes follow and the results stay', async () => {
      const batch = useCurrentBatchStore();
      await batch.open('b-20250301-abc123');
      batch.applyResult(resultEvent(BATCH, result('dev-a'), tally({ unbound: 1 }), code(0, { used: 1 })));
      batch.applyBatchEvent(batchEvent(batchView({ status: 'cancelled', tally: { unbound: 1, notBound: 0, failed: 0, pending: 0 } }), { codes: [code(0, { status: 'closed', used: 1 }), code(1, { status: 'closed' })] }));
      expect(batch.current?.status).toBe('cancelled');
      expect(batch.running).toBe(false);
      expect(batch.codes.map((c) => c.status)).toEqual(['closed', 'closed']);
      expect(batch.results).toHaveLength(1);
      expect(batch.tally?.pending).toBe(0);
      expect(api.callsOf('getBatch')).toHaveLength(1);
    });

    it('when a batch event knows of more reports than arrived (events missed), then the batch is fetched again', async () => {
      const batch = useCurrentBatchStore();
      await batch.open('b-20250301-abc123');
      api.answers.getBatch = async () =>
        batchView({ tally: { unbound: 2, notBound: 0, failed: 0, pending: 43 }, results: [result('dev-a'), result('dev-b', { at: '2025-03-01T10:02:00.000Z' })] });
      batch.applyBatchEvent(batchEvent(batchView({ tally: { unbound: 2, notBound: 0, failed: 0, pending: 43 } })));
      await settle();
      expect(api.callsOf('getBatch')).toHaveLength(2);
      expect(batch.progressText).toBe('2 / 45');
    });

    it('when a snapshot arrives while events came in, then no report is lost', async () => {
      const batch = useCurrentBatchStore();
      await batch.open('b-20250301-abc123');
      const readBefore = stamp(); // the label's answer was read before dev-late was stored
      batch.applyResult(resultEvent(BATCH, result('dev-late', { at: '2025-03-01T10:09:00.000Z' }), tally({ unbound: 1 })));
      api.answers.scanLabel = async () => batchView({ stamp: readBefore, scanned: ['SN-0001'], results: [result('dev-a')] });
      await batch.scanLabel(' SN-0001 ');
      expect(api.callsOf('scanLabel')).toEqual([['b-20250301-abc123', 'SN-0001']]);
      expect(batch.current?.scanned).toEqual(['SN-0001']);
      expect(batch.resultsNewestFirst.map((r) => r.devId)).toEqual(['dev-late', 'dev-a']);
    });
  });

  describe('what the station sends, shown as sent', () => {
    it('when a result event counts more devices than have a row (an event was missed), then the batch is fetched again', async () => {
      const batch = useCurrentBatchStore();
      await batch.open(BATCH);
      api.answers.getBatch = async () => batchView({ tally: tally({ unbound: 2 }), results: [result('dev-b', { at: '2025-03-01T10:02:00.000Z' }), result('dev-a')] });
      batch.applyResult(resultEvent(BATCH, result('dev-b', { at: '2025-03-01T10:02:00.000Z' }), tally({ unbound: 2 })));
      await settle();
      expect(api.callsOf('getBatch')).toHaveLength(2);
      expect(batch.results.map((r) => r.devId)).toEqual(['dev-a', 'dev-b']);
      expect(batch.progressText).toBe('2 / 45');
    });

    it('given a result event, when an older snapshot without that device arrives, then the row and the tally it carried stay', async () => {
      const batch = useCurrentBatchStore();
      await batch.open(BATCH);
      const readBefore = stamp();
      batch.applyResult(resultEvent(BATCH, result('dev-late', { at: '2025-03-01T10:09:00.000Z' }), tally({ unbound: 1 }), code(0, { used: 1 })));
      api.answers.scanLabel = async () => batchView({ stamp: readBefore, scanned: ['SN-0001'] });
      await batch.scanLabel('SN-0001');
      expect(batch.current?.scanned).toEqual(['SN-0001']);
      expect(batch.tally).toEqual(tally({ unbound: 1 }));
      expect(batch.codes[0]?.used).toBe(1);
      expect(batch.results.map((r) => r.devId)).toEqual(['dev-late']);
    });

    it('the screen of a batch follows its method: codes for QR (and no batch), devices for wired and serial', () => {
      expect(batchScreenOf('qr')).toBe('codes');
      expect(batchScreenOf(undefined)).toBe('codes');
      expect(batchScreenOf('wired')).toBe('device-batch');
      expect(batchScreenOf('serial')).toBe('device-batch');
    });
  });

  describe('codes on screen', () => {
    it('tells the station which codes are shown, and that none are when leaving', async () => {
      const batch = useCurrentBatchStore();
      const screen = useCodeScreenStore();
      await batch.open('b-20250301-abc123');
      await screen.showOnScreen([0, 1]);
      await screen.clearScreen();
      expect(api.callsOf('showCodes')).toEqual([
        ['b-20250301-abc123', [0, 1]],
        [null, []],
      ]);
    });

    it('loads each code once as an image URL of the SVG', async () => {
      api.answers.getCodeSvg = async (_id, n) => `<svg xmlns="http://www.w3.org/2000/svg"><title>code ${n}</title></svg>`;
      const batch = useCurrentBatchStore();
      const screen = useCodeScreenStore();
      await batch.open('b-20250301-abc123');
      const c0 = batch.codes[0]!;
      await screen.loadCodeImage(c0);
      await screen.loadCodeImage(c0);
      const img = screen.codeImage(c0);
      expect(img?.state).toBe('ready');
      expect(img?.state === 'ready' && img.url.startsWith('data:image/svg+xml;charset=utf-8,')).toBe(true);
      expect(api.callsOf('getCodeSvg')).toEqual([['b-20250301-abc123', 0]]);
    });

    it('given the station restarted (CODES_LOCKED), when the operator types the Wi-Fi again, then the codes can be drawn', async () => {
      api.answers.getCodeSvg = async () => {
        throw new StationApiError('CODES_LOCKED', 'The Wi-Fi password is not kept across restarts: enter it again to show the codes.', 409);
      };
      api.answers.unlockCodes = async () => batchView();
      const batch = useCurrentBatchStore();
      const screen = useCodeScreenStore();
      await batch.open('b-20250301-abc123');
      await screen.loadCodeImage(batch.codes[0]!);
      expect(screen.codesLocked).toBe(true);

      expect(await screen.unlockCodes({ ssid: 'bench-wifi', password: 'secret-pass-1' })).toBe(true);
      expect(screen.codesLocked).toBe(false);
      expect(JSON.stringify([screen.$state, batch.$state])).not.toContain('secret-pass-1');
      api.answers.getCodeSvg = async () => '<svg/>';
      await screen.loadCodeImage(batch.codes[0]!);
      expect(screen.codeImage(batch.codes[0]!)?.state).toBe('ready');
    });
  });

  it('resumes the running batch of this account after a reload, and only that', async () => {
    const { results: _r, manifest: _m, scanned: _s, codes: _c, ...summary } = batchView();
    api.answers.listBatches = async () => [
      { ...summary, id: 'b-old', status: 'completed' },
      { ...summary, id: 'b-theirs', accountId: 'acc-partner' },
      { ...summary, id: 'b-20250301-abc123' },
    ];
    const batch = useCurrentBatchStore();
    expect(await batch.resumeRunning('acc-owner')).toBe(true);
    expect(api.callsOf('getBatch')).toEqual([['b-20250301-abc123']]);
  });
});
