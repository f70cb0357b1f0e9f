import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import {
  startSerialBatchRequestSchema,
  startWiredBatchRequestSchema,
  type BatchCodeView,
  type BatchPlan,
  type BatchSummary,
  type BatchView,
  type DeviceProgressView,
  type DeviceResultView,
  type PlanRequest,
  type StartQrBatchRequest,
  type StartSerialBatchRequest,
  type StartWiredBatchRequest,
  type StationError,
} from '../../protocol/station-api.js';
import { toStationError } from '../api/station-api-error.js';
import { useStationApi } from '../app/station-context.js';
import { chronological, codeUsed, reportedOf, resultKey, tallyOf } from '../lib/results.js';

/** A plan answers one request: changing the form makes it stale, and Start needs a current, ok plan. */
export function planKey(req: PlanRequest): string {
  return JSON.stringify({ method: req.method, pid: req.pid, deviceCount: req.manifest ? undefined : req.deviceCount, manifest: req.manifest });
}

/** What a code image holds: a `data:` URL of the station's SVG, or why it could not be had. */
export type CodeImage = { state: 'loading' } | { state: 'ready'; url: string } | { state: 'error'; error: StationError };

/** The SVG as an image URL: shown through <img>, the markup can run nothing. */
export function svgToDataUrl(svg: string): string {
  return `data:image/svg+xml;charset=utf-8,${encodeURIComponent(svg)}`;
}

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
 * The batch being worked (QR, wired or serial). QR: plan, start, the batch being worked (its codes and live results), labels scanned,
 * cancel. Results come from `result` events and batch snapshots; the tally is computed from them the
 * way the station computes it, and a snapshot that knows of more devices than we have triggers a resync.
 */
