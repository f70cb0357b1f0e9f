import type { FailureCode } from '../protocol/index.js';
import { ANSWER_LOST_CODES, type BatchService, type LocalOutcome } from './batch-service.js';

/**
 * Failures only the station or the device can know: the authority never saw the device, so no result
 * will come through the token's stream, and the station records them itself.
 */
export const STATION_SIDE_CODES: ReadonlySet<FailureCode> = new Set<FailureCode>([
  'NOT_WAITING',
  'NETWORK_CHANGED',
  'TIMEOUT',
  'SERIAL_MISMATCH',
  'CLOUD_UNREACHABLE',
  'DHCP_FAILED',
  'WIFI_AUTH',
  'WIFI_NOT_FOUND',
  'ADMIN_PASSWORD',
  'DEVICE_LOCKED',
]);

const AUTHORITY_GRACE_MS = 5_000;

/** Ends after which a device that holds its token may still reach the authority later. */
const MAY_STILL_REPORT: ReadonlySet<FailureCode> = ANSWER_LOST_CODES;
export function mayStillReport(code: FailureCode | null | undefined, tokenSent: boolean): boolean {
  return tokenSent && !!code && MAY_STILL_REPORT.has(code);
}

/**
 * Records a device's end in its batch: a station-side failure at once; anything else is the
 * authority's to report (through the token stream), and the device's own word is kept only if that
 * report does not come within a grace period. Waits on the batch's index, never re-reads it.
 */
export async function settleDevice(batches: BatchService, batchId: string, o: LocalOutcome): Promise<void> {
  if (o.code && STATION_SIDE_CODES.has(o.code)) {
    batches.recordLocal(batchId, { ...o, result: 'FAILED' });
    return;
  }
  const reported = await batches.waitForResult(batchId, o.devId, AbortSignal.timeout(AUTHORITY_GRACE_MS));
  if (!reported) batches.recordLocal(batchId, o.code ? o : { ...o, code: o.result === 'FAILED' ? 'NO_REPORT' : null });
}
