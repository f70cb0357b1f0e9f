import { beforeEach, describe, expect, it } from 'vitest';
import { routeEvent, type EventTargets } from '../../src/renderer/app/event-dispatch.js';
import { StationApiError } from '../../src/renderer/api/station-api-error.js';
import { isSelectable, lanAddress, whyNotSelectable } from '../../src/renderer/lib/lan.js';
import { useCurrentBatchStore } from '../../src/renderer/stores/use-current-batch-store.js';
import { useDeviceProgressStore } from '../../src/renderer/stores/use-device-progress-store.js';
import { useBenchStore } from '../../src/renderer/stores/use-bench-store.js';
import { useLanStore } from '../../src/renderer/stores/use-lan-store.js';
import { useNewBatchStore } from '../../src/renderer/stores/use-new-batch-store.js';
import { useSerialStore } from '../../src/renderer/stores/use-serial-store.js';
import { useSessionStore } from '../../src/renderer/stores/use-session-store.js';
import { batchView, createFakeStationApi, installStores, lanDevice, result, resultEvent, sadpDevice, type FakeStationApi } from './support/fake-station-api.js';

const WIRED_BATCH = 'b-20250301-wired1';

/** The bench LAN as the station lists it: two ready NVRs, a camera, one busy, one with DHCP failed, two seen by SADP only. */
function bench() {
  return [
    lanDevice('nvr-0001'),
    lanDevice('nvr-0002'),
    lanDevice('cam-0001', { pid: 'pqr1cam' }),
    lanDevice('nvr-0003', { state: 'unbinding' }),
    lanDevice('nvr-0004', { problem: { code: 'DHCP_FAILED', hint: 'DHCP failed: check the bench DHCP server' } }),
    sadpDevice('DS-1'),
    sadpDevice('DS-2', {
      address: '192.168.1.64',
      port: 80,
      problem: { code: 'NOT_WAITING', hint: 'Seen by SADP but not advertising _iot-unbind._tcp: the device is not reset.' },
    }),
  ];
}

function targets(): EventTargets {
  return { session: useSessionStore(), batch: useCurrentBatchStore(), progress: useDeviceProgressStore(), bench: useBenchStore(), lan: useLanStore(), serial: useSerialStore() };
}

