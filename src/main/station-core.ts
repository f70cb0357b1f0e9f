import type { Readable } from 'node:stream';
import {
  type BatchPlan,
  type BatchSummary,
  type BatchView,
  type DashboardView,
  type FleetDeviceStatus,
  type HistoryQuery,
  type HistoryRow,
  type HistoryStats,
  type Page,
  type PlanRequest,
  type Screen,
  type SessionView,
  type SignInRequest,
  type StartBatchRequest,
  type WifiCredentials,
  type LanDeviceView,
  type SerialSettings,
  type SerialStatusView,
} from '../protocol/index.js';
import type { LanSweep } from '../wired/index.js';
import { startWiredBatch } from '../batch/wired-runner.js';
import { openUartAt, startSerialBatch, type OpenUart } from '../batch/serial-runner.js';
import type { SerialService } from './serial-service.js';
import { toLanDeviceView } from './lan-views.js';
import { renderPrintSheet, renderQrPng, renderQrSvg } from '../qr/index.js';
import type { BatchService } from '../batch/batch-service.js';
import { planBatch } from '../batch/planner.js';
import { StationError } from '../batch/station-error.js';
import type { HistoryScope, HistoryStore } from '../history/index.js';
import type { BenchLink } from './bench-link.js';
import type { EventHub } from './event-hub.js';
import type { SessionManager } from './station-session.js';

/**
 * The station's operations, whatever the transport: the HTTP server and the Electron main process
 * both call these. Everything here checks the session; nothing here knows about HTTP or IPC.
 */
export interface StationCore {
  getSession(): SessionView;
  signIn(req: SignInRequest): Promise<SessionView>;
  signOut(): SessionView;
  getDashboard(): Promise<DashboardView>;
  planBatch(req: PlanRequest): Promise<BatchPlan>;
  startBatch(req: StartBatchRequest): Promise<BatchView>;
  listBatches(): BatchSummary[];
  getBatch(id: string): BatchView;
  cancelBatch(id: string): BatchView;
  scanLabel(id: string, label: string): BatchView;
  unlockCodes(id: string, wifi: WifiCredentials): BatchView;
  getCodeSvg(id: string, index: number): Promise<string>;
  getPrintSheet(id: string): Promise<string>;
  showCodes(batchId: string | null, indexes: number[]): void;
  /** What the station's screen shows, as the virtual bench's cameras see it. */
  screen(): Promise<Screen>;
  queryHistory(q: HistoryQuery): Promise<Page<HistoryRow>>;
  historyStats(q: HistoryQuery): Promise<HistoryStats>;
  exportHistoryCsv(q: HistoryQuery): Promise<Readable>;
  getLanDevices(): LanDeviceView[];
  refreshLan(): Promise<LanDeviceView[]>;
  getSerialStatus(): Promise<SerialStatusView>;
  setSerialSettings(settings: SerialSettings): Promise<SerialStatusView>;
  /** A label from the barcode scanner: it joins the running batch's labels, or goes to the UI's form. */
  routeLabel(label: string): void;
  getBench(): Promise<FleetDeviceStatus[] | null>;
  resetBenchDevice(devId: string): Promise<void>;
  /** The virtual bench starts after the server (its cameras look at the server's screen). */
  attachBench(link: BenchLink): void;
  hub: EventHub;
}

