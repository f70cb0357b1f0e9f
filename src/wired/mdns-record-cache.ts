/**
 * A DNS-SD cache (RFC 6762 §10, RFC 6763) for one service type: the PTR, SRV, TXT and A records
 * heard on the LAN, each kept until its TTL runs out, dropped at once on a goodbye (TTL 0), and
 * replaced when a unique record arrives with the cache-flush bit (a device that changed its address
 * announces the new A record that way). Pure: the caller passes the clock.
 */
export type CachedType = 'PTR' | 'SRV' | 'TXT' | 'A';

interface Cached {
  name: string;
  type: CachedType;
  data: string | { port: number; target: string } | Uint8Array[];
  key: string;
  receivedAt: number;
  expiresAt: number;
  /** Who sent it: the fallback address of a host that announces no A record. */
  from: string;
}

export interface MdnsInstance {
  /** `<instance>._iot-unbind._tcp.local` */
  fqdn: string;
  instance: string;
  host: string;
  port: number;
  txt: Uint8Array[];
  /** The host's IPv4 addresses from its A records; empty when it announced none. */
  addresses: string[];
  /** The sender of the newest SRV record, for hosts without A records. */
  from: string;
  lastSeen: number;
  expiresAt: number;
  /** When the PTR record was last refreshed and its TTL, to re-query before it expires. */
  ptrReceivedAt: number;
  ptrTtlMs: number;
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;
const lower = (s: string): string => s.toLowerCase().replace(/\.$/, '');

/**
 * A TXT record's strings as one key: each as its length and its bytes (latin1, one character per byte,
 * read in place): every announcement of a batch's devices carries one, and a hex copy of each string
 * was most of the cache's time.
 */
function txtKey(list: readonly Uint8Array[]): string {
  let key = '';
  for (const b of list) key += `${b.length}:${Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1')}`;
  return key;
}

/** The record in canonical form, or null for one this cache has no use for or that is malformed. */
function normalise(rr: unknown): Omit<Cached, 'receivedAt' | 'expiresAt' | 'from'> & { ttl: number; flush: boolean } | null {
  if (typeof rr !== 'object' || rr === null) return null;
  const r = rr as { name?: unknown; type?: unknown; ttl?: unknown; flush?: unknown; data?: unknown };
  if (typeof r.name !== 'string' || typeof r.ttl !== 'number' || !Number.isFinite(r.ttl) || r.ttl < 0) return null;
  const name = lower(r.name);
  const base = { name, ttl: r.ttl, flush: r.flush === true };
  switch (r.type) {
    case 'PTR':
      return typeof r.data === 'string' ? { ...base, type: 'PTR', data: r.data, key: lower(r.data) } : null;
    case 'A':
      return typeof r.data === 'string' && IPV4.test(r.data) ? { ...base, type: 'A', data: r.data, key: r.data } : null;
    case 'SRV': {
      const d = r.data as { port?: unknown; target?: unknown } | undefined;
      if (typeof d?.port !== 'number' || typeof d.target !== 'string') return null;
      return { ...base, type: 'SRV', data: { port: d.port, target: d.target }, key: `${d.port} ${lower(d.target)}` };
    }
    case 'TXT': {
      const list = Array.isArray(r.data) ? r.data : r.data instanceof Uint8Array ? [r.data] : null;
      if (!list || !list.every((b) => b instanceof Uint8Array)) return null;
      return { ...base, type: 'TXT', data: list as Uint8Array[], key: txtKey(list as Uint8Array[]) };
    }
    default:
      return null;
  }
}

export class MdnsRecordCache {
  readonly serviceName: string;
  /** `name|type` → record key → record: lookups by name stay cheap with hundreds of devices. */
  readonly #groups = new Map<string, Map<string, Cached>>();
  /** The hosts the held SRV records point to (their A records are relevant); null when to be recounted. */
  #targets: Set<string> | null = null;

  /** `serviceName`: the PTR name browsed, such as `_iot-unbind._tcp.local`. */
  constructor(serviceName: string) {
    this.serviceName = lower(serviceName);
  }

