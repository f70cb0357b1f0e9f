import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { serialSettingsSchema, type SerialSettings, type SerialStatusView, type StationError } from '../../protocol/station-api.js';
import { useStationApi } from '../app/station-context.js';
import { runStationCall } from './run-station-call.js';
import { useNewBatchStore } from './use-new-batch-store.js';

/** Labels remembered for the screen: enough to see what the scanner just read. */
export const RECENT_LABELS_KEPT = 50;
/** Labels waiting for the QR form's manifest (its own limit is 10 000 serials). */
const PENDING_LABELS_KEPT = 10_000;

export interface ScannedLabel {
  label: string;
  /** The running batch the station gave it to, or null (then it goes to the next QR batch's manifest). */
  batchId: string | null;
  at: string;
}

function sameSettings(a: SerialSettings, b: SerialSettings): boolean {
  return a.scannerPort === b.scannerPort && a.uartPorts.length === b.uartPorts.length && a.uartPorts.every((p) => b.uartPorts.includes(p));
}

const copyOf = (s: SerialSettings): SerialSettings => ({ scannerPort: s.scannerPort, uartPorts: [...s.uartPorts] });

/**
 * The serial line: ports, which one is the barcode scanner and which carry UART devices (a draft the
 * operator edits, then saves), the scanner's state, the labels it reads, and the serial batch.
 * A `serial` event replaces the status; it replaces the draft too unless the operator is editing it.
 */
export const useSerialStore = defineStore('serial', () => {
  const api = useStationApi();
  const newBatch = useNewBatchStore();

  const status = ref<SerialStatusView | null>(null);
  const loading = ref(false);
  const saving = ref(false);
  const error = ref<StationError | null>(null);
  const draft = ref<SerialSettings>({ scannerPort: null, uartPorts: [] });
  const recentLabels = ref<ScannedLabel[]>([]);
  /** Labels read while no batch ran, oldest first, until the QR form takes them into its manifest. */
  const pendingManifestLabels = ref<string[]>([]);

  const loaded = computed(() => status.value !== null);
  const ports = computed(() => status.value?.ports ?? []);
  const saved = computed<SerialSettings>(() => status.value?.settings ?? { scannerPort: null, uartPorts: [] });
  const dirty = computed(() => !sameSettings(draft.value, saved.value));
  const scanner = computed(() => status.value?.scanner ?? null);
  const draftProblem = computed(() => {
    const d = draft.value;
    if (d.scannerPort !== null && d.uartPorts.includes(d.scannerPort)) return `${d.scannerPort} cannot be both the scanner port and a UART port.`;
    const checked = serialSettingsSchema.safeParse(d);
    return checked.success ? null : (checked.error.issues[0]?.message ?? 'Check the serial settings.');
  });
  const canSave = computed(() => loaded.value && dirty.value && draftProblem.value === null && !saving.value);
  /** The serial batch uses the saved UART ports: what the station has actually opened. */
  const canUnbindUart = computed(() => saved.value.uartPorts.length > 0 && !newBatch.starting);

  function applyStatus(next: SerialStatusView): void {
    const editing = status.value !== null && dirty.value;
    status.value = next;
    if (!editing) draft.value = copyOf(next.settings);
  }

  async function load(): Promise<void> {
    await runStationCall(async () => applyStatus(await api.getSerialStatus()), { busy: loading, error });
  }

  function setScannerPort(path: string | null): void {
    draft.value = { ...draft.value, scannerPort: path || null };
  }

  function setUartPort(path: string, on: boolean): void {
    const rest = draft.value.uartPorts.filter((p) => p !== path);
    draft.value = { ...draft.value, uartPorts: on ? [...rest, path] : rest };
  }

  function isUartPort(path: string): boolean {
    return draft.value.uartPorts.includes(path);
  }

  function resetDraft(): void {
    draft.value = copyOf(saved.value);
  }

  async function save(): Promise<boolean> {
    if (draftProblem.value) {
      error.value = { code: 'INVALID_SETTINGS', message: draftProblem.value };
      return false;
    }
    const checked = serialSettingsSchema.parse(draft.value);
    const saved = await runStationCall(async () => {
      const next = await api.setSerialSettings(checked);
      status.value = next;
      draft.value = copyOf(next.settings);
    }, { busy: saving, error });
    return saved.ok;
  }

  /** Starts a serial batch over the saved UART ports. */
  async function unbindUart(): Promise<boolean> {
    const ports = saved.value.uartPorts;
    if (ports.length === 0) {
      error.value = { code: 'NO_UART_PORTS', message: 'Tick at least one UART port and save first.' };
      return false;
    }
    const started = await newBatch.startDevices({ method: 'serial', ports: [...ports] });
    error.value = started.ok ? null : started.error;
    return started.ok;
  }

  /** A `label` event: shown in the recent list; without a batch it waits for the QR form's manifest. */
  function applyLabel(batchId: string | null, label: string, at: string = new Date().toISOString()): void {
    recentLabels.value = [{ label, batchId, at }, ...recentLabels.value].slice(0, RECENT_LABELS_KEPT);
    if (batchId === null && pendingManifestLabels.value.length < PENDING_LABELS_KEPT) pendingManifestLabels.value = [...pendingManifestLabels.value, label];
  }

  /** Hands the waiting labels to the QR form, once. */
  function takeManifestLabels(): string[] {
    const taken = pendingManifestLabels.value;
    pendingManifestLabels.value = [];
    return taken;
  }

  function clear(): void {
    status.value = null;
    draft.value = { scannerPort: null, uartPorts: [] };
    recentLabels.value = [];
    pendingManifestLabels.value = [];
    error.value = null;
  }

  return {
    status,
    loading,
    saving,
    error,
    draft,
    recentLabels,
    pendingManifestLabels,
    loaded,
    ports,
    saved,
    dirty,
    scanner,
    draftProblem,
    canSave,
    canUnbindUart,
    applyStatus,
    load,
    setScannerPort,
    setUartPort,
    isUartPort,
    resetDraft,
    save,
    unbindUart,
    applyLabel,
    takeManifestLabels,
    clear,
  };
});
