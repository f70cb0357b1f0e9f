import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { BatchCodeView, BatchSummary, BatchView, DeviceResultView, StationError, StationEvent } from '../../protocol/station-api.js';
import { useStationApi } from '../app/station-context.js';
import { chronological, reportedOf } from '../lib/results.js';
import { runStationCall } from './run-station-call.js';

export type ResultEvent = Extract<StationEvent, { type: 'result' }>;

/** One batch the page follows: its last view and one row per device (the one the station last sent for it), oldest first. */
interface Followed {
  view: BatchView;
  results: DeviceResultView[];
}

const isLive = (status: BatchView['status']): boolean => status === 'running' || status === 'paused';

/**
 * The batches the page follows (QR, wired and serial, several at once) and the one being worked (the
 * current one), as the station tells them: snapshots, `batch` events (status, codes, stop, notice) and
 * `result` events (one device's row, the batch's tally, the code it used), applied to whichever batch
 * they are of — a batch never stops being followed because another one started. Nothing is counted
 * here: the tally, each device's row and each code's places are the station's. When the station's tally
 * knows of more devices than have a row here, events were missed and the batch is fetched again.
 */
export const useCurrentBatchStore = defineStore('current-batch', () => {
  const api = useStationApi();

  const followed = ref<Record<string, Followed>>({});
  const currentId = ref<string | null>(null);
  const current = computed<BatchView | null>(() => (currentId.value ? (followed.value[currentId.value]?.view ?? null) : null));
  /** The current batch's rows, oldest first. */
  const results = computed<DeviceResultView[]>(() => (currentId.value ? (followed.value[currentId.value]?.results ?? []) : []));
  const busy = ref(false);
  const error = ref<StationError | null>(null);
  /** The fetch in flight per batch: a fetch for one batch never stands in for another's. */
  const resyncing = new Map<string, Promise<void>>();
  /**
   * Batches the station told of before they were followed here: a batch's first results can arrive
   * before the answer that starts it (fast wired or serial devices). Kept few; only their ids matter.
   */
  const heardBefore = new Set<string>();
  function noteUnknown(batchId: string): void {
    heardBefore.add(batchId);
    if (heardBefore.size > 16) heardBefore.delete(heardBefore.values().next().value!);
  }

  const tally = computed(() => current.value?.tally ?? null);
  const reported = computed(() => (tally.value ? reportedOf(tally.value) : 0));
  const expected = computed(() => current.value?.expected ?? 0);
  const progressText = computed(() => `${reported.value} / ${expected.value}`);
  const resultsNewestFirst = computed(() => [...results.value].reverse());
  const codes = computed<BatchCodeView[]>(() => current.value?.codes ?? []);
  /** The current batch is still followed by the station (running, or paused by the stop rule). */
  const running = computed(() => !!current.value && isLive(current.value.status));
  const paused = computed(() => current.value?.status === 'paused');
  /** QR batches show codes; wired and serial batches hand tokens to devices directly and have none. */
  const hasCodes = computed(() => current.value?.method === 'qr');
  /** Every batch followed that still runs (or is paused), newest first: the batches one can switch between. */
  const runningBatches = computed<BatchView[]>(() =>
    Object.values(followed.value)
      .map((f) => f.view)
      .filter((v) => isLive(v.status))
      .sort((x, y) => y.createdAt.localeCompare(x.createdAt)),
  );
  /** The running QR batches: the code screen shows the codes of every one of them. */
  const runningQrBatches = computed(() => runningBatches.value.filter((b) => b.method === 'qr'));

  /** The station's rows in the order it sent them: a later row for a device replaces the earlier one. */
  function upsert(rows: readonly DeviceResultView[], incoming: readonly DeviceResultView[]): DeviceResultView[] {
    const byDevice = new Map(rows.map((r) => [r.devId, r]));
    for (const r of incoming) byDevice.set(r.devId, r);
    return chronological([...byDevice.values()]);
  }

  /** The station counted a device that has no row here: an event was missed (e.g. while the stream reconnected). */
  function missedResults(id: string): boolean {
    const f = followed.value[id];
    return !!f && reportedOf(f.view.tally) > f.results.length;
  }

  function put(id: string, f: Followed): void {
    followed.value = { ...followed.value, [id]: f };
  }

  /**
   * A full snapshot of a batch: followed from now on, and the current one unless `select` is false.
   * The station stamps what it reads (BatchView.stamp): a snapshot read before the state held here (its
   * answer overtaken by later events) adds only what events do not carry (rows of devices not held yet,
   * labels, the manifest), so a batch that ended never shows as running again; a later one replaces
   * it, rows and all, as it holds them.
   */
  function adopt(view: BatchView, opts: { select?: boolean } = {}): void {
    const heldF = followed.value[view.id] ?? null;
    const held = heldF?.view ?? null;
    // The snapshot lists newest first: replayed oldest first, each device keeps its latest row, as events would.
    const sent = upsert([], [...view.results].reverse());
    if (heldF && held && view.stamp < held.stamp) {
      // What events carry (status, tally, codes, stop, notice) stays as held; labels and the manifest come only in snapshots.
      const known = new Set(heldF.results.map((r) => r.devId));
      const scanned = [...held.scanned, ...view.scanned.filter((l) => !held.scanned.includes(l))];
      put(view.id, { view: { ...held, manifest: view.manifest, scanned }, results: upsert(heldF.results, sent.filter((r) => !known.has(r.devId))) });
    } else {
      // Labels only grow, and a label event (unstamped) may have come after this snapshot was read.
      const scanned = held ? [...view.scanned, ...held.scanned.filter((l) => !view.scanned.includes(l))] : view.scanned;
      put(view.id, { view: { ...view, scanned }, results: sent });
    }
    if (opts.select !== false) {
      if (currentId.value !== view.id) error.value = null;
      currentId.value = view.id;
    }
    // Events of this batch came before its snapshot was adopted and were not applied: fetch it once more,
    // after adopting, so the snapshot holds them (and every later event is applied as it comes).
    if (!held && heardBefore.delete(view.id)) void resync(view.id);
  }

  async function open(batchId: string): Promise<boolean> {
    return (await runStationCall(async () => adopt(await api.getBatch(batchId)), { error })).ok;
  }

  /** Switches to a batch: at once when it is followed, else fetched (a finished batch's results reopened). */
  async function select(batchId: string): Promise<boolean> {
    if (followed.value[batchId]) {
      if (currentId.value !== batchId) error.value = null;
      currentId.value = batchId;
      return true;
    }
    return open(batchId);
  }

  /** After a reload or a restart: every running batch of the account is followed again; the latest becomes current. */
  async function resumeRunning(accountId: string): Promise<boolean> {
    const listed = await runStationCall(() => api.listBatches(), { error });
    if (!listed.ok) return false;
    const mine = listed.value.filter((b) => b.accountId === accountId && isLive(b.status));
    const latestFirst = mine.sort((a, b) => b.createdAt.localeCompare(a.createdAt));
    if (!latestFirst.length) return false;
    for (const b of latestFirst.slice(1).reverse()) {
      const got = await runStationCall(() => api.getBatch(b.id));
      if (got.ok) adopt(got.value, { select: false });
    }
    return await open(latestFirst[0]!.id);
  }

  async function resync(id: string | null = currentId.value): Promise<void> {
    if (!id) return;
    const inFlight = resyncing.get(id);
    if (inFlight) return inFlight;
    const fetching = runStationCall(async () => {
      const view = await api.getBatch(id);
      if (followed.value[view.id]) adopt(view, { select: false });
    }).then((answered) => {
      // Done in the background: its success does not hide an error the operator's own call left.
      if (!answered.ok && currentId.value === id) error.value = answered.error;
      resyncing.delete(id);
    });
    resyncing.set(id, fetching);
    return fetching;
  }

  /**
   * A batch started elsewhere (another window, the scanner) that still runs: followed too, not made
   * current. A batch of another account is refused by the station and simply not followed.
   */
  const fetchingUnknown = new Set<string>();
  function follow(id: string): void {
    if (fetchingUnknown.has(id)) return;
    fetchingUnknown.add(id);
    void runStationCall(() => api.getBatch(id)).then((got) => {
      fetchingUnknown.delete(id);
      if (got.ok && !followed.value[id]) adopt(got.value, { select: false });
    });
  }

  /** A `batch` event: status, codes, stop, notice and the station's tally; rows come by `result` events. */
  function applyBatchEvent(b: BatchSummary & { codes: BatchCodeView[] }): void {
    const f = followed.value[b.id];
    if (!f) {
      noteUnknown(b.id);
      if (isLive(b.status)) follow(b.id);
      return;
    }
    if (b.stamp < f.view.stamp) return; // read before the state held here: that state already says it
    put(b.id, { ...f, view: { ...f.view, ...b, manifest: f.view.manifest, scanned: f.view.scanned, results: f.view.results } });
    if (missedResults(b.id)) void resync(b.id);
  }

  /** A `result` event: the device's row to show, the batch's tally and the code it used, as the station sent them. */
  function applyResult(e: ResultEvent): void {
    const f = followed.value[e.batchId];
    if (!f) return noteUnknown(e.batchId);
    if (e.stamp < f.view.stamp) return; // stored before the state held here was read: it holds this row
    const sentCode = e.code;
    const codes = sentCode ? f.view.codes.map((c) => (c.tokenId === sentCode.tokenId ? sentCode : c)) : f.view.codes;
    put(e.batchId, { view: { ...f.view, stamp: e.stamp, tally: e.tally, codes }, results: upsert(f.results, [e.result]) });
    if (missedResults(e.batchId)) void resync(e.batchId);
  }

  /** A `label` event: the barcode scanner read a label and the station gave it to that batch. */
  function applyLabel(batchId: string | null, label: string): void {
    const f = batchId ? followed.value[batchId] : undefined;
    if (!f || f.view.scanned.includes(label)) return;
    put(f.view.id, { ...f, view: { ...f.view, scanned: [...f.view.scanned, label] } });
  }

  /** Runs one call on the current batch and adopts the view it answers; false when it was refused. */
  async function updateCurrent(call: (id: string) => Promise<BatchView>, opts: { busy: boolean }): Promise<boolean> {
    const id = currentId.value;
    if (!id) return false;
    const answered = await runStationCall(async () => adopt(await call(id)), { error, ...(opts.busy ? { busy } : {}) });
    return answered.ok;
  }

  const cancel = (): Promise<boolean> => updateCurrent((id) => api.cancelBatch(id), { busy: true });
  /** A batch the stop rule paused goes on. */
  const resume = (): Promise<boolean> => updateCurrent((id) => api.resumeBatch(id), { busy: true });

  /** A serial label scanned at the bench while the batch runs. */
  async function scanLabel(label: string): Promise<boolean> {
    const clean = label.trim();
    return clean ? updateCurrent((id) => api.scanLabel(id, clean), { busy: false }) : false;
  }

  function clear(): void {
    followed.value = {};
    currentId.value = null;
    error.value = null;
  }

  return {
    current,
    currentId,
    followed,
    results,
    busy,
    error,
    tally,
    reported,
    expected,
    progressText,
    resultsNewestFirst,
    codes,
    running,
    paused,
    hasCodes,
    runningBatches,
    runningQrBatches,
    adopt,
    open,
    select,
    resumeRunning,
    resync,
    applyBatchEvent,
    applyResult,
    applyLabel,
    updateCurrent,
    cancel,
    resume,
    scanLabel,
    clear,
  };
});
