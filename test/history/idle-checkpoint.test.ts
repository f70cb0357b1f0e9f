import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createIdleCheckpoint } from '../../src/history/idle-checkpoint.js';
import { openHistoryDb } from '../../src/history/operation-log-database.js';

describe('history checkpoint when writes pause', () => {
  const dir = mkdtempSync(join(tmpdir(), 'history-ckpt-'));
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('given writes that keep coming, then the WAL stays out of the database file; once they have paused for the idle time, it is copied in, and no timer is left', () => {
    const path = join(dir, 'history.db');
    const db = openHistoryDb(path);
    db.pragma('wal_checkpoint(TRUNCATE)');
    const size0 = statSync(path).size;
    let t = 0;
    const timers: Array<{ at: number; fn: () => void }> = [];
    const ckpt = createIdleCheckpoint(db, { idleMs: 250, now: () => t, setTimer: (fn, ms) => (timers.push({ at: t + ms, fn }), () => undefined) });
    const runTimersUntil = (until: number): void => {
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        if (!timers[0] || timers[0].at > until) break;
        const next = timers.shift()!;
        t = next.at;
        next.fn();
      }
      t = until;
    };
    const insert = db.prepare(
      "INSERT INTO attempts (at, station_id, operator, account_id, method, dev_id, result) VALUES (?, 'st', 'op', 'acc', 'qr', ?, 'UNBOUND')",
    );
    const write = (from: number): void => {
      db.transaction(() => {
        for (let i = 0; i < 400; i++) insert.run(from + i, `dev-${from + i}`);
      })();
      ckpt.wrote();
    };
    write(0);
    runTimersUntil(200);
    write(1000); // the writes go on: the first look (at 250) finds them 50 ms old and waits again
    runTimersUntil(440);
    expect(timers).toHaveLength(1);
    expect(statSync(path).size).toBe(size0);
    runTimersUntil(460); // 250 ms after the last write
    expect(statSync(path).size).toBeGreaterThan(size0);
    expect(timers).toHaveLength(0);
    expect(db.prepare('SELECT COUNT(*) AS n FROM attempts').get()).toEqual({ n: 800 });
    ckpt.close();
    db.close();
  });
});
