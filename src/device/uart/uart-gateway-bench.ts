import { z } from 'zod';
import type { FleetDeviceStatus } from '../../protocol/virtual-bench.js';
import { deviceIdentitySchema, type DeviceIdentity } from '../core/device-identity.js';
import { assignFaults, FaultSpecError, type FaultSpec } from '../bench/fault-spec.js';
import { startUartGateway, type UartGateway } from './uart-gateway.js';

export interface UartBenchOptions {
  devices: DeviceIdentity[];
  regionUrls: Record<string, string>;
  ptyDir: string;
  /** The fleet's fault spec (bench/fault-spec.ts): dhcp, unreachable, notreset and latency apply; netchange and powerloss are refused. */
  faults?: FaultSpec;
  /** Devices whose UART answers nothing (a dead transmit line). */
  silent?: readonly string[];
  requestTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface UartBench {
  /** In device order; gateway N's station end is `<ptyDir>/gw-N-station`. */
  gateways: UartGateway[];
  status(): FleetDeviceStatus[];
  gateway(devId: string): UartGateway | undefined;
  resetDevice(devId: string): boolean;
  resetAll(): number;
  idle(): Promise<void>;
  close(): Promise<void>;
}

const regionUrlsSchema = z.record(z.string(), z.url({ protocol: /^https?$/ }));

/**
 * A bench of UART gateways, one pty pair each, named gw-1 … gw-N in device order, for `unbind fleet`
 * and tests. If one gateway cannot start, those already started are closed before the error.
 */
export async function startUartBench(options: UartBenchOptions): Promise<UartBench> {
  const identities = z.array(deviceIdentitySchema).parse(options.devices);
  const regionUrls = regionUrlsSchema.parse(options.regionUrls);
  const ids = identities.map((d) => d.devId);
  const duplicate = ids.find((id, i) => ids.indexOf(id) !== i);
  if (duplicate) throw new Error(`device ${duplicate} is on the bench twice`);
  for (const sel of options.faults?.selections ?? []) {
    if (sel.kind === 'netchange' || sel.kind === 'powerloss') throw new FaultSpecError(`fault "${sel.kind}" is not modelled by UART gateways (their uplink is wired)`);
  }
  const assigned = assignFaults(options.faults ?? { selections: [] }, ids);
  const silent = new Set(options.silent ?? []);
  for (const id of silent) if (!ids.includes(id)) throw new Error(`silent device ${id} is not on the bench`);

  const gateways: UartGateway[] = [];
  try {
    for (const [i, identity] of identities.entries()) {
      const a = assigned.get(identity.devId);
      const faults = { ...a?.faults, ...(silent.has(identity.devId) ? { silent: true } : {}) };
      gateways.push(
        await startUartGateway({
          identity,
          regionUrls,
          ptyDir: options.ptyDir,
          name: `gw-${i + 1}`,
          initialState: a?.notReset ? 'operating' : 'waiting',
          faults: { dhcp: faults.dhcp ?? false, unreachable: faults.unreachable ?? false, latencyMs: faults.latencyMs ?? 0, silent: faults.silent ?? false },
          ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
          ...(options.log ? { log: options.log } : {}),
        }),
      );
    }
  } catch (err) {
    await Promise.allSettled(gateways.map((g) => g.close()));
    throw err;
  }
  const byId = new Map(gateways.map((g) => [g.devId, g]));
  return {
    gateways,
    status: () => gateways.map((g) => g.status()),
    gateway: (devId) => byId.get(devId),
    resetDevice(devId) {
      const g = byId.get(devId);
      g?.reset();
      return g !== undefined;
    },
    resetAll() {
      for (const g of gateways) g.reset();
      return gateways.length;
    },
    idle: async () => {
      await Promise.all(gateways.map((g) => g.idle()));
    },
    close: async () => {
      await Promise.allSettled(gateways.map((g) => g.close()));
    },
  };
}
