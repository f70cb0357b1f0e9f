import { EventEmitter } from 'node:events';
import { SADP_PORT } from '../protocol/index.js';
import { mergeLanDevices, newLanMergeReuse, sameLanDevice, type LanDevice, type LanDeviceChange, type MalformedReport, type MdnsLanDevice, type SadpSeen } from './lan-device.js';
import { DEFAULT_LAN_INTERFACE, resolveLanInterface, type LanInterface } from './lan-interface.js';
import { MDNS_PORT, startMdnsBrowser, type MdnsBrowser } from './mdns-browser.js';
import type { MdnsInstance } from './mdns-record-cache.js';
import { checkTxt, type TxtCheck } from './mdns-txt.js';
import type { MulticastRecord } from './multicast-socket.js';
import { openSadpListener, type SadpListener } from './sadp-listener.js';

/**
 * The station's live view of the bench LAN (DESIGN §3 wired method, §4.5, §4.7): devices appear as
 * they advertise, change as their TXT `st` changes, and go on goodbye or when their records expire;
 * SADP answers add Hikvision-style devices (and flag DHCP failures). Malformed records and answers
 * are reported with the sender and why, and skipped: one bad device never stops the sweep.
 */
export interface LanSweepOptions {
  /** LAN interface name or IPv4 address (default 127.0.0.1: the demo and tests stay on loopback). */
  interface?: string;
  /** Also probe with SADP (default true). */
  sadp?: boolean;
  /** mDNS UDP port (default 5353) and SADP port (default 37020); tests use others to run side by side. */
  mdnsPort?: number;
  sadpPort?: number;
  /** How often SADP is probed again, ms (default 15 000). A device missing two probes in a row is dropped. */
  sadpIntervalMs?: number;
  /** How long refresh() waits for answers, ms (default 1000). */
  refreshWindowMs?: number;
}

export interface LanSweep {
  readonly lan: LanInterface;
  /** The live list, sorted by key. */
  devices(): LanDevice[];
  /** One entry by key (devId, or `sadp:<serial>`). */
  device(key: string): LanDevice | undefined;
  /** The newest malformed records and answers (at most 100). */
  malformed(): MalformedReport[];
  on(event: 'change', listener: (change: LanDeviceChange) => void): () => void;
  on(event: 'malformed', listener: (report: MalformedReport) => void): () => void;
  on(event: 'warning', listener: (why: string) => void): () => void;
  /** Queries mDNS and probes SADP now; resolves with the list once the answers had time to come. */
  refresh(opts?: { windowMs?: number }): Promise<LanDevice[]>;
  /** Where the sweep's sockets multicast (mDNS, and SADP when on). */
  multicast(): { mdns: MulticastRecord; sadp: MulticastRecord | null };
  close(): Promise<void>;
}

const MALFORMED_KEPT = 100;
const SADP_MISSED_ROUNDS_TO_DROP = 2;
const REBUILD_COALESCE_MS = 15;
/**
 * Shortest time between two rebuilds on mDNS changes. A batch of devices changing state announces
 * in many small bursts, and each rebuild looks at every device (about a millisecond at 250): the
 * list lags by at most this, a tenth of a second an operator does not see, and a batch of n devices
 * costs a few rebuilds, not one per burst (at 20 ms they were a sixth of a 100-device batch's time).
 */
const MDNS_REBUILD_GAP_MS = 100;

