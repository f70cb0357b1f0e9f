import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openAuthorityDb } from '../../src/cloud/authority-database.js';
import { startCheckpointer, startIdleCheckpointer, type CheckpointerOptions } from '../../src/cloud/checkpointer.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'checkpointer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Frames in the WAL and frames still to copy, without copying any (a checkpoint of nothing new is a no-op read). */
const walState = (db: ReturnType<typeof openAuthorityDb>): { log: number; checkpointed: number } =>
  db.prepare<[], { log: number; checkpointed: number }>('PRAGMA wal_checkpoint(PASSIVE)').get()!;

/** `rows` rows written into a new table, left in the WAL: only a checkpointer may copy them into the database. */
function writeFramesOnly(db: ReturnType<typeof openAuthorityDb>, rows: number): void {
  db.pragma('wal_autocheckpoint = 0');
  db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
  const add = db.prepare('INSERT INTO t (v) VALUES (?)');
  db.transaction(() => {
    for (let i = 0; i < rows; i++) add.run('x'.repeat(200));
  })();
}

/** Runs a module script in a fresh node (tsx): its exit code, stdout and stderr. */
async function runScript(script: string): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  // A hang of what the script checks ends the child (and fails the test), never leaves it running.
  const kill = setTimeout(() => child.kill('SIGKILL'), 20_000);
  const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
  clearTimeout(kill);
  return { code, out: out.trim(), err };
}

describe('WAL checkpoints of the authority store in a worker thread (real SQLite file)', () => {
  it('while the store keeps writing, the worker copies and syncs the WAL: the writer’s own connection never has to', async () => {
    const db = openAuthorityDb(join(dir, 'worker-busy.db'));
    try {
      db.pragma('wal_autocheckpoint = 0'); // only the worker may copy frames here
      db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
      const add = db.prepare('INSERT INTO t (v) VALUES (?)');
      const seen: Array<{ writes: number; copied: number; thread: string }> = [];
      let writes = 0;
      let onCopied: () => void = () => undefined;
      const copiedWhileWriting = new Promise<void>((r) => (onCopied = r));
      const cp = startCheckpointer(db, {
        intervalMs: 20,
        onCheckpoint: (r) => {
          seen.push({ writes, copied: r.copied, thread: r.thread });
          if (r.copied > 0) onCopied();
        },
        onError: (message) => seen.push({ writes: -1, copied: -1, thread: message }),
      });
      // A write every 5 ms, never a pause: the idle checkpointer would find the store busy at every look.
      const writer = setInterval(() => add.run('z'.repeat(300)), 5);
      writes = 1;
      const timeout = new Promise<void>((r) => setTimeout(r, 5000));
      await Promise.race([copiedWhileWriting, timeout]);
      clearInterval(writer);
      await cp.stop();
      expect(seen.find((c) => c.copied > 0)).toMatchObject({ thread: 'worker' });
      expect(seen.every((c) => c.thread === 'worker')).toBe(true);
      expect(db.prepare('SELECT count(*) > 0 AS some FROM t').get()).toEqual({ some: 1 });
    } finally {
      db.close();
    }
  });

  /** A store whose worker is made to fail: what onError was told, and the first checkpoint (then stopped) that copied frames. */
  async function whenWorkerFails(name: string, opts: CheckpointerOptions): Promise<{ errors: string[]; r: { thread: string; copied: number; walFrames: number } }> {
    const db = openAuthorityDb(join(dir, name));
    try {
      writeFramesOnly(db, 200);
      const errors: string[] = [];
      const r = await new Promise<{ thread: string; copied: number; walFrames: number }>((resolve) => {
        const cp = startCheckpointer(db, { ...opts, idleMs: 20, onError: (m) => errors.push(m), onCheckpoint: (c) => void cp.stop().then(() => resolve(c)) });
      });
      return { errors, r };
    } finally {
      db.close();
    }
  }

  it('a worker that cannot open the store is reported as an error, and the store’s own connection checkpoints when idle instead', async () => {
    const { errors, r } = await whenWorkerFails('worker-fails.db', { workerPath: join(dir, 'no-such-dir', 'missing.db') });
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatch(/WAL checkpoint worker died: .*fall back/);
    expect(r.thread).toBe('store');
    expect(r.copied).toBe(r.walFrames);
  });

  it('a checkpoint that keeps failing is reported once, and after a few failures in a row the store’s own connection checkpoints instead', async () => {
    // Prepares, and fails each time it runs (as a checkpoint on a full disk would).
    const { errors, r } = await whenWorkerFails('worker-keeps-failing.db', { workerStatement: 'SELECT abs(-9223372036854775808)', intervalMs: 5 });
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/WAL checkpoint in the worker failed: integer overflow/);
    expect(errors[1]).toMatch(/WAL checkpoint worker exited \(2\); checkpoints fall back/);
    expect(r.thread).toBe('store');
    expect(r.copied).toBe(r.walFrames);
  });

  it('stop() ends the worker and resolves in a process where nothing else keeps the event loop alive', async () => {
    // The authority's close awaits it; a stop that waits for an unref'd thread's exit event never returns there.
    const script = `
      const { openAuthorityDb } = await import(${JSON.stringify(join(REPO, 'src/cloud/authority-database.ts'))});
      const { startCheckpointer } = await import(${JSON.stringify(join(REPO, 'src/cloud/checkpointer.ts'))});
      const db = openAuthorityDb(${JSON.stringify(join(dir, 'stop.db'))});
      const cp = startCheckpointer(db, { onError: (m) => console.log('error', m) });
      await new Promise((r) => setTimeout(r, 200));
      await cp.stop();
      db.close();
      console.log('stopped');`;
    expect(await runScript(script)).toEqual({ code: 0, out: 'stopped', err: '' });
  });

  it('an authority closed on SQLite leaves no thread behind: its process ends by itself', async () => {
    const script = `
      const { startAuthority } = await import(${JSON.stringify(join(REPO, 'src/cloud/authority.ts'))});
      const a = await startAuthority({ dbPath: ${JSON.stringify(join(dir, 'authority-close.db'))}, port: 0, logLevel: 'error' });
      await new Promise((r) => setTimeout(r, 200));
      await a.close();
      console.log('closed');`;
    expect(await runScript(script)).toEqual({ code: 0, out: 'closed', err: '' });
  });
});

