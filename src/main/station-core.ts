import { checkSerialLabel, describeLabelProblem, type BatchView } from '../protocol/index.js';
import type { LanSweep } from '../wired/index.js';
import { startWiredBatch } from '../batch/wired-runner.js';
import { startLocalUnbind } from '../batch/local-unbind-runner.js';
import { createDeviceApiClient, type DeviceApiClient } from '../wired/index.js';
import { RESET_REQUEST_VALIDITY_MS, resetRequestQrText, type FailureCode } from '../protocol/index.js';
import type { LocalUnbindDeviceView } from '../protocol/station-api/lan.js';
import { openUartAt, startSerialBatch, type OpenUart } from '../batch/serial-runner.js';
import type { ResetRequest } from '../protocol/index.js';
import type { ResetRequestView } from '../protocol/station-api/lan.js';
import { resetRequestXml } from '../protocol/index.js';
import type { SerialService } from './serial-service.js';
import { toLanDeviceView } from './lan-views.js';
import { renderPrintSheet, renderQrSvg } from '../qr/index.js';
import { csvHintColumn, printSheetText } from './station-locale.js';
import type { BatchService } from '../batch/batch-service.js';
import { planBatch } from '../batch/planner.js';
import { batchForLabel } from '../batch/label-routing.js';
import { StationError } from '../protocol/station-api/refusals.js';
import type { benchCalls } from '../protocol/station-api/bench.js';
import type { StationHandlers } from './station-calls.js';
import type { HistoryScope, HistoryStore } from '../history/index.js';
import type { EventHub } from './event-hub.js';
import type { SessionManager } from './station-session.js';
import type { CaseHandlers } from './case-desk.js';
import type { TicketHandlers } from './ticket-calls.js';

/** The calls of the bench domain: answered by the demo bench when there is one (src/main/demo-bench.ts). */
export type BenchCallName = keyof typeof benchCalls;
export type BenchHandlers = Pick<StationHandlers, BenchCallName>;

/**
 * The station's operations, whatever the transport: the HTTP server and the Electron main process
 * both call these, through the API table. Everything here checks the session; nothing here knows about
 * HTTP or IPC, nor about a virtual bench.
 */
export type StationCore = Omit<StationHandlers, BenchCallName> & {
  /** A label from the barcode scanner: it joins the running batch's labels, or goes to the UI's form. */
  routeLabel(label: string): void;
  /** The batch of this account, or BATCH_UNKNOWN. */
  ownBatch(id: string): BatchView;
};

/** A station without a bench: nobody looks at its screen, so showing codes changes nothing. */
export const NO_BENCH: BenchHandlers = {
  showCodes: () => undefined,
  getBench: async () => null,
  async resetBenchDevice() {
    throw new StationError(404, 'NO_BENCH', 'this station runs without a virtual bench');
  },
};

