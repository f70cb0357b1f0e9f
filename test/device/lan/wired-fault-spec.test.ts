import { describe, expect, it } from 'vitest';
import { assignWiredFaults, FaultSpecError, parseWiredFaultSpec } from '../../../src/device/index.js';

describe('wired fault specs', () => {
  const ids = ['d1', 'd2', 'd3', 'd4', 'd5', 'd6'].map((d) => `dev-${d}`);

  it('given counts, then the next healthy devices take each fault in the order written, latency for all', () => {
    const a = assignWiredFaults(parseWiredFaultSpec('ipchange=1,notreset=2,dhcp=1,unreachable=1,latency=50ms'), ids);
    expect(Object.fromEntries(a)).toEqual({
      'dev-d1': { notReset: false, faults: { ipChange: true, latencyMs: 50 } },
      'dev-d2': { notReset: true, faults: { latencyMs: 50 } },
      'dev-d3': { notReset: true, faults: { latencyMs: 50 } },
      'dev-d4': { notReset: false, faults: { dhcp: true, latencyMs: 50 } },
      'dev-d5': { notReset: false, faults: { unreachable: true, latencyMs: 50 } },
      'dev-d6': { notReset: false, faults: { latencyMs: 50 } },
    });
  });

  it('given named devices, then exactly those devices take the fault', () => {
    expect(Object.fromEntries(assignWiredFaults(parseWiredFaultSpec('ipchange=dev-d3+dev-d5'), ids))).toEqual({
      'dev-d3': { notReset: false, faults: { ipChange: true } },
      'dev-d5': { notReset: false, faults: { ipChange: true } },
    });
  });

  it('given a fault the wired bench does not have, or too few devices, then the error says so in wired terms', () => {
    expect(() => parseWiredFaultSpec('powerloss=1')).toThrow(/unknown wired fault "powerloss"; known: ipchange, notreset, dhcp, unreachable, latency/);
    expect(() => parseWiredFaultSpec('netchange=1')).toThrow(FaultSpecError);
    expect(() => parseWiredFaultSpec('ipchange=0')).toThrow(/fault "ipchange" needs a count of at least 1/);
    expect(() => assignWiredFaults(parseWiredFaultSpec('ipchange=7'), ids)).toThrow(/"ipchange=7": not enough devices left in a fleet of 6/);
  });
});
