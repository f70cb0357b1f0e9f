import { networkInterfaces } from 'node:os';

/**
 * The LAN the station sweeps is a setting: an interface name (`lo`, `eth1`) or one of its IPv4
 * addresses. The default is loopback, so the demo and the tests never multicast out of the
 * machine's real interface (DESIGN §11).
 */
export const DEFAULT_LAN_INTERFACE = '127.0.0.1';

export interface LanInterface {
  /** The interface's name as the OS knows it (`lo`). */
  name: string;
  /** The IPv4 address multicast is sent from and joined on. */
  address: string;
  loopback: boolean;
}

export class LanInterfaceError extends Error {
  override name = 'LanInterfaceError';
}

/** Resolves the setting to a local IPv4 interface; throws LanInterfaceError naming the choices. */
export function resolveLanInterface(setting: string = DEFAULT_LAN_INTERFACE): LanInterface {
  const wanted = setting.trim();
  const found: LanInterface[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    for (const a of addrs ?? []) {
      if (a.family !== 'IPv4') continue;
      found.push({ name, address: a.address, loopback: a.internal });
    }
  }
  const byName = found.find((i) => i.name === wanted);
  if (byName) return byName;
  const byAddress = found.find((i) => i.address === wanted);
  if (byAddress) return byAddress;
  const choices = found.map((i) => `${i.name} (${i.address})`).join(', ') || 'none';
  throw new LanInterfaceError(`LAN interface "${setting}" is not an IPv4 interface of this machine; choices: ${choices}`);
}

/** 224.0.0.0/4: a destination that would leave through the multicast interface. */
export function isMulticastAddress(address: string): boolean {
  const first = Number(address.split('.')[0]);
  return Number.isInteger(first) && first >= 224 && first <= 239;
}
