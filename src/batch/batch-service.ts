import {
  FAILURE_HINTS,
  NO_REPORT_CAUSES,
  randomUrlSafe,
  type BatchCodeView,
  type BatchNotice,
  type BatchStatus,
  type BatchStop,
  type BatchSummary,
  type BatchView,
  type DeviceResult,
  type DeviceResultView,
  type FailureCode,
  type HistoryRow,
  type StartQrBatchRequest,
  type StationEvent,
  type TokenView,
  type UnbindResult,
  type WifiCredentials,
} from '../protocol/index.js';
import { AuthorityRequestError, type AuthorityClient, type TokenWatch } from './station-authority-client.js';
import { BatchIndex } from './batch-index.js';
import type { BatchCodeRecord, BatchRecord, BatchStore } from './batch-records.js';
import { batchView, nextStamp, stampsFromBoot, statusOf, summaryOf } from './batch-views.js';
import { planBatch, planDevices } from './planner.js';
import { StationError } from '../protocol/station-api/refusals.js';
import { wifiPasswordMatches, wifiVerifier } from './wifi-verifier.js';
import { channel } from 'node:diagnostics_channel';

/**
 * A measured hook (bench:station): each read of a token's result stream as it reaches the batch service
 * (`received`) and once its rows are stored and their events sent (`stored`), stamped with
 * performance.now(). Published only while someone subscribes; it carries device ids, never a token.
 */
export const RESULTS_TIMING_CHANNEL = 'unbind:station:results';
export interface ResultsTiming {
  phase: 'received' | 'stored';
  at: number;
  devIds: string[];
}
const resultsTiming = channel(RESULTS_TIMING_CHANNEL);

/** Station-side ends that say only that the answer did not come: the authority's result, when it comes, replaces them. */
export const ANSWER_LOST_CODES: ReadonlySet<FailureCode> = new Set<FailureCode>(['TIMEOUT', 'NETWORK_CHANGED', 'CLOUD_UNREACHABLE']);

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
  /**
   * Turns the station's own row for this device and token (one of `transportCodes`, or the same result)
   * into the authority's result `a`; null when there is none (src/history `adoptLocal`).
   */
  adoptLocal(a: NewAttempt, transportCodes: readonly string[]): HistoryRow | null;
  /** Several in one transaction, each answered as record answers it (all refused if one is malformed). */
  recordEach?(a: readonly NewAttempt[]): Array<HistoryRow | null>;
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
  /**
   * The batch's status alone (what `get(id).status` says), without building its view: what a runner
   * asks before each token it hands out.
   */
  status(batchId: string): BatchStatus;
  list(): BatchSummary[];
  cancel(batchId: string): BatchView;
  /** A batch the stop rule paused goes on; the rule does not fire again for it. */
  resumePaused(batchId: string): BatchView;
  /**
   * Resolves true at once while the batch runs, or when a paused batch is resumed; false when it was
   * cancelled or ended first. Wired and serial runners ask before handing tokens to further devices.
   */
  whenUnpaused(batchId: string): Promise<boolean>;
  /** How many devices' results the stop rule judges (0 when it is off): the runners' first wave. */
  readonly stopWindow: number;
  /**
   * Resolves once the stop rule has judged the batch: it paused it, or its first results can no longer
   * make it fire whatever the others bring (a result that only says the answer was lost still may), or
   * the batch ended. At once when the rule is off. The wired runner hands out the later tokens then,
   * not only once every device of the first wave ended.
   */
  stopRuleSettled(batchId: string): Promise<void>;
  scanLabel(batchId: string, label: string): BatchView;
  /** What a code carries, while the Wi-Fi password is known to this process. */
  codePayload(batchId: string, index: number): CodePayload;
  /** After a restart the password is gone; the operator gives it again (checked against the batch's verifier) to show the codes. */
  unlockCodes(batchId: string, wifi: WifiCredentials): Promise<BatchView>;
  /**
   * A batch whose tokens the station hands to the devices itself (wired, serial): planned against
   * authorization and quota per product, then the tokens are issued and followed as for QR; the caller
   * delivers them, then records what only it saw.
   */
  startDeviceBatch(session: OperatorSession, meta: DeviceBatchMeta): Promise<{ batchId: string; tokens: IssuedCode[] }>;
  /** What the station saw of a device that the authority never did (NOT_WAITING, TIMEOUT, ...). */
  recordLocal(batchId: string, outcome: LocalOutcome): void;
  /**
   * The device's first result in the batch, from the authority's stream or recorded by the station:
   * at once when it has one, else when it comes; null when `signal` aborts first.
   */
  waitForResult(batchId: string, devId: string, signal?: AbortSignal): Promise<DeviceResultView | null>;
  /** Resolves when the batch has finished (every code ended, the missing devices closed as NO_REPORT), or the service closed. */
  whenFinished(batchId: string): Promise<void>;
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
  /** No device reported within the notice delay of the codes being shown. */
  notice?: BatchNotice | null;
  cancelNotice?: (() => void) | null;
}

