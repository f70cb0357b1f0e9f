import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { LanDeviceView, StationError } from '../../protocol/station-api.js';
import { useStationApi } from '../app/station-context.js';
import { runStationCall } from './run-station-call.js';
import { isSelectable as isReady } from '../lib/lan.js';
import { lanRightsRefusal, type LanRightsRefusal } from '../lib/lan-rights.js';
import { useDashboardStore } from './use-dashboard-store.js';
import { useDeviceProgressStore, type DeviceRow } from './use-device-progress-store.js';
import { useNewBatchStore } from './use-new-batch-store.js';

/**
 * The wired method's bench LAN: the sweep's live list (mDNS and SADP), kept by `lan` events; the
 * operator's selection (by key), which only ever holds selectable entries; and the wired batch started
 * from it. How far each device got comes from the device progress store, which follows the current batch.
 */
export const useLanStore = defineStore('lan', () => {
  const api = useStationApi();
  const newBatch = useNewBatchStore();
  const progress = useDeviceProgressStore();

  const devices = ref<LanDeviceView[]>([]);
  const loaded = ref(false);
  const loading = ref(false);
  const refreshing = ref(false);
  const error = ref<StationError | null>(null);
  const selected = ref<string[]>([]);
  /** The product shown (null: all). */
  const productFilter = ref<string | null>(null);

  const products = computed(() => [...new Set(devices.value.flatMap((d) => (d.pid ? [d.pid] : [])))].sort());
  const shown = computed(() => (productFilter.value === null ? devices.value : devices.value.filter((d) => d.pid === productFilter.value)));
  const dashboard = useDashboardStore();
  /** Why the signed-in account may not unbind this device (known once its products are loaded); null when it may. */
  function rightsRefusal(d: LanDeviceView): LanRightsRefusal | null {
    return dashboard.loaded ? lanRightsRefusal(d, dashboard.products) : null;
  }
  /** Ready (reset, unbindable entry) and of a product this account may unbind. */
  function isSelectable(d: LanDeviceView): boolean {
    return isReady(d) && rightsRefusal(d) === null;
  }
  const selectable = computed(() => devices.value.filter(isSelectable));
  const shownSelectable = computed(() => shown.value.filter(isSelectable));
  const selectedDevices = computed(() => devices.value.filter((d) => selected.value.includes(d.key)));
  const selectedCount = computed(() => selectedDevices.value.length);
  /** Every selectable row shown is selected (and there is at least one). */
  const allShownSelected = computed(() => shownSelectable.value.length > 0 && shownSelectable.value.every((d) => selected.value.includes(d.key)));
  const starting = computed(() => newBatch.starting);
  const canUnbind = computed(() => selectedCount.value > 0 && !newBatch.starting);
  const counts = computed(() => ({
    total: devices.value.length,
    selectable: selectable.value.length,
    problems: devices.value.filter((d) => d.problem !== null).length,
  }));

  function isSelected(key: string): boolean {
    return selected.value.includes(key);
  }

  /** A new list: the selection keeps only what is still there and still selectable (e.g. not busy). */
  function applyDevices(list: LanDeviceView[]): void {
    devices.value = list;
    loaded.value = true;
    const ok = new Set(list.filter(isSelectable).map((d) => d.key));
    if (selected.value.some((k) => !ok.has(k))) selected.value = selected.value.filter((k) => ok.has(k));
    if (productFilter.value !== null && !list.some((d) => d.pid === productFilter.value)) productFilter.value = null;
  }

  async function load(): Promise<void> {
    await runStationCall(async () => applyDevices(await api.getLanDevices()), { busy: loading, error });
  }

  /** Asks the station to query mDNS and probe SADP now. */
  async function refresh(): Promise<void> {
    await runStationCall(async () => applyDevices(await api.refreshLan()), { busy: refreshing, error });
  }

  function setSelected(key: string, on: boolean): void {
    if (!on) {
      selected.value = selected.value.filter((k) => k !== key);
      return;
    }
    const d = devices.value.find((x) => x.key === key);
    if (d && isSelectable(d) && !selected.value.includes(key)) selected.value = [...selected.value, key];
  }

  function toggle(key: string): void {
    setSelected(key, !isSelected(key));
  }

  /** Selects every selectable row shown (all products, or the filtered one); `false` unselects them. */
  function selectAllShown(on = true): void {
    const keys = shownSelectable.value.map((d) => d.key);
    if (on) selected.value = [...new Set([...selected.value, ...keys])];
    else selected.value = selected.value.filter((k) => !keys.includes(k));
  }

  /** Adds every selectable device of one product to the selection. */
  function selectProduct(pid: string): void {
    const keys = selectable.value.filter((d) => d.pid === pid).map((d) => d.key);
    selected.value = [...new Set([...selected.value, ...keys])];
  }

  function clearSelection(): void {
    selected.value = [];
  }

  function setProductFilter(pid: string | null): void {
    productFilter.value = pid;
  }

  /** Starts a wired batch with the selected devices; the selection is spent once the station took it. */
  async function unbindSelected(): Promise<boolean> {
    const devIds = selectedDevices.value.flatMap((d) => (d.devId ? [d.devId] : []));
    if (devIds.length === 0) {
      error.value = { code: 'NOTHING_SELECTED', message: 'Select at least one device in the waiting state.' };
      return false;
    }
    const started = await newBatch.startDevices({ method: 'wired', devIds });
    if (!started.ok) {
      error.value = started.error;
      return false;
    }
    clearSelection();
    error.value = null;
    return true;
  }

  /** How far a device got in the running batch, if it is in it. */
  function stageOf(d: LanDeviceView): DeviceRow['stage'] | null {
    return d.devId ? progress.stageOf(d.devId) : null;
  }

  function clear(): void {
    devices.value = [];
    loaded.value = false;
    selected.value = [];
    productFilter.value = null;
    error.value = null;
  }

  return {
    rightsRefusal,
    isSelectable,
    devices,
    loaded,
    loading,
    refreshing,
    error,
    selected,
    productFilter,
    products,
    shown,
    selectable,
    shownSelectable,
    selectedDevices,
    selectedCount,
    allShownSelected,
    starting,
    canUnbind,
    counts,
    isSelected,
    applyDevices,
    load,
    refresh,
    setSelected,
    toggle,
    selectAllShown,
    selectProduct,
    clearSelection,
    setProductFilter,
    unbindSelected,
    stageOf,
    clear,
  };
});
