import { describe, expect, it } from 'vitest';
import { assignFaults, FaultSpecError, parseFaultSpec } from '../../../src/device/index.js';

const fleet = Array.from({ length: 10 }, (_, i) => `dev-${i + 1}`);

describe('fault specs', () => {
  it('parses counts, devId lists and a latency', () => {
    expect(parseFaultSpec('dhcp=3, unreachable=2,netchange=dev-1+dev-2,powerloss=1,latency=200ms')).toEqual({
      selections: [
        { kind: 'dhcp', count: 3 },
        { kind: 'unreachable', count: 2 },
        { kind: 'netchange', devIds: ['dev-1', 'dev-2'] },
        { kind: 'powerloss', count: 1 },
      ],
      latencyMs: 200,
    });
    expect(parseFaultSpec('latency=2s').latencyMs).toBe(2000);
    expect(parseFaultSpec('latency=75').latencyMs).toBe(75);
    expect(parseFaultSpec('')).toEqual({ selections: [] });
  });

  const bad = [
    ['dhcp', /needs a value/],
    ['wifi=2', /unknown fault "wifi"/],
    ['dhcp=0', /at least 1/],
    ['dhcp=1,dhcp=2', /given twice/],
    ['latency=fast', /not a duration/],
    ['latency=3h', /not a duration/],
    ['latency=900s', /longer than/],
    ['dhcp=a b', /not a devId/],
    ['dhcp=+', /needs a count or devIds/],
  ] as const;
  for (const [spec, message] of bad) {
    it(`refuses "${spec}"`, () => {
      expect(() => parseFaultSpec(spec)).toThrow(FaultSpecError);
      expect(() => parseFaultSpec(spec)).toThrow(message);
    });
  }

  it('counted faults take disjoint runs of devices in fleet order, in the order written', () => {
    const a = assignFaults(parseFaultSpec('dhcp=3,unreachable=2,notreset=1'), fleet);
    expect([...a.keys()]).toEqual(['dev-1', 'dev-2', 'dev-3', 'dev-4', 'dev-5', 'dev-6']);
    expect(a.get('dev-3')!.faults).toEqual({ dhcp: true });
    expect(a.get('dev-4')!.faults).toEqual({ unreachable: true });
    expect(a.get('dev-6')).toEqual({ faults: {}, notReset: true });
    expect(a.has('dev-7')).toBe(false);
  });

  it('named devices are taken first and skipped by counts', () => {
    const a = assignFaults(parseFaultSpec('powerloss=2,netchange=dev-1+dev-3'), fleet);
    expect(a.get('dev-1')!.faults).toEqual({ networkChange: true });
    expect(a.get('dev-2')!.faults).toEqual({ powerLoss: true });
    expect(a.get('dev-4')!.faults).toEqual({ powerLoss: true });
  });

  it('latency reaches every device', () => {
    const a = assignFaults(parseFaultSpec('dhcp=1,latency=50ms'), fleet);
    expect(a.size).toBe(10);
    expect(a.get('dev-1')!.faults).toEqual({ latencyMs: 50, dhcp: true });
    expect(a.get('dev-10')!.faults).toEqual({ latencyMs: 50 });
  });

  it('refuses more faulty devices than the fleet has, and unknown devIds', () => {
    expect(() => assignFaults(parseFaultSpec('dhcp=6,unreachable=5'), fleet)).toThrow(/not enough devices/);
    expect(() => assignFaults(parseFaultSpec('dhcp=dev-99'), fleet)).toThrow(/dev-99 is not in the fleet/);
  });
});
