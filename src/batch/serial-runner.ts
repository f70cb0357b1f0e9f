import type { BatchView, DeviceInfo, StartSerialBatchRequest, StationEvent } from '../protocol/index.js';
import { openUartDevice, type UartDeviceClient } from '../wired/serial-uart-client.js';
import type { BatchService, OperatorSession } from './batch-service.js';
import { mayStillReport, settleDevice } from './device-outcomes.js';
import { codeIndexForDevice } from '../qr/index.js';
import { StationError } from '../protocol/station-api/refusals.js';

/**
 * The serial method (DESIGN §3, §4.6): each UART port carries one device. The station asks each for
 * its identity, plans them against authorization and quota, issues tokens, and sends each device its
 * token over the line. A device whose serial is not on the batch's scanned labels (when there are
 * any) fails SERIAL_MISMATCH before a token is sent.
 */
export type OpenUart = (path: string) => Promise<UartDeviceClient>;

export const openUartAt: OpenUart = (path) => openUartDevice({ port: { path } });

export async function startSerialBatch(
  deps: { batches: BatchService; openUart: OpenUart; emit: (e: StationEvent) => void; log?: (msg: string, f?: Record<string, unknown>) => void },
  session: OperatorSession,
  req: StartSerialBatchRequest,
): Promise<BatchView> {
  const { batches, emit } = deps;
  const clients: UartDeviceClient[] = [];
  const closeAll = (): Promise<unknown> => Promise.allSettled(clients.map((c) => c.close()));
  const found: Array<{ client: UartDeviceClient; info: DeviceInfo }> = [];
  try {
    for (const path of new Set(req.ports)) {
      let client: UartDeviceClient;
      try {
        client = await deps.openUart(path);
      } catch (err) {
        throw new StationError(409, 'PORT_UNAVAILABLE', `${path}: ${(err as Error).message}`);
      }
      clients.push(client);
      const info = await client.info();
      if (!info.ok) throw new StationError(409, info.code, `${path}: ${info.detail}`);
      found.push({ client, info: info.info });
    }
  } catch (err) {
    await closeAll();
    throw err;
  }

  const manifest = req.manifest ?? null;
  let started: Awaited<ReturnType<BatchService['startDeviceBatch']>>;
  try {
    started = await batches.startDeviceBatch(session, { method: 'serial', pids: found.map((f) => f.info.pid), manifest });
  } catch (err) {
    await closeAll(); // refused by the plan, or no token: the ports are not ours to keep
    throw err;
  }
  const { batchId, tokens } = started;

  void (async () => {
    let stillOut = false;
    /** Devices held back after their check (the batch was paused or cancelled): they go again after a resume. */
    const held: Array<[(typeof found)[number], number]> = [];
    // As on the LAN: a token goes out only while the batch runs, asked right before each one.
    const running = (): boolean => batches.status(batchId) === 'running';
    const unbindOne = async (f: (typeof found)[number], i: number): Promise<void> => {
      const { client, info } = f;
      const token = tokens[codeIndexForDevice(i)]!;
      const base = { devId: info.devId, serial: info.sn, pid: info.pid };
      if (manifest && !manifest.includes(info.sn)) {
        batches.recordLocal(batchId, { ...base, result: 'FAILED', code: 'SERIAL_MISMATCH', tokenId: null });
        return;
      }
      if (!running()) return void held.push([f, i]);
      const o = await client.unbind(token.token, {
        expectedSerial: info.sn,
        mayHandOver: () => {
          const go = running();
          if (go) emit({ type: 'progress', progress: { batchId, devId: info.devId, stage: 'sending' } });
          return go;
        },
        onState: (st) => st === 'unbinding' && emit({ type: 'progress', progress: { batchId, devId: info.devId, stage: 'unbinding' } }),
      });
      // Held back: nothing happened on the device, it shows no end.
      if (o.withheld) return void held.push([f, i]);
      emit({ type: 'progress', progress: { batchId, devId: info.devId, stage: 'done' } });
      stillOut ||= mayStillReport(o.code, o.tokenSent);
      await settleDevice(batches, batchId, { ...base, result: o.result, code: o.code, tokenId: o.tokenSent ? token.tokenId : null });
    };
    // As on the LAN: the first devices' results are judged by the stop rule before the others get a token.
    const firstWave = batches.stopWindow > 0 ? Math.min(found.length, batches.stopWindow) : found.length;
    await Promise.all(found.slice(0, firstWave).map((f, i) => unbindOne(f, i)));
    // The later devices, with any first-wave device held back meanwhile (the stop rule paused the batch
    // while it was being checked), go together once the batch runs; every device held back goes again
    // after each resume; none once the batch was cancelled.
    held.push(...found.slice(firstWave).map((f, k): [(typeof found)[number], number] => [f, firstWave + k]));
    while (held.length > 0 && (await batches.whenUnpaused(batchId))) await Promise.all(held.splice(0).map(([f, i]) => unbindOne(f, i)));
    await batches.closeCodes(batchId, { devicesMayStillReport: stillOut });
  })()
    .catch((err: Error) => deps.log?.('serial batch failed', { batchId, error: err.message }))
    .finally(() => void closeAll());

  return batches.get(batchId);
}
