import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import type { LanDeviceView, LocalUnbindView, ResetRequestView, StationError } from '../../protocol/station-api.js';
import { useStationApi } from '../app/station-context.js';
import { runStationCall } from './run-station-call.js';
import { useLanStore } from './use-lan-store.js';

/** A device that is bound, online and not reset (seen by SADP, activated, with an address): a local unbind can reach it (§4.8). */
export function isLocallyUnbindable(d: LanDeviceView): boolean {
  return d.source === 'sadp' && d.problem?.code === 'NOT_WAITING' && d.sadp?.activated === true && d.address !== '0.0.0.0' && d.port !== null;
}

/**
 * The local unbind of the wired screen (DESIGN §4.8) and the password reset (§4.9): the not-reset devices
 * selected, the batch run with one admin password (kept in no store: the form hands it to the call and
 * clears it), its results with attempts left and unlock times, a device's reset request and the reset code form.
 */
export const useLocalUnbindStore = defineStore('local-unbind', () => {
  const api = useStationApi();
  const lan = useLanStore();
  const selected = ref<string[]>([]);
  const busy = ref(false);
  const error = ref<StationError | null>(null);
  const view = ref<LocalUnbindView | null>(null);
  const resetRequest = ref<ResetRequestView | null>(null);
  const resetKey = ref<string | null>(null);
  const resetApplied = ref<string | null>(null);

  const candidates = computed(() => lan.devices.filter(isLocallyUnbindable));
  const selectedCount = computed(() => selected.value.filter((k) => candidates.value.some((d) => d.key === k)).length);

  function setSelected(key: string, on: boolean): void {
    selected.value = on ? [...new Set([...selected.value, key])] : selected.value.filter((k) => k !== key);
  }
  function selectAll(on: boolean): void {
    selected.value = on ? candidates.value.map((d) => d.key) : [];
  }

  let follow: ReturnType<typeof setInterval> | null = null;
  async function refreshView(id: string): Promise<void> {
    const r = await runStationCall(() => api.getLocalUnbind(id), { error });
    if (!r.ok) return;
    view.value = r.value;
    if (r.value.batch.status !== 'running' && follow) {
      clearInterval(follow);
      follow = null;
    }
  }
  /** Starts the batch; the caller clears its password field whatever the outcome. */
  async function start(adminPassword: string): Promise<boolean> {
    const keys = selected.value.filter((k) => candidates.value.some((d) => d.key === k));
    if (!keys.length || !adminPassword) return false;
    const r = await runStationCall(() => api.startLocalUnbind({ keys, adminPassword }), { busy, error });
    if (!r.ok) return false;
    selected.value = [];
    await refreshView(r.value.id);
    if (follow) clearInterval(follow);
    follow = setInterval(() => void refreshView(r.value.id), 500);
    return true;
  }
  async function readResetRequest(key: string): Promise<void> {
    resetApplied.value = null;
    const r = await runStationCall(() => api.getResetRequest({ key }), { busy, error });
    if (r.ok) {
      resetRequest.value = r.value;
      resetKey.value = key;
    }
  }
  async function applyResetCode(code: string, newPassword: string): Promise<boolean> {
    if (!resetKey.value) return false;
    const key = resetKey.value;
    const r = await runStationCall(() => api.applyResetCode({ key, code, newPassword }), { busy, error });
    if (r.ok) {
      resetApplied.value = r.value.devId;
      resetRequest.value = null;
      resetKey.value = null;
    }
    return r.ok;
  }
  return { selected, busy, error, view, resetRequest, resetApplied, candidates, selectedCount, setSelected, selectAll, start, readResetRequest, applyResetCode };
});