export const useBatchStore = defineStore('batch', () => {
  const api = useStationApi();

  const plan = ref<BatchPlan | null>(null);
  const planFor = ref<string | null>(null);
  const planning = ref(false);
  const planError = ref<StationError | null>(null);

  const current = ref<BatchView | null>(null);
  /** Oldest first, each report once. */
  const results = ref<DeviceResultView[]>([]);
  const starting = ref(false);
  const busy = ref(false);
  const error = ref<StationError | null>(null);
  const codeImages = ref<Record<string, CodeImage>>({});
  /** Per-device stages of a wired or serial batch, in the order the devices first reported one. */
  const progress = ref<Array<{ devId: string; stage: DeviceStage }>>([]);
  let resyncing: Promise<void> | null = null;

  const tally = computed(() => (current.value ? tallyOf(results.value, current.value.expected, current.value.status) : null));
  const reported = computed(() => (tally.value ? reportedOf(tally.value) : 0));
  const expected = computed(() => current.value?.expected ?? 0);
  const progressText = computed(() => `${reported.value} / ${expected.value}`);
  const resultsNewestFirst = computed(() => [...results.value].reverse());
  const codes = computed<BatchCodeView[]>(() => (current.value ? current.value.codes.map((c) => ({ ...c, used: codeUsed(c, results.value) })) : []));
  const running = computed(() => current.value?.status === 'running');
  /** After a station restart the codes cannot be drawn until the operator types the Wi-Fi password again. */
  const codesLocked = computed(() => Object.values(codeImages.value).some((i) => i.state === 'error' && i.error.code === 'CODES_LOCKED'));
  /** QR batches show codes; wired and serial batches hand tokens to devices directly and have none. */
  const hasCodes = computed(() => current.value?.method === 'qr');
  /** Every device of a wired or serial batch the station told of: stage, then result. */
  const deviceRows = computed<DeviceRow[]>(() => {
    const last = new Map<string, DeviceResultView>();
    for (const r of results.value) last.set(r.devId, r);
    const rows: DeviceRow[] = progress.value.map((p) => {
      const r = last.get(p.devId) ?? null;
      return { devId: p.devId, stage: r ? 'done' : p.stage, serial: r?.serial ?? null, result: r };
    });
    const listed = new Set(progress.value.map((p) => p.devId));
    for (const [devId, r] of last) if (!listed.has(devId)) rows.push({ devId, stage: 'done', serial: r.serial, result: r });
    return rows;
  });

  function stageOf(devId: string): DeviceRow['stage'] | null {
    return deviceRows.value.find((d) => d.devId === devId)?.stage ?? null;
  }

  function planMatches(req: PlanRequest): boolean {
    return planFor.value === planKey(req);
  }
  /** The plan shown for this request, or null when there is none or it answers another request. */
  function planOf(req: PlanRequest): BatchPlan | null {
    return planMatches(req) ? plan.value : null;
  }
  function canStart(req: PlanRequest): boolean {
    return !starting.value && planOf(req)?.ok === true;
  }

  async function checkPlan(req: PlanRequest): Promise<BatchPlan | null> {
    planning.value = true;
    const key = planKey(req);
    try {
      const answer = await api.planBatch(req);
      plan.value = answer;
      planFor.value = key;
      planError.value = null;
      return answer;
    } catch (err) {
      plan.value = null;
      planFor.value = null;
      planError.value = toStationError(err);
      return null;
    } finally {
      planning.value = false;
    }
  }

  function clearPlan(): void {
    plan.value = null;
    planFor.value = null;
    planError.value = null;
  }

  /** A full snapshot becomes the current batch; reports that arrived by event meanwhile are kept. */
  function adopt(view: BatchView): void {
    const same = current.value?.id === view.id;
    if (!same) {
      codeImages.value = {};
      progress.value = [];
    }
    current.value = view;
    results.value = chronological(dedupe(same ? [...view.results, ...results.value] : view.results));
  }

  /** Starts the batch; the Wi-Fi credentials pass through to the station and are not kept here. */
  async function start(req: StartQrBatchRequest): Promise<boolean> {
    const planReq: PlanRequest = { method: 'qr', pid: req.pid, deviceCount: req.deviceCount, manifest: req.manifest };
    if (!canStart(planReq)) {
      error.value = { code: 'PLAN_REQUIRED', message: 'Check the plan first: Start needs a plan the station accepted.' };
      return false;
    }
    starting.value = true;
    try {
      adopt(await api.startBatch(req));
      clearPlan();
      error.value = null;
      return true;
    } catch (err) {
      error.value = toStationError(err);
      return false;
    } finally {
      starting.value = false;
    }
  }

  /**
   * Starts a wired batch (the LAN devices selected) or a serial one (the devices on the UART ports).
   * No plan first: the station checks authorization and quota when it asks for the tokens. A refusal is
   * answered to the screen that asked (not kept here, where the QR form would show it).
   */
  async function startDevices(req: StartWiredBatchRequest | StartSerialBatchRequest): Promise<{ ok: true } | { ok: false; error: StationError }> {
    const checked = req.method === 'wired' ? startWiredBatchRequestSchema.safeParse(req) : startSerialBatchRequestSchema.safeParse(req);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      return { ok: false, error: { code: 'INVALID_BATCH', message: `Check the batch (${issue?.path.join('.') || 'request'}: ${issue?.message ?? 'invalid'}).` } };
    }
    starting.value = true;
    try {
      adopt(await api.startBatch(checked.data));
      error.value = null;
      return { ok: true };
    } catch (err) {
      return { ok: false, error: toStationError(err) };
    } finally {
      starting.value = false;
    }
  }

  async function open(batchId: string): Promise<boolean> {
    try {
      adopt(await api.getBatch(batchId));
      error.value = null;
      return true;
    } catch (err) {
      error.value = toStationError(err);
      return false;
    }
  }

  /** After a reload or a restart: the account's running batch, if any, becomes the current one. */
  async function resumeRunning(accountId: string): Promise<boolean> {
    try {
      const list = await api.listBatches();
      const mine = list.filter((b) => b.accountId === accountId && b.status === 'running');
      const latest = mine.sort((a, b) => b.createdAt.localeCompare(a.createdAt))[0];
      if (!latest) return false;
      return await open(latest.id);
    } catch (err) {
      error.value = toStationError(err);
      return false;
    }
  }

  async function resync(): Promise<void> {
    const id = current.value?.id;
    if (!id) return;
    resyncing ??= api
      .getBatch(id)
      .then((view) => {
        if (current.value?.id === view.id) adopt(view);
      })
      .catch((err: unknown) => {
        error.value = toStationError(err);
      })
      .finally(() => {
        resyncing = null;
      });
    return resyncing;
  }

  /** A `batch` event: status, codes and the station's tally; results come separately. */
  function applyBatchEvent(b: BatchSummary & { codes: BatchCodeView[] }): void {
    const view = current.value;
    if (!view || view.id !== b.id) return;
    current.value = { ...view, ...b, manifest: view.manifest, scanned: view.scanned, results: view.results };
    const mine = tallyOf(results.value, b.expected, b.status);
    // The station knows of reports we missed (e.g. while the event stream reconnected): fetch them.
    if (reportedOf(b.tally) > reportedOf(mine)) void resync();
  }

  /** A `result` event: one device's report, appended once. */
  function applyResult(batchId: string, r: DeviceResultView): void {
    if (current.value?.id !== batchId) return;
    const key = resultKey(r);
    if (results.value.some((x) => resultKey(x) === key)) return;
    results.value = [...results.value, r];
  }

  /** A `progress` event: how far one device of a wired or serial batch got. */
  function applyProgress(p: DeviceProgressView): void {
    if (current.value?.id !== p.batchId) return;
    const i = progress.value.findIndex((x) => x.devId === p.devId);
    if (i < 0) progress.value = [...progress.value, { devId: p.devId, stage: p.stage }];
    else progress.value = progress.value.map((x, j) => (j === i ? { devId: p.devId, stage: p.stage } : x));
  }

  /** A `label` event: the barcode scanner read a label and the station gave it to this batch. */
  function applyLabel(batchId: string | null, label: string): void {
    const view = current.value;
    if (!view || batchId !== view.id || view.scanned.includes(label)) return;
    current.value = { ...view, scanned: [...view.scanned, label] };
  }

  /** Runs one call on the current batch and adopts the view it answers; false when it was refused. */
  async function onCurrent(call: (id: string) => Promise<BatchView>, opts: { busy: boolean }): Promise<boolean> {
    const id = current.value?.id;
    if (!id) return false;
    if (opts.busy) busy.value = true;
    try {
      adopt(await call(id));
      error.value = null;
      return true;
    } catch (err) {
      error.value = toStationError(err);
      return false;
    } finally {
      if (opts.busy) busy.value = false;
    }
  }

  const cancel = (): Promise<boolean> => onCurrent((id) => api.cancelBatch(id), { busy: true });

  /** A serial label scanned at the bench while the batch runs. */
  async function scanLabel(label: string): Promise<boolean> {
    const clean = label.trim();
    return clean ? onCurrent((id) => api.scanLabel(id, clean), { busy: false }) : false;
  }

  /** Gives the station the Wi-Fi again (it never stores the password); the codes can then be drawn. */
  async function unlockCodes(wifi: { ssid: string; password: string }): Promise<boolean> {
    const ok = await onCurrent((id) => api.unlockCodes(id, wifi), { busy: true });
    // Codes that failed to draw while locked are drawn again.
    if (ok) codeImages.value = Object.fromEntries(Object.entries(codeImages.value).filter(([, i]) => i.state !== 'error'));
    return ok;
  }

  async function loadCodeImage(code: BatchCodeView): Promise<void> {
    const id = current.value?.id;
    if (!id) return;
    const existing = codeImages.value[code.tokenId];
    if (existing && existing.state !== 'error') return;
    codeImages.value = { ...codeImages.value, [code.tokenId]: { state: 'loading' } };
    let image: CodeImage;
    try {
      image = { state: 'ready', url: svgToDataUrl(await api.getCodeSvg(id, code.index)) };
    } catch (err) {
      image = { state: 'error', error: toStationError(err) };
    }
    if (current.value?.id === id) codeImages.value = { ...codeImages.value, [code.tokenId]: image };
  }

  function codeImage(code: BatchCodeView): CodeImage | null {
    return codeImages.value[code.tokenId] ?? null;
  }

  async function printSheet(): Promise<string | null> {
    const id = current.value?.id;
    if (!id) return null;
    try {
      return await api.getPrintSheet(id);
    } catch (err) {
      error.value = toStationError(err);
      return null;
    }
  }

  /** Tells the station which codes are on screen (the virtual bench's cameras look at those). */
  async function showOnScreen(codeIndexes: number[]): Promise<void> {
    const id = current.value?.id ?? null;
    try {
      await api.showCodes(id, id ? codeIndexes : []);
    } catch (err) {
      error.value = toStationError(err);
    }
  }

  async function clearScreen(): Promise<void> {
    try {
      await api.showCodes(null, []);
    } catch (err) {
      error.value = toStationError(err);
    }
  }

  function clear(): void {
    current.value = null;
    results.value = [];
    codeImages.value = {};
    progress.value = [];
    error.value = null;
    clearPlan();
  }

  return {
    plan,
    planning,
    planError,
    current,
    results,
    starting,
    busy,
    error,
    codeImages,
    progress,
    tally,
    reported,
    expected,
    progressText,
    resultsNewestFirst,
    codes,
    running,
    codesLocked,
    hasCodes,
    deviceRows,
    stageOf,
    planMatches,
    planOf,
    canStart,
    checkPlan,
    clearPlan,
    start,
    startDevices,
    open,
    resumeRunning,
    resync,
    applyBatchEvent,
    applyResult,
    applyProgress,
    applyLabel,
    cancel,
    scanLabel,
    unlockCodes,
    loadCodeImage,
    codeImage,
    printSheet,
    showOnScreen,
    clearScreen,
    clear,
  };
});

function dedupe(list: readonly DeviceResultView[]): DeviceResultView[] {
  const seen = new Set<string>();
  return list.filter((r) => {
    const k = resultKey(r);
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}
