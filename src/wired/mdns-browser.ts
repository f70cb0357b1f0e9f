import { Bonjour, type ServiceConfig } from 'bonjour-service';
import { MDNS_SERVICE_TYPE } from '../protocol/index.js';
import type { LanInterface } from './lan-interface.js';
import { MdnsRecordCache, type MdnsInstance } from './mdns-record-cache.js';
import { createGuardedUdpSocket, type MulticastRecord } from './multicast-socket.js';

/**
 * Browses `_iot-unbind._tcp` (DESIGN §4.5) with bonjour-service's multicast DNS on one interface.
 *
 * bonjour-service's own Browser is not used for the live list: it ignores a changed A record (a
 * device that moved to another IP would keep its old address), never expires what it learnt (its
 * instances live for the PTR's TTL of 8 hours with nobody calling expire), and cannot tell a
 * malformed TXT from a good one. So the answers go into an RFC 6762 cache (mdns-record-cache.ts).
 */
export const MDNS_PORT = 5353;

export interface MdnsBrowserOptions {
  lan: LanInterface;
  /** UDP port of mDNS (default 5353; tests use another to run side by side). */
  port?: number;
  /** Called (coalesced) when the cached records change: read instances() then. */
  onChange(): void;
  /** Something went wrong that does not stop the browser: a bad packet, a failed send. */
  onWarning(why: string): void;
}

export interface MdnsBrowser {
  instances(): MdnsInstance[];
  /** When an instance (by fqdn) was last heard from. */
  lastHeard(fqdn: string): number | undefined;
  /** Asks the LAN for every instance now. */
  query(): void;
  multicast: MulticastRecord;
  close(): Promise<void>;
}

/** The options multicast-dns reads through bonjour-service (its typings only list ServiceConfig's). */
interface MulticastDnsOptions {
  interface: string;
  bind: string;
  port: number;
  loopback: boolean;
  socket: unknown;
}

/** The part of multicast-dns this browser uses (bonjour-service types it `any`). */
export interface MulticastDns {
  on(event: 'response', listener: (packet: { answers?: unknown[]; additionals?: unknown[] }, rinfo: { address: string; port: number }) => void): void;
  on(event: 'warning' | 'error', listener: (err: Error) => void): void;
  once(event: 'ready', listener: () => void): void;
  once(event: 'error', listener: (err: Error) => void): void;
  removeListener(event: string, listener: (...args: never[]) => void): void;
  query(q: { questions: Array<{ name: string; type: string }> }, cb?: (err: Error | null) => void): void;
  respond(r: { answers: unknown[]; additionals?: unknown[] }, cb?: (err: Error | null) => void): void;
}

/** A Bonjour on a socket that multicasts only on `lan`, bound and ready. */
export async function openBonjour(lan: LanInterface, port: number, onWarning: (why: string) => void): Promise<{ bonjour: Bonjour; mdns: MulticastDns; multicast: MulticastRecord }> {
  const { socket, record } = createGuardedUdpSocket(lan, { recvBufferSize: 2 * 1024 * 1024 });
  const options: MulticastDnsOptions = { interface: lan.address, bind: '0.0.0.0', port, loopback: true, socket };
  const bonjour = new Bonjour(options as unknown as Partial<ServiceConfig>, (err: Error) => onWarning(`mDNS send failed: ${err.message}`));
  const mdns = (bonjour as unknown as { server: { mdns: MulticastDns } }).server.mdns;
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error): void => {
      bonjour.destroy();
      reject(new Error(`mDNS on ${lan.address}:${port}: ${err.message}`));
    };
    mdns.once('error', failed);
    mdns.once('ready', () => {
      mdns.removeListener('error', failed);
      resolve();
    });
  });
  mdns.on('error', (err) => onWarning(`mDNS socket: ${err.message}`));
  mdns.on('warning', (err) => onWarning(`mDNS: ${err.message}`));
  return { bonjour, mdns, multicast: record };
}

/** RFC 6762 §5.2: query again as the first answers' TTL nears its end (at 80 %). */
const REFRESH_AT = 0.8;
const MAINTENANCE_MS = 1000;
/**
 * RFC 6762 §5.2 continuous querying: at once, after 1 s, then each interval twice the last (3 s, 7 s,
 * 15 s, …) up to one hour. Stopping after the third query left a device whose answers were lost three
 * times unlisted until a TTL refresh (bench:sweep with 5 % of mDNS datagrams dropped found one).
 */
const FIRST_QUERY_INTERVAL_MS = 1000;
const MAX_QUERY_INTERVAL_MS = 3600_000;

export async function startMdnsBrowser(opts: MdnsBrowserOptions): Promise<MdnsBrowser> {
  const port = opts.port ?? MDNS_PORT;
  const serviceName = `_${MDNS_SERVICE_TYPE}._tcp.local`;
  const cache = new MdnsRecordCache(serviceName);
  const { bonjour, mdns, multicast } = await openBonjour(opts.lan, port, opts.onWarning);

  let notifyQueued = false;
  const notify = (): void => {
    if (notifyQueued) return;
    notifyQueued = true;
    // Answers come in bursts of packets: one change notice per burst.
    setImmediate(() => {
      notifyQueued = false;
      opts.onChange();
    });
  };
  mdns.on('response', (packet, rinfo) => {
    const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])];
    if (cache.ingest(records, rinfo.address, Date.now())) notify();
  });

  let lastQueryAt = 0;
  const query = (): void => {
    lastQueryAt = Date.now();
    mdns.query({ questions: [{ name: serviceName, type: 'PTR' }] }, (err) => {
      if (err) opts.onWarning(`mDNS query failed: ${err.message}`);
    });
  };
  const timers = new Set<NodeJS.Timeout>();
  const queryAfter = (ms: number): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (closed) return;
      query();
      queryAfter(Math.min(ms * 2, MAX_QUERY_INTERVAL_MS));
    }, ms);
    timers.add(t);
  };
  queryAfter(FIRST_QUERY_INTERVAL_MS);
  const maintenance = setInterval(() => {
    const now = Date.now();
    if (cache.expire(now)) notify();
    const stale = cache.instances().some((i) => now - i.ptrReceivedAt >= i.ptrTtlMs * REFRESH_AT && now - lastQueryAt >= i.ptrTtlMs * (1 - REFRESH_AT) / 4);
    if (stale) query();
  }, MAINTENANCE_MS);
  query();

  let closed = false;
  return {
    instances: () => cache.instances(),
    lastHeard: (fqdn) => cache.lastHeard(fqdn),
    query,
    multicast,
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        for (const t of timers) clearTimeout(t);
        clearInterval(maintenance);
        bonjour.destroy(() => resolve());
      }),
  };
}
