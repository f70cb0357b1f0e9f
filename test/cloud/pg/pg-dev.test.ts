import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { pgDevStatus, startPgDev, stopPgDev } from '../../../src/cloud/pg/pg-dev.js';
import { runUnbind } from '../../support/processes.js';

/** The throwaway PostgreSQL, as a test and a person use it: real initdb, pg_ctl and postgres processes. */
const dirs: string[] = [];
const newDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'unbind-pg-dev-'));
  dirs.push(d);
  return join(d, 'pg');
};
afterAll(async () => {
  for (const d of dirs) {
    await stopPgDev({ dir: join(d, 'pg') }).catch(() => {});
    rmSync(d, { recursive: true, force: true });
  }
});

async function ask(url: string, sql: string): Promise<unknown[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows;
  } finally {
    await c.end();
  }
}

describe('pg-dev: a throwaway PostgreSQL', () => {
  it('given an empty dir, when started, then it serves on 127.0.0.1 only, with a password, as the OS user postgres, and stops cleanly', async () => {
    const dir = newDir();
    // mkdtemp's own folder is 0700 root: give postgres a way in, as /tmp would.
    execFileSync('chmod', ['755', join(dir, '..')]);
    const s = await startPgDev({ dir, unsafeFast: true });
    expect(s.running).toBe(true);
    expect(s.url).toMatch(/^postgres:\/\/postgres:[A-Za-z0-9_-]{24}@127\.0\.0\.1:\d+\/postgres$/);
    expect(await ask(s.url!, "SELECT current_setting('listen_addresses') AS l, current_setting('fsync') AS f, current_user AS u")).toEqual([{ l: '127.0.0.1', f: 'off', u: 'postgres' }]);
    expect(statSync(join(dir, 'password')).mode & 0o777).toBe(0o600);
    expect(statSync(join(dir, 'data')).uid).toBe(Number(execFileSync('id', ['-u', 'postgres']).toString()));
    // Without the password the server refuses a TCP login.
    await expect(ask(s.url!.replace(/:[^:@]+@/, ':wrong@'), 'SELECT 1')).rejects.toThrow(/password authentication failed/);

    expect(await startPgDev({ dir })).toEqual(s); // already running: the same server
    expect(await stopPgDev({ dir })).toBe(true);
    expect(pgDevStatus(dir)).toMatchObject({ running: false, url: null });
    expect(readFileSync(join(dir, 'server.log'), 'utf8')).toMatch(/database system is shut down/);
    expect(await stopPgDev({ dir })).toBe(false);

    const again = await startPgDev({ dir, unsafeFast: true });
    expect(again.url).toBe(s.url); // the same port and password after a restart
  });

  it('given a server killed with kill -9 (its pid file left behind), then status says stopped and start brings it back with its data', async () => {
    const dir = newDir();
    execFileSync('chmod', ['755', join(dir, '..')]);
    // Durable (the default): with synchronous_commit off a commit just answered could die with the server.
    const s = await startPgDev({ dir });
    await ask(s.url!, 'CREATE TABLE kept (x int); INSERT INTO kept VALUES (7)');
    process.kill(s.pid!, 'SIGKILL');
    await new Promise<void>((done) => {
      const check = (): void => (pgDevStatus(dir).running ? void setImmediate(check) : done());
      check();
    });
    expect(readFileSync(join(dir, 'data', 'postmaster.pid'), 'utf8').split('\n')[0]).toBe(String(s.pid)); // stale, still there
    const back = await startPgDev({ dir });
    expect(back.running).toBe(true);
    expect(back.pid).not.toBe(s.pid);
    expect(await ask(back.url!, 'SELECT x FROM kept')).toEqual([{ x: 7 }]);
  });

  it('given the CLI, when a person runs unbind pg-dev start, status and stop, then it prints the URL and stops it', async () => {
    const dir = newDir();
    execFileSync('chmod', ['755', join(dir, '..')]);
    const start = runUnbind(['pg-dev', 'start', '--dir', dir, '--unsafe-fast']);
    const [url] = await start.waitFor(/^postgres:\/\/\S+$/);
    await start.waitFor(/PostgreSQL running in/);
    expect(await ask(url, 'SELECT 1 AS one')).toEqual([{ one: 1 }]);
    const status = runUnbind(['pg-dev', 'status', '--dir', dir]);
    await status.waitFor(new RegExp(`^${url.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`));
    const stop = runUnbind(['pg-dev', 'stop', '--dir', dir]);
    await stop.waitFor(/PostgreSQL stopped/);
    expect(pgDevStatus(dir).running).toBe(false);
  });
});
