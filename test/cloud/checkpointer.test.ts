import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openAuthorityDb } from '../../src/cloud/authority-database.js';
import { startCheckpointer } from '../../src/cloud/checkpointer.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'checkpointer-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Frames in the WAL and frames still to copy, without copying any (a checkpoint of nothing new is a no-op read). */
const walState = (db: ReturnType<typeof openAuthorityDb>): { log: number; checkpointed: number } =>
  db.prepare<[], { log: number; checkpointed: number }>('PRAGMA wal_checkpoint(PASSIVE)').get()!;

describe('WAL checkpoints of the authority store (real SQLite file)', () => {
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
        const cp = startCheckpointer(db, { intervalMs: 20, onCheckpoint: (r) => void cp.stop().then(() => resolve(r)) });
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
      const cp = startCheckpointer(db, {
        intervalMs: 10,
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

  it('stop() resolves in a process where nothing else keeps the event loop alive', async () => {
    // The authority's close awaits it; a stop that waits for an unref'd thread's exit event never returns there.
    const script = `
      const { openAuthorityDb } = await import(${JSON.stringify(join(REPO, 'src/cloud/authority-database.ts'))});
      const { startCheckpointer } = await import(${JSON.stringify(join(REPO, 'src/cloud/checkpointer.ts'))});
      const db = openAuthorityDb(${JSON.stringify(join(dir, 'stop.db'))});
      const cp = startCheckpointer(db);
      await cp.stop();
      db.close();
      console.log('stopped');`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err += c.toString()));
    const code = await new Promise<number | null>((resolve) => child.once('close', resolve));
    expect({ code, out: out.trim(), err }).toEqual({ code: 0, out: 'stopped', err: '' });
  });
});
