import { describe, expect, it } from 'vitest';
import { parseScannedLabel } from '../../../src/protocol/index.js';
import { garbledOf, planScans, typoOf } from '../../../src/device/uart/virtual-scanner-plan.js';

/** What the virtual barcode scanner reads: each label once, some deliberately wrong, deterministically. */
const LABELS = ['GW1-0001', 'GW1-0002', 'GW1-0003', 'GW1-0004', 'GW1-0005', 'GW1-0006'];

describe('virtual scanner plan', () => {
  it('given no wrong scans, then every label is scanned once, in order', () => {
    expect(planScans(LABELS)).toEqual(LABELS.map((l) => ({ line: l, kind: 'label', of: l })));
  });

  it('given three wrong scans, then a typo, a garbled read (with its rescan) and a swapped label are spread over the bench', () => {
    const plan = planScans(LABELS, 3);
    expect(plan.map((p) => [p.kind, p.of])).toEqual([
      ['label', 'GW1-0001'],
      ['typo', 'GW1-0002'],
      ['label', 'GW1-0003'],
      ['garbled', 'GW1-0004'],
      ['label', 'GW1-0004'],
      ['label', 'GW1-0005'],
      ['other', 'GW1-0006'],
    ]);
    const typo = plan[1]!.line;
    expect(parseScannedLabel(typo).ok).toBe(true);
    expect(LABELS).not.toContain(typo);
    expect(parseScannedLabel(plan[3]!.line).ok).toBe(false);
    expect(plan[6]!.line).toBe('GW1-0001');
    expect(planScans(LABELS, 3)).toEqual(plan); // a rerun of the bench scans the same lines
  });

  it('given counts per kind, then exactly those are made', () => {
    const kinds = planScans(LABELS, { garbled: 2, other: 1 }).map((p) => p.kind);
    expect(kinds.filter((k) => k === 'garbled')).toHaveLength(2);
    expect(kinds.filter((k) => k === 'other')).toHaveLength(1);
    expect(kinds.filter((k) => k === 'typo')).toHaveLength(0);
  });

  it('given a typo would hit another device’s label, then the next candidate is taken', () => {
    expect(typoOf('GW1-0001', new Set(['GW1-0001', 'GW1-0002']))).toBe('GW1-0003');
    expect(typoOf('ab-z', new Set())).toBe('ab-a');
    expect(garbledOf('GW1-0001')).toBe('GW1-#?');
  });

  it('given more wrong scans than labels, a label that is no serial, or a swap with one label, then it refuses', () => {
    expect(() => planScans(LABELS.slice(0, 2), 3)).toThrow(/at most one per label/);
    expect(() => planScans(['ok-label', 'no good!'])).toThrow(/not a serial label/);
    expect(() => planScans(['GW1-0001'], { other: 1 })).toThrow(/two different labels/);
    expect(() => planScans(LABELS, -1)).toThrow(RangeError);
  });
});
