import { afterEach, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { MDNS_SERVICE_TYPE } from '../../src/protocol/index.js';
import {
  FIRST_QUERY_INTERVAL_MS,
  knownAnswerQuery,
  MAX_QUICK_REPEATS,
  MdnsQuerySchedule,
  openBonjour,
  resolveLanInterface,
  startMdnsBrowser,
  type MdnsBrowser,
  type MulticastDns,
} from '../../src/wired/index.js';
import { waitFor } from './support/lan.js';
/** bonjour-service's own DNS codec (untyped): the bytes a packet takes on the wire, the TC bit. */
const dnsPacket = createRequire(import.meta.url)('dns-packet') as { encode(p: unknown): Buffer; TRUNCATED_RESPONSE: number };

/** Its own port (not in support/lan.ts's table, so files run side by side without sharing one). */
const PORT = 25371;
const SERVICE = `_${MDNS_SERVICE_TYPE}._tcp.local`;
type Query = { questions?: Array<{ name: string; type: string }>; answers?: Array<{ name: string; type: string; ttl: number; data: unknown }>; flags?: number };
const onQuery = (mdns: MulticastDns, f: (p: Query) => void): void => (mdns as unknown as { on(e: 'query', f: (p: Query) => void): void }).on('query', f);

describe('the mDNS browser keeps asking (RFC 6762 §5.2 continuous querying)', () => {
  let browser: MdnsBrowser | null = null;
  let close: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await browser?.close();
    browser = null;
    await close?.();
    close = null;
  });

  it('given no answer to its first three queries, then it asks a fourth time, each interval at least twice the last', async () => {
    const lo = resolveLanInterface('127.0.0.1');
    const { bonjour, mdns } = await openBonjour(lo, PORT, () => undefined);
    close = () => new Promise<void>((done) => bonjour.destroy(() => done()));
    let asked = 0;
    onQuery(mdns, (packet) => {
      if (packet.questions?.some((q) => q.name === SERVICE && q.type === 'PTR')) asked++;
    });
    // The browser's timer is the test's: each repeat is due when the test says, so a loaded machine cannot
    // bend the intervals; what is checked is the schedule the browser asks for, and that it asks again.
    const planned: Array<{ ms: number; run: () => void }> = [];
    // Nobody answers: a LAN that lost every answer so far. Before the fix the browser stopped after three.
    browser = await startMdnsBrowser({
      lan: lo,
      port: PORT,
      onChange: () => undefined,
      onWarning: () => undefined,
      setTimer: (run, ms) => {
        planned.push({ ms, run });
        return () => undefined;
      },
    });
    await waitFor('the first query', () => asked === 1);
    for (let n = 1; n <= 3; n++) {
      await waitFor(`repeat ${n} planned`, () => planned.length === n);
      planned[n - 1]!.run();
      await waitFor(`query ${n + 1}`, () => asked === n + 1);
    }
    const gaps = planned.map((p) => p.ms);
    expect(gaps[0]).toBe(FIRST_QUERY_INTERVAL_MS);
    expect(gaps[1]).toBeGreaterThanOrEqual(2 * gaps[0]!);
    expect(gaps[2]).toBeGreaterThanOrEqual(2 * gaps[1]!);
  }, 15_000);

  it('given a device whose answer to the first query was lost, then the repeat names the devices heard as Known Answers, and the news it brings calls the next query at the first interval, not a second later', async () => {
    const lo = resolveLanInterface('127.0.0.1');
    const { bonjour, mdns } = await openBonjour(lo, PORT, () => undefined);
    close = () => new Promise<void>((done) => bonjour.destroy(() => done()));
    const records = (n: number) => {
      const fqdn = `dev${n}.${SERVICE}`;
      return [
        { name: SERVICE, type: 'PTR', ttl: 120, data: fqdn },
        { name: fqdn, type: 'SRV', ttl: 120, flush: true, data: { port: 8080 + n, target: `dev${n}.local` } },
        { name: fqdn, type: 'TXT', ttl: 120, flush: true, data: [`v=1`, `id=pnvr8ch-000${n}`, 'pid=pnvr8ch', `sn=NV8-2611-00000${n}`, 'fw=4.0.1', 'rg=EU', 'st=waiting'] },
        { name: `dev${n}.local`, type: 'A', ttl: 120, flush: true, data: `127.77.0.${n}` },
      ];
    };
    const queries: Query[] = [];
    onQuery(mdns, (packet) => {
      if (!packet.questions?.some((q) => q.name === SERVICE && q.type === 'PTR')) return;
      queries.push(packet);
      // The first query's answers reach the browser for device 1 only (device 2's were lost); the repeat is answered by device 2.
      if (queries.length === 1) mdns.respond({ answers: records(1) });
      if (queries.length === 2) mdns.respond({ answers: records(2) });
    });
    // The test is the schedule's clock: each planned query runs when the test says, and its wait is recorded.
    const planned: Array<{ ms: number; run: () => void; cancelled: boolean }> = [];
    browser = await startMdnsBrowser({
      lan: lo,
      port: PORT,
      onChange: () => undefined,
      onWarning: () => undefined,
      setTimer: (run, ms) => {
        const p = { ms, run, cancelled: false };
        planned.push(p);
        return () => void (p.cancelled = true);
      },
    });
    const b = browser;
    await waitFor('device 1 listed from the first answers', () => b.instances().length === 1);
    expect(planned.map((p) => p.ms)).toEqual([FIRST_QUERY_INTERVAL_MS]);
    planned[0]!.run();
    await waitFor('device 2 listed from the answers to the repeat', () => b.instances().length === 2);
    // Known-Answer suppression: the repeat named device 1, which need not answer again.
    expect(queries[1]!.answers?.map((a) => [a.type, a.data])).toEqual([['PTR', `dev1.${SERVICE}`]]);
    // After the repeat the schedule planned 1 s; device 2's news replaced that by the first interval.
    await waitFor('a quick repeat planned', () => planned.length === 3);
    expect(planned[1]).toMatchObject({ ms: 3 * FIRST_QUERY_INTERVAL_MS, cancelled: true });
    expect(planned[2]!.ms).toBeLessThanOrEqual(FIRST_QUERY_INTERVAL_MS);
    expect(planned[2]!.cancelled).toBe(false);
    planned[2]!.run();
    await waitFor('the third query', () => queries.length === 3);
    expect(queries[2]!.answers?.map((a) => a.data).sort()).toEqual([`dev1.${SERVICE}`, `dev2.${SERVICE}`]);
    // Nothing new came: the waits back off again from 1 s.
    expect(planned.slice(3).map((p) => p.ms)).toEqual([3 * FIRST_QUERY_INTERVAL_MS]);
  });
});

