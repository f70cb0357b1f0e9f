import { beforeEach, describe, expect, it } from 'vitest';
import type { SerialSettings } from '../../src/protocol/station-api.js';
import { routeEvent, type EventTargets } from '../../src/renderer/app/event-dispatch.js';
import { StationApiError } from '../../src/renderer/api/station-api-error.js';
import { useCurrentBatchStore } from '../../src/renderer/stores/use-current-batch-store.js';
import { useDeviceProgressStore } from '../../src/renderer/stores/use-device-progress-store.js';
import { useBenchStore } from '../../src/renderer/stores/use-bench-store.js';
import { useLanStore } from '../../src/renderer/stores/use-lan-store.js';
import { RECENT_LABELS_KEPT, useSerialStore } from '../../src/renderer/stores/use-serial-store.js';
import { useSessionStore } from '../../src/renderer/stores/use-session-store.js';
import { batchView, createFakeStationApi, installStores, serialStatus, type FakeStationApi } from './support/fake-station-api.js';

function targets(): EventTargets {
  return { session: useSessionStore(), batch: useCurrentBatchStore(), progress: useDeviceProgressStore(), bench: useBenchStore(), lan: useLanStore(), serial: useSerialStore() };
}

describe('the serial settings (serial store)', () => {
  let api: FakeStationApi;
  beforeEach(() => {
    api = createFakeStationApi({
      getSerialStatus: async () => serialStatus(),
      setSerialSettings: async (settings: SerialSettings) => serialStatus({ settings, scanner: { state: settings.scannerPort ? 'open' : 'off', labels: 0, rejected: 0, lastLabel: null, lastRejected: null } }),
      startBatch: async (req) => batchView({ id: 'b-20250301-serial', method: req.method, codes: [], ssid: null, expected: 1 }),
    });
    installStores(api);
  });

  it('given the ports are loaded, when the operator picks a scanner and UART ports and saves, then the station gets exactly those settings', async () => {
    const serial = useSerialStore();
    await serial.load();
    expect(serial.ports.map((p) => p.path)).toEqual(['/dev/ttyUSB0', '/dev/ttyUSB1', '/tmp/uart-a']);
    expect(serial.dirty).toBe(false);
    expect(serial.canSave).toBe(false);

    serial.setScannerPort('/dev/ttyUSB0');
    serial.setUartPort('/dev/ttyUSB1', true);
    serial.setUartPort('/tmp/uart-a', true);
    serial.setUartPort('/tmp/uart-a', false);
    expect(serial.dirty).toBe(true);
    expect(serial.canSave).toBe(true);

    expect(await serial.save()).toBe(true);
    expect(api.callsOf('setSerialSettings')).toEqual([[{ scannerPort: '/dev/ttyUSB0', uartPorts: ['/dev/ttyUSB1'] }]]);
    expect(serial.saved).toEqual({ scannerPort: '/dev/ttyUSB0', uartPorts: ['/dev/ttyUSB1'] });
    expect(serial.dirty).toBe(false);
    expect(serial.scanner?.state).toBe('open');

    serial.setScannerPort(null);
    expect(serial.draft.scannerPort).toBeNull();
    serial.resetDraft();
    expect(serial.draft.scannerPort).toBe('/dev/ttyUSB0');
  });

  it('refuses a port that is both the scanner and a UART port, without asking the station', async () => {
    const serial = useSerialStore();
    await serial.load();
    serial.setScannerPort('/dev/ttyUSB0');
    serial.setUartPort('/dev/ttyUSB0', true);
    expect(serial.draftProblem).toMatch(/both the scanner port and a UART port/);
    expect(serial.canSave).toBe(false);
    expect(await serial.save()).toBe(false);
    expect(serial.error?.code).toBe('INVALID_SETTINGS');
    expect(api.callsOf('setSerialSettings')).toEqual([]);
  });

  it('shows a refusal of the station and keeps the draft', async () => {
    api.answers.setSerialSettings = async () => {
      throw new StationApiError('PORT_BUSY', '/dev/ttyUSB0 is in use by another program.', 409);
    };
    const serial = useSerialStore();
    await serial.load();
    serial.setScannerPort('/dev/ttyUSB0');
    expect(await serial.save()).toBe(false);
    expect(serial.error).toEqual({ code: 'PORT_BUSY', message: '/dev/ttyUSB0 is in use by another program.' });
    expect(serial.draft.scannerPort).toBe('/dev/ttyUSB0');
  });

  it('a serial event replaces the status; the draft follows it unless the operator is editing', async () => {
    const serial = useSerialStore();
    await serial.load();
    const to = targets();
    routeEvent({ type: 'serial', status: serialStatus({ settings: { scannerPort: '/dev/ttyUSB1', uartPorts: [] }, systemListError: 'udevadm not found' }) }, to);
    expect(serial.draft).toEqual({ scannerPort: '/dev/ttyUSB1', uartPorts: [] });
    expect(serial.status?.systemListError).toBe('udevadm not found');

    serial.setUartPort('/dev/ttyUSB0', true);
    routeEvent({ type: 'serial', status: serialStatus({ settings: { scannerPort: null, uartPorts: [] }, scanner: { state: 'reconnecting', labels: 3, rejected: 1, lastLabel: 'SN-0003', lastRejected: '???' } }) }, to);
    expect(serial.draft).toEqual({ scannerPort: '/dev/ttyUSB1', uartPorts: ['/dev/ttyUSB0'] });
    expect(serial.scanner).toEqual({ state: 'reconnecting', labels: 3, rejected: 1, lastLabel: 'SN-0003', lastRejected: '???' });
  });

  it('"Unbind UART devices" starts a serial batch over the saved UART ports', async () => {
    api.answers.getSerialStatus = async () => serialStatus({ settings: { scannerPort: null, uartPorts: ['/dev/ttyUSB1', '/tmp/uart-a'] } });
    const serial = useSerialStore();
    await serial.load();
    serial.setUartPort('/dev/ttyUSB0', true); // an unsaved change does not go into the batch
    expect(serial.canUnbindUart).toBe(true);
    expect(await serial.unbindUart()).toBe(true);
    expect(api.callsOf('startBatch')).toEqual([[{ method: 'serial', ports: ['/dev/ttyUSB1', '/tmp/uart-a'] }]]);
    expect(useCurrentBatchStore().current?.method).toBe('serial');
  });

  it('with no UART port saved, no serial batch is asked for', async () => {
    const serial = useSerialStore();
    await serial.load();
    expect(serial.canUnbindUart).toBe(false);
    expect(await serial.unbindUart()).toBe(false);
    expect(serial.error?.code).toBe('NO_UART_PORTS');
    expect(api.callsOf('startBatch')).toEqual([]);
  });

  describe('labels from the barcode scanner', () => {
    it('given no batch runs, then labels wait for the QR form, which takes them once', () => {
      const serial = useSerialStore();
      const to = targets();
      routeEvent({ type: 'label', batchId: null, label: 'SN-0001' }, to);
      routeEvent({ type: 'label', batchId: null, label: 'SN-0002' }, to);
      expect(serial.recentLabels.map((l) => l.label)).toEqual(['SN-0002', 'SN-0001']);
      expect(serial.takeManifestLabels()).toEqual(['SN-0001', 'SN-0002']);
      expect(serial.takeManifestLabels()).toEqual([]);
    });

    it('given a batch runs, then its labels are listed as scanned on the batch screen, each once', async () => {
      api.answers.getBatch = async () => batchView({ scanned: ['SN-0001'] });
      const batch = useCurrentBatchStore();
      const serial = useSerialStore();
      await batch.open('b-20250301-abc123');
      const to = targets();
      routeEvent({ type: 'label', batchId: 'b-20250301-abc123', label: 'SN-0002' }, to);
      routeEvent({ type: 'label', batchId: 'b-20250301-abc123', label: 'SN-0001' }, to);
      routeEvent({ type: 'label', batchId: 'b-other', label: 'SN-0099' }, to);
      expect(batch.current?.scanned).toEqual(['SN-0001', 'SN-0002']);
      expect(serial.pendingManifestLabels).toEqual([]);
      expect(serial.recentLabels.map((l) => l.batchId)).toEqual(['b-other', 'b-20250301-abc123', 'b-20250301-abc123']);
    });

    it('keeps only the newest labels for the screen', () => {
      const serial = useSerialStore();
      for (let i = 0; i < RECENT_LABELS_KEPT + 5; i++) serial.applyLabel('b-1', `SN-${i}`);
      expect(serial.recentLabels).toHaveLength(RECENT_LABELS_KEPT);
      expect(serial.recentLabels[0]?.label).toBe(`SN-${RECENT_LABELS_KEPT + 4}`);
    });
  });
});