describe('the wired screen (lan store)', () => {
  let api: FakeStationApi;
  beforeEach(() => {
    api = createFakeStationApi({
      getLanDevices: async () => bench(),
      refreshLan: async () => [...bench(), lanDevice('nvr-0005')],
      startBatch: async () => batchView({ id: WIRED_BATCH, method: 'wired', pid: 'pnvr8ch', ssid: null, codes: [], expected: 2, tally: { unbound: 0, notBound: 0, failed: 0, pending: 2 } }),
    });
    installStores(api);
  });

  describe('selection rules', () => {
    it('only mDNS entries in waiting with no problem are selectable; the others say why', () => {
      const list = bench();
      expect(list.filter(isSelectable).map((d) => d.key)).toEqual(['nvr-0001', 'nvr-0002', 'cam-0001']);
      expect(whyNotSelectable(list[3]!)).toMatch(/In state unbinding/);
      expect(whyNotSelectable(list[4]!)).toMatch(/DHCP failed/);
      expect(whyNotSelectable(list[5]!)).toMatch(/DHCP failed/);
      expect(whyNotSelectable(list[6]!)).toMatch(/not reset/);
      expect(whyNotSelectable(list[0]!)).toBeNull();
      expect(lanAddress(list[0]!)).toBe('127.0.0.1:8080');
      expect(lanAddress(list[5]!)).toBe('0.0.0.0');
    });

    it('given the list is loaded, when the operator ticks a busy, a failing or a SADP-only device, then nothing is selected', async () => {
      const lan = useLanStore();
      await lan.load();
      expect(lan.counts).toEqual({ total: 7, selectable: 3, problems: 3 });
      lan.setSelected('nvr-0003', true);
      lan.setSelected('nvr-0004', true);
      lan.toggle('sadp:DS-1');
      lan.setSelected('no-such-device', true);
      expect(lan.selected).toEqual([]);
      lan.toggle('nvr-0001');
      lan.toggle('nvr-0001');
      lan.toggle('nvr-0002');
      expect(lan.selected).toEqual(['nvr-0002']);
      expect(lan.selectedCount).toBe(1);
    });

    it('select all picks every selectable device shown, and unselects them again', async () => {
      const lan = useLanStore();
      await lan.load();
      lan.selectAllShown();
      expect(lan.selected).toEqual(['nvr-0001', 'nvr-0002', 'cam-0001']);
      expect(lan.allShownSelected).toBe(true);
      lan.selectAllShown(false);
      expect(lan.selected).toEqual([]);
      expect(lan.allShownSelected).toBe(false);
    });

    it('selects by product, and the product filter narrows the list and what select all picks', async () => {
      const lan = useLanStore();
      await lan.load();
      expect(lan.products).toEqual(['pnvr8ch', 'pqr1cam']);
      lan.selectProduct('pnvr8ch');
      expect(lan.selected).toEqual(['nvr-0001', 'nvr-0002']);

      lan.clearSelection();
      lan.setProductFilter('pqr1cam');
      expect(lan.shown.map((d) => d.key)).toEqual(['cam-0001']);
      lan.selectAllShown();
      expect(lan.selected).toEqual(['cam-0001']);
    });
  });

  describe('live list', () => {
    it('when a lan event comes, then the list is replaced and the selection keeps only what is still selectable', async () => {
      const lan = useLanStore();
      await lan.load();
      lan.selectAllShown();
      lan.setProductFilter('pqr1cam');
      routeEvent({ type: 'lan', devices: [lanDevice('nvr-0001', { state: 'unbinding' }), lanDevice('nvr-0002'), sadpDevice('DS-1')] }, targets());
      expect(lan.devices.map((d) => d.key)).toEqual(['nvr-0001', 'nvr-0002', 'sadp:DS-1']);
      expect(lan.selected).toEqual(['nvr-0002']);
      // The filtered product is gone: the filter goes back to all rather than show an empty table.
      expect(lan.productFilter).toBeNull();
      expect(api.calls.filter((c) => c.method !== 'getLanDevices')).toEqual([]);
    });

    it('refresh asks the station to sweep now and shows what it found', async () => {
      const lan = useLanStore();
      await lan.refresh();
      expect(api.callsOf('refreshLan')).toEqual([[]]);
      expect(lan.counts.total).toBe(8);
      expect(lan.refreshing).toBe(false);
    });

    it('a failed sweep is shown and the list stays', async () => {
      const lan = useLanStore();
      await lan.load();
      api.answers.refreshLan = async () => {
        throw new StationApiError('LAN_UNAVAILABLE', 'The LAN interface eth1 is down.', 503);
      };
      await lan.refresh();
      expect(lan.error).toEqual({ code: 'LAN_UNAVAILABLE', message: 'The LAN interface eth1 is down.' });
      expect(lan.counts.total).toBe(7);
    });
  });

  describe('unbind selected', () => {
    it('starts a wired batch with the selected devIds, opens it, and spends the selection', async () => {
      const lan = useLanStore();
      const batch = useCurrentBatchStore();
      await lan.load();
      lan.selectProduct('pnvr8ch');
      expect(lan.canUnbind).toBe(true);
      expect(await lan.unbindSelected()).toBe(true);
      expect(api.callsOf('startBatch')).toEqual([[{ method: 'wired', devIds: ['nvr-0001', 'nvr-0002'] }]]);
      expect(batch.current?.id).toBe(WIRED_BATCH);
      expect(batch.hasCodes).toBe(false);
      expect(lan.selected).toEqual([]);
    });

    it('with nothing selected, nothing is sent', async () => {
      const lan = useLanStore();
      await lan.load();
      expect(lan.canUnbind).toBe(false);
      expect(await lan.unbindSelected()).toBe(false);
      expect(lan.error?.code).toBe('NOTHING_SELECTED');
      expect(api.callsOf('startBatch')).toEqual([]);
    });

    it('a refusal stays on the wired screen with the selection, not on the QR form', async () => {
      api.answers.startBatch = async () => {
        throw new StationApiError('QUOTA_PRODUCT', 'Only 1 unbind left today for pnvr8ch.', 409);
      };
      const lan = useLanStore();
      const batch = useCurrentBatchStore();
      const newBatch = useNewBatchStore();
      await lan.load();
      lan.selectProduct('pnvr8ch');
      expect(await lan.unbindSelected()).toBe(false);
      expect(lan.error).toEqual({ code: 'QUOTA_PRODUCT', message: 'Only 1 unbind left today for pnvr8ch.' });
      expect(lan.selected).toEqual(['nvr-0001', 'nvr-0002']);
      expect(newBatch.error).toBeNull();
      expect(batch.current).toBeNull();
    });
  });

  describe('per-device progress', () => {
    it('given a wired batch running, when progress and results arrive, then each device shows its stage, then its result', async () => {
      const lan = useLanStore();
      const batch = useCurrentBatchStore();
      const progress = useDeviceProgressStore();
      await lan.load();
      lan.selectProduct('pnvr8ch');
      await lan.unbindSelected();
      const to = targets();

      routeEvent({ type: 'progress', progress: { batchId: WIRED_BATCH, devId: 'nvr-0001', stage: 'checking' } }, to);
      routeEvent({ type: 'progress', progress: { batchId: WIRED_BATCH, devId: 'nvr-0002', stage: 'checking' } }, to);
      routeEvent({ type: 'progress', progress: { batchId: WIRED_BATCH, devId: 'nvr-0001', stage: 'sending' } }, to);
      routeEvent({ type: 'progress', progress: { batchId: 'b-other', devId: 'nvr-0009', stage: 'sending' } }, to);
      expect(progress.deviceRows.map((d) => [d.devId, d.stage])).toEqual([
        ['nvr-0001', 'sending'],
        ['nvr-0002', 'checking'],
      ]);
      expect(lan.stageOf(lan.devices[0]!)).toBe('sending');
      expect(lan.stageOf(lan.devices[2]!)).toBeNull();
      expect(lan.stageOf(lan.devices[5]!)).toBeNull();

      routeEvent({ type: 'progress', progress: { batchId: WIRED_BATCH, devId: 'nvr-0001', stage: 'unbinding' } }, to);
      routeEvent(resultEvent(WIRED_BATCH, result('nvr-0001', { pid: 'pnvr8ch', tokenId: null }), { unbound: 1, notBound: 0, failed: 0, pending: 1 }), to);
      routeEvent(resultEvent(WIRED_BATCH, result('nvr-0002', { pid: 'pnvr8ch', tokenId: null, result: 'FAILED', code: 'SERIAL_MISMATCH' }), { unbound: 1, notBound: 0, failed: 1, pending: 0 }), to);
      expect(progress.deviceRows.map((d) => [d.devId, d.stage, d.result?.result])).toEqual([
        ['nvr-0001', 'done', 'UNBOUND'],
        ['nvr-0002', 'done', 'FAILED'],
      ]);
      expect(batch.tally).toEqual({ unbound: 1, notBound: 0, failed: 1, pending: 0 });
      expect(batch.progressText).toBe('2 / 2');
    });

    it('a device that reports a result without a stage is still listed', async () => {
      const batch = useCurrentBatchStore();
      const progress = useDeviceProgressStore();
      api.answers.getBatch = async () => batchView({ id: WIRED_BATCH, method: 'serial', codes: [], results: [result('uart-0001', { tokenId: null })] });
      await batch.open(WIRED_BATCH);
      expect(progress.deviceRows).toEqual([{ devId: 'uart-0001', stage: 'done', serial: 'SN-uart-0001', result: expect.objectContaining({ result: 'UNBOUND' }) }]);
    });

    it('progress is forgotten when another batch is opened', async () => {
      const batch = useCurrentBatchStore();
      const progress = useDeviceProgressStore();
      api.answers.getBatch = async (id) => batchView({ id, method: 'wired', codes: [] });
      await batch.open(WIRED_BATCH);
      progress.applyProgress({ batchId: WIRED_BATCH, devId: 'nvr-0001', stage: 'sending' });
      await batch.open(WIRED_BATCH);
      expect(progress.progress).toHaveLength(1);
      await batch.open('b-20250301-next01');
      expect(progress.progress).toEqual([]);
    });
  });
});

describe('the wired screen: what this account may unbind', () => {
  it('given the account’s products, then devices of a product it may not unbind are not selectable, also by select-all', async () => {
    const { DASHBOARD } = await import('./support/fake-station-api.js');
    const { useDashboardStore } = await import('../../src/renderer/stores/use-dashboard-store.js');
    const api = createFakeStationApi({ getLanDevices: async () => bench(), getDashboard: async () => DASHBOARD });
    installStores(api);
    await useDashboardStore().load();
    const lan = useLanStore();
    await lan.load();
    // DASHBOARD lets this account unbind pqr1cam only: the NVRs are ready but not its to unbind.
    expect(lan.selectable.map((d) => d.key)).toEqual(['cam-0001']);
    expect(lan.rightsRefusal(bench()[0]!)).toEqual({ code: 'UNAUTHORIZED', pid: 'pnvr8ch' });
    lan.selectAllShown();
    expect(lan.selected).toEqual(['cam-0001']);
    lan.setSelected('nvr-0001', true);
    expect(lan.selected).toEqual(['cam-0001']);
  });
});
