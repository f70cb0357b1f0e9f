import type { FleetDeviceStatus } from '../protocol/index.js';
import { StationError } from '../protocol/station-api/refusals.js';

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
