import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { BatchCodeView, BatchSummary, BatchView, DeviceResultView, StationError, StationEvent } from '../../protocol/station-api.js';
import { useStationApi } from '../app/station-context.js';
import { chronological, reportedOf } from '../lib/results.js';
import { runStationCall } from './run-station-call.js';

export type ResultEvent = Extract<StationEvent, { type: 'result' }>;

/**
 * The batch being worked (QR, wired or serial) and its results, as the station tells them: its
 * snapshots, `batch` events (status, codes) and `result` events (one device's row, the batch's tally,
 * the code it used). Nothing is counted here: the tally, each device's row and each code's places are
 * the station's. When the station's tally knows of more devices than have a row here, events were
 * missed and the batch is fetched again.
 */
export const useCurrentBatchStore = defineStore('current-batch', () => {
  const api = useStationApi();

  const current = ref<BatchView | null>(null);
  /** One row per device (the one the station last sent for it), oldest first. */
  const results = ref<DeviceResultView[]>([]);
  const busy = ref(false);
  const error = ref<StationError | null>(null);
  /** The fetch in flight per batch: a fetch for one batch never stands in for another's. */
  const resyncing = new Map<string, Promise<void>>();
  /**
   * Batches the station told of before they became current here: a batch's first results can arrive
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
  const running = computed(() => current.value?.status === 'running');
  /** QR batches show codes; wired and serial batches hand tokens to devices directly and have none. */
  const hasCodes = computed(() => current.value?.method === 'qr');

  /** The station's rows in the order it sent them: a later row for a device replaces the earlier one. */
  function upsert(rows: readonly DeviceResultView[], incoming: readonly DeviceResultView[]): DeviceResultView[] {
    const byDevice = new Map(rows.map((r) => [r.devId, r]));
    for (const r of incoming) byDevice.set(r.devId, r);
    return chronological([...byDevice.values()]);
  }

  /** The station counted a device that has no row here: an event was missed (e.g. while the stream reconnected). */
  function missedResults(): boolean {
    return reported.value > results.value.length;
  }

  /**
   * A full snapshot becomes the current batch. Rows that arrived by event for devices the snapshot does
   * not list are kept: the snapshot was taken before them, so the tally and codes those events carried stay too.
   */
  function adopt(view: BatchView): void {
    const held = current.value?.id === view.id ? current.value : null;
    // The snapshot lists newest first: replayed oldest first, each device keeps its latest row, as events would.
    const sent = upsert([], [...view.results].reverse());
    const listed = new Set(sent.map((r) => r.devId));
    const newer = held ? results.value.filter((r) => !listed.has(r.devId)) : [];
    current.value = held && newer.length > 0 ? { ...view, tally: held.tally, codes: held.codes } : view;
    results.value = upsert(newer, sent);
    if (!held) error.value = null;
    // Events of this batch came before its snapshot was adopted and were not applied: fetch it once more,
    // after adopting, so the snapshot holds them (and every later event is applied as it comes).
    if (!held && heardBefore.delete(view.id)) void resync();
  }

  async function open(batchId: string): Promise<boolean> {
    return (await runStationCall(async () => adopt(await api.getBatch(batchId)), { error })).ok;
  }

  /** After a reload or a restart: the account's running batch, if any, becomes the current one. */
  async function resumeRunning(accountId: string): Promise<boolean> {
    const listed = await runStationCall(() => api.listBatches(), { error });
    if (!listed.ok) return false;
    const mine = listed.value.filter((b) => b.accountId === accountId && b.status === 'running');
    const latest = mine.sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
    if (!latest) return false;
    return await open(latest.id);
  }

  async function resync(): Promise<void> {
    const id = current.value?.id;
    if (!id) return;
    const inFlight = resyncing.get(id);
    if (inFlight) return inFlight;
    const fetching = runStationCall(async () => {
      const view = await api.getBatch(id);
      if (current.value?.id === view.id) adopt(view);
    }).then((answered) => {
      // Done in the background: its success does not hide an error the operator's own call left.
      if (!answered.ok) error.value = answered.error;
      resyncing.delete(id);
    });
    resyncing.set(id, fetching);
    return fetching;
  }

  /** A `batch` event: status, codes and the station's tally; rows come by `result` events. */
  function applyBatchEvent(b: BatchSummary & { codes: BatchCodeView[] }): void {
    const view = current.value;
    if (!view || view.id !== b.id) return noteUnknown(b.id);
    current.value = { ...view, ...b, manifest: view.manifest, scanned: view.scanned, results: view.results };
    if (missedResults()) void resync();
  }

  /** A `result` event: the device's row to show, the batch's tally and the code it used, as the station sent them. */
  function applyResult(e: ResultEvent): void {
    const view = current.value;
    if (!view || view.id !== e.batchId) return noteUnknown(e.batchId);
    results.value = upsert(results.value, [e.result]);
    const sentCode = e.code;
    const codes = sentCode ? view.codes.map((c) => (c.tokenId === sentCode.tokenId ? sentCode : c)) : view.codes;
    current.value = { ...view, tally: e.tally, codes };
    if (missedResults()) void resync();
  }

  /** A `label` event: the barcode scanner read a label and the station gave it to this batch. */
  function applyLabel(batchId: string | null, label: string): void {
    const view = current.value;
    if (!view || batchId !== view.id || view.scanned.includes(label)) return;
    current.value = { ...view, scanned: [...view.scanned, label] };
  }

  /** Runs one call on the current batch and adopts the view it answers; false when it was refused. */
  async function updateCurrent(call: (id: string) => Promise<BatchView>, opts: { busy: boolean }): Promise<boolean> {
    const id = current.value?.id;
    if (!id) return false;
    const answered = await runStationCall(async () => adopt(await call(id)), { error, ...(opts.busy ? { busy } : {}) });
    return answered.ok;
  }

  const cancel = (): Promise<boolean> => updateCurrent((id) => api.cancelBatch(id), { busy: true });

  /** A serial label scanned at the bench while the batch runs. */
  async function scanLabel(label: string): Promise<boolean> {
    const clean = label.trim();
    return clean ? updateCurrent((id) => api.scanLabel(id, clean), { busy: false }) : false;
  }

  function clear(): void {
    current.value = null;
    results.value = [];
    error.value = null;
  }

  return {
    current,
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
    hasCodes,
    adopt,
    open,
    resumeRunning,
    resync,
    applyBatchEvent,
    applyResult,
    applyLabel,
    updateCurrent,
    cancel,
    scanLabel,
    clear,
  };
});
