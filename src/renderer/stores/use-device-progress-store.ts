import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { DeviceProgressView, DeviceResultView } from '../../protocol/station-api.js';
import { useCurrentBatchStore } from './use-current-batch-store.js';

export type DeviceStage = DeviceProgressView['stage'];

/** One device of a wired or serial batch as the batch screen lists it: how far it got, and its result. */
export interface DeviceRow {
  devId: string;
  /** `pending` until the station reports a stage; `done` once a result arrived. */
  stage: DeviceStage | 'pending';
  serial: string | null;
  result: DeviceResultView | null;
}

/**
 * How far each device of the current wired or serial batch got (`progress` events), beside the row the
 * station sent for it. Stages of another batch are forgotten once that batch is no longer the current one.
 */
export const useDeviceProgressStore = defineStore('device-progress', () => {
  const batch = useCurrentBatchStore();

  /** Per-device stages, in the order the devices first reported one, of the batch `stagesFor`. */
  const stages = ref<Array<{ devId: string; stage: DeviceStage }>>([]);
  const stagesFor = ref<string | null>(null);

  const progress = computed(() => (stagesFor.value !== null && stagesFor.value === batch.current?.id ? stages.value : []));
  /** Every device of a wired or serial batch the station told of: stage, then result. */
  const deviceRows = computed<DeviceRow[]>(() => {
    const rowOf = new Map(batch.results.map((r) => [r.devId, r]));
    const rows: DeviceRow[] = progress.value.map((p) => {
      const r = rowOf.get(p.devId) ?? null;
      return { devId: p.devId, stage: r ? 'done' : p.stage, serial: r?.serial ?? null, result: r };
    });
    const listed = new Set(progress.value.map((p) => p.devId));
    for (const [devId, r] of rowOf) if (!listed.has(devId)) rows.push({ devId, stage: 'done', serial: r.serial, result: r });
    return rows;
  });

  function stageOf(devId: string): DeviceRow['stage'] | null {
    return deviceRows.value.find((d) => d.devId === devId)?.stage ?? null;
  }

  /** A `progress` event: how far one device of a wired or serial batch got. */
  function applyProgress(p: DeviceProgressView): void {
    if (batch.current?.id !== p.batchId) return;
    const list = stagesFor.value === p.batchId ? stages.value : [];
    stagesFor.value = p.batchId;
    const i = list.findIndex((x) => x.devId === p.devId);
    if (i < 0) stages.value = [...list, { devId: p.devId, stage: p.stage }];
    else stages.value = list.map((x, j) => (j === i ? { devId: p.devId, stage: p.stage } : x));
  }

  function clear(): void {
    stages.value = [];
    stagesFor.value = null;
  }

  return { progress, deviceRows, stageOf, applyProgress, clear };
});
