import { Bonjour, type ServiceConfig } from 'bonjour-service';
import { MDNS_SERVICE_TYPE } from '../protocol/index.js';
import type { LanInterface } from './lan-interface.js';
import { MdnsRecordCache, type MdnsInstance } from './mdns-record-cache.js';
import { FIRST_QUERY_INTERVAL_MS, MdnsQuerySchedule } from './mdns-query-schedule.js';
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
  /** The timer of the query schedule (setTimeout by default): a test drives it. */
  setTimer?: (fn: () => void, ms: number) => () => void;
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
  query(q: { questions: Array<{ name: string; type: string }>; answers?: unknown[]; flags?: number }, cb?: (err: Error | null) => void): void;
  respond(r: { answers: unknown[]; additionals?: unknown[] }, cb?: (err: Error | null) => void): void;
}

/** A Bonjour on a socket that multicasts only on `lan`, bound and ready. */
export async function openBonjour(
  lan: LanInterface,
  port: number,
  onWarning: (why: string) => void,
  opts: { responsesOnly?: boolean } = {},
): Promise<{ bonjour: Bonjour; mdns: MulticastDns; multicast: MulticastRecord }> {
  const { socket, record } = createGuardedUdpSocket(lan, { recvBufferSize: 2 * 1024 * 1024 });
  if (opts.responsesOnly) {
    // A browser reads responses only: queries on the LAN (its own, with their Known Answers, looped back)
    // are dropped before multicast-dns decodes them, by the header's QR bit (RFC 1035 §4.1.1).
    const emitFromSocket = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
    (socket as { emit: typeof emitFromSocket }).emit = (event, ...args) => {
      const msg = args[0];
      if (event === 'message' && Buffer.isBuffer(msg) && msg.length > 2 && (msg[2]! & 0x80) === 0) return true;
      return emitFromSocket(event, ...args);
    };
  }
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
/** RFC 6762 §17: a packet is at most 9000 bytes with its IPv4 (20) and UDP (8) headers. */
const MAX_PACKET_BYTES = 9000 - 28;
/** The TC bit of a query (dns-packet's TRUNCATED_RESPONSE): more Known-Answer packets follow (§7.2). */
const TRUNCATED = 1 << 9;
/** Bytes of a name as dns-packet writes it (no compression): a length byte per label and the root. */
const nameBytes = (name: string): number => Buffer.byteLength(name) + 2;

/**
 * A query for `serviceName` with its Known Answers (RFC 6762 §7.1), in as many packets as they need
 * (§7.2): the question and the first answers in the first, the TC bit on every packet but the last.
 */
export function knownAnswerQuery(serviceName: string, known: ReadonlyArray<{ name: string; type: 'PTR'; ttl: number; data: string }>): Array<{ questions: Array<{ name: string; type: string }>; answers: unknown[]; flags: number }> {
  const packets: Array<{ questions: Array<{ name: string; type: string }>; answers: unknown[]; flags: number }> = [];
  let current = { questions: [{ name: serviceName, type: 'PTR' }], answers: [] as unknown[], flags: 0 };
  let size = 12 + nameBytes(serviceName) + 4;
  for (const k of known) {
    const bytes = nameBytes(k.name) + 10 + nameBytes(k.data);
    if (size + bytes > MAX_PACKET_BYTES && current.answers.length > 0) {
      packets.push({ ...current, flags: TRUNCATED });
      current = { questions: [], answers: [], flags: 0 };
      size = 12;
    }
    current.answers.push(k);
    size += bytes;
  }
  packets.push(current);
  return packets;
}

const realTimer = (fn: () => void, ms: number): (() => void) => {
  const t = setTimeout(fn, ms);
  return () => clearTimeout(t);
};

export async function startMdnsBrowser(opts: MdnsBrowserOptions): Promise<MdnsBrowser> {
  const port = opts.port ?? MDNS_PORT;
  const serviceName = `_${MDNS_SERVICE_TYPE}._tcp.local`;
  const cache = new MdnsRecordCache(serviceName);
  const { bonjour, mdns, multicast } = await openBonjour(opts.lan, port, opts.onWarning, { responsesOnly: true });
  const setTimer = opts.setTimer ?? realTimer;

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

  let lastQueryAt = 0;
  const query = (): void => {
    const now = Date.now();
    lastQueryAt = now;
    // Known-Answer suppression: the devices already heard (with half their TTL left) do not answer again.
    for (const packet of knownAnswerQuery(serviceName, cache.knownAnswers(now))) {
      mdns.query(packet, (err) => {
        if (err) opts.onWarning(`mDNS query failed: ${err.message}`);
      });
    }
  };

  // Continuous querying (mdns-query-schedule.ts): the schedule's queries, and a quick repeat when the
  // answers to a repeated one still bring new instances.
  const schedule = new MdnsQuerySchedule();
  let closed = false;
  let asked = 0;
  let cancelNext: (() => void) | null = null;
  let nextAt = 0;
  let quickAfter = -1; // the query a quick repeat was already planned after
  const plan = (ms: number): void => {
    cancelNext?.();
    nextAt = Date.now() + ms;
    cancelNext = setTimer(() => {
      cancelNext = null;
      if (closed) return;
      asked++;
      query();
      plan(schedule.next());
    }, ms);
  };
  const newInstancesHeard = (): void => {
    // The first query's answers are the first list; news after a repeat says answers were lost (or devices came).
    if (asked < 2 || quickAfter === asked || closed) return;
    const at = lastQueryAt + FIRST_QUERY_INTERVAL_MS;
    if (at >= nextAt || !schedule.quick()) return;
    quickAfter = asked;
    plan(Math.max(0, at - Date.now()));
  };

  mdns.on('response', (packet, rinfo) => {
    const records = [...(packet.answers ?? []), ...(packet.additionals ?? [])];
    const before = cache.ptrCount;
    if (cache.ingest(records, rinfo.address, Date.now())) notify();
    if (cache.ptrCount > before) newInstancesHeard();
  });

  const maintenance = setInterval(() => {
    const now = Date.now();
    if (cache.expire(now)) notify();
    const stale = cache.instances().some((i) => now - i.ptrReceivedAt >= i.ptrTtlMs * REFRESH_AT && now - lastQueryAt >= i.ptrTtlMs * (1 - REFRESH_AT) / 4);
    if (stale) query();
  }, MAINTENANCE_MS);
  asked = 1;
  query();
  plan(schedule.next());

  return {
    instances: () => cache.instances(),
    lastHeard: (fqdn) => cache.lastHeard(fqdn),
    query,
    multicast,
    close: () =>
      new Promise<void>((resolve) => {
        if (closed) return resolve();
        closed = true;
        cancelNext?.();
        clearInterval(maintenance);
        bonjour.destroy(() => resolve());
      }),
  };
}
