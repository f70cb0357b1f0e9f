import {
  randomUrlSafe,
  type BatchSummary,
  type BatchView,
  type DeviceResult,
  type FailureCode,
  type HistoryRow,
  type StartQrBatchRequest,
  type StationEventDraft as StationEvent,
  type TokenView,
  type UnbindResult,
  type WifiCredentials,
} from '../protocol/index.js';
import { AuthorityRequestError, type AuthorityClient, type TokenWatch } from './station-authority-client.js';
import type { BatchCodeRecord, BatchRecord, BatchStore } from './batch-records.js';
import { batchView, codeViews, summaryOf, toResultView } from './batch-views.js';
import { planBatch, planDevices } from './planner.js';
import { StationError } from '../protocol/station-api/refusals.js';

/** What the batch service needs of the history store (src/history). */
export interface NewAttempt {
  at: number;
  stationId: string;
  operator: string;
  accountId: string;
  method: BatchRecord['method'];
  batchId: string | null;
  pid: string | null;
  devId: string;
  serial: string | null;
  result: UnbindResult;
  code: FailureCode | null;
  tokenId: string | null;
  seq: number | null;
}
export interface AttemptLog {
  /** Stores an attempt; returns null when (tokenId, seq) was stored before. */
  record(a: NewAttempt): HistoryRow | null;
  batchAttempts(batchId: string): HistoryRow[];
}

export interface OperatorSession {
  client: AuthorityClient;
  accountId: string;
  operator: string;
}

export interface CodePayload {
  wifi: WifiCredentials;
  token: string;
  capacity: number;
  expiresAt: number;
}

export interface BatchService {
  startQr(session: OperatorSession, req: StartQrBatchRequest): Promise<BatchView>;
  /** Picks up the running batches of a signed-in account: reconciles with the authority, then follows them. */
  resume(session: OperatorSession): Promise<void>;
  get(batchId: string): BatchView;
  list(): BatchSummary[];
  cancel(batchId: string): BatchView;
  scanLabel(batchId: string, label: string): BatchView;
  /** What a code carries, while the Wi-Fi password is known to this process. */
  codePayload(batchId: string, index: number): CodePayload;
  /** After a restart the password is gone; the operator gives it again to show the codes. */
  unlockCodes(batchId: string, wifi: WifiCredentials): BatchView;
  /**
   * A batch whose tokens the station hands to the devices itself (wired, serial): planned against
   * authorization and quota per product, then the tokens are issued and followed as for QR; the caller
   * delivers them, then records what only it saw.
   */
  startDeviceBatch(session: OperatorSession, meta: DeviceBatchMeta): Promise<{ batchId: string; tokens: IssuedCode[] }>;
  /** What the station saw of a device that the authority never did (NOT_WAITING, TIMEOUT, ...). */
  recordLocal(batchId: string, outcome: LocalOutcome): void;
  /** Whether a device of the batch already has a result. */
  hasResult(batchId: string, devId: string): boolean;
  /** Every token was handed out and every device answered: the batch ends now, not at expiry. */
  closeCodes(batchId: string, opts?: { devicesMayStillReport?: boolean }): Promise<void>;
  close(): void;
}

export interface DeviceBatchMeta {
  method: 'wired' | 'serial';
  /** The product of each device, in the order the tokens are handed out (device i takes code ⌊i/30⌋). */
  pids: string[];
  manifest: string[] | null;
}

export interface IssuedCode {
  index: number;
  tokenId: string;
  token: string;
  capacity: number;
}

export interface LocalOutcome {
  devId: string;
  serial: string | null;
  pid: string | null;
  result: UnbindResult;
  code: FailureCode | null;
  tokenId: string | null;
}

interface LiveBatch {
  session: OperatorSession;
  watches: Map<number, TokenWatch>;
  wifi: WifiCredentials | null;
}

const DEFAULT_QR_TTL_SECONDS = 600;
const batchIdAt = (now: number): string => `b-${new Date(now).toISOString().slice(0, 10).replace(/-/g, '')}-${randomUrlSafe(6).replace(/[-_]/g, 'x')}`;

