import { describe, expect, it } from 'vitest';
import { MAX_TOKEN_CAPACITY } from '../../src/protocol/index.js';
import { codeIndexForDevice, planQrCodes } from '../../src/qr/index.js';

describe('planning codes for a batch', () => {
  const expectations: Array<[number, number[]]> = [
    [1, [1]],
    [30, [30]],
    [31, [30, 1]],
    [45, [30, 15]],
    [60, [30, 30]],
    [61, [30, 30, 1]],
  ];
  for (const [devices, capacities] of expectations) {
    it(`${devices} devices → ${capacities.join(' + ')}`, () => {
      const plan = planQrCodes(devices);
      expect(plan.map((c) => c.capacity)).toEqual(capacities);
      expect(plan.map((c) => c.index)).toEqual(capacities.map((_, i) => i));
    });
  }

  it('1000 devices → 34 codes, none above 30, every device served exactly once', () => {
    const plan = planQrCodes(1000);
    expect(plan).toHaveLength(Math.ceil(1000 / MAX_TOKEN_CAPACITY));
    expect(plan.every((c) => c.capacity >= 1 && c.capacity <= MAX_TOKEN_CAPACITY)).toBe(true);
    expect(plan.reduce((n, c) => n + c.capacity, 0)).toBe(1000);
    plan.forEach((c, i) => expect(c.firstDevice).toBe(i === 0 ? 0 : plan[i - 1]!.firstDevice + plan[i - 1]!.capacity));
    expect(plan.at(-1)!.capacity).toBe(10);
  });

  it('device i is served by code ⌊i/30⌋, matching the plan', () => {
    const plan = planQrCodes(95);
    for (let i = 0; i < 95; i++) {
      const code = plan[codeIndexForDevice(i)]!;
      expect(i).toBeGreaterThanOrEqual(code.firstDevice);
      expect(i).toBeLessThan(code.firstDevice + code.capacity);
    }
  });

  it('no devices, no codes; a negative or fractional count is an error', () => {
    expect(planQrCodes(0)).toEqual([]);
    expect(() => planQrCodes(-1)).toThrow(RangeError);
    expect(() => planQrCodes(2.5)).toThrow(RangeError);
  });
});
