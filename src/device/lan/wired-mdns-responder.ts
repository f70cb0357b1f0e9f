import { Bonjour, type ServiceConfig } from 'bonjour-service';
import { MDNS_SERVICE_TYPE } from '../../protocol/index.js';
import { createBenchMulticastSocket, type BenchLan, type BenchMulticastRecord } from './wired-multicast-socket.js';

/**
 * The bench's mDNS responder: it answers and announces `_iot-unbind._tcp` (DESIGN §4.5) for every
 * wired device that advertises, each with its own host name and A record (its own IP), on the
 * multicast DNS of bonjour-service, bound to the bench LAN only.
 *
 * bonjour-service's Registry is not used to publish: unpublishing one service drops the PTR record
 * of every service of the type (its Server unregisters by record name), it announces A records of
 * the machine's non-loopback interfaces (on a loopback bench: the real LAN's address, not the
 * device's), and a query for the type is answered in one datagram with every device in it (past
 * 64 KB at a few hundred devices). This responder keeps one record set per device, announces on
 * changes with the cache-flush bit (RFC 6762 §10.2), says goodbye (TTL 0) on withdrawal, and answers
 * in datagrams of a few devices each.
 */
export interface MdnsAdvert {
  /** Instance label: `<instance>._iot-unbind._tcp.local`. */
  instance: string;
  /** Host label: `<host>.local`, whose A record is `address`. */
  host: string;
  address: string;
  port: number;
  txt: Record<string, string>;
}

export interface BenchMdnsResponder {
  /** Announces the device, or what changed in its advert (TXT, address, port). */
  publish(key: string, advert: MdnsAdvert): void;
  /** Goodbye: the device stops advertising. */
  withdraw(key: string): void;
  advertised(): string[];
  multicast: BenchMulticastRecord;
  close(): Promise<void>;
}

export interface MdnsResponderOptions {
  lan: BenchLan;
  port?: number;
  /** TTL of every record, s (default 120: a crashed device leaves the station's list within 2 minutes). */
  ttlSeconds?: number;
  onWarning?: (why: string) => void;
}

interface Record_ {
  name: string;
  type: 'PTR' | 'SRV' | 'TXT' | 'A';
  ttl: number;
  flush?: boolean;
  data: unknown;
}

interface MulticastDns {
  on(event: 'query', listener: (packet: { questions?: Array<{ name?: unknown; type?: unknown }>; answers?: unknown }, rinfo?: { address: string; port: number }) => void): void;
  on(event: 'warning' | 'error', listener: (err: Error) => void): void;
  once(event: 'ready', listener: () => void): void;
  once(event: 'error', listener: (err: Error) => void): void;
  removeListener(event: string, listener: (...args: never[]) => void): void;
  respond(r: { answers: Record_[]; additionals?: Record_[] }, cb?: (err: Error | null) => void): void;
}

const SERVICE = `_${MDNS_SERVICE_TYPE}._tcp.local`;
const SERVICES_META = '_services._dns-sd._udp.local';
/** Devices per datagram: ~330 bytes each keeps a packet far below mDNS's 9000-byte ceiling. */
const DEVICES_PER_PACKET = 12;
/** RFC 6762 §8.3: announce twice, a second apart. */
const REPEAT_ANNOUNCE_MS = 1000;
/** RFC 6762 §6: answers with shared records wait 20–120 ms, so many responders do not collide. */
const answerDelayMs = (): number => 20 + Math.random() * 100;

const label = (s: string): string => s.replace(/\./g, '-').slice(0, 63);
const lower = (s: string): string => s.toLowerCase().replace(/\.$/, '');

function recordsOf(a: MdnsAdvert, ttl: number): { ptr: Record_; srv: Record_; txt: Record_; addr: Record_ } {
  const fqdn = `${label(a.instance)}.${SERVICE}`;
  const host = `${label(a.host)}.local`;
  return {
    ptr: { name: SERVICE, type: 'PTR', ttl, data: fqdn },
    srv: { name: fqdn, type: 'SRV', ttl, flush: true, data: { port: a.port, target: host, priority: 0, weight: 0 } },
    txt: { name: fqdn, type: 'TXT', ttl, flush: true, data: Object.entries(a.txt).map(([k, v]) => `${k}=${v}`) },
    addr: { name: host, type: 'A', ttl, flush: true, data: a.address },
  };
}

