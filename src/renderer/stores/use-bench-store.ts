import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { StationError } from '../../protocol/station-api.js';
import type { AgentState, FleetDeviceStatus } from '../../protocol/virtual-bench.js';
import { useStationApi } from '../app/station-context.js';
import { runStationCall } from './run-station-call.js';

export type BenchFilter = AgentState | 'all';

/** The demo's virtual bench: each virtual device's light, state and last code, kept live by `bench` events. */
export const useBenchStore = defineStore('bench', () => {
  const api = useStationApi();

  /** null until loaded, and when the station runs without a virtual bench. */
  const devices = ref<FleetDeviceStatus[] | null>(null);
  const loaded = ref(false);
  const loading = ref(false);
  const resetting = ref<Record<string, boolean>>({});
  const error = ref<StationError | null>(null);
  const stateFilter = ref<BenchFilter>('all');

  const available = computed(() => devices.value !== null);
  const filtered = computed(() => {
    const list = devices.value ?? [];
    return stateFilter.value === 'all' ? list : list.filter((d) => d.state === stateFilter.value);
  });
  const countsByState = computed(() => {
    const counts: Partial<Record<AgentState, number>> = {};
    for (const d of devices.value ?? []) counts[d.state] = (counts[d.state] ?? 0) + 1;
    return counts;
  });

  async function load(): Promise<void> {
    await runStationCall(async () => {
      devices.value = await api.getBench();
      loaded.value = true;
    }, { busy: loading, error });
  }

  async function reset(devId: string): Promise<void> {
    // Busy per device, so that one reset does not block the others' buttons.
    resetting.value = { ...resetting.value, [devId]: true };
    await runStationCall(() => api.resetBenchDevice(devId), { error });
    const { [devId]: _done, ...rest } = resetting.value;
    resetting.value = rest;
  }

  function setFilter(f: BenchFilter): void {
    stateFilter.value = f;
  }

  /** A `bench` event: the whole fleet's status. */
  function applyDevices(list: FleetDeviceStatus[]): void {
    devices.value = list;
    loaded.value = true;
  }

  function clear(): void {
    devices.value = null;
    loaded.value = false;
    error.value = null;
  }

  return { devices, loaded, loading, resetting, error, stateFilter, available, filtered, countsByState, load, reset, setFilter, applyDevices, clear };
});
