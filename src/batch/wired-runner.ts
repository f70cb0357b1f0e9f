import type { BatchView, StartWiredBatchRequest, StationEvent } from '../protocol/index.js';
import { unbindOverLan, type LanSweep, type LanUnbindTarget, type MdnsLanDevice } from '../wired/index.js';
import type { BatchService, OperatorSession } from './batch-service.js';
import { mayStillReport, settleDevice } from './device-outcomes.js';
import { codeIndexForDevice } from '../qr/index.js';
import { StationError } from '../protocol/station-api/refusals.js';

/**
 * The wired method (DESIGN §3): the operator selected reset devices from the LAN sweep; the station
 * plans them against authorization and quota, obtains tokens of ≤ 30, hands each device its token
 * over its local API in parallel (bounded), and records every device's end.
 */
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
    let stillOut = false;
    /** One wave: tokens handed out in parallel, each device's end recorded. */
    const runWave = async (wave: LanUnbindTarget[]): Promise<void> => {
      const outcomes = await unbindOverLan(wave, (t) => tokenOf.get(t.devId)!.token, {
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
          emit({ type: 'progress', progress: { batchId, devId: p.devId, stage: p.stage } });
        },
      });
      await Promise.all(
        outcomes.map((o) => {
          if (o.reported) return; // recorded as it came from the authority
          const d = byId.get(o.devId)!;
          return settleDevice(batches, batchId, { devId: o.devId, serial: d.sn, pid: d.pid, result: o.result ?? 'FAILED', code: o.code ?? null, tokenId: tokenOf.get(o.devId)!.tokenId });
        }),
      );
      stillOut ||= outcomes.some((o) => mayStillReport(o.code, accepted.has(o.devId)));
    };
    // The stop rule judges the first devices' results before the others get a token (a fleet job's
    // first wave): a batch that paused hands out nothing more until it is resumed, and nothing once cancelled.
    const firstWave = batches.stopWindow > 0 ? targets.slice(0, batches.stopWindow) : targets;
    const rest = targets.slice(firstWave.length);
    await runWave(firstWave);
    if (rest.length > 0 && (await batches.whenUnpaused(batchId))) await runWave(rest);
    await batches.closeCodes(batchId, { devicesMayStillReport: stillOut });
  })().catch((err: Error) => deps.log?.('wired batch failed', { batchId, error: err.message }));

  return batches.get(batchId);
}
