import { afterEach, describe, expect, it } from 'vitest';
import { MDNS_SERVICE_TYPE } from '../../src/protocol/index.js';
import { openBonjour, resolveLanInterface, startMdnsBrowser, type MdnsBrowser } from '../../src/wired/index.js';

/** Its own port (not in support/lan.ts's table, so files run side by side without sharing one). */
const PORT = 25371;
const SERVICE = `_${MDNS_SERVICE_TYPE}._tcp.local`;

describe('the mDNS browser keeps asking (RFC 6762 §5.2 continuous querying)', () => {
  let browser: MdnsBrowser | null = null;
  let close: (() => Promise<void>) | null = null;
  afterEach(async () => {
    await browser?.close();
    await close?.();
  });

  it('given no answer to its first three queries, then it asks a fourth time, each interval at least twice the last', async () => {
    const lo = resolveLanInterface('127.0.0.1');
    const { bonjour, mdns } = await openBonjour(lo, PORT, () => undefined);
    close = () => new Promise<void>((done) => bonjour.destroy(() => done()));
    const asked: number[] = [];
    let fourth: () => void = () => undefined;
    const fourthQuery = new Promise<void>((resolve) => (fourth = resolve));
    (mdns as unknown as { on(e: 'query', f: (p: { questions?: Array<{ name: string; type: string }> }) => void): void }).on('query', (packet) => {
      if (!packet.questions?.some((q) => q.name === SERVICE && q.type === 'PTR')) return;
      asked.push(performance.now());
      if (asked.length === 4) fourth();
    });
    // Nobody answers: a LAN that lost every answer so far. Before the fix the browser stopped after three.
    browser = await startMdnsBrowser({ lan: lo, port: PORT, onChange: () => undefined, onWarning: () => undefined });
    await fourthQuery;
    const gaps = asked.slice(1).map((t, i) => t - asked[i]!);
    expect(gaps[0]).toBeGreaterThanOrEqual(900);
    expect(gaps[1]).toBeGreaterThanOrEqual(1.8 * gaps[0]!);
    expect(gaps[2]).toBeGreaterThanOrEqual(1.8 * gaps[1]!);
  }, 15_000);
});
