import { createPinia, setActivePinia, type Pinia } from 'pinia';
import { createApp } from 'vue';
import type {
  BatchCodeView,
  BatchPlan,
  BatchTally,
  BatchView,
  DashboardView,
  DeviceResultView,
  LanDeviceView,
  SerialStatusView,
  SessionView,
  StationApi,
  StationEvent,
} from '../../../src/protocol/station-api.js';
import { provideStationContext, type KeyValueStorage } from '../../../src/renderer/app/station-context.js';

/**
 * A plain object implementing StationApi for unit tests of the renderer's stores: each method answers
 * from `answers` (override per test) and records its call; `emit` pushes an event to subscribers.
 */
export interface Call {
  method: keyof StationApi;
  args: unknown[];
}

export type Answers = { [K in keyof StationApi]?: StationApi[K] };

export interface FakeStationApi extends StationApi {
  calls: Call[];
  answers: Answers;
  emit(e: StationEvent): void;
  subscribers(): number;
  callsOf(method: keyof StationApi): unknown[][];
}

export function createFakeStationApi(answers: Answers = {}): FakeStationApi {
  const calls: Call[] = [];
  const listeners = new Set<(e: StationEvent) => void>();
  const pick = <K extends keyof StationApi>(method: K): StationApi[K] => {
    const answer = fake.answers[method];
    if (!answer) throw new Error(`fake station: no answer for ${method}`);
    // The station stamps a batch when it reads it, i.e. when the call reaches it, not when its answer arrives.
    const readAt = stamp();
    return ((...a: unknown[]) => Promise.resolve((answer as (...x: unknown[]) => unknown)(...a)).then((v) => stampedAt(v, readAt))) as StationApi[K];
  };
  const fake: FakeStationApi = {
    calls,
    answers,
    emit: (e) => listeners.forEach((l) => l(e)),
    subscribers: () => listeners.size,
    callsOf: (method) => calls.filter((c) => c.method === method).map((c) => c.args),
    getSession: (...a) => (calls.push({ method: 'getSession', args: a }), pick('getSession')(...a)),
    signIn: (...a) => (calls.push({ method: 'signIn', args: a }), pick('signIn')(...a)),
    signOut: (...a) => (calls.push({ method: 'signOut', args: a }), pick('signOut')(...a)),
    getDashboard: (...a) => (calls.push({ method: 'getDashboard', args: a }), pick('getDashboard')(...a)),
    planBatch: (...a) => (calls.push({ method: 'planBatch', args: a }), pick('planBatch')(...a)),
    startBatch: (...a) => (calls.push({ method: 'startBatch', args: a }), pick('startBatch')(...a)),
    listBatches: (...a) => (calls.push({ method: 'listBatches', args: a }), pick('listBatches')(...a)),
    getBatch: (...a) => (calls.push({ method: 'getBatch', args: a }), pick('getBatch')(...a)),
    cancelBatch: (...a) => (calls.push({ method: 'cancelBatch', args: a }), pick('cancelBatch')(...a)),
    resumeBatch: (...a) => (calls.push({ method: 'resumeBatch', args: a }), pick('resumeBatch')(...a)),
    scanLabel: (...a) => (calls.push({ method: 'scanLabel', args: a }), pick('scanLabel')(...a)),
    unlockCodes: (...a) => (calls.push({ method: 'unlockCodes', args: a }), pick('unlockCodes')(...a)),
    getCodeSvg: (...a) => (calls.push({ method: 'getCodeSvg', args: a }), pick('getCodeSvg')(...a)),
    getPrintSheet: (...a) => (calls.push({ method: 'getPrintSheet', args: a }), pick('getPrintSheet')(...a)),
    showCodes: (...a) => (calls.push({ method: 'showCodes', args: a }), (fake.answers.showCodes ?? (async () => undefined))(...a)),
    queryHistory: (...a) => (calls.push({ method: 'queryHistory', args: a }), pick('queryHistory')(...a)),
    historyStats: (...a) => (calls.push({ method: 'historyStats', args: a }), pick('historyStats')(...a)),
    exportHistoryCsv: (...a) => (calls.push({ method: 'exportHistoryCsv', args: a }), pick('exportHistoryCsv')(...a)),
    getLanDevices: (...a) => (calls.push({ method: 'getLanDevices', args: a }), pick('getLanDevices')(...a)),
    refreshLan: (...a) => (calls.push({ method: 'refreshLan', args: a }), pick('refreshLan')(...a)),
    startLocalUnbind: (...a) => (calls.push({ method: 'startLocalUnbind', args: a }), pick('startLocalUnbind')(...a)),
    getLocalUnbind: (...a) => (calls.push({ method: 'getLocalUnbind', args: a }), pick('getLocalUnbind')(...a)),
    getResetRequest: (...a) => (calls.push({ method: 'getResetRequest', args: a }), pick('getResetRequest')(...a)),
    applyResetCode: (...a) => (calls.push({ method: 'applyResetCode', args: a }), pick('applyResetCode')(...a)),
    getSerialStatus: (...a) => (calls.push({ method: 'getSerialStatus', args: a }), pick('getSerialStatus')(...a)),
    setSerialSettings: (...a) => (calls.push({ method: 'setSerialSettings', args: a }), pick('setSerialSettings')(...a)),
    getSerialResetRequest: (...a) => (calls.push({ method: 'getSerialResetRequest', args: a }), pick('getSerialResetRequest')(...a)),
    getBench: (...a) => (calls.push({ method: 'getBench', args: a }), pick('getBench')(...a)),
    resetBenchDevice: (...a) => (calls.push({ method: 'resetBenchDevice', args: a }), pick('resetBenchDevice')(...a)),
    listTickets: (...a) => (calls.push({ method: 'listTickets', args: a }), pick('listTickets')(...a)),
    requestTicket: (...a) => (calls.push({ method: 'requestTicket', args: a }), pick('requestTicket')(...a)),
    decideTicket: (...a) => (calls.push({ method: 'decideTicket', args: a }), pick('decideTicket')(...a)),
    fileCase: (...a) => (calls.push({ method: 'fileCase', args: a }), pick('fileCase')(...a)),
    listCases: (...a) => (calls.push({ method: 'listCases', args: a }), pick('listCases')(...a)),
    getCasePhoto: (...a) => (calls.push({ method: 'getCasePhoto', args: a }), pick('getCasePhoto')(...a)),
    approveCase: (...a) => (calls.push({ method: 'approveCase', args: a }), pick('approveCase')(...a)),
    rejectCase: (...a) => (calls.push({ method: 'rejectCase', args: a }), pick('rejectCase')(...a)),
    subscribe(onEvent) {
      calls.push({ method: 'subscribe', args: [] });
      listeners.add(onEvent);
      return () => listeners.delete(onEvent);
    },
  };
  return fake;
}

