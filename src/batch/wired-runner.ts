import type { BatchView, StartWiredBatchRequest, StationEvent } from '../protocol/index.js';
import { unbindOverLan, type LanSweep, type LanUnbindProgress, type LanUnbindTarget, type MdnsLanDevice, type TokenFor } from '../wired/index.js';
import type { BatchService, OperatorSession } from './batch-service.js';
import { mayStillReport, settleDevice } from './device-outcomes.js';
import { codeIndexForDevice } from '../qr/index.js';
import { StationError } from '../protocol/station-api/refusals.js';

/**
 * The wired method (DESIGN §3): the operator selected reset devices from the LAN sweep; the station
 * plans them against authorization and quota, obtains tokens of ≤ 30, hands each device its token
 * over its local API in parallel (bounded), and records every device's end.
 */
/** How long the devices after the first wave wait, checked, for the stop rule's judgment before they are held (below a device's 45 s deadline). */
const HOLD_MS = 30_000;

export async function startWiredBatch(
  deps: { batches: BatchService; sweep: LanSweep; emit: (e: StationEvent) => void; log?: (msg: string, f?: Record<string, unknown>) => void },
  session: OperatorSession,
  req: StartWiredBatchRequest,
): Promise<BatchView> {
  const { batches, sweep, emit } = deps;
  const devices: MdnsLanDevice[] = [];
  for (const key of new Set(req.devIds)) {
    const d = sweep.device(key);
    if (!d) throw new StationError(409, 'DEVICE_GONE', `${key} is no longer on the LAN: refresh the sweep`);
    if (d.source !== 'mdns' || d.st !== 'waiting' || d.problem) {
      throw new StationError(409, 'NOT_WAITING', `${key} cannot be unbound as it is: ${d.problem?.hint ?? 'it is not reset (waiting)'}`);
    }
    devices.push(d);
  }
  const manifest = req.manifest ?? null;
  const { batchId, tokens } = await batches.startDeviceBatch(session, { method: 'wired', pids: devices.map((d) => d.pid), manifest });
  const tokenOf = new Map(devices.map((d, i) => [d.devId, tokens[codeIndexForDevice(i)]!]));

  void (async () => {
    // A device whose advertised serial is not on the manifest is refused before it gets a token.
    const outside = manifest ? devices.filter((d) => !manifest.includes(d.sn)) : [];
    for (const d of outside) batches.recordLocal(batchId, { devId: d.devId, serial: d.sn, pid: d.pid, result: 'FAILED', code: 'SERIAL_MISMATCH', tokenId: null });
    const targets: LanUnbindTarget[] = devices.filter((d) => !outside.includes(d)).map((d) => ({ devId: d.devId, address: d.address, port: d.port, expectedSerial: d.sn }));
    const accepted = new Set<string>(); // devices that took their token (reached `unbinding`)
    let lastReportAt: number | undefined; // when the authority's stream last ended one of them
    const byId = new Map(devices.map((d) => [d.devId, d]));
    const targetOf = new Map(targets.map((t) => [t.devId, t]));
    let stillOut = false;
    // A token goes out only while the batch runs: one cancelled (or paused) meanwhile holds the device back.
    const tokenNow = (t: LanUnbindTarget): string | null => (batches.status(batchId) === 'running' ? tokenOf.get(t.devId)!.token : null);
    // A device held back did nothing: it shows no end.
    const show = (p: LanUnbindProgress): void => void (p.outcome?.withheld || emit({ type: 'progress', progress: { batchId, devId: p.devId, stage: p.stage } }));
    /**
     * One wave: each device checked, handed its token (or held back: `tokenFor` answers null), its end
     * recorded; answers the devices to run again after a resume (all of it when `held()` says so at the end).
     */
    const runWave = async (wave: LanUnbindTarget[], tokenFor: TokenFor = tokenNow, onStage = show, held = async (): Promise<boolean> => false): Promise<LanUnbindTarget[]> => {
      const outcomes = await unbindOverLan(wave, tokenFor, {
        sweep,
        // A device ends on the result the station receives from the authority's stream; its /status is the fallback.
        reported: async (t, signal) => {
          const r = await batches.waitForResult(batchId, t.devId, signal);
          if (r) lastReportAt = Date.now();
          return r && { result: r.result, ...(r.code ? { code: r.code } : {}), detail: 'reported by the authority' };
        },
        lastReportAt: () => lastReportAt,
        onProgress: (p) => {
          if (p.stage === 'unbinding') accepted.add(p.devId);
          onStage(p);
        },
      });
      // Held back: no token went out to any of them (the batch paused before), they are checked again after a resume.
      if (await held()) return wave;
      await Promise.all(
        outcomes.map((o) => {
          if (o.reported || o.withheld) return; // recorded as it came from the authority, or nothing happened
          const d = byId.get(o.devId)!;
          return settleDevice(batches, batchId, { devId: o.devId, serial: d.sn, pid: d.pid, result: o.result ?? 'FAILED', code: o.code ?? null, tokenId: tokenOf.get(o.devId)!.tokenId });
        }),
      );
      stillOut ||= outcomes.some((o) => mayStillReport(o.code, accepted.has(o.devId)));
      return outcomes.filter((o) => o.withheld).map((o) => targetOf.get(o.devId)!);
    };
    const window = batches.stopWindow;
    if (window <= 0 || targets.length <= window) {
      // No later wave: a device held back here was still being checked when the batch was cancelled or paused.
      const again = await runWave(targets);
      if (again.length > 0 && (await batches.whenUnpaused(batchId))) await runWave(again);
    }
    else {
      // The stop rule judges the first devices' results before the others get a token (a fleet job's first
      // wave): a batch that paused hands out nothing more until it is resumed, and nothing once cancelled.
      // The later devices are checked meanwhile (GET /info changes nothing on a device), and their tokens go
      // out once the rule has judged (it fired, or the first results can no longer make it fire), not after
      // the last device of the first wave ended: the first wave's round trip no longer delays the rest.
      const first = runWave(targets.slice(0, window));
      // A first wave that failed (its rejection is logged below) lets no later device go on.
      const judged = Promise.race([batches.stopRuleSettled(batchId), first.then(() => undefined)]).then(
        () => batches.status(batchId) === 'running',
        () => false,
      );
      // What the later devices did before the judgment is shown once it lets them go on, never if it holds them.
      let go: boolean | null = null;
      const shown = new Map<string, LanUnbindProgress>();
      void judged.then((ok) => {
        go = ok;
        if (ok) for (const p of shown.values()) show(p);
        shown.clear();
      });
      // A first wave that takes long (a device that never answers is followed to its deadline) must not
      // run the later devices into theirs while they wait: past HOLD_MS they are held, and run after it.
      const patience = new Promise<false>((resolve) => {
        const t = setTimeout(() => resolve(false), HOLD_MS);
        t.unref?.();
        void judged.then(() => clearTimeout(t));
      });
      const later = runWave(
        targets.slice(window),
        async (t) => ((await Promise.race([judged, patience])) ? tokenNow(t) : null),
        (p) => (go === true ? show(p) : go === null ? void shown.set(p.devId, p) : undefined),
        async () => !(await judged),
      );
      // Held back: the later devices while the rule held them, and any first-wave device still being checked when the batch paused.
      const again = (await Promise.all([first, later])).flat();
      if (again.length > 0 && (await batches.whenUnpaused(batchId))) await runWave(again);
    }
    await batches.closeCodes(batchId, { devicesMayStillReport: stillOut });
  })().catch((err: Error) => deps.log?.('wired batch failed', { batchId, error: err.message }));

  return batches.get(batchId);
}
