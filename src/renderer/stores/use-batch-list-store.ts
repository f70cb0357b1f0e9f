import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { BatchCodeView, BatchMethod, BatchSummary, StationError } from '../../protocol/station-api.js';
import { useStationApi } from '../app/station-context.js';
import { runStationCall } from './run-station-call.js';

export interface BatchListFilter {
  /** Only batches started today (the station's local day, as the page's clock sees it). */
  today: boolean;
  operator: string | null;
  method: BatchMethod | null;
  pid: string | null;
}

const NO_FILTER: BatchListFilter = { today: false, operator: null, method: null, pid: null };
const LIVE_FIRST: Record<BatchSummary['status'], number> = { running: 0, paused: 0, completed: 1, cancelled: 1 };

/** Same calendar day in the page's zone. */
export function sameDay(iso: string, now: Date): boolean {
  const d = new Date(iso);
  return d.getFullYear() === now.getFullYear() && d.getMonth() === now.getMonth() && d.getDate() === now.getDate();
}

/**
 * The batch list: every batch of the account the station lists, kept in step with `batch` events,
 * running (and paused) first, then newest first; filtered by today, operator, method and product. The
 * choices of each filter are those the list holds.
 */
export const useBatchListStore = defineStore('batch-list', () => {
  const api = useStationApi();

  const batches = ref<BatchSummary[]>([]);
  const loading = ref(false);
  const error = ref<StationError | null>(null);
  const filter = ref<BatchListFilter>({ ...NO_FILTER });
  /** The page's clock (tests set it). */
  const now = ref<() => Date>(() => new Date());

  const ordered = computed(() => [...batches.value].sort((x, y) => LIVE_FIRST[x.status] - LIVE_FIRST[y.status] || y.createdAt.localeCompare(x.createdAt)));
  const shown = computed(() => {
    const f = filter.value;
    const today = now.value();
    return ordered.value.filter(
      (b) => (!f.today || sameDay(b.createdAt, today)) && (f.operator === null || b.operator === f.operator) && (f.method === null || b.method === f.method) && (f.pid === null || b.pid === f.pid),
    );
  });
  const operators = computed(() => [...new Set(batches.value.map((b) => b.operator))].sort());
  const pids = computed(() => [...new Set(batches.value.map((b) => b.pid))].sort());
  const methods = computed(() => [...new Set(batches.value.map((b) => b.method))].sort());
  const liveCount = computed(() => batches.value.filter((b) => b.status === 'running' || b.status === 'paused').length);

  async function load(): Promise<void> {
    await runStationCall(async () => {
      const listed = await api.listBatches();
      // Events that came while the list was read are later than it (the station stamps both): they stay.
      const held = new Map(batches.value.map((b) => [b.id, b]));
      const readAt = Math.max(0, ...listed.map((b) => b.stamp));
      const ids = new Set(listed.map((b) => b.id));
      const startedSince = batches.value.filter((b) => !ids.has(b.id) && b.stamp > readAt);
      batches.value = [...startedSince, ...listed.map((b) => { const h = held.get(b.id); return h && h.stamp > b.stamp ? h : b; })];
    }, { busy: loading, error });
  }

  function setFilter(next: Partial<BatchListFilter>): void {
    filter.value = { ...filter.value, ...next };
  }
  function clearFilter(): void {
    filter.value = { ...NO_FILTER };
  }

  /** A `batch` event: the summary it carries replaces the listed one, or joins the list. */
  function applyBatchEvent(b: BatchSummary & { codes?: BatchCodeView[] }): void {
    const { codes: _codes, ...summary } = b;
    const at = batches.value.findIndex((x) => x.id === summary.id);
    if (at >= 0 && batches.value[at]!.stamp > summary.stamp) return; // the listed state is later
    batches.value = at < 0 ? [summary, ...batches.value] : batches.value.map((x, i) => (i === at ? summary : x));
  }
  /** A `result` event: the tally moves. */
  function applyTally(batchId: string, tally: BatchSummary['tally'], stamp: number): void {
    const at = batches.value.findIndex((x) => x.id === batchId);
    if (at >= 0 && batches.value[at]!.stamp <= stamp) batches.value = batches.value.map((x, i) => (i === at ? { ...x, tally, stamp } : x));
  }

  function clear(): void {
    batches.value = [];
    error.value = null;
    filter.value = { ...NO_FILTER };
  }

  return { batches, loading, error, filter, now, ordered, shown, operators, pids, methods, liveCount, load, setFilter, clearFilter, applyBatchEvent, applyTally, clear };
});