let stamps = 0;
/** The next of the station's stamps (BatchView.stamp): each one greater than every one before. */
export const stamp = (): number => ++stamps;
const isBatchState = (v: unknown): v is { stamp: number } => typeof v === 'object' && v !== null && 'stamp' in v && 'status' in v && 'tally' in v;
/** An answer as the station gives it: every batch in it stamped when it was read (unless the test stamped it: 0 is "not yet"). */
function stampedAt(v: unknown, at: number): unknown {
  if (Array.isArray(v)) return v.map((x) => stampedAt(x, at));
  if (isBatchState(v)) return v.stamp === 0 ? { ...v, stamp: at } : v;
  if (typeof v === 'object' && v !== null && 'batch' in v && isBatchState((v as { batch: unknown }).batch)) return { ...v, batch: stampedAt((v as { batch: unknown }).batch, at) };
  return v;
}

export function memoryStorage(initial: Record<string, string> = {}): KeyValueStorage & { data: Map<string, string> } {
  const data = new Map(Object.entries(initial));
  return { data, getItem: (k) => data.get(k) ?? null, setItem: (k, v) => void data.set(k, v) };
}

/** A Pinia installed on an (unmounted) app that provides the fake station, as main.ts does with the real one. */
export function installStores(api: StationApi, storage: KeyValueStorage = memoryStorage()): Pinia {
  const app = createApp({ render: () => null });
  const pinia = createPinia();
  app.use(pinia);
  provideStationContext(app, { api, storage });
  setActivePinia(pinia);
  return pinia;
}

/** Lets pending promise callbacks run. */
export const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 0));

// ---- sample views -------------------------------------------------------------------------------

export const SIGNED_OUT: SessionView = {
  signedIn: false,
  demo: true,
  stationId: 'st-bench-1',
  account: null,
  operator: null,
  demoAccounts: [{ accountId: 'acc-owner', name: 'Owner Co', role: 'owner', region: 'EU' }],
  demoWifi: null,
};

export function signedIn(accountId = 'acc-owner', operator = 'Ana'): SessionView {
  return { ...SIGNED_OUT, signedIn: true, account: { accountId, name: 'Owner Co', region: 'EU' }, operator };
}

export const DASHBOARD: DashboardView = {
  products: [
    { pid: 'pqr1cam', name: 'PQR Cam 1', category: 'camera', owner: { accountId: 'acc-owner', name: 'Owner Co' }, unbindSupported: true, minFirmware: '2.0.0', serialFormat: 'PQR-####', grant: 'owner' },
    { pid: 'oldnvr', name: 'Old NVR', category: 'nvr', owner: { accountId: 'acc-owner', name: 'Owner Co' }, unbindSupported: false, minFirmware: null, serialFormat: null, grant: 'owner' },
  ],
  quota: {
    day: '2025-03-01',
    timeZone: 'UTC',
    startsAt: '2025-03-01T00:00:00.000Z',
    endsAt: '2025-03-02T00:00:00.000Z',
    account: { used: 40, limit: 100, remaining: 60 },
    products: [{ pid: 'pqr1cam', used: 97, limit: 100, remaining: 3 }],
  },
};

