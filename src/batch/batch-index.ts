import type { BatchCodeView, BatchTally, DeviceResultView, HistoryRow } from '../protocol/index.js';
import type { BatchCodeRecord, BatchRecord } from './batch-records.js';
import { toResultView } from './batch-views.js';

/**
 * One batch's results in memory, kept in step with the history writes by the batch service: every
 * row once, each device's best result, the tally, and the places each code's devices took. The
 * station computes the tally here and nowhere else; the UI shows what it is sent.
 */
const RANK: Record<HistoryRow['result'], number> = { UNBOUND: 2, NOT_BOUND: 1, FAILED: 0 };

type Waiter = (row: HistoryRow) => void;

export class BatchIndex {
  /** Oldest first (history ids grow with every write). */
  readonly #rows: HistoryRow[] = [];
  readonly #best = new Map<string, HistoryRow>();
  /** Devices that took a place on each token: failures consume nothing (DESIGN §5). */
  readonly #placesByToken = new Map<string, Set<string>>();
  readonly #counts = { unbound: 0, notBound: 0, failed: 0 };
  readonly #waiters = new Map<string, Set<Waiter>>();
  /** Each device's rows, oldest first: what `rowsOf` answers without a scan of the batch. */
  readonly #byDevice = new Map<string, HistoryRow[]>();
  /** The rows as a view shows them (newest first), made again only after a change; each row's view made once. */
  #views: DeviceResultView[] | null = null;
  readonly #viewOf = new WeakMap<HistoryRow, DeviceResultView>();
  /** What the last `batch` event said (batch and code statuses), so that only a change is sent. */
  announced: string | null = null;

  constructor(rows: readonly HistoryRow[] = []) {
    for (const r of [...rows].sort((x, y) => x.id - y.id)) this.add(r);
  }

  /**
   * A device may report more than once (TOKEN_REUSED after scanning the code again, a station-side
   * TIMEOUT after the authority's UNBOUND): it counts once, by its best result, since an unbind that
   * happened stays an unbind. Among equal results the latest counts. (A station-side row the authority's
   * result stands for is replaced, not added to: see `replace`.)
   */
  add(row: HistoryRow): void {
    this.#rows.push(row);
    this.#views = null;
    const own = this.#byDevice.get(row.devId);
    if (own) own.push(row);
    else this.#byDevice.set(row.devId, [row]);
    this.#rank(row);
    this.#took(row);
  }

  /**
   * A row the station wrote itself (a transport failure, or the device's word while the authority's was
   * late) became the authority's result: the same attempt, in its place, counted once by what it is now.
   */
  replace(id: number, row: HistoryRow): void {
    const at = this.#rows.findIndex((r) => r.id === id);
    if (at < 0) return this.add(row);
    const was = this.#rows[at]!;
    this.#rows[at] = row;
    this.#views = null;
    const own = this.#byDevice.get(was.devId)!;
    own.splice(own.indexOf(was), 1);
    if (own.length === 0) this.#byDevice.delete(was.devId);
    const now = this.#byDevice.get(row.devId);
    if (now) {
      now.push(row);
      now.sort((x, y) => x.id - y.id);
    } else this.#byDevice.set(row.devId, [row]);
    const prev = this.#best.get(row.devId);
    if (prev) this.#counts[countOf(prev)]--;
    this.#best.delete(row.devId);
    for (const r of this.#rows) if (r.devId === row.devId) this.#rank(r);
    this.#took(row);
  }

  #rank(row: HistoryRow): void {
    const prev = this.#best.get(row.devId);
    if (!prev || RANK[row.result] >= RANK[prev.result]) {
      if (prev) this.#counts[countOf(prev)]--;
      this.#counts[countOf(row)]++;
      this.#best.set(row.devId, row);
    }
  }