describe('WAL checkpoints on the store’s own connection when idle (the fallback)', () => {
  it('given unbind-like writes and then a quiet store, the WAL is copied into the database on the store’s own connection', async () => {
    const db = openAuthorityDb(join(dir, 'idle.db'));
    try {
      db.pragma('wal_autocheckpoint = 0'); // only the checkpointer may copy frames here
      db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
      const add = db.prepare('INSERT INTO t (v) VALUES (?)');
      db.transaction(() => {
        for (let i = 0; i < 500; i++) add.run('x'.repeat(200));
      })();
      const done = new Promise<{ walFrames: number; copied: number }>((resolve) => {
        const cp = startIdleCheckpointer(db, { idleMs: 20, onCheckpoint: (r) => void cp.stop().then(() => resolve(r)) });
      });
      const r = await done;
      expect(r.walFrames).toBeGreaterThan(10);
      expect(r.copied).toBe(r.walFrames);
      expect(db.prepare('SELECT count(*) AS n FROM t').get()).toEqual({ n: 500 });
    } finally {
      db.close();
    }
  });

  it('while every look finds new writes, it leaves the connection alone; once quiet, it checkpoints', async () => {
    const db = openAuthorityDb(join(dir, 'busy.db'));
    try {
      db.pragma('wal_autocheckpoint = 0');
      db.exec('CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)');
      const add = db.prepare('INSERT INTO t (v) VALUES (?)');
      const checkpoints: number[] = [];
      let writes = 0;
      let onCheckpoint: () => void = () => undefined;
      const quietAndCopied = new Promise<void>((r) => (onCheckpoint = r));
      // A write before each look (one timer list, the writer's first: Node runs them in that order, however
      // late the machine runs them): the checkpointer must never find the store idle while it writes.
      const writer = setInterval(() => {
        add.run('y'.repeat(100));
        if (++writes === 40) clearInterval(writer);
      }, 10);
      const cp = startIdleCheckpointer(db, {
        idleMs: 10,
        onCheckpoint: (r) => {
          checkpoints.push(writes);
          if (r.copied === r.walFrames) onCheckpoint();
        },
      });
      await quietAndCopied;
      await cp.stop();
      expect(checkpoints[0]).toBe(40); // the first checkpoint came after the last write
      expect(walState(db).log).toBe(walState(db).checkpointed);
    } finally {
      db.close();
    }
  });
});
