import { defineStore } from 'pinia';
import { ref } from 'vue';
import {
  startSerialBatchRequestSchema,
  startWiredBatchRequestSchema,
  type BatchPlan,
  type PlanRequest,
  type StartQrBatchRequest,
  type StartSerialBatchRequest,
  type StartWiredBatchRequest,
  type StationError,
} from '../../protocol/station-api.js';
import { useStationApi } from '../app/station-context.js';
import { runStationCall } from './run-station-call.js';
import { useCurrentBatchStore } from './use-current-batch-store.js';

/** A plan answers one request: changing the form makes it stale, and Start needs a current, ok plan. */
export function planKey(req: PlanRequest): string {
  return JSON.stringify({ method: req.method, pid: req.pid, deviceCount: req.manifest ? undefined : req.deviceCount, manifest: req.manifest });
}

/**
 * Starting a batch: the QR form's plan (checked against the request it answers) and Start, and the
 * wired and serial starts. The started batch becomes the current one.
 */
export const useNewBatchStore = defineStore('new-batch', () => {
  const api = useStationApi();
  const batch = useCurrentBatchStore();

  const plan = ref<BatchPlan | null>(null);
  const planFor = ref<string | null>(null);
  const planning = ref(false);
  const planError = ref<StationError | null>(null);
  const starting = ref(false);
  /** Why the QR form's Start was refused. */
  const error = ref<StationError | null>(null);

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
    const key = planKey(req);
    const answered = await runStationCall(() => api.planBatch(req), { busy: planning, error: planError });
    plan.value = answered.ok ? answered.value : null;
    planFor.value = answered.ok ? key : null;
    return plan.value;
  }

  function clearPlan(): void {
    plan.value = null;
    planFor.value = null;
    planError.value = null;
  }

  /** Starts the batch; the Wi-Fi credentials pass through to the station and are not kept here. */
  async function start(req: StartQrBatchRequest): Promise<boolean> {
    const planReq: PlanRequest = { method: 'qr', pid: req.pid, deviceCount: req.deviceCount, manifest: req.manifest };
    if (!canStart(planReq)) {
      error.value = { code: 'PLAN_REQUIRED', message: 'Check the plan first: Start needs a plan the station accepted.' };
      return false;
    }
    const started = await runStationCall(async () => batch.adopt(await api.startBatch(req)), { busy: starting, error });
    if (started.ok) clearPlan();
    return started.ok;
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
    const started = await runStationCall(async () => batch.adopt(await api.startBatch(checked.data)), { busy: starting });
    if (!started.ok) return started;
    error.value = null;
    return { ok: true };
  }

  function clear(): void {
    error.value = null;
    clearPlan();
  }

  return { plan, planning, planError, starting, error, planMatches, planOf, canStart, checkPlan, clearPlan, start, startDevices, clear };
});
