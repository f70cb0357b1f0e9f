import { describe, expect, it } from 'vitest';
import { nextStamp } from '../../src/batch/batch-views.js';

/** BatchView.stamp: what lets the UI order an HTTP answer and the event stream (see use-current-batch-store). */
describe('batch stamps', () => {
  it('given many stamps taken in one millisecond, then each is greater than the last and none is below the wall clock in microseconds', () => {
    const before = Date.now() * 1000;
    const stamps = Array.from({ length: 10_000 }, () => nextStamp());
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]!).toBeGreaterThan(stamps[i - 1]!);
    expect(stamps[0]!).toBeGreaterThanOrEqual(before);
    expect(Number.isSafeInteger(stamps.at(-1)!)).toBe(true);
  });
});
