import { fleetStatusSchema, type FleetDeviceStatus } from '../protocol/index.js';
import { StationError } from '../batch/station-error.js';

/**
 * The station's view of the virtual bench (demo only): QR cameras, wired devices, UART gateways, each
 * a source with a status and a reset. Polled while the station runs; a change is pushed as one event.
 */
export interface BenchSource {
  status(): FleetDeviceStatus[] | Promise<FleetDeviceStatus[]>;
  /** False when the device is not on this source. */
  resetDevice(devId: string): boolean | Promise<boolean>;
}

export interface BenchLink {
  status(): Promise<FleetDeviceStatus[]>;
  reset(devId: string): Promise<void>;
  watch(onChange: (devices: FleetDeviceStatus[]) => void, intervalMs?: number): () => void;
}

/** A fleet run elsewhere (`unbind fleet --status-port`), through its status port. */
export function httpBenchSource(statusUrl: string): BenchSource {
  return {
    async status() {
      const res = await fetch(`${statusUrl}/status`, { signal: AbortSignal.timeout(3000) });
      if (!res.ok) throw new StationError(502, 'BENCH_UNREACHABLE', `virtual bench answered ${res.status}`);
      const parsed = fleetStatusSchema.safeParse(await res.json());
      if (!parsed.success) throw new StationError(502, 'BENCH_BAD_ANSWER', 'virtual bench status did not match its contract');
      return parsed.data;
    },
    async resetDevice(devId) {
      const res = await fetch(`${statusUrl}/devices/${encodeURIComponent(devId)}/reset`, { method: 'POST', signal: AbortSignal.timeout(3000) });
      if (res.status === 404) return false;
      if (!res.ok) throw new StationError(502, 'BENCH_UNREACHABLE', `virtual bench answered ${res.status}`);
      return true;
    },
  };
}

export function createBenchLink(sources: BenchSource[]): BenchLink {
  async function status(): Promise<FleetDeviceStatus[]> {
    return (await Promise.all(sources.map((s) => s.status()))).flat();
  }
  return {
    status,
    async reset(devId) {
      for (const s of sources) if (await s.resetDevice(devId)) return;
      throw new StationError(404, 'DEVICE_UNKNOWN', `no virtual device ${devId}`);
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
          .catch(() => undefined) // a source may be restarting; the next poll tries again
          .finally(() => (busy = false));
      }, intervalMs);
      return () => clearInterval(timer);
    },
  };
}
