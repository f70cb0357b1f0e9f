import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { historyQuerySchema, type HistoryRow } from '../../src/protocol/station-api.js';
import { allPages, attempt, newestFirst, OWNER, openTempHistory, T0, type TempHistory } from './history-fixtures.js';

let h: TempHistory;
beforeEach(() => {
  h = openTempHistory();
});
afterEach(() => {
  h.cleanup();
});

/** 95 attempts over 19 instants: five share each millisecond, so paging must break ties by id. */
function seedTies(): void {
  h.store.recordMany(Array.from({ length: 95 }, (_, i) => attempt({ at: T0 + Math.floor(i / 5) * 1000 })));
}

describe('cursor paging', () => {
  it('given rows sharing a time, when paged 7 at a time, then every row comes exactly once, newest first, ties by id', () => {
    seedTies();
    const rows = allPages(h.store, OWNER, { limit: 7 });
    expect(rows).toHaveLength(95);
    expect(new Set(rows.map((r) => r.id)).size).toBe(95);
    expect(rows).toEqual([...rows].sort(newestFirst));
  });

  it('given a last page that is exactly full, then its nextCursor is null (no empty page to fetch)', () => {
    seedTies();
    const first = h.store.query(OWNER, { limit: 95 });
    expect(first.items).toHaveLength(95);
    expect(first.nextCursor).toBeNull();
  });

  it('hands out opaque cursors the station API schema accepts', () => {
    seedTies();
    const cursor = h.store.query(OWNER, { limit: 10 }).nextCursor!;
    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(historyQuerySchema.safeParse({ cursor }).success).toBe(true);
  });

  it('given a cursor the store never issued, then the query is refused rather than guessed at', () => {
    expect(() => h.store.query(OWNER, { cursor: 'bm90LWEtY3Vyc29y' })).toThrow(/cursor is not one this store issued/);
    expect(() => h.store.query(OWNER, { cursor: '!!' })).toThrow(/cursor/);
  });

  it('given attempts recorded while someone pages, then the rows seen before are neither repeated nor skipped', () => {
    seedTies();
    const seen: HistoryRow[] = [];
    let page = h.store.query(OWNER, { limit: 10 });
    seen.push(...page.items);
    let late = 0;
    while (page.nextCursor) {
      // New results keep arriving at the top (the bench is working) ...
      h.store.record(attempt({ at: T0 + 10_000_000 + seen.length }));
      // ... and restart reconciliation records an old one, older than every row so far.
      h.store.record(attempt({ at: T0 - 1_000_000 - late++ }));
      // ... and one at the very instant of the cursor's row, with a higher id.
      const boundary = seen[seen.length - 1]!;
      h.store.record(attempt({ at: Date.parse(boundary.at) }));
      page = h.store.query(OWNER, { limit: 10, cursor: page.nextCursor });
      seen.push(...page.items);
    }
    const ids = seen.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length); // no repeats
    const original = allPages(h.store, OWNER, { to: new Date(T0 + 19_000).toISOString() }).filter((r) => r.id <= 95);
    expect(original).toHaveLength(95);
    for (const r of original) expect(ids).toContain(r.id); // no gaps
    // Every page continued strictly below the previous cursor: the walk is in order.
    expect(seen).toEqual([...seen].sort(newestFirst));
    // The rows recorded below the cursor (late reconciliation) were reached; those above it wait for a refresh.
    expect(seen.filter((r) => Date.parse(r.at) < T0).length).toBe(late);
    expect(seen.some((r) => Date.parse(r.at) > T0 + 10_000_000)).toBe(false);
  });

  it('given a filter, then pages follow the filter and the cursor together', () => {
    seedTies();
    h.store.recordMany(Array.from({ length: 30 }, (_, i) => attempt({ at: T0 + i * 500, result: 'FAILED', code: 'TIMEOUT' })));
    const failed = allPages(h.store, OWNER, { result: 'FAILED', limit: 4 });
    expect(failed).toHaveLength(30);
    expect(failed.every((r) => r.code === 'TIMEOUT')).toBe(true);
    expect(failed).toEqual([...failed].sort(newestFirst));
  });
});
