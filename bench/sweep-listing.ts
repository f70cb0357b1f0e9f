/**
 * The listing phase's references for bench:sweep (issue 13), kept apart from bench/sweep.ts's unbind phase:
 *   - a plain bonjour-service browse of the same devices, on the same port and interface (loopback), in
 *     the same run: the floor a station sweep is held against;
 *   - mDNS packet loss the bench injects: every datagram sent from a socket bound to the mDNS port (the
 *     virtual responders' answers and announcements, the station's queries) is dropped with probability
 *     `rate`, deterministically (LCG), before it reaches the kernel. Nothing leaves loopback: only
 *     sends are suppressed, none are redirected.
 */
import { Socket } from 'node:dgram';
import { Bonjour, type ServiceConfig } from 'bonjour-service';
import { MDNS_SERVICE_TYPE } from '../src/protocol/index.js';

/** Time (ms) until a plain bonjour-service browse on `port` has seen `count` distinct instances; NaN if not within timeoutMs. */
export async function plainBrowse(port: number, count: number, timeoutMs: number): Promise<number> {
  const t0 = performance.now();
  const bonjour = new Bonjour({ interface: '127.0.0.1', port, bind: '0.0.0.0', loopback: true, multicast: true } as unknown as Partial<ServiceConfig>);
  const seen = new Set<string>();
  try {
    return await new Promise<number>((resolve) => {
      const timer = setTimeout(() => resolve(Number.NaN), timeoutMs);
      const browser = bonjour.find({ type: MDNS_SERVICE_TYPE, protocol: 'tcp' }, (service) => {
        seen.add(service.fqdn ?? service.name);
        if (seen.size === count) {
          clearTimeout(timer);
          browser.stop();
          resolve(performance.now() - t0);
        }
      });
    });
  } finally {
    await new Promise<void>((done) => bonjour.destroy(() => done()));
  }
}

export interface MdnsLoss {
  sent: number;
  dropped: number;
  /** Puts dgram's send back as it was. */
  remove(): void;
}

/**
 * From now until remove(): each send of a UDP socket bound to `port` is dropped with probability `rate`.
 * Install it before the sockets are created (the guarded sockets bind `send` when they are made).
 */
export function injectMdnsLoss(port: number, rate: number, seed = 1): MdnsLoss {
  const original = Socket.prototype.send;
  let state = seed >>> 0;
  const next = (): number => ((state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 2 ** 32);
  const loss: MdnsLoss = {
    sent: 0,
    dropped: 0,
    remove: () => {
      Socket.prototype.send = original;
    },
  };
  Socket.prototype.send = function (this: Socket, ...args: unknown[]): void {
    let bound = -1;
    try {
      bound = this.address().port;
    } catch {
      // not bound yet: not an mDNS socket of ours
    }
    if (bound === port) {
      loss.sent++;
      if (next() < rate) {
        loss.dropped++;
        const cb = args.at(-1);
        // UDP loss is silent: the sender is told the datagram left.
        if (typeof cb === 'function') process.nextTick(cb as (err: Error | null, bytes: number) => void, null, 0);
        return;
      }
    }
    (original as (...a: unknown[]) => void).apply(this, args);
  } as typeof Socket.prototype.send;
  return loss;
}