export async function startLanSweep(options: LanSweepOptions = {}): Promise<LanSweep> {
  const lan = resolveLanInterface(options.interface ?? DEFAULT_LAN_INTERFACE);
  const emitter = new EventEmitter();
  emitter.setMaxListeners(0);
  const malformed: MalformedReport[] = [];
  /** What was last reported per mDNS instance, so a record repeated every query is reported once. */
  const reportedInstances = new Map<string, string>();
  /** SADP rejections already reported in the current probe round. */
  let reportedSadp = new Set<string>();

  const report = (r: MalformedReport): void => {
    malformed.push(r);
    if (malformed.length > MALFORMED_KEPT) malformed.shift();
    emitter.emit('malformed', r);
  };
  const warn = (why: string): void => void emitter.emit('warning', why);

  let list = new Map<string, LanDevice>();
  /** devId → the fqdn of the instance that advertises it, to read its last-heard time. */
  let fqdnOf = new Map<string, string>();
  let closed = false;
  const browserPort = options.mdnsPort ?? MDNS_PORT;
  const sadpSeen = new Map<string, SadpSeen & { round: number }>();
  let sadpRound = 0;
  let browser: MdnsBrowser | null = null;

  type MdnsEntry = Omit<MdnsLanDevice, 'sadp' | 'problem'>;
  /**
   * Per instance, its last TXT as checked and the entry made from it: a re-announcement that changed
   * nothing (most of them) reuses both, so a rebuild costs a comparison per device, not a parse.
   */
  let madeFrom = new Map<string, { inst: MdnsInstance; txt: Uint8Array[]; checked: TxtCheck; entry: MdnsEntry | null }>();
  const mergeReuse = newLanMergeReuse();
  const sameTxt = (a: Uint8Array[], b: Uint8Array[]): boolean => a.length === b.length && a.every((x, i) => Buffer.compare(x, b[i]!) === 0);

  function mdnsDevices(instances: MdnsInstance[]): MdnsEntry[] {
    const out = new Map<string, MdnsEntry>();
    const made = new Map<string, { inst: MdnsInstance; txt: Uint8Array[]; checked: TxtCheck; entry: MdnsEntry | null }>();
    const live = new Set<string>();
    const fqdns = new Map<string, string>();
    for (const inst of instances) {
      live.add(inst.fqdn);
      const from = `${inst.from}:${browserPort}`;
      const before = madeFrom.get(inst.fqdn);
      // The cache hands back the same instance object while nothing about it was heard: no TXT to compare.
      const checked = before && (before.inst === inst || sameTxt(before.txt, inst.txt)) ? before.checked : checkTxt(inst.txt);
      const memo = { inst, txt: inst.txt, checked, entry: null as MdnsEntry | null };
      made.set(inst.fqdn, memo);
      let why = checked.ok ? null : `TXT refused: ${checked.why}`;
      if (checked.ok) {
        const other = out.get(checked.txt.id);
        if (other) why = `devId ${checked.txt.id} is already advertised by ${other.instance}`;
      }
      if (why) {
        if (reportedInstances.get(inst.fqdn) !== why) report({ source: 'mdns', from, name: inst.instance, why, at: Date.now() });
        reportedInstances.set(inst.fqdn, why);
        continue;
      }
      reportedInstances.delete(inst.fqdn);
      if (!checked.ok) continue;
      const t = checked.txt;
      fqdns.set(t.id, inst.fqdn);
      // A host that announces no A record (bonjour-service skips loopback addresses) is where it spoke from.
      const address = inst.addresses[0] ?? inst.from;
      const kept = before?.checked === checked ? before.entry : null;
      if (kept && kept.address === address && kept.port === inst.port && kept.host === inst.host && kept.instance === inst.instance) {
        memo.entry = kept; // lastSeen is read fresh (withFreshLastSeen)
        out.set(t.id, kept);
        continue;
      }
      out.set(t.id, (memo.entry = {
        key: t.id,
        source: 'mdns',
        devId: t.id,
        pid: t.pid,
        sn: t.sn,
        fw: t.fw,
        rg: t.rg,
        st: t.st,
        address,
        port: inst.port,
        host: inst.host,
        instance: inst.instance,
        lastSeen: inst.lastSeen,
      }));
    }
    madeFrom = made;
    for (const fqdn of reportedInstances.keys()) if (!live.has(fqdn)) reportedInstances.delete(fqdn);
    fqdnOf = fqdns;
    return [...out.values()];
  }

  /**
   * SADP answers trickle in over the probe's window (one datagram per device): one rebuild per
   * few milliseconds of them, not one per datagram.
   */
  let rebuildQueued = false;
  let lastRebuildAt = Number.NEGATIVE_INFINITY;
  function scheduleRebuild(afterMs = REBUILD_COALESCE_MS): void {
    if (rebuildQueued) return;
    rebuildQueued = true;
    setTimeout(() => {
      rebuildQueued = false;
      if (!closed) rebuild();
    }, afterMs);
  }
  /** An mDNS change: rebuilt now, unless a rebuild ran in the last MDNS_REBUILD_GAP_MS (then once that gap is over). */
  function rebuildOnMdns(): void {
    if (rebuildQueued) return;
    const wait = lastRebuildAt + MDNS_REBUILD_GAP_MS - performance.now();
    if (wait <= 0) rebuild();
    else scheduleRebuild(wait);
  }

  /** Rebuilds the list and emits one event per entry that appeared, changed or went. */
  function rebuild(): void {
    lastRebuildAt = performance.now();
    const next = new Map(mergeLanDevices(mdnsDevices(browser?.instances() ?? []), sadpSeen, mergeReuse).map((d) => [d.key, d]));
    const changes: LanDeviceChange[] = [];
    for (const [key, device] of next) {
      const previous = list.get(key);
      if (!previous) changes.push({ kind: 'added', device });
      else if (!sameLanDevice(previous, device)) changes.push({ kind: 'updated', device, previous });
    }
    for (const [key, device] of list) if (!next.has(key)) changes.push({ kind: 'removed', device });
    list = next;
    for (const c of changes) emitter.emit('change', c);
  }

  browser = await startMdnsBrowser({ lan, port: browserPort, onChange: rebuildOnMdns, onWarning: warn });

  let sadp: SadpListener | null = null;
  let sadpTimer: NodeJS.Timeout | null = null;
  const windowMs = options.refreshWindowMs ?? 1000;
  /** Pending waits of refresh() and probe rounds; close() ends them, so no caller hangs. */
  const pauses = new Map<NodeJS.Timeout, () => void>();
  const pause = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      const t = setTimeout(() => {
        pauses.delete(t);
        resolve();
      }, ms);
      pauses.set(t, resolve);
    });

  /** At the end of a probe's window: a device that missed this round and the one before is gone. */
  const endRound = (round: number): void => {
    let dropped = false;
    for (const [serial, seen] of sadpSeen) {
      if (round - seen.round >= SADP_MISSED_ROUNDS_TO_DROP) {
        sadpSeen.delete(serial);
        dropped = true;
      }
    }
    if (dropped) rebuild();
  };
  /** One SADP round: probe, give the answers `ms` to arrive, then drop who missed two rounds. */
  const probeRound = async (ms: number): Promise<void> => {
    if (!sadp) return;
    const round = ++sadpRound;
    reportedSadp = new Set();
    try {
      await sadp.probe();
    } catch (err) {
      warn(`SADP probe failed: ${err instanceof Error ? err.message : String(err)}`);
      return;
    }
    await pause(ms);
    if (!closed) endRound(round);
  };

  if (options.sadp ?? true) {
    try {
      sadp = await openSadpListener({
        lan,
        port: options.sadpPort ?? SADP_PORT,
        onMatch: (fields, _from, at) => {
          sadpSeen.set(fields.serial, { fields, at, round: sadpRound });
          scheduleRebuild();
        },
        onRejected: (from, why, at) => {
          if (reportedSadp.has(`${from}|${why}`)) return;
          reportedSadp.add(`${from}|${why}`);
          report({ source: 'sadp', from, name: null, why, at });
        },
        onError: (err) => warn(`SADP socket: ${err.message}`),
      });
    } catch (err) {
      await browser.close();
      throw err;
    }
    void probeRound(windowMs);
    sadpTimer = setInterval(() => void probeRound(windowMs), options.sadpIntervalMs ?? 15_000);
  }

  return {
    lan,
    devices: () => withFreshLastSeen([...list.values()]),
    device: (key) => {
      const d = list.get(key);
      return d && withFreshLastSeen([d])[0];
    },
    malformed: () => [...malformed],
    on(event: 'change' | 'malformed' | 'warning', listener: (arg: never) => void) {
      // One emitter carries three typed events; the interface's overloads pair each with its listener.
      const untyped = listener as (...args: unknown[]) => void;
      emitter.on(event, untyped);
      return () => void emitter.off(event, untyped);
    },
    async refresh(opts = {}) {
      browser?.query();
      const ms = opts.windowMs ?? windowMs;
      await (sadp ? probeRound(ms) : pause(ms));
      rebuild();
      return withFreshLastSeen([...list.values()]);
    },
    multicast: () => ({ mdns: browser!.multicast, sadp: sadp?.multicast ?? null }),
    async close() {
      if (closed) return;
      closed = true;
      if (sadpTimer) clearInterval(sadpTimer);
      for (const [t, resolve] of pauses) {
        clearTimeout(t);
        resolve();
      }
      pauses.clear();
      await Promise.all([browser?.close(), sadp?.close()]);
      emitter.removeAllListeners();
    },
  };

  /** Re-announcements refresh lastSeen without being a change worth an event: it is read fresh. */
  function withFreshLastSeen(devices: LanDevice[]): LanDevice[] {
    return devices.map((d) => {
      const fqdn = d.devId === null ? undefined : fqdnOf.get(d.devId);
      const heard = fqdn === undefined ? 0 : (browser?.lastHeard(fqdn) ?? 0);
      return { ...d, lastSeen: Math.max(d.lastSeen, heard, sadpSeen.get(d.sn)?.at ?? 0) };
    });
  }
}
