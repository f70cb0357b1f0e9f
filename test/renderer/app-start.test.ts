import { describe, expect, it } from 'vitest';
import { nextTick } from 'vue';
import { routeEvent } from '../../src/renderer/app/event-dispatch.js';
import { startStationApp } from '../../src/renderer/app/start-station-app.js';
import { useBenchStore } from '../../src/renderer/stores/use-bench-store.js';
import { useCurrentBatchStore } from '../../src/renderer/stores/use-current-batch-store.js';
import { useDashboardStore } from '../../src/renderer/stores/use-dashboard-store.js';
import { useDeviceProgressStore } from '../../src/renderer/stores/use-device-progress-store.js';
import { useLanStore } from '../../src/renderer/stores/use-lan-store.js';
import { useNavigationStore } from '../../src/renderer/stores/use-navigation-store.js';
import { useSerialStore } from '../../src/renderer/stores/use-serial-store.js';
import { useSessionStore } from '../../src/renderer/stores/use-session-store.js';
import { batchView, createFakeStationApi, DASHBOARD, installStores, result, resultEvent, settle, SIGNED_OUT, signedIn } from './support/fake-station-api.js';

describe('the app start and its event dispatch', () => {
  it('given a signed-in account with a running batch, when the app starts, then it loads the dashboard and opens the code screen', async () => {
    const { results: _r, manifest: _m, scanned: _s, codes: _c, ...summary } = batchView();
    const api = createFakeStationApi({
      getSession: async () => signedIn(),
      getDashboard: async () => DASHBOARD,
      listBatches: async () => [summary],
      getBatch: async () => batchView(),
    });
    const pinia = installStores(api);
    const stop = startStationApp(pinia, api);
    await settle();
    await settle();

    expect(api.subscribers()).toBe(1);
    expect(useDashboardStore().products).toHaveLength(2);
    expect(useCurrentBatchStore().current?.id).toBe('b-20250301-abc123');
    expect(useNavigationStore().view).toBe('codes');

    // Then results pushed by the station reach the batch store.
    api.emit(resultEvent('b-20250301-abc123', result('dev-a'), { unbound: 1, notBound: 0, failed: 0, pending: 44 }));
    expect(useCurrentBatchStore().progressText).toBe('1 / 45');

    // And a sign-out (in the other window) forgets the account's data.
    api.emit({ type: 'session', session: SIGNED_OUT });
    await nextTick();
    await settle();
    expect(useSessionStore().signedIn).toBe(false);
    expect(useCurrentBatchStore().current).toBeNull();
    expect(useDashboardStore().dashboard).toBeNull();

    stop();
    expect(api.subscribers()).toBe(0);
  });

  it('given no one is signed in, when the app starts, then only the session is asked', async () => {
    const api = createFakeStationApi({ getSession: async () => SIGNED_OUT });
    const pinia = installStores(api);
    startStationApp(pinia, api);
    await settle();
    expect(api.calls.map((c) => c.method)).toEqual(['subscribe', 'getSession']);
  });

  it('routes bench events to the bench store, which filters by state', () => {
    const api = createFakeStationApi();
    installStores(api);
    const bench = useBenchStore();
    const targets = { session: useSessionStore(), batch: useCurrentBatchStore(), progress: useDeviceProgressStore(), bench, lan: useLanStore(), serial: useSerialStore() };
    routeEvent(
      {
        type: 'bench',
        devices: [
          { devId: 'cam-0001', serial: 'SN-0001', pid: 'pqr1cam', state: 'waiting', light: { color: 'red', pattern: 'fast-blink' }, lastCode: null, result: null },
          { devId: 'cam-0002', serial: 'SN-0002', pid: 'pqr1cam', state: 'failed', light: { color: 'red', pattern: 'solid' }, lastCode: 'WIFI_AUTH', result: 'FAILED' },
          { devId: 'cam-0003', serial: 'SN-0003', pid: 'pqr1cam', state: 'operating', light: null, lastCode: null, result: null },
        ],
      },
      targets,
    );
    expect(bench.devices).toHaveLength(3);
    expect(bench.countsByState).toEqual({ waiting: 1, failed: 1, operating: 1 });
    bench.setFilter('failed');
    expect(bench.filtered.map((d) => d.devId)).toEqual(['cam-0002']);
    expect(api.calls).toEqual([]);
  });

  it('resets a virtual device through the station', async () => {
    const api = createFakeStationApi({ resetBenchDevice: async () => undefined });
    installStores(api);
    const bench = useBenchStore();
    await bench.reset('cam-0002');
    expect(api.callsOf('resetBenchDevice')).toEqual([['cam-0002']]);
    expect(bench.resetting).toEqual({});
  });
});