  #took(row: HistoryRow): void {
    if (row.tokenId && row.result !== 'FAILED') {
      const places = this.#placesByToken.get(row.tokenId) ?? new Set<string>();
      places.add(row.devId);
      this.#placesByToken.set(row.tokenId, places);
    }
    const waiting = this.#waiters.get(row.devId);
    if (waiting) {
      this.#waiters.delete(row.devId);
      for (const w of waiting) w(row);
    }
  }

  rows(): readonly HistoryRow[] {
    return this.#rows;
  }

  /** One device's rows, oldest first. */
  rowsOf(devId: string): readonly HistoryRow[] {
    return this.#byDevice.get(devId) ?? [];
  }

  /** The row as the station shows it: made once per row, frozen (events and views share it). */
  viewOf(row: HistoryRow): DeviceResultView {
    let v = this.#viewOf.get(row);
    if (!v) {
      v = Object.freeze(toResultView(row));
      this.#viewOf.set(row, v);
    }
    return v;
  }

  /** Every row as a view shows it, newest first (a fresh array; its items are shared and frozen). */
  resultViews(): DeviceResultView[] {
    this.#views ??= [...this.#rows].sort((x, y) => y.id - x.id).map((r) => this.viewOf(r));
    return this.#views.slice();
  }

  /** The device's best result so far. */
  resultOf(devId: string): HistoryRow | undefined {
    return this.#best.get(devId);
  }

  tally(b: Pick<BatchRecord, 'status' | 'expected'>): BatchTally {
    const reported = this.#best.size;
    return { ...this.#counts, pending: b.status === 'running' ? Math.max(0, b.expected - reported) : 0 };
  }

  codeView(c: BatchCodeRecord, now: number): BatchCodeView {
    const used = this.#placesByToken.get(c.tokenId)?.size ?? 0;
    const status: BatchCodeView['status'] =
      c.ended === 'exhausted' || used >= c.capacity ? 'exhausted' : c.ended === 'closed' ? 'closed' : c.ended === 'expired' || now >= c.expiresAt ? 'expired' : 'active';
    return { index: c.index, tokenId: c.tokenId, capacity: c.capacity, used, expiresAt: new Date(c.expiresAt).toISOString(), status };
  }

  /**
   * Resolves with the device's first result (at once when it has one), or null when `signal` aborts
   * first: a promise per device instead of re-reading the batch.
   */
  waitFor(devId: string, signal?: AbortSignal): Promise<HistoryRow | null> {
    const known = this.#best.get(devId);
    if (known) return Promise.resolve(known);
    if (signal?.aborted) return Promise.resolve(null);
    return new Promise((resolve) => {
      const waiting = this.#waiters.get(devId) ?? new Set<Waiter>();
      const stop = (): void => {
        waiting.delete(onRow);
        // A device nobody waits for any more leaves no empty entry behind.
        if (waiting.size === 0 && this.#waiters.get(devId) === waiting) this.#waiters.delete(devId);
        resolve(null);
      };
      const onRow: Waiter = (row) => {
        signal?.removeEventListener('abort', stop);
        resolve(row);
      };
      waiting.add(onRow);
      this.#waiters.set(devId, waiting);
      signal?.addEventListener('abort', stop, { once: true });
    });
  }
}

const countOf = (r: HistoryRow): 'unbound' | 'notBound' | 'failed' => (r.result === 'UNBOUND' ? 'unbound' : r.result === 'NOT_BOUND' ? 'notBound' : 'failed');

/** The tally of a batch's rows (the same rule as the live index: it is the live index). */
export function tallyOf(b: Pick<BatchRecord, 'status' | 'expected'>, rows: readonly HistoryRow[]): BatchTally {
  return new BatchIndex(rows).tally(b);
}

/** The codes of a batch with the places their devices took. */
export function codeViews(codes: readonly BatchCodeRecord[], rows: readonly HistoryRow[], now: number): BatchCodeView[] {
  const index = new BatchIndex(rows);
  return codes.map((c) => index.codeView(c, now));
}
