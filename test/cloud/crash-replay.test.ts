import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { startDriver, type Driver } from '../support/driver-process.js';
import { runUnbind, type RunningProcess } from '../support/processes.js';

/**
 * Issue 9, must show: five station processes race 500 signed device requests for one account and one
 * product against one authority on one SQLite file; the authority is killed (SIGKILL) at three points of
 * the race and restarted on the same file; every lost answer is asked for again (same devId and token,
 * new nonce). Every final answer is the store's truth, and no retry is told TOKEN_REUSED for its own decision.
 */
const STATIONS = 5;
const PER_STATION = 100;
/** Answers seen (all stations) at which the authority is killed; each phase lets the stations run 50 requests past it. */
const KILL_AT = [100, 250, 400];
const BUDGETS = [30, 60, 90, PER_STATION];

describe('a retry learns what was decided, across kill -9 (DESIGN §4.3)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'crash-replay-'));
  const db = join(dir, 'authority.db');
  const exportFile = join(dir, 'demo.json');
  let authority: RunningProcess | null = null;
  const drivers: Driver[] = [];
  afterAll(async () => {
    for (const d of drivers) d.child.kill('SIGKILL');
    await authority?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('five stations, 500 requests, the authority killed three times: every answer is the store’s truth, the quota holds, no TOKEN_REUSED for a retry', async () => {
    authority = runUnbind(['authority', '--port', '0', '--db', db, '--demo', '--export-demo', exportFile, '--log-level', 'warn']);
    let answers = 0;
    const answered = (): number => answers;
    const countAnswers = (): void => void (answers = drivers.reduce((n, d) => n + d.lines.filter((l) => l.startsWith('answer ')).length, 0));
    for (let s = 0; s < STATIONS; s++) drivers.push(startDriver(countAnswers));
    const url = (await authority.waitFor(/listening on (http:\/\/\S+)/))[1]!;
    await authority.waitFor(/demo accounts, products and devices written/);
    const port = new URL(url).port;
    const demo = JSON.parse(readFileSync(exportFile, 'utf8')) as { accounts: Array<{ accountId: string; role: string; region: string }>; devices: Array<{ devId: string; pid: string }> };
    const owner = demo.accounts.find((a) => a.role === 'owner' && a.region === 'EU')!;
    const cams = demo.devices.filter((d) => d.pid === 'pqr1cam').map((d) => d.devId).sort();
    expect(cams).toHaveLength(220);

    // Each station (started while the authority was) takes 100 cameras, overlapping the next one's: most devices are asked for by two or three stations.
    await Promise.all(drivers.map((d) => d.waitFor((l) => l.includes('loaded'), 'loaded')));
    drivers.forEach((d, s) => {
      const devIds = Array.from({ length: PER_STATION }, (_, i) => cams[(s * 44 + i) % cams.length]!);
      d.send(`config ${JSON.stringify({ url, exportFile, accountId: owner.accountId, devIds, dropEvery: 10, concurrency: 10 })}`);
    });
    await Promise.all(drivers.map((d) => d.waitFor((l) => l.includes('ready'), 'ready')));

    const allAnswered = (n: number) => new Promise<void>((resolve, reject) => {
      const check = (): boolean => {
        if (answered() >= n) return true;
        return false;
      };
      if (check()) return resolve();
      Promise.race(drivers.map((d) => d.waitFor(() => check(), `${n} answers`))).then(resolve, reject);
    });

    for (let phase = 0; phase < KILL_AT.length; phase++) {
      for (const d of drivers) d.send(`budget ${BUDGETS[phase]}`);
      await allAnswered(KILL_AT[phase]!);
      await authority.kill('SIGKILL');
      authority = runUnbind(['authority', '--port', port, '--db', db, '--log-level', 'warn']);
      await authority.waitFor(/listening on/);
    }
    for (const d of drivers) d.send(`budget ${BUDGETS[KILL_AT.length]}`);
    await Promise.all(drivers.map((d) => d.waitFor((l) => l.includes('done'), 'done')));
    await authority.kill('SIGTERM');

    const finals = drivers.flatMap((d) => d.lines.filter((l) => l.startsWith('answer ') || l.startsWith('lost ')));
    expect(finals.filter((l) => l.startsWith('lost '))).toEqual([]);
    const parsed = finals.map((l) => {
      const [, devId, tokenId, result, reason, how, attempts, seen] = l.split(' ');
      return { devId: devId!, tokenId: tokenId!, result: result!, reason: reason === '-' ? null : reason!, replayed: how === 'replayed', attempts: Number(attempts), seen: seen! };
    });
    expect(parsed).toHaveLength(STATIONS * PER_STATION);

    const store = new BetterSqlite3(db, { readonly: true });
    try {
      const decided = store.prepare<[string, string], { result: string }>('SELECT result FROM decided_answers WHERE token_id = ? AND dev_id = ?');
      const latest = store.prepare<[string, string], { result: string; reason: string | null }>(
        'SELECT result, reason FROM device_logs WHERE token_id = ? AND dev_id = ? ORDER BY id DESC LIMIT 1',
      );
      const mismatches = parsed.filter((a) => {
        const d = decided.get(a.tokenId, a.devId);
        const truth = d ? { result: d.result, reason: null } : latest.get(a.tokenId, a.devId);
        return !truth || truth.result !== a.result || truth.reason !== a.reason;
      });
      expect(mismatches).toEqual([]);
      // No retry is told TOKEN_REUSED: no request of the race is a second use of a place.
      expect(parsed.filter((a) => a.reason === 'TOKEN_REUSED')).toEqual([]);
      expect(store.prepare("SELECT COUNT(*) AS n FROM device_logs WHERE reason = 'TOKEN_REUSED'").get()).toEqual({ n: 0 });
      // Answers were really lost and told again: the dropped ones at least, and those the kills cut off.
      const retried = parsed.filter((a) => a.attempts > 1);
      expect(retried.length).toBeGreaterThanOrEqual(STATIONS * (PER_STATION / 10));
      expect(parsed.filter((a) => a.replayed).length).toBeGreaterThan(0);

      const unboundBy = (col: 'operator_id' | 'pid') =>
        store.prepare(`SELECT ${col} AS k, COUNT(*) AS n FROM device_logs WHERE result = 'UNBOUND' GROUP BY ${col}`).all() as Array<{ k: string; n: number }>;
      const ledger = (scope: string) => store.prepare('SELECT key AS k, SUM(used) AS n FROM quota_usage WHERE scope = ? GROUP BY key').all(scope) as Array<{ k: string; n: number }>;
      expect(unboundBy('operator_id')).toEqual([{ k: owner.accountId, n: expect.any(Number) }]);
      for (const row of [...unboundBy('operator_id'), ...unboundBy('pid')]) expect(row.n).toBeLessThanOrEqual(100);
      expect(ledger('account')).toEqual(unboundBy('operator_id'));
      expect(ledger('product')).toEqual(unboundBy('pid'));
      // A device is unbound once, whichever station asked first.
      expect(store.prepare("SELECT COUNT(*) AS n FROM (SELECT dev_id FROM device_logs WHERE result = 'UNBOUND' GROUP BY dev_id HAVING COUNT(*) > 1)").get()).toEqual({ n: 0 });
      console.info(
        `crash-replay: ${parsed.length} answers, ${retried.length} retried, ${parsed.filter((a) => a.replayed).length} replayed ` +
          `(${parsed.filter((a) => a.replayed && !a.seen.includes('abandoned')).length} of them lost to a kill), ` +
          `${unboundBy('operator_id')[0]?.n} UNBOUND, ${parsed.filter((a) => a.result === 'NOT_BOUND').length} NOT_BOUND`,
      );
    } finally {
      store.close();
    }
  }, 60_000);
});
