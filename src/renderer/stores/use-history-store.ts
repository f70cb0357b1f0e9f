import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { HistoryRow, HistoryStats, StationError } from '../../protocol/station-api.js';
import { useStationApi } from '../app/station-context.js';
import { runStationCall } from './run-station-call.js';
import { EMPTY_HISTORY_FILTERS, filtersKey, toHistoryQuery, type HistoryFilters } from '../lib/history-filters.js';
import { currentLocale } from '../i18n/index.js';

export const HISTORY_PAGE_SIZE = 50;

/**
 * The operation log: filters, cursor pages ("load more" appends), stats for the charts, and the CSV
 * export. A new search resets the pages; an answer to an older search is dropped.
 */
export const useHistoryStore = defineStore('history', () => {
  const api = useStationApi();

  const filters = ref<HistoryFilters>({ ...EMPTY_HISTORY_FILTERS });
  const rows = ref<HistoryRow[]>([]);
  const nextCursor = ref<string | null>(null);
  const stats = ref<HistoryStats | null>(null);
  const loading = ref(false);
  const loadingMore = ref(false);
  const searched = ref(false);
  const error = ref<StationError | null>(null);
  const csv = ref<{ key: string; url: string | null; savedTo: string | null } | null>(null);
  /**
   * Whether the transport exports by link. Electron saves through a dialog, so the export is asked only
   * when the operator clicks; once the transport answered with a URL, links are refreshed with the filters.
   */
  const csvByLink = ref<boolean | null>(null);
  let generation = 0;

  const hasMore = computed(() => nextCursor.value !== null);
  // The CSV's link names its language too: a switch of language makes a new one.
  const currentKey = computed(() => `${filtersKey(filters.value)}|${currentLocale()}`);
  const csvUrl = computed(() => (csv.value?.key === currentKey.value ? csv.value.url : null));
  const csvSavedTo = computed(() => (csv.value?.key === currentKey.value ? csv.value.savedTo : null));

  /** Applies new filters (or reruns the current ones): pages start again from the first. */
  async function search(next?: HistoryFilters): Promise<void> {
    if (next) filters.value = { ...next };
    const mine = ++generation;
    const applied = { ...filters.value };
    rows.value = [];
    nextCursor.value = null;
    stats.value = null;
    loading.value = true;
    error.value = null;
    const [page, st] = await Promise.all([
      runStationCall(() => api.queryHistory(toHistoryQuery(applied, { limit: HISTORY_PAGE_SIZE }))),
      runStationCall(() => api.historyStats(toHistoryQuery(applied))),
    ]);
    if (mine !== generation) return;
    loading.value = false;
    searched.value = true;
    if (page.ok) {
      rows.value = page.value.items;
      nextCursor.value = page.value.nextCursor;
    }
    if (st.ok) stats.value = st.value;
    // The page's refusal first: it is what the list below shows.
    error.value = !page.ok ? page.error : !st.ok ? st.error : null;
    if (csvByLink.value === true) await prepareCsv();
  }

  async function loadMore(): Promise<void> {
    const cursor = nextCursor.value;
    if (!cursor || loadingMore.value || loading.value) return;
    const mine = generation;
    // An answer to an older search is dropped, and leaves the state of the newer one alone.
    await runStationCall(
      async () => {
        const page = await api.queryHistory(toHistoryQuery(filters.value, { limit: HISTORY_PAGE_SIZE, cursor }));
        if (mine !== generation) return;
        rows.value = [...rows.value, ...page.items];
        nextCursor.value = page.nextCursor;
      },
      { busy: loadingMore, error, stillWanted: () => mine === generation },
    );
  }

  /** Asks the transport for the export of the current filters: a URL to download, or where it was saved. */
  async function prepareCsv(): Promise<{ url: string | null; savedTo: string | null } | null> {
    const key = currentKey.value;
    const exported = await runStationCall(async () => {
      // English is the `hint` column itself; another language adds `hint_<locale>` beside it.
      const locale = currentLocale();
      const answer = await api.exportHistoryCsv({ ...toHistoryQuery(filters.value), ...(locale === 'en' ? {} : { locale }) });
      csvByLink.value = answer.url !== null;
      if (key === currentKey.value) csv.value = { key, ...answer };
      return answer;
    });
    // Not cleared on success: a search that refused keeps its error while the link is refreshed.
    if (!exported.ok) error.value = exported.error;
    return exported.ok ? exported.value : null;
  }

  function reset(): void {
    generation++;
    filters.value = { ...EMPTY_HISTORY_FILTERS };
    rows.value = [];
    nextCursor.value = null;
    stats.value = null;
    loading.value = false;
    loadingMore.value = false;
    searched.value = false;
    error.value = null;
    csv.value = null;
  }

  return { filters, rows, nextCursor, stats, loading, loadingMore, searched, error, hasMore, csvUrl, csvSavedTo, search, loadMore, prepareCsv, reset };
});
