import { randomUUID } from 'node:crypto';
import { SADP_MULTICAST_ADDRESS, SADP_PORT, sadpProbeXml } from '../protocol/index.js';
import type { LanInterface } from './lan-interface.js';
import { createGuardedUdpSocket, type MulticastRecord } from './multicast-socket.js';
import { parseSadpDatagram, type SadpFields } from './sadp-answer.js';

/**
 * The station's SADP socket (DESIGN §4.7): joined to 239.255.255.250 on the LAN interface only,
 * where devices multicast their `<ProbeMatch>` answers. It sends `<Probe>`s and hands every answer,
 * good or bad, to the caller; it never throws on what it receives.
 */
export interface SadpListenerOptions {
  lan: LanInterface;
  /** UDP port of the SADP group (default 37020; tests use another to run side by side). */
  port?: number;
  onMatch(fields: SadpFields, from: string, at: number): void;
  onRejected(from: string, why: string, at: number): void;
  /** A socket error after start (a failed send is also reported to probe()'s caller). */
  onError?(err: Error): void;
}

export interface SadpListener {
  /** Multicasts a `<Probe>` with a fresh Uuid; resolves with the Uuid once sent. */
  probe(): Promise<string>;
  /** Where the socket multicasts: for tests and diagnostics. */
  multicast: MulticastRecord;
  /** Datagrams refused so far (over-size, not XML, not a valid ProbeMatch): each dropped after onRejected. */
  readonly rejected: number;
  close(): Promise<void>;
}

/** Answers of a few hundred devices arrive in a burst: room for them beyond the default ~200 KB. */
const RECV_BUFFER_BYTES = 2 * 1024 * 1024;

export async function openSadpListener(opts: SadpListenerOptions): Promise<SadpListener> {
  const port = opts.port ?? SADP_PORT;
  const { socket, record } = createGuardedUdpSocket(opts.lan, { recvBufferSize: RECV_BUFFER_BYTES });
  let rejected = 0;
  socket.on('message', (msg, rinfo) => {
    const from = `${rinfo.address}:${rinfo.port}`;
    const at = Date.now();
    // The bytes, not their text: an over-size datagram is refused before it is even decoded.
    const answer = parseSadpDatagram(msg);
    if (answer.kind === 'match') opts.onMatch(answer.fields, from, at);
    else if (answer.kind === 'rejected') {
      rejected++;
      opts.onRejected(from, answer.why, at);
    }
  });
  await new Promise<void>((resolve, reject) => {
    socket.once('error', reject);
    socket.bind(port, '0.0.0.0', () => {
      socket.off('error', reject);
      resolve();
    });
  });
  socket.on('error', (err) => opts.onError?.(err));
  try {
    socket.setMulticastInterface(opts.lan.address);
    socket.addMembership(SADP_MULTICAST_ADDRESS, opts.lan.address);
    socket.setMulticastLoopback(true);
    socket.setMulticastTTL(1); // SADP is link-local: never routed beyond the LAN
  } catch (err) {
    socket.close();
    throw err;
  }
  let closed = false;
  return {
    multicast: record,
    get rejected() {
      return rejected;
    },
    probe: () =>
      new Promise<string>((resolve, reject) => {
        const uuid = randomUUID().toUpperCase();
        if (closed) return reject(new Error('the SADP listener is closed'));
        socket.send(sadpProbeXml(uuid), port, SADP_MULTICAST_ADDRESS, (err) => (err ? reject(err) : resolve(uuid)));
      }),
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        socket.close(() => resolve());
      }),
  };
}
