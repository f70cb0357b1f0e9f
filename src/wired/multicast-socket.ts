import { createSocket, type Socket } from 'node:dgram';
import { isMulticastAddress, type LanInterface } from './lan-interface.js';

/**
 * A UDP socket that can multicast only on the configured LAN interface. mDNS and SADP run on it,
 * and whatever library drives it (multicast-dns inside bonjour-service included) cannot join a group
 * on, or send multicast out of, another interface: such a call throws. The record is what a test
 * (or a support engineer) reads to see where the socket multicasts.
 */
export interface MulticastRecord {
  /** The only interface address the socket may multicast on. */
  readonly allowed: string;
  /** What the socket's multicast interface was set to (null: not yet set, so no multicast is sent). */
  multicastInterface: string | null;
  memberships: Array<{ group: string; iface: string }>;
  /** Calls refused because they named another interface, or sent multicast before the interface was set. */
  refused: string[];
}

export interface GuardedSocket {
  socket: Socket;
  record: MulticastRecord;
}

/** The destination of a `send` call: the one string argument after the message. */
function destinationOf(args: unknown[]): string | undefined {
  return args.slice(1).find((a): a is string => typeof a === 'string');
}

export function createGuardedUdpSocket(lan: LanInterface, opts: { recvBufferSize?: number } = {}): GuardedSocket {
  const socket = createSocket({ type: 'udp4', reuseAddr: true, ...(opts.recvBufferSize ? { recvBufferSize: opts.recvBufferSize } : {}) });
  const record: MulticastRecord = { allowed: lan.address, multicastInterface: null, memberships: [], refused: [] };
  const refuse = (what: string): never => {
    record.refused.push(what);
    throw new Error(`${what}: this socket may multicast only on ${lan.name} (${lan.address})`);
  };

  const addMembership = socket.addMembership.bind(socket);
  socket.addMembership = (group: string, iface?: string): void => {
    // Without an interface the kernel picks the default route's: the real LAN.
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
    const to = destinationOf(args);
    if (to && isMulticastAddress(to) && record.multicastInterface !== lan.address) {
      const cb = args.at(-1);
      const err = new Error(`send to ${to} before the multicast interface is set to ${lan.address}`);
      record.refused.push(err.message);
      if (typeof cb === 'function') return void process.nextTick(cb, err);
      throw err;
    }
    send(...args);
  };
  return { socket, record };
}