export function plan(over: Partial<BatchPlan> = {}): BatchPlan {
  return { ok: true, pid: 'pqr1cam', devices: 45, codes: [30, 15], remaining: 60, accountRemaining: 60, productRemaining: 80, grant: 'owner', refusal: null, ...over };
}

export function code(index: number, over: Partial<BatchCodeView> = {}): BatchCodeView {
  return { index, tokenId: `tok${index}aaaa`, capacity: index === 0 ? 30 : 15, used: 0, expiresAt: '2025-03-01T10:10:00.000Z', status: 'active', ...over };
}

/** A batch as the station would answer it; stamped when the fake answers it, unless `over` gives a stamp. */
export function batchView(over: Partial<BatchView> = {}): BatchView {
  return {
    stamp: 0,
    id: 'b-20250301-abc123',
    createdAt: '2025-03-01T10:00:00.000Z',
    method: 'qr',
    pid: 'pqr1cam',
    accountId: 'acc-owner',
    operator: 'Ana',
    status: 'running',
    ssid: 'bench-wifi',
    expected: 45,
    manifest: null,
    scanned: [],
    codes: [code(0), code(1)],
    tally: { unbound: 0, notBound: 0, failed: 0, pending: 45 },
    results: [],
    ...over,
  };
}

export function result(devId: string, over: Partial<DeviceResultView> = {}): DeviceResultView {
  return { devId, serial: `SN-${devId}`, pid: 'pqr1cam', result: 'UNBOUND', code: null, hint: null, at: '2025-03-01T10:01:00.000Z', tokenId: 'tok0aaaa', ...over };
}

/** A `result` event as the station sends it: the device's row, the batch's tally as the station counts it, the code the row used. */
export function resultEvent(batchId: string, r: DeviceResultView, tally: BatchTally, usedCode: BatchCodeView | null = null): Extract<StationEvent, { type: 'result' }> {
  return { type: 'result', batchId, stamp: stamp(), result: r, tally, code: usedCode };
}

/** A `batch` event as the station sends it now (stamped now) for a batch in the state `view`. */
export function batchEvent(view: BatchView, over: Partial<BatchView> = {}): Extract<StationEvent, { type: 'batch' }>['batch'] {
  const { results: _r, manifest: _m, scanned: _s, ...summary } = { ...view, ...over };
  return { ...summary, stamp: stamp() };
}

/** A tally of a running batch of `expected` devices. */
export function tally(counts: Partial<Omit<BatchTally, 'pending'>>, expected = 45): BatchTally {
  const t = { unbound: 0, notBound: 0, failed: 0, ...counts };
  return { ...t, pending: expected - t.unbound - t.notBound - t.failed };
}

/** An mDNS entry of the LAN sweep, reset and ready (selectable). */
export function lanDevice(devId: string, over: Partial<LanDeviceView> = {}): LanDeviceView {
  return {
    key: devId,
    source: 'mdns',
    devId,
    pid: 'pnvr8ch',
    serial: `SN-${devId}`,
    firmware: '5.7.3',
    state: 'waiting',
    address: '127.0.0.1',
    port: 8080,
    lastSeen: '2025-03-01T10:00:00.000Z',
    problem: null,
    sadp: null,
    ...over,
  };
}

/** A device seen only by SADP: listed with why it cannot be unbound. */
export function sadpDevice(serial: string, over: Partial<LanDeviceView> = {}): LanDeviceView {
  return {
    key: `sadp:${serial}`,
    source: 'sadp',
    devId: null,
    pid: null,
    serial,
    firmware: 'V5.6.0',
    state: null,
    address: '0.0.0.0',
    port: null,
    lastSeen: '2025-03-01T10:00:00.000Z',
    problem: { code: 'DHCP_FAILED', hint: 'DHCP failed: check the bench DHCP server or give the device a static IP with the vendor tool' },
    sadp: { model: 'DS-7608NI', mac: 'aa:bb:cc:dd:ee:01', dhcp: true, activated: true, deviceType: 'NVR' },
    ...over,
  };
}

export function serialStatus(over: Partial<SerialStatusView> = {}): SerialStatusView {
  return {
    settings: { scannerPort: null, uartPorts: [] },
    ports: [
      { path: '/dev/ttyUSB0', source: 'system', present: true, manufacturer: 'FTDI', problem: null },
      { path: '/dev/ttyUSB1', source: 'system', present: true, manufacturer: null, problem: null },
      { path: '/tmp/uart-a', source: 'configured', present: false, manufacturer: null, problem: 'not found' },
    ],
    systemListError: null,
    scanner: { state: 'off', labels: 0, rejected: 0, lastLabel: null, lastRejected: null },
    ...over,
  };
}