describe('the query schedule (as mDNSResponder: a third of a second, then three times the last)', () => {
  it('given no news, then the waits are 333 ms, 1 s, 3 s, 9 s, … up to an hour', () => {
    const s = new MdnsQuerySchedule();
    const waits = Array.from({ length: 12 }, () => s.next());
    expect(waits.slice(0, 4)).toEqual([333, 999, 2997, 8991]);
    expect(waits.at(-1)).toBe(3600_000);
  });

  it('given news after repeats, then a quick repeat each time, at most MAX_QUICK_REPEATS, the waits starting again from 1 s', () => {
    const s = new MdnsQuerySchedule();
    s.next();
    s.next();
    s.next();
    expect(s.quick()).toBe(true);
    expect(s.next()).toBe(999);
    for (let i = 1; i < MAX_QUICK_REPEATS; i++) expect(s.quick()).toBe(true);
    expect(s.quick()).toBe(false);
  });

  it('given 250 known devices, then the Known Answers go in packets of at most 9000 bytes (with IP and UDP headers), the question in the first, TC on all but the last', () => {
    const known = Array.from({ length: 250 }, (_, i) => ({ name: SERVICE, type: 'PTR' as const, ttl: 100, data: `NVR-8CH-bench-device-${String(i).padStart(4, '0')}.${SERVICE}` }));
    const packets = knownAnswerQuery(SERVICE, known);
    expect(packets.length).toBeGreaterThan(1);
    for (const p of packets) expect(dnsPacket.encode({ type: 'query', ...p }).length + 28).toBeLessThanOrEqual(9000);
    expect(packets.map((p) => p.questions.length)).toEqual(packets.map((_, i) => (i === 0 ? 1 : 0)));
    expect(packets.map((p) => (p.flags & dnsPacket.TRUNCATED_RESPONSE) !== 0)).toEqual(packets.map((_, i) => i < packets.length - 1));
    expect(packets.flatMap((p) => p.answers)).toEqual(known);
  });
});