export function createStationCore(deps: {
  sessions: SessionManager;
  batches: BatchService;
  history: HistoryStore;
  hub: EventHub;
  bench: BenchLink | null;
  lan?: LanSweep | null;
  serial?: SerialService | null;
  openUart?: OpenUart;
  timeZone?: string;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}): StationCore {
  const { sessions, batches, history, hub } = deps;
  let bench = deps.bench;
  let shown: { batchId: string; indexes: number[] } | null = null;

  async function scope(): Promise<HistoryScope> {
    const s = sessions.current();
    const allPids: string[] = [];
    const ownPids: string[] = [];
    for (const p of await s.client.products()) (p.grant === 'owner' || p.grant === 'space-role' ? allPids : ownPids).push(p.pid);
    return { accountId: s.account.accountId, allPids, ownPids };
  }
  const ownBatch = (id: string): BatchView => {
    const b = batches.get(id);
    if (b.accountId !== sessions.current().account.accountId) throw new StationError(404, 'BATCH_UNKNOWN', `no batch ${id} for this account`);
    return b;
  };

  return {
    hub,
    getSession: () => sessions.view(),
    async signIn(req) {
      const s = await sessions.signIn(req);
      shown = null; // the bench screen never keeps showing the previous account's codes
      await batches.resume({ client: s.client, accountId: s.account.accountId, operator: s.operator });
      const view = sessions.view();
      hub.emit({ type: 'session', session: view });
      return view;
    },
    signOut() {
      sessions.signOut();
      shown = null;
      const view = sessions.view();
      hub.emit({ type: 'session', session: view });
      return view;
    },
    getDashboard: () => sessions.current().client.productsAndQuota(),
    async planBatch(req) {
      const { products, quota } = await sessions.current().client.productsAndQuota();
      return planBatch(req, products, quota);
    },
    async startBatch(req) {
      const s = sessions.current();
      const session = { client: s.client, accountId: s.account.accountId, operator: s.operator };
      switch (req.method) {
        case 'qr':
          return batches.startQr(session, req);
        case 'wired':
          if (!deps.lan) throw new StationError(409, 'NO_LAN', 'this station runs without a LAN sweep');
          return startWiredBatch({ batches, sweep: deps.lan, emit: hub.emit, ...(deps.log ? { log: deps.log } : {}) }, session, req);
        case 'serial': {
          // Only ports the operator configured as UART ports: the station opens nothing else.
          const configured = new Set(deps.serial?.settings().uartPorts ?? []);
          const unknown = req.ports.filter((p) => !configured.has(p));
          if (unknown.length) throw new StationError(400, 'PORT_NOT_CONFIGURED', `not a configured UART port: ${unknown.join(', ')}`);
          return startSerialBatch({ batches, openUart: deps.openUart ?? openUartAt, emit: hub.emit, ...(deps.log ? { log: deps.log } : {}) }, session, req);
        }
      }
    },
    listBatches() {
      const me = sessions.current().account.accountId;
      return batches.list().filter((b) => b.accountId === me);
    },
    getBatch: (id) => ownBatch(id),
    cancelBatch(id) {
      ownBatch(id);
      if (shown?.batchId === id) shown = null;
      return batches.cancel(id);
    },
    scanLabel(id, label) {
      ownBatch(id);
      return batches.scanLabel(id, label);
    },
    unlockCodes(id, wifi) {
      ownBatch(id);
      return batches.unlockCodes(id, wifi);
    },
    async getCodeSvg(id, index) {
      ownBatch(id);
      const p = batches.codePayload(id, index);
      return (await renderQrSvg({ s: p.wifi.ssid, p: p.wifi.password, t: p.token })).svg;
    },
    async getPrintSheet(id) {
      const b = ownBatch(id);
      const codes = b.codes.map((c) => batches.codePayload(id, c.index));
      if (!codes.length) throw new StationError(409, 'NO_CODES', 'this batch has no codes');
      return renderPrintSheet({ wifi: codes[0]!.wifi, codes: codes.map((c) => ({ token: c.token, capacity: c.capacity, expiresAt: new Date(c.expiresAt) })), title: `Batch ${id} — ${b.pid}`, ...(deps.timeZone ? { timeZone: deps.timeZone } : {}) });
    },
    showCodes(batchId, indexes) {
      if (batchId === null) {
        shown = null;
        return;
      }
      ownBatch(batchId);
      shown = { batchId, indexes: [...new Set(indexes)].sort((a, b) => a - b) };
    },
    async screen() {
      if (!shown) return { codes: [] };
      const b = batches.get(shown.batchId);
      if (b.status !== 'running') return { codes: [] };
      const codes = [];
      for (const index of shown.indexes) {
        const code = b.codes.find((c) => c.index === index);
        if (!code || code.status !== 'active') continue;
        let p;
        try {
          p = batches.codePayload(b.id, index);
        } catch {
          continue; // codes locked after a restart: the screen shows nothing to scan
        }
        const png = await renderQrPng({ s: p.wifi.ssid, p: p.wifi.password, t: p.token }, { scale: 4 });
        codes.push({ id: `${b.id}:${index}`, png: png.png.toString('base64'), capacity: code.capacity });
      }
      return { codes };
    },
    queryHistory: async (q) => history.query(await scope(), q),
    historyStats: async (q) => history.stats(await scope(), q),
    exportHistoryCsv: async (q) => history.exportCsv(await scope(), q),
    getLanDevices() {
      return deps.lan ? deps.lan.devices().map(toLanDeviceView) : [];
    },
    async refreshLan() {
      if (!deps.lan) return [];
      return (await deps.lan.refresh()).map(toLanDeviceView);
    },
    async getSerialStatus() {
      if (!deps.serial) throw new StationError(404, 'NO_SERIAL', 'this station runs without serial ports');
      return deps.serial.status();
    },
    async setSerialSettings(settings) {
      if (!deps.serial) throw new StationError(404, 'NO_SERIAL', 'this station runs without serial ports');
      return deps.serial.update(settings);
    },
    routeLabel(label) {
      let batchId: string | null = null;
      try {
        const me = sessions.current().account.accountId;
        const running = batches.list().find((b) => b.accountId === me && b.status === 'running');
        if (running) {
          batches.scanLabel(running.id, label);
          batchId = running.id;
        }
      } catch {
        // nobody signed in: the label only goes to the screen
      }
      hub.emit({ type: 'label', batchId, label });
    },
    attachBench(link) {
      bench = link;
    },
    async getBench() {
      return bench ? bench.status() : null;
    },
    async resetBenchDevice(devId) {
      if (!bench) throw new StationError(404, 'NO_BENCH', 'this station runs without a virtual bench');
      await bench.reset(devId);
    },
  };
}
