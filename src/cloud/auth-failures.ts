import type { FailureCode } from '../protocol/index.js';

/**
 * Failed device authentication, rate-limited and folded (issue 9, "Floods fold"). Failures are counted
 * per (device, source address) and per source address, never per device alone: whoever knows a devId
 * must not be able to block that device's unbind from another address. A limited request is answered
 * RATE_LIMITED without being checked (no signature, no store, no log line); the process log tells each
 * window once what was folded. Every map is bounded: least recently used entries give way.
 */

/** Failures anyone can cause without the device key (or by replaying one captured request). */
export const AUTH_FAILURES: ReadonlySet<FailureCode> = new Set<FailureCode>(['DEVICE_AUTH', 'REPLAY', 'DEVICE_UNKNOWN']);

export interface AuthFailureLimits {
  /** Failures a (device, source) may make at once before it is limited, and how many come back per second. */
  pairBurst: number;
  pairRefillPerSecond: number;
  /** The same for a source over all devices: generous, since a bench of hundreds may sit behind one NAT. */
  sourceBurst: number;
  sourceRefillPerSecond: number;
  /** The process log's window. */
  windowMs: number;
  maxPairs: number;
  maxSources: number;
  /** Itemised lines per source and in all per window; the rest is said in one line. */
  maxLinesPerSource: number;
  maxLinesPerWindow: number;
}

export const DEFAULT_AUTH_FAILURE_LIMITS: AuthFailureLimits = {
  pairBurst: 10,
  pairRefillPerSecond: 0.2,
  sourceBurst: 200,
  sourceRefillPerSecond: 5,
  windowMs: 10_000,
  maxPairs: 10_000,
  maxSources: 10_000,
  maxLinesPerSource: 5,
  maxLinesPerWindow: 50,
};

export interface FoldedLogLine {
  level: 'info' | 'warn';
  fields: Record<string, unknown>;
  message: string;
}

export interface AuthFailureGuard {
  /** False when the request must be answered RATE_LIMITED unchecked; the refusal is tallied. */
  admit(devId: string, address: string): boolean;
  /** A checked request of this pair failed with an authentication failure. */
  record(devId: string, address: string, reason: FailureCode): void;
  /** Ends the window: logs what was folded, hands the unchecked refusals of each device to `onUnchecked`. */
  flush(): void;
  /** How many pairs and sources are remembered now (bounded by maxPairs and maxSources). */
  size(): { pairs: number; sources: number };
}

export interface AuthFailureDeps {
  clock: () => number;
  log: (line: FoldedLogLine) => void;
  /** Refusals of a device answered unchecked in the window, for its folded device log row. */
  onUnchecked: (devId: string, count: number, firstAt: number, lastAt: number) => void;
  limits?: Partial<AuthFailureLimits>;
}

interface Bucket {
  tokens: number;
  at: number;
}
interface Tally {
  /** Checked failures by reason, and refusals answered unchecked, in this window. */
  failures: Map<FailureCode, number>;
  limited: number;
  limitedFirst: number;
  limitedLast: number;
  /** Whether this window already said something about it (the first failure is logged at once). */
  said: boolean;
}
interface PairEntry extends Bucket {
  devId: string;
  source: string;
  tally: Tally | null;
}
interface SourceEntry extends Bucket {
  source: string;
  failures: number;
  limited: number;
  devices: number;
  lines: number;
  /** Failures and refusals already told by a line about one of its pairs. */
  told: number;
}

/** A Map that forgets its least recently used entry past `max`: memory stays bounded under any flood. */
function boundedMap<V>(
  max: number,
  onEvict: (v: V) => void,
): { get(k: string): V | undefined; set(k: string, v: V): void; entries(): IterableIterator<[string, V]>; delete(k: string): void; readonly size: number } {
  const m = new Map<string, V>();
  return {
    get(k) {
      const v = m.get(k);
      if (v !== undefined) {
        m.delete(k);
        m.set(k, v);
      }
      return v;
    },
    set(k, v) {
      m.delete(k);
      m.set(k, v);
      if (m.size > max) {
        const [oldKey, old] = m.entries().next().value as [string, V];
        m.delete(oldKey);
        onEvict(old);
      }
    },
    entries: () => m.entries(),
    delete: (k) => void m.delete(k),
    get size() {
      return m.size;
    },
  };
}

