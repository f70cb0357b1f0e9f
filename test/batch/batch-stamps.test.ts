import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openBatchStore } from '../../src/batch/batch-records.js';
import { nextStamp, stampsFromBoot } from '../../src/batch/batch-views.js';

/** BatchView.stamp: what lets the UI order an HTTP answer and the event stream (see use-current-batch-store). */
describe('batch stamps', () => {
  it('given many stamps, then each is greater than the last, and all are safe integers', () => {
    const stamps = Array.from({ length: 10_000 }, () => nextStamp());
    for (let i = 1; i < stamps.length; i++) expect(stamps[i]!).toBeGreaterThan(stamps[i - 1]!);
    expect(Number.isSafeInteger(stamps.at(-1)!)).toBe(true);
  });

  it('given the batch store opened again (a restart), then its boot count grows, and stamps after it are above any of the boot before, whatever the clock says', () => {
    const dir = mkdtempSync(join(tmpdir(), 'batch-stamps-'));
    try {
      const path = join(dir, 'batches.db');
      const first = openBatchStore(path);
      const boot1 = first.nextBoot();
      first.close();
      const second = openBatchStore(path);
      const boot2 = second.nextBoot();
      second.close();
      expect(boot2).toBe(boot1 + 1);
      // Billions of stamps in the first boot still stay below the second boot's first stamp.
      stampsFromBoot(boot1);
      const lastOfBoot1 = nextStamp() + 2 ** 32 - 2;
      stampsFromBoot(boot2);
      expect(nextStamp()).toBeGreaterThan(lastOfBoot1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
