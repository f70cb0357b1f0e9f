import { describe, expect, it } from 'vitest';
import { createAuthFailureGuard, DEFAULT_AUTH_FAILURE_LIMITS, sourceKey, type FoldedLogLine } from '../../src/cloud/auth-failures.js';

/** The limiter and its log window alone, on a clock the test moves (DESIGN §4.3, issue 9). */
function guardWith(limits: Partial<typeof DEFAULT_AUTH_FAILURE_LIMITS> = {}) {
  let now = Date.parse('2026-12-01T10:00:00Z');
  const lines: FoldedLogLine[] = [];
  const unchecked: Array<[string, number]> = [];
  const guard = createAuthFailureGuard({ clock: () => now, log: (l) => lines.push(l), onUnchecked: (devId, n) => unchecked.push([devId, n]), limits });
  /** A forged request as the route handles it: refused unchecked, or checked and failed. */
  const forge = (devId: string, source: string): boolean => {
    if (!guard.admit(devId, source)) return false;
    guard.record(devId, source, 'DEVICE_AUTH');
    return true;
  };
  return { guard, lines, unchecked, forge, advance: (ms: number) => (now += ms) };
}

describe('failed device authentication: limited per (device, address) and per address, folded per window', () => {
  it('given a pair that failed its burst, then it is refused unchecked while the device from another address and other devices from that address still get checked', () => {
    const { guard, forge } = guardWith();
    for (let i = 0; i < DEFAULT_AUTH_FAILURE_LIMITS.pairBurst; i++) expect(forge('cam-1', '10.0.0.66')).toBe(true);
    expect(guard.admit('cam-1', '10.0.0.66')).toBe(false);
    expect(guard.admit('cam-1', '192.168.1.20')).toBe(true);
    expect(guard.admit('cam-2', '10.0.0.66')).toBe(true);
  });

  it('given a limited pair, when the refill time passes, then one more request is checked', () => {
    const { guard, forge, advance } = guardWith({ pairBurst: 2, pairRefillPerSecond: 0.5 });
    forge('cam-1', 'a');
    forge('cam-1', 'a');
    expect(guard.admit('cam-1', 'a')).toBe(false);
    advance(1_900);
    expect(guard.admit('cam-1', 'a')).toBe(false);
    advance(100);
    expect(guard.admit('cam-1', 'a')).toBe(true);
  });

  it('given one address spraying forged requests over many devices, then the address is limited after its burst, and another address is not', () => {
    const { guard, forge } = guardWith({ sourceBurst: 50 });
    let checked = 0;
    for (let i = 0; i < 1_000; i++) if (forge(`cam-${i}`, 'spray')) checked++;
    expect(checked).toBe(50);
    expect(guard.admit('cam-new', 'spray')).toBe(false);
    expect(guard.admit('cam-new', 'bench')).toBe(true);
  });

  it('given a flood over 100,000 devices and 100,000 addresses, then memory stays within its bounds and the log within its lines per window', () => {
    const { guard, lines, forge } = guardWith({ maxPairs: 1_000, maxSources: 500, maxLinesPerWindow: 20 });
    for (let i = 0; i < 100_000; i++) forge(`cam-${i}`, `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`);
    expect(guard.size().pairs).toBeLessThanOrEqual(1_000);
    expect(guard.size().sources).toBeLessThanOrEqual(500);
    guard.flush();
    // Itemised lines up to the cap, then one line for all the rest, with every failure counted.
    expect(lines.length).toBeLessThanOrEqual(20 + 1);
    expect(lines.at(-1)!.message).toMatch(/^\d+ failed device authentications of \d+ further or forgotten devices and addresses folded in the last 10 s$/);
    const told = lines.slice(20).reduce((n, l) => n + Number(/^(\d+) failed/.exec(l.message)![1]), 0);
    expect(told + 20).toBeGreaterThanOrEqual(100_000 - 1_000);
  });

  it('given a flood of one pair in a window, then the log says the first at once and the rest in one line at the window end, and hands the unchecked refusals on', () => {
    const { guard, lines, unchecked, forge, advance } = guardWith();
    for (let i = 0; i < 1_000; i++) {
      forge('cam-1', '10.0.0.66');
      advance(5);
    }
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ message: 'device unbind refused', fields: { devId: 'cam-1', source: '10.0.0.66', reason: 'DEVICE_AUTH' } });
    guard.flush();
    expect(lines).toHaveLength(2);
    expect(lines[1]!.message).toMatch(/^1000 failed DEVICE_AUTH for dev cam-1 from addr 10\.0\.0\.66 folded in the last 10 s \(\d+ answered RATE_LIMITED unchecked\)$/);
    const refused = (lines[1]!.fields as { rateLimited: number }).rateLimited;
    expect(unchecked).toEqual([['cam-1', refused]]);
    // A quiet window says nothing, and forgets the pair once its budget is back.
    guard.flush();
    expect(lines).toHaveLength(2);
    advance(3_600_000);
    guard.flush();
    expect(guard.size()).toEqual({ pairs: 0, sources: 0 });
  });

  it('given IPv6 addresses of one /64, then they count as one address; IPv4 (also mapped) counts as itself', () => {
    expect(sourceKey('2001:db8:1:2::1')).toBe('2001:db8:1:2::/64');
    expect(sourceKey('2001:0db8:0001:0002:dead:beef:0:7')).toBe('2001:db8:1:2::/64');
    expect(sourceKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
    expect(sourceKey('::1')).toBe('0:0:0:0::/64');
    expect(sourceKey('::ffff:127.0.0.66')).toBe('127.0.0.66');
    expect(sourceKey('127.0.0.66')).toBe('127.0.0.66');
    const { guard, forge } = guardWith({ pairBurst: 3 });
    for (let i = 1; i <= 3; i++) forge('cam-1', `2001:db8:1:2::${i}`);
    expect(guard.admit('cam-1', '2001:db8:1:2::ffff')).toBe(false);
    expect(guard.admit('cam-1', '2001:db8:1:3::1')).toBe(true);
  });
});
