import { fleetStatusSchema, type FleetDeviceStatus } from '../protocol/index.js';
import { StationError } from '../batch/station-error.js';

/**
 * The station's view of the virtual bench (demo only): the fleet's status port, over HTTP, as for an
 * external fleet. Polled while the UI is open; a change is pushed as one `bench` event.
 */
export interface BenchLink {
  status(): Promise<FleetDeviceStatus[]>;
  reset(devId: string): Promise<void>;
  watch(onChange: (devices: FleetDeviceStatus[]) => void, intervalMs?: number): () => void;
}

export function createBenchLink(statusUrl: string): BenchLink {
  async function status(): Promise<FleetDeviceStatus[]> {
    const res = await fetch(`${statusUrl}/status`, { signal: AbortSignal.timeout(3000) });
    if (!res.ok) throw new StationError(502, 'BENCH_UNREACHABLE', `virtual bench answered ${res.status}`);
    const parsed = fleetStatusSchema.safeParse(await res.json());
    if (!parsed.success) throw new StationError(502, 'BENCH_BAD_ANSWER', 'virtual bench status did not match its contract');
    return parsed.data;
  }
  return {
    status,
    async reset(devId) {
      const res = await fetch(`${statusUrl}/devices/${encodeURIComponent(devId)}/reset`, { method: 'POST', signal: AbortSignal.timeout(3000) });
      if (res.status === 404) throw new StationError(404, 'DEVICE_UNKNOWN', `no virtual device ${devId}`);
      if (!res.ok) throw new StationError(502, 'BENCH_UNREACHABLE', `virtual bench answered ${res.status}`);
    },
    watch(onChange, intervalMs = 500) {
      let last = '';
      let busy = false;
      const timer = setInterval(() => {
        if (busy) return;
        busy = true;
        status()
          .then((devices) => {
            const text = JSON.stringify(devices);
            if (text !== last) {
              last = text;
              onChange(devices);
            }
          })
          .catch(() => undefined) // the bench may be restarting; the next poll tries again
          .finally(() => (busy = false));
      }, intervalMs);
      return () => clearInterval(timer);
    },
  };
}
