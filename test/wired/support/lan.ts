import { readFileSync } from 'node:fs';

/**
 * Test files run side by side in separate processes; each one's mDNS and SADP traffic goes to its
 * own UDP ports on loopback, so one file's bench is never another file's sweep. Real multicast DNS
 * and SADP, on loopback only.
 */
export const LAN_PORTS = {
  lanSweep: { mdns: 25361, sadp: 27021 },
  wiredUnbind: { mdns: 25362, sadp: 27022 },
  sadpSweep: { mdns: 25363, sadp: 27023 },
  wiredBench: { mdns: 25364, sadp: 27024 },
  wiredFleetCommand: { mdns: 25365, sadp: 27025 },
  localUnbind: { mdns: 25366, sadp: 27026 },
} as const;

/** Polls until the condition holds; fails with the message after the timeout. */
export async function waitFor<T>(what: string, check: () => T | undefined | null | false, timeoutMs = 5000, everyMs = 20): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const v = check();
    if (v) return v;
    if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** Multicast groups joined per interface, from the kernel (/proc/net/igmp): the truth about memberships. */
export function igmpGroupsByInterface(): Map<string, Set<string>> {
  const out = new Map<string, Set<string>>();
  let device = '';
  for (const line of readFileSync('/proc/net/igmp', 'utf8').split('\n').slice(1)) {
    const head = /^\d+\s+(\S+)\s*:/.exec(line);
    if (head) {
      device = head[1]!;
      out.set(device, out.get(device) ?? new Set());
      continue;
    }
    const group = /^\s+([0-9A-F]{8})\s/.exec(line);
    if (group && device) {
      // Little-endian hex: FB0000E0 is 224.0.0.251.
      const hex = group[1]!;
      const ip = [6, 4, 2, 0].map((i) => parseInt(hex.slice(i, i + 2), 16)).join('.');
      out.get(device)!.add(ip);
    }
  }
  return out;
}