/** The stop rule (station config): `failures` results of the first `window` with one code pause the batch. */
export interface StopRule {
  failures: number;
  window: number;
}
export const DEFAULT_STOP_RULE: StopRule = { failures: 5, window: 10 };
export const DEFAULT_NO_REPORT_MS = 60_000;

export type SetTimer = (fn: () => void, ms: number) => () => void;
const realTimer: SetTimer = (fn, ms) => {
  const t = setTimeout(fn, ms);
  t.unref?.();
  return () => clearTimeout(t);
};

const DEFAULT_QR_TTL_SECONDS = 600;
const batchIdAt = (now: number): string => `b-${new Date(now).toISOString().slice(0, 10).replace(/-/g, '')}-${randomUrlSafe(6).replace(/[-_]/g, 'x')}`;

export function createBatchService(deps: {
  store: BatchStore;
  history: AttemptLog;
  stationId: string;
  emit: (e: StationEvent) => void;
  clock?: () => number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
  /** null or failures 0: no stop rule. */
  stopRule?: StopRule | null;
  /** Delay of the no-report notice of a QR batch (0: none). */
  noReportMs?: number;
  /** Timers of the notice: the tests' clock drives them. */
  setTimer?: SetTimer;
}): BatchService {
  const { store, history, stationId, emit } = deps;
  stampsFromBoot(store.nextBoot());
  const clock = deps.clock ?? Date.now;
  const log = deps.log ?? (() => undefined);
  const live = new Map<string, LiveBatch>();
  /** Results of each batch in memory, loaded from history once, then kept in step with every write. */
  const indexes = new Map<string, BatchIndex>();
  const finishWaiters = new Map<string, Array<() => void>>();
  const pauseWaiters = new Map<string, Array<(go: boolean) => void>>();
  const rule = deps.stopRule === undefined ? DEFAULT_STOP_RULE : deps.stopRule;
  const stopWindow = rule && rule.failures > 0 ? rule.window : 0;
  const noReportMs = deps.noReportMs ?? DEFAULT_NO_REPORT_MS;
  const setTimer = deps.setTimer ?? realTimer;
  const ruleWaiters = new Map<string, Array<() => void>>();
  /** The stop rule can no longer change what the batch does next: it fired, cannot fire, or the batch is over. */
  const ruleSettled = (id: string): boolean => {
    if (!rule || rule.failures <= 0) return true;
    const b = store.get(id);
    if (!b || b.status !== 'running' || b.stop) return true;
    const first = new Map<string, HistoryRow>();
    for (const r of indexOf(id).rows()) {
      if (first.size >= rule.window) break;
      if (!first.has(r.devId)) first.set(r.devId, r);
    }
    // Results still to come, and those the authority's may replace (the answer was lost), count for any code.
    let open = rule.window - first.size;
    const byCode = new Map<FailureCode, number>();
    for (const r of first.values()) {
      if (r.code && ANSWER_LOST_CODES.has(r.code)) open++;
      else if (r.result === 'FAILED' && r.code && r.code !== 'NO_REPORT') byCode.set(r.code, (byCode.get(r.code) ?? 0) + 1);
    }
    return Math.max(0, ...byCode.values()) + open < rule.failures;
  };
  const wakeRuleWaiters = (id: string): void => {
    const waiting = ruleWaiters.get(id);
    if (!waiting || !ruleSettled(id)) return;
    ruleWaiters.delete(id);
    for (const w of waiting) w();
  };
  const settlePause = (id: string, go: boolean): void => {
    const waiting = pauseWaiters.get(id);
    pauseWaiters.delete(id);
    for (const w of waiting ?? []) w(go);
    wakeRuleWaiters(id);
  };
  /** Some device reported (a NO_REPORT row is the station closing the batch, not a report). */
  const anyReport = (index: BatchIndex): boolean => index.rows().some((r) => r.code !== 'NO_REPORT');

  /** Starts (again) the no-report clock of a QR batch whose codes are being shown. */
  function armNotice(id: string): void {
    const lb = live.get(id);
    const b = store.get(id);
    if (!lb || !b || b.method !== 'qr' || noReportMs <= 0) return;
    lb.cancelNotice?.();
    lb.cancelNotice = null;
    if (anyReport(indexOf(id))) return;
    lb.cancelNotice = setTimer(() => {
      lb.cancelNotice = null;
      const now = store.get(id);
      if (!now || statusOf(now) !== 'running' || live.get(id) !== lb || anyReport(indexOf(id))) return;
      lb.notice = {
        kind: 'no-report',
        seconds: Math.round(noReportMs / 1000),
        since: new Date(clock()).toISOString(),
        causes: NO_REPORT_CAUSES.map((code) => ({ code, hint: FAILURE_HINTS[code] })),
      };
      log('no report yet', { batchId: id, seconds: lb.notice.seconds });
      announce(id);
    }, noReportMs);
  }
  /** A device reported: the no-report clock stops and its notice goes. */
  function clearNotice(id: string): void {
    const lb = live.get(id);
    if (!lb) return;
    lb.cancelNotice?.();
    lb.cancelNotice = null;
    if (lb.notice) {
      lb.notice = null;
      announce(id);
    }
  }

  /**
   * The stop rule: among the first `window` devices' results, `failures` with the same code pause the
   * batch (like a fleet job's abort rule). Judged once per batch: after a resume it does not fire again.
   */
  function checkStopRule(id: string): void {
    if (!rule || rule.failures <= 0) return;
    const b = store.get(id);
    if (!b || b.status !== 'running' || b.stop) return;
    const first = new Map<string, HistoryRow>();
    for (const r of indexOf(id).rows()) {
      if (first.size >= rule.window) break;
      if (!first.has(r.devId)) first.set(r.devId, r);
    }
    const byCode = new Map<FailureCode, number>();
    for (const r of first.values()) if (r.result === 'FAILED' && r.code && r.code !== 'NO_REPORT') byCode.set(r.code, (byCode.get(r.code) ?? 0) + 1);
    const worst = [...byCode.entries()].sort((x, y) => y[1] - x[1])[0];
    if (!worst || worst[1] < rule.failures) return;
    const stop: BatchStop = { code: worst[0], count: worst[1], threshold: rule.failures, window: rule.window, at: new Date(clock()).toISOString(), resumedAt: null };
    store.setStop(id, stop);
    log('batch paused by the stop rule', { batchId: id, code: stop.code, count: stop.count, of: first.size });
    announce(id);
  }
  /** After rows were stored: the notice and the stop rule follow them. */
  function afterRows(id: string, rows: ReadonlyArray<HistoryRow | null>): void {
    if (rows.some((r) => r && r.code !== 'NO_REPORT')) clearNotice(id);
    checkStopRule(id);
    wakeRuleWaiters(id);
  }

  const requireBatch = (id: string): BatchRecord => {
    const b = store.get(id);
    if (!b) throw new StationError(404, 'BATCH_UNKNOWN', `no batch ${id}`);
    return b;
  };
  const indexOf = (id: string): BatchIndex => {
    let index = indexes.get(id);
    if (!index) {
      index = new BatchIndex(history.batchAttempts(id));
      // Only batches still followed stay in memory: an ended one is read again when asked (as before the index).
      if (live.has(id)) indexes.set(id, index);
    }
    return index;
  };
  const codesOf = (id: string, index: BatchIndex, records: readonly BatchCodeRecord[] = store.codes(id)): BatchCodeView[] => {
    const now = clock();
    return records.map((c) => index.codeView(c, now));
  };
  const view = (b: BatchRecord): BatchView => {
    const index = indexOf(b.id);
    return batchView(b, index.tally(b), codesOf(b.id, index), index.resultViews(), store.labels(b.id), live.get(b.id)?.notice ?? null);
  };
  /** A `batch` event when the batch starts (`force`), or when its status or one of its codes' changed. */
  const announce = (id: string, force = false, read?: { batch: BatchRecord; codes: readonly BatchCodeRecord[] }): void => {
    const b = read?.batch ?? store.get(id)!;
    const index = indexOf(id);
    const codes = codesOf(id, index, read?.codes);
    const notice = live.get(id)?.notice ?? null;
    const said = `${statusOf(b)}|${codes.map((c) => c.status).join(',')}|${b.stop?.at ?? ''}|${notice?.since ?? ''}`;
    if (!force && said === index.announced) return;
    index.announced = said;
    emit({ type: 'batch', batch: { ...summaryOf(b, index.tally(b), notice), codes } });
  };

  type BatchAttempt = Omit<NewAttempt, 'stationId' | 'operator' | 'accountId' | 'method' | 'batchId'>;
  /**
   * Stores attempts of a batch (each once: a repeated (token, seq) is no new row) in one transaction,
   * indexes them, and sends one event per new row with the tally as it then stands.
   */
  function storeAttempts(b: BatchRecord, attempts: readonly BatchAttempt[]): Array<HistoryRow | null> {
    const index = indexOf(b.id);
    const full = attempts.map((a) => ({ ...a, stationId, operator: b.operator, accountId: b.accountId, method: b.method, batchId: b.id }));
    const rows = full.length > 1 && history.recordEach ? history.recordEach(full) : full.map((a) => history.record(a));
    let codes: readonly BatchCodeRecord[] | undefined;
    for (const row of rows) {
      if (!row) continue;
      index.add(row);
      codes ??= store.codes(b.id);
      const code = row.tokenId ? codes.find((c) => c.tokenId === row.tokenId) : undefined;
      emit({ type: 'result', batchId: b.id, stamp: nextStamp(), result: index.viewOf(row), tally: index.tally(b), code: code ? index.codeView(code, clock()) : null });
    }
    // The codes as just read (storing results does not change them); the record read again, since `b` may
    // be from before a row stored earlier in the same read of the stream fired the stop rule: a `batch`
    // event from it would say `running` after the `paused` one (store.get answers from memory).
    if (codes) announce(b.id, false, { batch: store.get(b.id) ?? b, codes });
    afterRows(b.id, rows);
    return rows;
  }
  const storeAttempt = (b: BatchRecord, attempt: BatchAttempt): HistoryRow | null => storeAttempts(b, [attempt])[0] ?? null;

  /**
   * The authority's result for a device the station already wrote a row for itself on this token: a
   * transport failure (the answer was lost; the device's retry was told the decision, replayed) or the
   * device's own word while the stream was late. It is that attempt's result, not a second attempt.
   */
  function adoptLocal(b: BatchRecord, attempt: Omit<NewAttempt, 'stationId' | 'operator' | 'accountId' | 'method' | 'batchId'>): boolean {
    const index = indexOf(b.id);
    if (!index.rowsOf(attempt.devId).some((r) => r.tokenId === attempt.tokenId)) return false;
    // NO_REPORT too: a device that said nothing in time was closed by the station, and its result came later.
    const row = history.adoptLocal({ ...attempt, stationId, operator: b.operator, accountId: b.accountId, method: b.method, batchId: b.id }, [...ANSWER_LOST_CODES, 'NO_REPORT']);
    if (!row) return false;
    index.replace(row.id, row);
    const code = store.codes(b.id).find((c) => c.tokenId === row.tokenId);
    emit({ type: 'result', batchId: b.id, stamp: nextStamp(), result: index.viewOf(row), tally: index.tally(b), code: code ? index.codeView(code, clock()) : null });
    announce(b.id);
    afterRows(b.id, [row]);
    return true;
  }

  /** The station's verdict on one authority result: a device outside the manifest is flagged. */
  function attemptOf(b: BatchRecord, manifest: readonly string[], code: BatchCodeRecord, r: DeviceResult): BatchAttempt {
    const outside = manifest.length > 0 && r.result !== 'FAILED' && (r.serial === null || !manifest.includes(r.serial));
    return {
      at: Date.parse(r.at),
      pid: r.pid,
      devId: r.devId,
      serial: r.serial,
      result: r.result,
      // The authority already acted: the result stays as it is, the code tells the operator to check the label.
      code: outside ? 'SERIAL_MISMATCH' : r.reason,
      tokenId: code.tokenId,
      seq: r.seq,
    };
  }
  function recordResult(b: BatchRecord, code: BatchCodeRecord, r: DeviceResult): void {
    const attempt = attemptOf(b, b.manifest ?? store.labels(b.id), code, r);
    if (!adoptLocal(b, attempt)) storeAttempt(b, attempt);
  }
  /** The results of one read of a token's stream: one transaction for them all. */
  function recordResults(batchId: string, code: BatchCodeRecord, rs: readonly DeviceResult[]): void {
    if (!resultsTiming.hasSubscribers) return recordResultsNow(batchId, code, rs);
    const devIds = rs.map((r) => r.devId);
    resultsTiming.publish({ phase: 'received', at: performance.now(), devIds } satisfies ResultsTiming);
    try {
      recordResultsNow(batchId, code, rs);
    } finally {
      resultsTiming.publish({ phase: 'stored', at: performance.now(), devIds } satisfies ResultsTiming);
    }
  }
  function recordResultsNow(batchId: string, code: BatchCodeRecord, rs: readonly DeviceResult[]): void {
    const b = store.get(batchId)!;
    const manifest = b.manifest ?? store.labels(b.id);
    // A result that stands for a row the station wrote itself (the answer was lost) becomes that row.
    const attempts = rs.map((r) => attemptOf(b, manifest, code, r)).filter((a) => !adoptLocal(b, a));
    if (attempts.length > 1) {
      try {
        storeAttempts(b, attempts);
        return;
      } catch {
        // One of them is refused: the others still go in, one by one, and the refusal is thrown below.
      }
    }
    let refused: unknown = null;
    for (const a of attempts) {
      try {
        storeAttempt(b, a);
      } catch (err) {
        refused ??= err;
      }
    }
    if (refused) throw refused;
  }

  /** Once every code has ended, devices expected but never reported are closed as NO_REPORT. */
  function finishIfDone(id: string): void {
    const b = store.get(id);
    if (!b || b.status === 'completed') return;
    const codes = store.codes(id);
    if (codes.some((c) => c.ended === null)) return;
    if (b.status === 'running') {
      const rows = indexOf(id).rows();
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
        storeAttempt(b, { at: clock(), pid: b.pid, devId: m.devId, serial: m.serial, result: 'FAILED', code: 'NO_REPORT', tokenId: null, seq: null });
      }
      store.finish(id, 'completed', clock());
    }
    // A finished batch shows no code again: its Wi-Fi password leaves memory with it.
    live.get(id)?.cancelNotice?.();
    live.delete(id);
    settlePause(id, false);
    announce(id);
    indexes.delete(id);
    log('batch finished', { batchId: id });
    for (const resolve of finishWaiters.get(id) ?? []) resolve();
    finishWaiters.delete(id);
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

  /** Follows one code's result stream from `afterSeq` until the token ends. */
  function watchCode(batchId: string, lb: LiveBatch, code: BatchCodeRecord, afterSeq: number): void {
    const watch = lb.session.client.watchToken(code.tokenId, afterSeq, (rs) => recordResults(batchId, code, rs));
    lb.watches.set(code.index, watch);
    watch.done.then(
      ({ status }) => {
        if (status === 'closed') return;
        store.endCode(batchId, code.index, status);
        lb.watches.delete(code.index);
        finishIfDone(batchId);
      },
      (err: Error) => {
        lb.watches.delete(code.index);
        if (err instanceof AuthorityRequestError && err.status === 404) {
          store.endCode(batchId, code.index, 'expired');
          finishIfDone(batchId);
        } else log('token watch failed', { batchId, tokenId: code.tokenId, error: err.message });
      },
    );
  }

  /**
   * Reads what the authority already has for each open code, then follows its stream from there. A code
   * that cannot be read now (the authority unreachable) is left open: the next sign-in tries again.
   */
  async function follow(b: BatchRecord, lb: LiveBatch): Promise<void> {
    const open = store.codes(b.id).filter((code) => code.ended === null && !lb.watches.has(code.index));
    const known = await Promise.all(open.map((code) => reconcileCode(b.id, code, lb.session.client)));
    open.forEach((code, i) => {
      const k = known[i];
      if (!k || lb.watches.has(code.index)) return;
      if (k.status !== 'active') store.endCode(b.id, code.index, k.status);
      else watchCode(b.id, lb, code, k.last);
    });
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
    // The Wi-Fi verifier (scrypt, on the thread pool) is derived while the tokens are issued, not after them.
    const verifying = b.wifi ? wifiVerifier(b.wifi.password) : Promise.resolve(null);
    verifying.catch(() => undefined); // awaited below; a failed issue must not leave it unhandled
    // All at once: each token is its own request, and the devices wait for all of them.
    const issued = await Promise.all(
      capacities.map((capacity) => session.client.issueToken({ capacity, channel: b.method, batchRef: id, ...(b.ttlSeconds ? { ttlSeconds: b.ttlSeconds } : {}) })),
    );
    const codes = issued.map((t, index) => ({ index, tokenId: t.id, token: t.token, capacity: capacities[index]!, expiresAt: Date.parse(t.expiresAt) }));
    const verifier = await verifying;
    store.create(
      { id, createdAt: now, method: b.method, pid: b.pid, accountId: session.accountId, operator: session.operator, ssid: b.wifi?.ssid ?? null, expected: b.expected, manifest: b.manifest, wifiVerifier: verifier },
      codes,
    );
    indexes.set(id, new BatchIndex());
    const lb: LiveBatch = { session, watches: new Map(), wifi: b.wifi };
    live.set(id, lb);
    log('batch started', { batchId: id, method: b.method, pid: b.pid, devices: b.expected, codes: codes.length });
    // Nothing can have been decided on tokens not yet handed out: follow each from the start, no reconciling first.
    for (const code of store.codes(id)) watchCode(id, lb, code, 0);
    announce(id, true);
    return { id, codes: codes.map(({ expiresAt: _e, ...c }) => c) };
  }

  return {
    async startQr(session, req) {
      const manifest = req.manifest ?? null;
      const { products, quota } = await session.client.productsAndQuota();
      const plan = planBatch({ method: 'qr', pid: req.pid, ...(manifest ? { manifest } : { deviceCount: req.deviceCount ?? 0 }) }, products, quota);
      if (!plan.ok) throw new StationError(409, plan.refusal!.code, plan.refusal!.message);
      const { id } = await openBatch(session, { method: 'qr', pid: req.pid, expected: plan.devices, manifest, wifi: req.wifi, ttlSeconds: req.ttlSeconds ?? DEFAULT_QR_TTL_SECONDS }, plan.codes);
      // The code screen shows the codes from here: the no-report clock starts.
      armNotice(id);
      return view(store.get(id)!);
    },

    async resume(session) {
      for (const b of store.running(session.accountId)) {
        const lb = live.get(b.id) ?? { session, watches: new Map(), wifi: null };
        lb.session = session;
        live.set(b.id, lb);
        await follow(b, lb);
        announce(b.id, true);
      }
    },

    get: (id) => view(requireBatch(id)),
    status: (id) => statusOf(requireBatch(id)),
    list: () => store.list().map((b) => summaryOf(b, indexOf(b.id).tally(b))),

    cancel(id) {
      const b = requireBatch(id);
      if (b.status !== 'running') throw new StationError(409, 'BATCH_ENDED', `batch ${id} is already ${b.status}`);
      // Tokens stay valid at the authority until they expire: results that still come are recorded.
      store.finish(id, 'cancelled', clock());
      live.get(id)?.cancelNotice?.();
      settlePause(id, false);
      announce(id);
      return view(store.get(id)!);
    },

    resumePaused(id) {
      const b = requireBatch(id);
      if (statusOf(b) !== 'paused' || !b.stop) throw new StationError(409, b.status === 'running' ? 'BATCH_NOT_PAUSED' : 'BATCH_ENDED', `batch ${id} is ${statusOf(b)}`);
      store.setStop(id, { ...b.stop, resumedAt: new Date(clock()).toISOString() });
      log('batch resumed', { batchId: id });
      announce(id);
      settlePause(id, true);
      return view(store.get(id)!);
    },

    whenUnpaused(id) {
      const b = requireBatch(id);
      const status = statusOf(b);
      if (status !== 'paused') return Promise.resolve(status === 'running');
      return new Promise((resolve) => pauseWaiters.set(id, [...(pauseWaiters.get(id) ?? []), resolve]));
    },

    stopWindow,

    stopRuleSettled(id) {
      requireBatch(id);
      if (ruleSettled(id)) return Promise.resolve();
      return new Promise((resolve) => ruleWaiters.set(id, [...(ruleWaiters.get(id) ?? []), resolve]));
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
      // Paused: the codes are hidden until the operator resumes (a device that scans one now adds to the failures).
      if (statusOf(b) === 'paused') throw new StationError(409, 'BATCH_PAUSED', `batch ${id} stopped itself: ${b.stop!.count} of its first ${b.stop!.window} results failed ${b.stop!.code}`);
      const wifi = live.get(id)?.wifi;
      if (!wifi || !b.ssid) throw new StationError(409, 'CODES_LOCKED', 'The Wi-Fi password is not kept across restarts: enter it again to show the codes.');
      return { wifi, token: code.token, capacity: code.capacity, expiresAt: code.expiresAt };
    },

    async unlockCodes(id, wifi) {
      const b = requireBatch(id);
      if (wifi.ssid !== b.ssid) throw new StationError(400, 'SSID_MISMATCH', `this batch was started for Wi-Fi ${b.ssid}`);
      if (!live.get(id)) throw new StationError(409, 'BATCH_NOT_FOLLOWED', 'sign in as the account that started this batch first');
      // A batch from before verifiers were kept has none: its password cannot be checked, as before.
      const verifier = store.wifiVerifier(id);
      if (verifier !== null && !(await wifiPasswordMatches(verifier, wifi.password))) {
        throw new StationError(400, 'WIFI_PASSWORD_MISMATCH', `that is not the Wi-Fi password batch ${id} was started with for ${b.ssid}`);
      }
      const lb = live.get(id);
      if (!lb) throw new StationError(409, 'BATCH_NOT_FOLLOWED', 'sign in as the account that started this batch first');
      lb.wifi = wifi;
      armNotice(id);
      return view(store.get(id)!);
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
      storeAttempt(b, { at: clock(), pid: o.pid, devId: o.devId, serial: o.serial, result: o.result, code: o.code, tokenId: o.tokenId, seq: null });
    },

    async waitForResult(batchId, devId, signal) {
      requireBatch(batchId);
      const index = indexOf(batchId);
      const row = await index.waitFor(devId, signal);
      return row && index.viewOf(row);
    },

    whenFinished(batchId) {
      const b = requireBatch(batchId);
      const ended = b.status === 'completed' || (b.status === 'cancelled' && store.codes(batchId).every((c) => c.ended !== null));
      if (ended) return Promise.resolve();
      return new Promise((resolve) => finishWaiters.set(batchId, [...(finishWaiters.get(batchId) ?? []), resolve]));
    },

    async closeCodes(batchId, opts = {}) {
      const lb = live.get(batchId);
      // A device that may still reach the authority (its token was sent, its end unknown) keeps the
      // codes followed until they expire; otherwise read what the authority holds, then end now.
      if (opts.devicesMayStillReport) return;
      const codes = store.codes(batchId);
      if (lb) await Promise.all(codes.map((code) => reconcileCode(batchId, code, lb.session.client)));
      for (const code of codes) {
        lb?.watches.get(code.index)?.close();
        store.endCode(batchId, code.index, 'closed');
      }
      lb?.watches.clear();
      finishIfDone(batchId);
    },

    close() {
      // Nothing will finish a batch any more: whoever waits for one is told now, not never.
      for (const waiting of finishWaiters.values()) for (const resolve of waiting) resolve();
      finishWaiters.clear();
      for (const id of [...pauseWaiters.keys()]) settlePause(id, false);
      for (const waiting of ruleWaiters.values()) for (const resolve of waiting) resolve();
      ruleWaiters.clear();
      for (const lb of live.values()) lb.cancelNotice?.();
      for (const lb of live.values()) for (const w of lb.watches.values()) w.close();
      live.clear();
    },
  };
}