  get size(): number {
    let n = 0;
    for (const g of this.#groups.values()) n += g.size;
    return n;
  }

  /** Takes the records of one response packet; returns whether anything the cache holds changed. */
  ingest(records: readonly unknown[], from: string, now: number): boolean {
    const all = records.map(normalise).filter((r): r is NonNullable<typeof r> => r !== null);
    const fresh = all.filter(this.#relevant(all));
    let changed = false;
    // Cache-flush (RFC 6762 §10.2): a unique record replaces the other records of its name and type.
    const flushed = new Map<string, Set<string>>();
    for (const r of fresh) {
      if (!r.flush || r.ttl === 0) continue;
      const group = `${r.name}|${r.type}`;
      flushed.set(group, (flushed.get(group) ?? new Set()).add(r.key));
    }
    for (const [group, keep] of flushed) {
      for (const key of this.#groups.get(group)?.keys() ?? []) {
        if (keep.has(key)) continue;
        this.#groups.get(group)!.delete(key);
        if (group.endsWith('|SRV')) this.#targets = null;
        changed = true;
      }
    }
    for (const r of fresh) {
      const groupId = `${r.name}|${r.type}`;
      let group = this.#groups.get(groupId);
      if (r.ttl === 0) {
        if (r.type === 'SRV') this.#targets = null;
        changed = (group?.delete(r.key) ?? false) || changed; // goodbye
        if (group?.size === 0) this.#groups.delete(groupId);
        continue;
      }
      if (!group) this.#groups.set(groupId, (group = new Map()));
      if (!group.has(r.key)) {
        changed = true;
        if (r.type === 'SRV') this.#targets = null;
      }
      group.set(r.key, { name: r.name, type: r.type, data: r.data, key: r.key, receivedAt: now, expiresAt: now + r.ttl * 1000, from });
    }
    return changed;
  }

  /**
   * Only this service's records are kept: a busy LAN announces many services, and a cache of all of
   * them would grow without bound. A records count when they name a host one of our SRVs points to.
   */
  #relevant(packet: ReadonlyArray<{ name: string; type: CachedType; data: Cached['data'] }>): (r: { name: string; type: CachedType }) => boolean {
    const suffix = `.${this.serviceName}`;
    const targetOf = (data: Cached['data']): string => lower((data as { target: string }).target);
    if (!this.#targets) {
      this.#targets = new Set();
      for (const [groupId, group] of this.#groups) {
        if (!groupId.endsWith('|SRV')) continue;
        for (const c of group.values()) this.#targets.add(targetOf(c.data));
      }
    }
    const held = this.#targets;
    const inPacket = new Set<string>();
    for (const r of packet) if (r.type === 'SRV' && r.name.endsWith(suffix)) inPacket.add(targetOf(r.data));
    const targets = { has: (name: string): boolean => held.has(name) || inPacket.has(name) };
    return (r) =>
      r.type === 'PTR' ? r.name === this.serviceName : r.type === 'A' ? targets.has(r.name) : r.name.endsWith(suffix);
  }

  /** How many instances of the service have a PTR record held (announced or answered, complete or not). */
  get ptrCount(): number {
    return this.#groups.get(`${this.serviceName}|PTR`)?.size ?? 0;
  }

  /**
   * The service's PTR records to name as Known Answers in a query (RFC 6762 §7.1), each with the TTL it
   * has left (s), so a responder answers only the others: those of instances the cache can list (PTR,
   * SRV, TXT and an address all held), every one of those records with more than half its TTL left. A
   * device whose SRV, TXT or address was lost is not named, so its answer, with them, comes again.
   */
  knownAnswers(now: number): Array<{ name: string; type: 'PTR'; ttl: number; data: string }> {
    const out: Array<{ name: string; type: 'PTR'; ttl: number; data: string }> = [];
    const fresh = (c: Cached): boolean => (c.expiresAt - now) * 2 > c.expiresAt - c.receivedAt;
    for (const c of this.#groups.get(`${this.serviceName}|PTR`)?.values() ?? []) {
      const name = lower(c.data as string);
      const srv = this.#newest(name, 'SRV');
      const txt = this.#newest(name, 'TXT');
      if (!srv || !txt) continue;
      const a = this.#find(lower((srv.data as { target: string }).target), 'A');
      if (a.length === 0 || ![c, srv, txt, ...a].every(fresh)) continue;
      out.push({ name: this.serviceName, type: 'PTR', ttl: Math.floor((c.expiresAt - now) / 1000), data: c.data as string });
    }
    return out;
  }

  /** Drops records whose TTL ran out; returns whether any did. */
  expire(now: number): boolean {
    let changed = false;
    for (const [groupId, group] of this.#groups) {
      for (const [key, c] of group) {
        if (c.expiresAt > now) continue;
        group.delete(key);
        if (c.type === 'SRV') this.#targets = null;
        changed = true;
      }
      if (group.size === 0) this.#groups.delete(groupId);
    }
    return changed;
  }

  /** The newest record of one name and type (the first heard of equals), without sorting them all. */
  #newest(name: string, type: CachedType): Cached | undefined {
    let best: Cached | undefined;
    for (const c of this.#groups.get(`${name}|${type}`)?.values() ?? []) if (!best || c.receivedAt > best.receivedAt) best = c;
    return best;
  }

  /**
   * Per instance, the records its last MdnsInstance was made from: an instance whose records are the
   * very same (nothing about it was heard since) is the same object, so a caller can tell what changed.
   */
  #made = new Map<string, { ptr: Cached; srv: Cached; txt: Cached; a: Cached[]; inst: MdnsInstance }>();

  /** The records of one name and type, newest first. */
  #find(name: string, type: CachedType): Cached[] {
    return [...(this.#groups.get(`${name}|${type}`)?.values() ?? [])].sort((a, b) => b.receivedAt - a.receivedAt);
  }

  /**
   * When the instance's SRV or TXT record was last heard (every answer and announcement carries
   * them): a lookup by name, cheap enough to call for each entry of a list.
   */
  lastHeard(fqdn: string): number | undefined {
    const name = lower(fqdn);
    const times = [...(this.#groups.get(`${name}|SRV`)?.values() ?? []), ...(this.#groups.get(`${name}|TXT`)?.values() ?? [])].map((c) => c.receivedAt);
    return times.length ? Math.max(...times) : undefined;
  }

  /** Every instance of the service with its PTR, SRV and TXT records present. */
  instances(): MdnsInstance[] {
    const out: MdnsInstance[] = [];
    const made = new Map<string, { ptr: Cached; srv: Cached; txt: Cached; a: Cached[]; inst: MdnsInstance }>();
    const suffix = `.${this.serviceName}`;
    for (const ptr of this.#find(this.serviceName, 'PTR')) {
      const fqdn = ptr.data as string;
      const name = lower(fqdn);
      const srv = this.#newest(name, 'SRV');
      const txt = this.#newest(name, 'TXT');
      if (!srv || !txt) continue;
      const { port, target } = srv.data as { port: number; target: string };
      const a = this.#find(lower(target), 'A');
      const before = this.#made.get(name);
      const same = before && before.ptr === ptr && before.srv === srv && before.txt === txt && before.a.length === a.length && before.a.every((x, i) => x === a[i]);
      const inst: MdnsInstance = same
        ? before.inst
        : {
            fqdn,
            instance: name.endsWith(suffix) ? fqdn.slice(0, fqdn.length - suffix.length) : fqdn,
            host: target,
            port,
            txt: txt.data as Uint8Array[],
            addresses: a.map((r) => r.data as string),
            from: srv.from,
            lastSeen: Math.max(ptr.receivedAt, srv.receivedAt, txt.receivedAt),
            expiresAt: Math.min(ptr.expiresAt, srv.expiresAt, txt.expiresAt),
            ptrReceivedAt: ptr.receivedAt,
            ptrTtlMs: ptr.expiresAt - ptr.receivedAt,
          };
      made.set(name, { ptr, srv, txt, a, inst });
      out.push(inst);
    }
    this.#made = made;
    return out;
  }
}