export async function startMdnsResponder(opts: MdnsResponderOptions): Promise<BenchMdnsResponder> {
  const ttl = opts.ttlSeconds ?? 120;
  const warn = opts.onWarning ?? (() => undefined);
  const { socket, record } = createBenchMulticastSocket(opts.lan, 1024 * 1024);
  // A responder reads queries only: every response on the LAN (its own answers and announcements among
  // them, looped back) is dropped before multicast-dns decodes it, by the header's QR bit (RFC 1035 §4.1.1).
  const emitFromSocket = socket.emit.bind(socket) as (event: string | symbol, ...args: unknown[]) => boolean;
  (socket as { emit: typeof emitFromSocket }).emit = (event, ...args) => {
    const msg = args[0];
    if (event === 'message' && Buffer.isBuffer(msg) && msg.length > 2 && (msg[2]! & 0x80) !== 0) return true;
    return emitFromSocket(event, ...args);
  };
  const mdnsOptions = { interface: opts.lan.address, bind: '0.0.0.0', port: opts.port ?? 5353, loopback: true, socket };
  // bonjour-service passes these to multicast-dns; its typings list only a service's fields.
  const bonjour = new Bonjour(mdnsOptions as unknown as Partial<ServiceConfig>, (err: Error) => warn(`mDNS: ${err.message}`));
  const mdns = (bonjour as unknown as { server: { mdns: MulticastDns } }).server.mdns;
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error): void => {
      bonjour.destroy();
      reject(new Error(`mDNS responder on ${opts.lan.address}:${mdnsOptions.port}: ${err.message}`));
    };
    mdns.once('error', failed);
    mdns.once('ready', () => {
      mdns.removeListener('error', failed);
      resolve();
    });
  });
  mdns.on('error', (err) => warn(`mDNS socket: ${err.message}`));
  mdns.on('warning', (err) => warn(`mDNS: ${err.message}`));

  const adverts = new Map<string, MdnsAdvert>();
  const byName = new Map<string, string>(); // lower-case fqdn or host → key
  const timers = new Set<NodeJS.Timeout>();
  let closed = false;

  const later = (ms: number, f: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t);
      if (!closed) f();
    }, ms);
    timers.add(t);
  };

  /** Sends record groups (one group per device), a few devices per datagram. */
  const sendGroups = (groups: Record_[][]): void => {
    for (let i = 0; i < groups.length; i += DEVICES_PER_PACKET) {
      const answers = groups.slice(i, i + DEVICES_PER_PACKET).flat();
      mdns.respond({ answers }, (err) => {
        if (err) warn(`mDNS send failed: ${err.message}`);
      });
    }
  };

  /** Announcements of one turn of the event loop leave together. */
  let queued: Record_[][] = [];
  const send = (group: Record_[]): void => {
    if (queued.length === 0) {
      setImmediate(() => {
        const groups = queued;
        queued = [];
        if (!closed) sendGroups(groups);
      });
    }
    queued.push(group);
  };
  type Kind = 'ptr' | 'srv' | 'txt' | 'addr';
  const ALL: Kind[] = ['ptr', 'srv', 'txt', 'addr'];
  /**
   * Announces some of a device's records now and once more a second later (RFC 6762 §8.3). The
   * repeat reads the advert as it is then: repeating a stale TXT with the cache-flush bit would
   * undo a newer one.
   */
  const announce = (key: string, kinds: Kind[]): void => {
    const a = adverts.get(key);
    if (!a) return;
    const r = recordsOf(a, ttl);
    send(kinds.map((k) => r[k]));
    later(REPEAT_ANNOUNCE_MS, () => {
      const again = adverts.get(key);
      if (!again) return;
      const rr = recordsOf(again, ttl);
      send(kinds.map((k) => rr[k]));
    });
  };

  const index = (key: string, a: MdnsAdvert): void => {
    const r = recordsOf(a, ttl);
    byName.set(lower(r.srv.name), key);
    byName.set(lower(r.addr.name), key);
  };
  const unindex = (a: MdnsAdvert): void => {
    const r = recordsOf(a, ttl);
    byName.delete(lower(r.srv.name));
    byName.delete(lower(r.addr.name));
  };

  // Answers wait a moment (RFC 6762 §6); queries in the meantime are answered by the same datagrams.
  // Per querier (its address and port): the devices its question asks for, less those it named as
  // Known Answers (§7.1), also in the packets that follow a query with the TC bit (§7.2) before the
  // answer leaves.
  const wanted = new Map<string, Set<string>>();
  let answerTimer = false;
  const scheduleAnswer = (): void => {
    if (answerTimer) return;
    answerTimer = true;
    later(answerDelayMs(), () => {
      answerTimer = false;
      const keys = new Set<string>();
      for (const asked of wanted.values()) for (const k of asked) if (adverts.has(k)) keys.add(k);
      wanted.clear();
      sendGroups([...keys].map((k) => Object.values(recordsOf(adverts.get(k)!, ttl))));
    });
  };
  /** The devices a packet's Known Answers name: PTRs of the service with at least half their TTL left. */
  const knownIn = (answers: unknown): Set<string> => {
    const known = new Set<string>();
    if (!Array.isArray(answers)) return known;
    for (const a of answers as Array<{ name?: unknown; type?: unknown; ttl?: unknown; data?: unknown }>) {
      if (a?.type !== 'PTR' || typeof a.name !== 'string' || typeof a.data !== 'string' || typeof a.ttl !== 'number') continue;
      if (lower(a.name) !== lower(SERVICE) || a.ttl * 2 < ttl) continue;
      const key = byName.get(lower(a.data));
      if (key !== undefined) known.add(key);
    }
    return known;
  };
  mdns.on('query', (packet, rinfo) => {
    const from = rinfo ? `${rinfo.address}:${rinfo.port}` : '';
    const known = knownIn(packet.answers);
    // A Known-Answer packet that follows (no question): it only takes devices off what its querier asked.
    if (!packet.questions?.length) {
      const asked = wanted.get(from);
      for (const k of known) asked?.delete(k);
      return;
    }
    for (const q of packet.questions) {
      if (typeof q.name !== 'string') continue;
      const name = lower(q.name);
      let keys: string[];
      if (name === lower(SERVICE) && (q.type === 'PTR' || q.type === 'ANY')) keys = [...adverts.keys()];
      else if (name === lower(SERVICES_META) && (q.type === 'PTR' || q.type === 'ANY') && adverts.size > 0) {
        mdns.respond({ answers: [{ name: SERVICES_META, type: 'PTR', ttl, data: SERVICE }] });
        continue;
      } else {
        const key = byName.get(name);
        if (key === undefined) continue;
        keys = [key];
      }
      const asked = wanted.get(from) ?? new Set<string>();
      for (const k of keys) if (!known.has(k)) asked.add(k);
      if (asked.size === 0) continue;
      wanted.set(from, asked);
      scheduleAnswer();
    }
  });

  const withdraw = (key: string): void => {
    const advert = adverts.get(key);
    if (!advert) return;
    adverts.delete(key);
    unindex(advert);
    for (const asked of wanted.values()) asked.delete(key);
    if (!closed) send(Object.values(recordsOf(advert, 0)));
  };

  return {
    publish(key, advert) {
      if (closed) return;
      const before = adverts.get(key);
      if (before && (before.instance !== advert.instance || before.host !== advert.host)) withdraw(key);
      const was = adverts.get(key);
      adverts.set(key, { ...advert, txt: { ...advert.txt } });
      index(key, advert);
      if (!was) return announce(key, ALL);
      const [now, then] = [recordsOf(advert, ttl), recordsOf(was, ttl)];
      const changed = ALL.filter((k) => JSON.stringify(now[k]) !== JSON.stringify(then[k]));
      if (changed.length) announce(key, changed);
    },
    withdraw,
    advertised: () => [...adverts.keys()],
    multicast: record,
    async close() {
      if (closed) return;
      // Goodbye for everyone first, so the station's list empties at once rather than on expiry.
      const goodbyes = [...adverts.values()].map((a) => Object.values(recordsOf(a, 0)));
      adverts.clear();
      byName.clear();
      if (goodbyes.length) {
        sendGroups(goodbyes);
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      closed = true;
      for (const t of timers) clearTimeout(t);
      await new Promise<void>((resolve) => bonjour.destroy(() => resolve()));
    },
  };
}