const pairKey = (devId: string, source: string): string => `${source} ${devId}`;

/**
 * The address a limit counts: an IPv4 address (also when IPv4-mapped), or the /64 of an IPv6 one,
 * since one IPv6 host holds a whole /64 and could otherwise take a fresh address per request.
 */
export function sourceKey(ip: string): string {
  const plain = ip.split('%')[0]!;
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(plain);
  if (mapped) return mapped[1]!;
  if (!plain.includes(':')) return plain;
  const [head = '', tail = ''] = plain.split('::');
  const h = head ? head.split(':') : [];
  const t = plain.includes('::') && tail ? tail.split(':') : [];
  const groups = plain.includes('::') ? [...h, ...Array<string>(Math.max(0, 8 - h.length - t.length)).fill('0'), ...t] : plain.split(':');
  return `${groups
    .slice(0, 4)
    .map((g) => (parseInt(g, 16) || 0).toString(16))
    .join(':')}::/64`;
}

export function createAuthFailureGuard(deps: AuthFailureDeps): AuthFailureGuard {
  const L: AuthFailureLimits = { ...DEFAULT_AUTH_FAILURE_LIMITS, ...deps.limits };
  const { clock, log } = deps;
  const windowS = Math.round(L.windowMs / 1000);
  // What the bounded maps had to forget this window: still counted, in one line.
  let forgotten = { failures: 0, limited: 0, keys: 0 };
  let linesThisWindow = 0;
  let windowStart = clock();
  const forget = (failures: number, limited: number): void => {
    if (failures + limited === 0) return;
    forgotten = { failures: forgotten.failures + failures, limited: forgotten.limited + limited, keys: forgotten.keys + 1 };
  };
  // A forgotten pair's refusals stay counted by its source; only its device log share is handed on early.
  const pairs = boundedMap<PairEntry>(L.maxPairs, (p) => {
    if (p.tally?.limited) deps.onUnchecked(p.devId, p.tally.limited, p.tally.limitedFirst, p.tally.limitedLast);
  });
  const sources = boundedMap<SourceEntry>(L.maxSources, (s) => forget(s.failures, s.limited));

  const refill = (b: Bucket, burst: number, perSecond: number, now: number): void => {
    b.tokens = Math.min(burst, b.tokens + (Math.max(0, now - b.at) / 1000) * perSecond);
    b.at = now;
  };
  const pairOf = (devId: string, source: string, now: number, create: boolean): PairEntry | undefined => {
    const k = pairKey(devId, source);
    let p = pairs.get(k);
    if (!p && create) {
      p = { devId, source, tokens: L.pairBurst, at: now, tally: null };
      pairs.set(k, p);
    }
    if (p) refill(p, L.pairBurst, L.pairRefillPerSecond, now);
    return p;
  };
  const sourceOf = (source: string, now: number, create: boolean): SourceEntry | undefined => {
    let s = sources.get(source);
    if (!s && create) {
      s = { source, tokens: L.sourceBurst, at: now, failures: 0, limited: 0, devices: 0, lines: 0, told: 0 };
      sources.set(source, s);
    }
    if (s) refill(s, L.sourceBurst, L.sourceRefillPerSecond, now);
    return s;
  };
  const tallyOf = (p: PairEntry, s: SourceEntry): Tally => {
    if (!p.tally) {
      p.tally = { failures: new Map(), limited: 0, limitedFirst: 0, limitedLast: 0, said: false };
      s.devices++;
    }
    return p.tally;
  };
  /** A line about one pair, while its source and the window still have room; else it is only counted. */
  const mayItemise = (s: SourceEntry): boolean => {
    if (s.lines >= L.maxLinesPerSource || linesThisWindow >= L.maxLinesPerWindow) return false;
    s.lines++;
    linesThisWindow++;
    return true;
  };

  return {
    size: () => ({ pairs: pairs.size, sources: sources.size }),
    admit(devId, address) {
      const source = sourceKey(address);
      const now = clock();
      const s = sourceOf(source, now, false);
      const p = pairOf(devId, source, now, false);
      const pairLimited = !!p && p.tokens < 1;
      if (!pairLimited && (!s || s.tokens >= 1)) return true;
      const src = s ?? sourceOf(source, now, true)!;
      src.limited++;
      // Only a pair already known is tallied: a source spraying new devIds creates no entry per request.
      if (p) {
        const t = tallyOf(p, src);
        if (t.limited === 0) t.limitedFirst = now;
        t.limited++;
        t.limitedLast = now;
      }
      return false;
    },
    record(devId, address, reason) {
      const source = sourceKey(address);
      const now = clock();
      const s = sourceOf(source, now, true)!;
      const p = pairOf(devId, source, now, true)!;
      s.tokens = Math.max(0, s.tokens - 1);
      p.tokens = Math.max(0, p.tokens - 1);
      s.failures++;
      const t = tallyOf(p, s);
      t.failures.set(reason, (t.failures.get(reason) ?? 0) + 1);
      // The first failure of a pair in a window is said at once; the rest when the window ends.
      if (!t.said && mayItemise(s)) {
        t.said = true;
        s.told++;
        log({ level: 'info', fields: { evt: 'unbind', devId, source, result: 'FAILED', reason }, message: 'device unbind refused' });
      }
    },
    flush() {
      const now = clock();
      const seconds = Math.max(windowS, Math.round((now - windowStart) / 1000));
      for (const [k, p] of pairs.entries()) {
        const t = p.tally;
        refill(p, L.pairBurst, L.pairRefillPerSecond, now);
        if (!t) {
          // Idle and forgiven: forgotten now rather than when the map is full.
          if (p.tokens >= L.pairBurst) pairs.delete(k);
          continue;
        }
        p.tally = null;
        if (t.limited) deps.onUnchecked(p.devId, t.limited, t.limitedFirst, t.limitedLast);
        const checked = [...t.failures.values()].reduce((a, b) => a + b, 0);
        // Nothing more to say about a single failure already logged at once.
        if (checked + t.limited <= (t.said ? 1 : 0)) continue;
        const s = sourceOf(p.source, now, true)!;
        if (!mayItemise(s)) continue;
        s.told += checked + t.limited - (t.said ? 1 : 0);
        // The most frequent reason names the line; unchecked refusals count as what their pair kept failing.
        const [reason] = [...t.failures.entries()].sort((a, b) => b[1] - a[1])[0] ?? ['DEVICE_AUTH'];
        log({
          level: 'warn',
          fields: { evt: 'auth-failures-folded', devId: p.devId, source: p.source, reason, checked, rateLimited: t.limited, windowSeconds: seconds },
          message: `${checked + t.limited} failed ${reason} for dev ${p.devId} from addr ${p.source} folded in the last ${seconds} s (${t.limited} answered RATE_LIMITED unchecked)`,
        });
      }
      for (const [k, s] of sources.entries()) {
        // What the lines about its pairs did not tell, a source says in one line, while the window has room.
        const untold = s.failures + s.limited - s.told;
        if (untold > 0 && linesThisWindow >= L.maxLinesPerWindow) forget(untold, 0);
        else if (untold > 0) {
          linesThisWindow++;
          log({
            level: 'warn',
            fields: { evt: 'auth-failures-folded', source: s.source, failures: s.failures, rateLimited: s.limited, devices: s.devices, windowSeconds: seconds },
            message: `${s.failures + s.limited} failed device authentications for ${s.devices} devices from addr ${s.source} folded in the last ${seconds} s (${s.limited} answered RATE_LIMITED unchecked)`,
          });
        }
        s.failures = 0;
        s.limited = 0;
        s.devices = 0;
        s.lines = 0;
        s.told = 0;
        refill(s, L.sourceBurst, L.sourceRefillPerSecond, now);
        if (s.tokens >= L.sourceBurst) sources.delete(k);
      }
      if (forgotten.keys > 0) {
        log({
          level: 'warn',
          fields: { evt: 'auth-failures-folded', failures: forgotten.failures, rateLimited: forgotten.limited, evicted: forgotten.keys, windowSeconds: seconds },
          message: `${forgotten.failures + forgotten.limited} failed device authentications of ${forgotten.keys} further or forgotten devices and addresses folded in the last ${seconds} s`,
        });
      }
      forgotten = { failures: 0, limited: 0, keys: 0 };
      linesThisWindow = 0;
      windowStart = now;
    },
  };
}