export function createBatchService(deps: {
  store: BatchStore;
  history: AttemptLog;
  stationId: string;
  emit: (e: StationEvent) => void;
  clock?: () => number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}): BatchService {
  const { store, history, stationId, emit } = deps;
  const clock = deps.clock ?? Date.now;
  const log = deps.log ?? (() => undefined);
  const live = new Map<string, LiveBatch>();

  const requireBatch = (id: string): BatchRecord => {
    const b = store.get(id);
    if (!b) throw new StationError(404, 'BATCH_UNKNOWN', `no batch ${id}`);
    return b;
  };
  const view = (b: BatchRecord): BatchView => batchView(b, store.codes(b.id), history.batchAttempts(b.id), store.labels(b.id), clock());
  const announce = (id: string): void => {
    const b = store.get(id)!;
    const rows = history.batchAttempts(id);
    emit({ type: 'batch', batch: { ...summaryOf(b, rows), codes: codeViews(store.codes(id), rows, clock()) } });
  };
  // Stand-in for the results branch's event (renderer branch only): the result with the station's tally and its code.
  const resultEvent = (batchId: string, row: HistoryRow): StationEvent => {
    const rows = history.batchAttempts(batchId);
    const code = codeViews(store.codes(batchId), rows, clock()).find((c) => c.tokenId === row.tokenId) ?? null;
    return { type: 'result', batchId, result: toResultView(row), tally: summaryOf(store.get(batchId)!, rows).tally, code };
  };

  /** The station's verdict on one authority result: a device outside the manifest is flagged. */
  function recordResult(b: BatchRecord, code: BatchCodeRecord, r: DeviceResult): void {
    const manifest = b.manifest ?? store.labels(b.id);
    const outside = manifest.length > 0 && r.result !== 'FAILED' && (r.serial === null || !manifest.includes(r.serial));
    const row = history.record({
      at: Date.parse(r.at),
      stationId,
      operator: b.operator,
      accountId: b.accountId,
      method: b.method,
      batchId: b.id,
      pid: r.pid,
      devId: r.devId,
      serial: r.serial,
      result: r.result,
      // The authority already acted: the result stays as it is, the code tells the operator to check the label.
      code: outside ? 'SERIAL_MISMATCH' : r.reason,
      tokenId: code.tokenId,
      seq: r.seq,
    });
    if (!row) return;
    emit(resultEvent(b.id, row));
    announce(b.id);
  }

  /** Once every code has ended, devices expected but never reported are closed as NO_REPORT. */
  function finishIfDone(id: string): void {
    const b = store.get(id);
    if (!b || b.status === 'completed') return;
    const codes = store.codes(id);
    if (codes.some((c) => c.ended === null)) return;
    if (b.status === 'running') {
      const rows = history.batchAttempts(id);
      const reported = new Set(rows.filter((r) => r.code !== 'NO_REPORT').map((r) => r.devId));
      const closed = new Set(rows.filter((r) => r.code === 'NO_REPORT').map((r) => r.serial ?? r.devId));
      const manifest = b.manifest ?? [];
      const reportedSerials = new Set(rows.map((r) => r.serial).filter((s): s is string => s !== null));
      // Identify the missing devices by serial when a manifest names them, else by their place in the batch.
      const missing = manifest.length
        ? manifest.filter((s) => !reportedSerials.has(s)).map((s) => ({ devId: `unreported-${s}`, serial: s as string | null }))
        : Array.from({ length: Math.max(0, b.expected - reported.size) }, (_, i) => ({ devId: `unreported-${b.id}-${i + 1}`, serial: null }));
      for (const m of missing) {
        if (closed.has(m.serial ?? m.devId)) continue;
        const row = history.record({ at: clock(), stationId, operator: b.operator, accountId: b.accountId, method: b.method, batchId: id, pid: b.pid, devId: m.devId, serial: m.serial, result: 'FAILED', code: 'NO_REPORT', tokenId: null, seq: null });
        if (row) emit(resultEvent(id, row));
      }
      store.finish(id, 'completed', clock());
    }
    // A finished batch shows no code again: its Wi-Fi password leaves memory with it.
    live.delete(id);
    announce(id);
    log('batch finished', { batchId: id });
  }

  /** Records what the authority holds for a code; answers its status, or null when it could not be read. */
  async function reconcileCode(batchId: string, code: BatchCodeRecord, client: AuthorityClient): Promise<{ status: TokenView['status']; last: number } | null> {
    let t: TokenView;
    try {
      t = await client.token(code.tokenId);
    } catch (err) {
      // A token the authority no longer knows (its store was reset) will never report again.
      if (err instanceof AuthorityRequestError && err.status === 404) return { status: 'expired', last: 0 };
      log('token not reconciled', { batchId, tokenId: code.tokenId, error: (err as Error).message });
      return null;
    }
    let last = 0;
    for (const r of t.results) {
      recordResult(store.get(batchId)!, code, r);
      last = Math.max(last, r.seq);
    }
    return { status: t.status, last };
  }

  /**
   * Reads what the authority already has for each open code, then follows its stream from there. A code
   * that cannot be read now (the authority unreachable) is left open: the next sign-in tries again.
   */
  async function follow(b: BatchRecord, lb: LiveBatch): Promise<void> {
    for (const code of store.codes(b.id)) {
      if (code.ended !== null || lb.watches.has(code.index)) continue;
      const known = await reconcileCode(b.id, code, lb.session.client);
      if (!known) continue;
      if (known.status !== 'active') {
        store.endCode(b.id, code.index, known.status);
        continue;
      }
      const watch = lb.session.client.watchToken(code.tokenId, known.last, (r) => recordResult(store.get(b.id)!, code, r));
      lb.watches.set(code.index, watch);
      watch.done.then(
        ({ status }) => {
          if (status === 'closed') return;
          store.endCode(b.id, code.index, status);
          lb.watches.delete(code.index);
          finishIfDone(b.id);
        },
        (err: Error) => {
          lb.watches.delete(code.index);
          if (err instanceof AuthorityRequestError && err.status === 404) {
            store.endCode(b.id, code.index, 'expired');
            finishIfDone(b.id);
          } else log('token watch failed', { batchId: b.id, tokenId: code.tokenId, error: err.message });
        },
      );
    }
    finishIfDone(b.id);
  }

  /** Issues the batch's tokens, stores it, and follows it: what every method does once planned. */
  async function openBatch(
    session: OperatorSession,
    b: { method: BatchRecord['method']; pid: string; expected: number; manifest: string[] | null; wifi: WifiCredentials | null; ttlSeconds?: number },
    capacities: number[],
  ): Promise<{ id: string; codes: IssuedCode[] }> {
    const now = clock();
    const id = batchIdAt(now);
    const codes: Array<IssuedCode & { expiresAt: number }> = [];
    for (const [index, capacity] of capacities.entries()) {
      const t = await session.client.issueToken({ capacity, channel: b.method, batchRef: id, ...(b.ttlSeconds ? { ttlSeconds: b.ttlSeconds } : {}) });
      codes.push({ index, tokenId: t.id, token: t.token, capacity, expiresAt: Date.parse(t.expiresAt) });
    }
    store.create(
      { id, createdAt: now, method: b.method, pid: b.pid, accountId: session.accountId, operator: session.operator, ssid: b.wifi?.ssid ?? null, expected: b.expected, manifest: b.manifest },
      codes,
    );
    const lb: LiveBatch = { session, watches: new Map(), wifi: b.wifi };
    live.set(id, lb);
    log('batch started', { batchId: id, method: b.method, pid: b.pid, devices: b.expected, codes: codes.length });
    await follow(store.get(id)!, lb);
    announce(id);
    return { id, codes: codes.map(({ expiresAt: _e, ...c }) => c) };
  }

  return {
    async startQr(session, req) {
      const manifest = req.manifest ?? null;
      const { products, quota } = await session.client.productsAndQuota();
      const plan = planBatch({ method: 'qr', pid: req.pid, ...(manifest ? { manifest } : { deviceCount: req.deviceCount ?? 0 }) }, products, quota);
      if (!plan.ok) throw new StationError(409, plan.refusal!.code, plan.refusal!.message);
      const { id } = await openBatch(session, { method: 'qr', pid: req.pid, expected: plan.devices, manifest, wifi: req.wifi, ttlSeconds: req.ttlSeconds ?? DEFAULT_QR_TTL_SECONDS }, plan.codes);
      return view(store.get(id)!);
    },

    async resume(session) {
      for (const b of store.running(session.accountId)) {
        const lb = live.get(b.id) ?? { session, watches: new Map(), wifi: null };
        lb.session = session;
        live.set(b.id, lb);
        await follow(b, lb);
        announce(b.id);
      }
    },

    get: (id) => view(requireBatch(id)),
    list: () => store.list().map((b) => summaryOf(b, history.batchAttempts(b.id))),

    cancel(id) {
      const b = requireBatch(id);
      if (b.status !== 'running') throw new StationError(409, 'BATCH_ENDED', `batch ${id} is already ${b.status}`);
      // Tokens stay valid at the authority until they expire: results that still come are recorded.
      store.finish(id, 'cancelled', clock());
      announce(id);
      return view(store.get(id)!);
    },

    scanLabel(id, label) {
      const b = requireBatch(id);
      store.addLabel(id, label, clock());
      return view(b);
    },

    codePayload(id, index) {
      const b = requireBatch(id);
      const code = store.codes(id).find((c) => c.index === index);
      if (!code) throw new StationError(404, 'CODE_UNKNOWN', `batch ${id} has no code ${index}`);
      const wifi = live.get(id)?.wifi;
      if (!wifi || !b.ssid) throw new StationError(409, 'CODES_LOCKED', 'The Wi-Fi password is not kept across restarts: enter it again to show the codes.');
      return { wifi, token: code.token, capacity: code.capacity, expiresAt: code.expiresAt };
    },

    unlockCodes(id, wifi) {
      const b = requireBatch(id);
      if (wifi.ssid !== b.ssid) throw new StationError(400, 'SSID_MISMATCH', `this batch was started for Wi-Fi ${b.ssid}`);
      const lb = live.get(id);
      if (!lb) throw new StationError(409, 'BATCH_NOT_FOLLOWED', 'sign in as the account that started this batch first');
      lb.wifi = wifi;
      return view(b);
    },

    async startDeviceBatch(session, meta) {
      const { products, quota } = await session.client.productsAndQuota();
      const plan = planDevices(meta.pids, products, quota);
      if (!plan.ok) throw new StationError(409, plan.refusal!.code, plan.refusal!.message);
      const pids = new Set(meta.pids);
      const { id, codes } = await openBatch(
        session,
        { method: meta.method, pid: pids.size === 1 ? [...pids][0]! : 'mixed', expected: meta.pids.length, manifest: meta.manifest, wifi: null },
        plan.codes,
      );
      return { batchId: id, tokens: codes };
    },

    recordLocal(batchId, o) {
      const b = requireBatch(batchId);
      const row = history.record({ at: clock(), stationId, operator: b.operator, accountId: b.accountId, method: b.method, batchId, pid: o.pid, devId: o.devId, serial: o.serial, result: o.result, code: o.code, tokenId: o.tokenId, seq: null });
      if (row) emit(resultEvent(batchId, row));
      announce(batchId);
    },

    hasResult: (batchId, devId) => history.batchAttempts(batchId).some((r) => r.devId === devId),

    async closeCodes(batchId, opts = {}) {
      const lb = live.get(batchId);
      // A device that may still reach the authority (its token was sent, its end unknown) keeps the
      // codes followed until they expire; otherwise read what the authority holds, then end now.
      if (opts.devicesMayStillReport) return;
      for (const code of store.codes(batchId)) {
        if (lb) await reconcileCode(batchId, code, lb.session.client);
        lb?.watches.get(code.index)?.close();
        store.endCode(batchId, code.index, 'closed');
      }
      lb?.watches.clear();
      finishIfDone(batchId);
    },

    close() {
      for (const lb of live.values()) for (const w of lb.watches.values()) w.close();
      live.clear();
    },
  };
}
