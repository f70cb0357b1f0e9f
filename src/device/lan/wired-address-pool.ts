/**
 * Addresses of the wired bench's devices: each device serves its local API on its own loopback
 * address (Linux routes all of 127.0.0.0/8 to lo, so 127.77.0.1, 127.77.0.2, … bind without any
 * setup), as a device on a real bench LAN has its own IP. Addresses are never handed out twice in
 * a bench's life: a device that changes IP must not land on an address the station still knows.
 */
export interface AddressPool {
  next(): string;
}

export const DEFAULT_ADDRESS_BASE = '127.77.0.1';

function toNumber(ip: string): number {
  const parts = ip.split('.').map(Number);
  if (parts.length !== 4 || parts.some((p) => !Number.isInteger(p) || p < 0 || p > 255)) throw new Error(`"${ip}" is not an IPv4 address`);
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

const toIp = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

/** Addresses from `base` upward in 127.0.0.0/8, skipping .0 and .255 (network and broadcast look-alikes). */
export function createAddressPool(base: string = DEFAULT_ADDRESS_BASE): AddressPool {
  let n = toNumber(base);
  if (n >>> 24 !== 127) throw new Error(`bench addresses must be loopback (127.x.y.z), got ${base}`);
  return {
    next() {
      while ((n & 255) === 0 || (n & 255) === 255) n++;
      if (n >>> 24 !== 127) throw new Error('the bench ran out of loopback addresses');
      return toIp(n++);
    },
  };
}