export function createStationCore(deps: {
  sessions: SessionManager;
  batches: BatchService;
  history: HistoryStore;
  hub: EventHub;
  lan?: LanSweep | null;
  serial?: SerialService | null;
  /** The cases desk (src/main/case-desk.ts): its calls are the station's. */
  cases: CaseHandlers;
  tickets: TicketHandlers;
  openUart?: OpenUart;
  timeZone?: string;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** The client of the devices' local API for local unbinds and reset requests (one is made if absent). */
  deviceApi?: DeviceApiClient;
}): StationCore {
  const { sessions, batches, history, hub } = deps;
  const deviceApi = deps.deviceApi ?? createDeviceApiClient();
  /** Per local-unbind batch, what its devices told beyond their code (in memory: a lock or a count of tries is the device's now, not history). */
  const localDetails = new Map<string, LocalUnbindDeviceView[]>();
  /** Where a LAN entry's local API is, for the reset-request calls. */
  const lanEndpoint = (key: string): { address: string; port: number } => {
    if (!deps.lan) throw new StationError(409, 'NO_LAN', 'this station runs without a LAN sweep');
    const d = deps.lan.device(key);
    if (!d) throw new StationError(409, 'DEVICE_GONE', `${key} is no longer on the LAN: refresh the sweep`);
    if (d.address === '0.0.0.0' || d.port === null) throw new StationError(409, 'DEVICE_GONE', `${key} has no address to reach: ${d.problem?.hint ?? 'no local API port'}`);
    return { address: d.address, port: d.port };
  };
  /** A reset request as the operator sees it: the XML to save, the QR text and its code, valid 48 hours. */
  const resetRequestView = async (request: ResetRequest, xml: string): Promise<ResetRequestView> => {
    const qrText = resetRequestQrText(request);
    return {
      ...request,
      expiresAt: new Date(Date.parse(request.issuedAt) + RESET_REQUEST_VALIDITY_MS).toISOString(),
      xml,
      qrText,
      qrSvg: (await renderQrSvg(new TextEncoder().encode(qrText))).svg,
    };
  };
  /** A device's refusal (a §5 code) is the call's refusal; a device that does not answer is gone. */
  const deviceRefusal = (key: string, r: { kind: string; detail: string; code?: FailureCode }): StationError =>
    r.code ? new StationError(409, r.code, `${key}: ${r.detail}`) : new StationError(409, 'DEVICE_GONE', `${key} does not answer: ${r.detail}`);

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

  /** Why a label cannot be a device of the batch (its product's serial format), or null. */
  async function labelRefusal(b: BatchView, label: string, products?: ReadonlyArray<{ pid: string; serialFormat: string | null }>): Promise<string | null> {
    const formats = (products ?? (await sessions.current().client.products()))
      .filter((p) => b.pid === 'mixed' || p.pid === b.pid)
      .map((p) => p.serialFormat);
    const problems = (formats.length ? formats : [null]).map((f) => checkSerialLabel(label, f));
    if (problems.some((p) => p === null)) return null;
    return describeLabelProblem(label, problems[0]!);
  }

  return {
    ...deps.tickets,
    ...deps.cases,
    ownBatch,
    getSession: () => sessions.view(),
    async signIn(req) {
      const s = await sessions.signIn(req);
      await batches.resume({ client: s.client, accountId: s.account.accountId, operator: s.operator });
      const view = sessions.view();
      hub.emit({ type: 'session', session: view });
      return view;
    },
    signOut() {
      sessions.signOut();
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
      return batches.cancel(id);
    },
    resumeBatch(id) {
      ownBatch(id);
      return batches.resumePaused(id);
    },
    async scanLabel(id, label) {
      const refused = await labelRefusal(ownBatch(id), label);
      if (refused) throw new StationError(400, 'LABEL_REFUSED', refused);
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
    async getPrintSheet(id, options) {
      const b = ownBatch(id);
      const codes = b.codes.map((c) => batches.codePayload(id, c.index));
      if (!codes.length) throw new StationError(409, 'NO_CODES', 'this batch has no codes');
      const text = printSheetText(options.locale ?? 'en', { id, pid: b.pid });
      return renderPrintSheet({ wifi: codes[0]!.wifi, codes: codes.map((c) => ({ token: c.token, capacity: c.capacity, expiresAt: new Date(c.expiresAt) })), text, paper: options.paper, ...(deps.timeZone ? { timeZone: deps.timeZone } : {}) });
    },
    queryHistory: async (q) => history.query(await scope(), q),
    historyStats: async (q) => history.stats(await scope(), q),
    exportHistoryCsv: async ({ locale, ...q }) => history.exportCsv(await scope(), q, csvHintColumn(locale)),
    getLanDevices() {
      return deps.lan ? deps.lan.devices().map(toLanDeviceView) : [];
    },
    async refreshLan() {
      if (!deps.lan) return [];
      return (await deps.lan.refresh()).map(toLanDeviceView);
    },
    async startLocalUnbind(req) {
      if (!deps.lan) throw new StationError(409, 'NO_LAN', 'this station runs without a LAN sweep');
      const s = sessions.current();
      const session = { client: s.client, accountId: s.account.accountId, operator: s.operator };
      return startLocalUnbind({ batches, sweep: deps.lan, emit: hub.emit, client: deviceApi, details: localDetails, ...(deps.log ? { log: deps.log } : {}) }, session, req);
    },
    getLocalUnbind(id) {
      const batch = ownBatch(id);
      const devices = localDetails.get(id);
      if (!devices) throw new StationError(404, 'BATCH_UNKNOWN', `batch ${id} is not a local unbind of this station run`);
      return { batch, devices };
    },
    async getResetRequest({ key }) {
      sessions.current();
      const r = await deviceApi.resetRequest(lanEndpoint(key));
      if (!r.ok) throw deviceRefusal(key, r);
      return resetRequestView(r.value.request, r.value.xml);
    },
    async getSerialResetRequest({ port }) {
      sessions.current();
      // Only ports the operator configured as UART ports: the station opens nothing else.
      if (!(deps.serial?.settings().uartPorts ?? []).includes(port)) throw new StationError(400, 'PORT_NOT_CONFIGURED', `not a configured UART port: ${port}`);
      let client;
      try {
        client = await (deps.openUart ?? openUartAt)(port);
      } catch (err) {
        throw new StationError(409, 'PORT_UNAVAILABLE', `${port}: ${(err as Error).message}`);
      }
      try {
        const r = await client.resetRequest();
        if (!r.ok) throw new StationError(409, r.code, `${port}: ${r.detail}`);
        return resetRequestView(r.request, resetRequestXml(r.request));
      } finally {
        await client.close();
      }
    },
    async applyResetCode({ key, code, newPassword }) {
      sessions.current();
      const at = lanEndpoint(key);
      const info = await deviceApi.info(at);
      if (!info.ok) throw deviceRefusal(key, info);
      const r = await deviceApi.applyResetCode(at, code, newPassword);
      if (!r.ok) throw deviceRefusal(key, r);
      if (!r.value.accepted) throw new StationError(409, r.value.code ?? 'RESET_CODE_INVALID', `${info.value.devId} refused the reset code`);
      return { devId: info.value.devId, applied: true as const };
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
      void (async () => {
        let batchId: string | null = null;
        let refused: string | null = null;
        try {
          const me = sessions.current().account.accountId;
          const running = batches
            .list()
            .filter((b) => b.accountId === me && b.status === 'running')
            .sort((x, y) => y.createdAt.localeCompare(x.createdAt))
            .map((b) => batches.get(b.id));
          const products = running.length ? await sessions.current().client.products() : [];
          const refusals = new Map<string, string | null>();
          for (const b of running) refusals.set(b.id, await labelRefusal(b, label, products));
          const to = batchForLabel(running.map((b) => ({ id: b.id, manifest: b.manifest, scanned: b.scanned, accepts: refusals.get(b.id) === null })), label);
          if (to) {
            batchId = to.id;
            refused = to.fits ? null : refusals.get(to.id)!;
            if (!refused) batches.scanLabel(to.id, label);
          }
        } catch {
          // nobody signed in, or the authority did not answer: the label only goes to the screen
        }
        hub.emit({ type: 'label', batchId, label, ...(refused ? { refused } : {}) });
      })();
    },
  };
}
