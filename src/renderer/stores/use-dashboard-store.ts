import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { QuotaCounter } from '../../protocol/cloud-api.js';
import type { DashboardView, StationError } from '../../protocol/station-api.js';
import { useStationApi } from '../app/station-context.js';
import { runStationCall } from './run-station-call.js';

/** What the signed-in account may unbind, and how much of today's quota is left. */
export const useDashboardStore = defineStore('dashboard', () => {
  const api = useStationApi();

  const dashboard = ref<DashboardView | null>(null);
  const loading = ref(false);
  const error = ref<StationError | null>(null);

  const products = computed(() => dashboard.value?.products ?? []);
  const quota = computed(() => dashboard.value?.quota ?? null);
  const loaded = computed(() => dashboard.value !== null);
  const hasProducts = computed(() => products.value.length > 0);
  const unbindableProducts = computed(() => products.value.filter((p) => p.unbindSupported));

  function productQuota(pid: string): QuotaCounter | null {
    return quota.value?.products.find((p) => p.pid === pid) ?? null;
  }

  async function load(): Promise<void> {
    await runStationCall(async () => {
      dashboard.value = await api.getDashboard();
    }, { busy: loading, error });
  }

  function clear(): void {
    dashboard.value = null;
    error.value = null;
  }

  return { dashboard, loading, error, products, quota, loaded, hasProducts, unbindableProducts, productQuota, load, clear };
});
