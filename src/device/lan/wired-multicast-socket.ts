import { createSocket, type Socket } from 'node:dgram';
import { networkInterfaces } from 'node:os';

/**
 * The bench's multicast sockets (mDNS responder, SADP responder) can multicast only on the bench's
 * LAN interface, loopback by default: joining a group on, or sending multicast out of, any other
 * interface throws (DESIGN §11: never multicast out of the machine's real interface). The same
 * guard as the station's (src/wired/multicast-socket.ts); firmware cannot import the station.
 */
export interface BenchLan {
  name: string;
  address: string;
}

export interface BenchMulticastRecord {
  readonly allowed: string;
  multicastInterface: string | null;
  memberships: Array<{ group: string; iface: string }>;
  refused: string[];
}

export const DEFAULT_BENCH_LAN = '127.0.0.1';

/** An interface name or IPv4 address of this machine → the interface; throws naming the choices. */
export function resolveBenchLan(setting: string = DEFAULT_BENCH_LAN): BenchLan {
  const found: BenchLan[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4') found.push({ name, address: a.address });
  }
  const hit = found.find((i) => i.name === setting) ?? found.find((i) => i.address === setting);
  if (!hit) throw new Error(`LAN interface "${setting}" is not an IPv4 interface of this machine; choices: ${found.map((i) => `${i.name} (${i.address})`).join(', ')}`);
  return hit;
}

const isMulticast = (address: string): boolean => {
  const first = Number(address.split('.')[0]);
  return first >= 224 && first <= 239;
};

export function createBenchMulticastSocket(lan: BenchLan, recvBufferSize?: number): { socket: Socket; record: BenchMulticastRecord } {
  const socket = createSocket({ type: 'udp4', reuseAddr: true, ...(recvBufferSize ? { recvBufferSize } : {}) });
  const record: BenchMulticastRecord = { allowed: lan.address, multicastInterface: null, memberships: [], refused: [] };
  const refuse = (what: string): never => {
    record.refused.push(what);
    throw new Error(`${what}: the bench multicasts only on ${lan.name} (${lan.address})`);
  };
  const addMembership = socket.addMembership.bind(socket);
  socket.addMembership = (group: string, iface?: string): void => {
    if (iface !== lan.address) refuse(`join ${group} on ${iface ?? 'the default interface'}`);
    addMembership(group, iface);
    record.memberships.push({ group, iface: iface! });
  };
  const setMulticastInterface = socket.setMulticastInterface.bind(socket);
  socket.setMulticastInterface = (iface: string): void => {
    if (iface !== lan.address) refuse(`multicast interface ${iface}`);
    setMulticastInterface(iface);
    record.multicastInterface = iface;
  };
  const send = socket.send.bind(socket) as (...args: unknown[]) => void;
  (socket as { send: (...args: unknown[]) => void }).send = (...args: unknown[]): void => {
    const to = args.slice(1).find((a): a is string => typeof a === 'string');
    if (to && isMulticast(to) && record.multicastInterface !== lan.address) {
      const err = new Error(`send to ${to} before the multicast interface is set to ${lan.address}`);
      record.refused.push(err.message);
      const cb = args.at(-1);
      if (typeof cb === 'function') return void process.nextTick(cb, err);
      throw err;
    }
    send(...args);
  };
  return { socket, record };
}
