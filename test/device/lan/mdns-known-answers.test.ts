import { afterEach, describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import { resolveBenchLan, startMdnsResponder, type BenchMdnsResponder } from '../../../src/device/index.js';
import { MDNS_SERVICE_TYPE } from '../../../src/protocol/index.js';
import { openBonjour, resolveLanInterface, type MulticastDns } from '../../../src/wired/index.js';
/** bonjour-service's own DNS codec (untyped): the bytes a packet takes on the wire, the TC bit. */
const dnsPacket = createRequire(import.meta.url)('dns-packet') as { encode(p: unknown): Buffer; TRUNCATED_RESPONSE: number };

/** Its own port (not in test/wired/support/lan.ts's table). */
const PORT = 25372;
const SERVICE = `_${MDNS_SERVICE_TYPE}._tcp.local`;
const fqdn = (n: number): string => `dev${n}.${SERVICE}`;
/**
 * Devices 1..n each announced twice (RFC 6762 §8.3), in whatever datagrams: the repeats run on one timer
 * per device, so a loaded machine can send them in separate datagrams instead of one.
 */
const announcedTwice =
  (n: number) =>
  (r: string[][]): boolean =>
    Array.from({ length: n }, (_, i) => fqdn(i + 1)).every((name) => r.flat().filter((x) => x === name).length >= 2);

/**
 * The bench's mDNS responder answers a query less its Known Answers (RFC 6762 §7.1), also those in the
 * packets that follow a query with the TC bit (§7.2): a browser that asks again after a loss draws
 * answers only from the devices it has not heard.
 */
describe('the bench mDNS responder and Known-Answer suppression', () => {
  let responder: BenchMdnsResponder | null = null;
  let close: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await responder?.close();
    responder = null;
    await close?.();
    close = null;
  });

  it('given a query naming device 1 as known, and a TC follow-up naming device 2, then only device 3 is answered', async () => {
    responder = await startMdnsResponder({ lan: resolveBenchLan('127.0.0.1'), port: PORT });
    const { bonjour, mdns } = await openBonjour(resolveLanInterface('127.0.0.1'), PORT, () => undefined);
    close = () => new Promise<void>((done) => bonjour.destroy(() => done()));
    const responses: string[][] = [];
    let heard: () => void = () => undefined;
    (mdns as MulticastDns).on('response', (packet) => {
      responses.push(((packet.answers ?? []) as Array<{ type: string; data: unknown }>).filter((a) => a.type === 'PTR').map((a) => String(a.data)).sort());
      heard();
    });
    const next = (when: (r: string[][]) => boolean): Promise<void> =>
      new Promise<void>((resolve) => {
        heard = () => when(responses) && resolve();
        heard();
      });
    for (const n of [1, 2, 3]) responder.publish(`k${n}`, { instance: `dev${n}`, host: `dev${n}`, address: `127.77.0.${n}`, port: 8080 + n, txt: { v: '1', id: `d${n}` } });
    // The announcements, twice (RFC 6762 §8.3): the answers come after them.
    await next(announcedTwice(3));
    const before = responses.length;
    const known = (n: number) => ({ name: SERVICE, type: 'PTR', ttl: 120, data: fqdn(n) });
    mdns.query({ questions: [{ name: SERVICE, type: 'PTR' }], answers: [known(1)], flags: dnsPacket.TRUNCATED_RESPONSE });
    mdns.query({ questions: [], answers: [known(2)] });
    await next((r) => r.length > before);
    expect(responses.slice(before)).toEqual([[fqdn(3)]]);
  });

  it('given a Known Answer with less than half its TTL left, then that device answers anyway', async () => {
    responder = await startMdnsResponder({ lan: resolveBenchLan('127.0.0.1'), port: PORT });
    const { bonjour, mdns } = await openBonjour(resolveLanInterface('127.0.0.1'), PORT, () => undefined);
    close = () => new Promise<void>((done) => bonjour.destroy(() => done()));
    const responses: string[][] = [];
    let heard: () => void = () => undefined;
    (mdns as MulticastDns).on('response', (packet) => {
      responses.push(((packet.answers ?? []) as Array<{ type: string; data: unknown }>).filter((a) => a.type === 'PTR').map((a) => String(a.data)).sort());
      heard();
    });
    const next = (when: (r: string[][]) => boolean): Promise<void> =>
      new Promise<void>((resolve) => {
        heard = () => when(responses) && resolve();
        heard();
      });
    for (const n of [1, 2]) responder.publish(`k${n}`, { instance: `dev${n}`, host: `dev${n}`, address: `127.77.0.${n}`, port: 8080 + n, txt: { v: '1', id: `d${n}` } });
    await next(announcedTwice(2));
    const before = responses.length;
    mdns.query({ questions: [{ name: SERVICE, type: 'PTR' }], answers: [{ name: SERVICE, type: 'PTR', ttl: 120, data: fqdn(1) }, { name: SERVICE, type: 'PTR', ttl: 59, data: fqdn(2) }] });
    await next((r) => r.length > before);
    expect(responses.slice(before)).toEqual([[fqdn(2)]]);
  });
});
