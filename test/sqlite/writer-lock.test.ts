import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteWriter, StoreLockedError, type SqliteSchema } from '../../src/sqlite/index.js';
import { REPO } from '../support/processes.js';

/**
 * One writer per store (DESIGN §9) on real files and real processes: the lock is the kernel's, so it
 * holds against another process, against a second writer in this one, and goes with a killed process.
 */

const NOTES: SqliteSchema = { label: 'notes schema', migrations: [{ version: 1, name: 'notes', up: (db) => db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)') }] };

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'writer-lock-'));
});
afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/**
 * Another process opens the store as a writer through the same code: prints `opened` (and stays until
 * stdin closes, or is killed) or `refused <message>` and exits.
 */
function otherWriter(path: string): { result: Promise<string>; kill(): Promise<void>; pid: number } {
  const script = `
    const { openSqliteWriter } = await import(${JSON.stringify(join(REPO, 'src/sqlite/index.ts'))});
    try {
      openSqliteWriter(${JSON.stringify(path)}, { schema: { label: 'notes', migrations: [{ version: 1, name: 'notes', up: (db) => db.exec('CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)') }] } });
      console.log('opened');
      process.stdin.resume();
      process.stdin.on('end', () => process.exit(0));
    } catch (err) {
      console.log('refused ' + err.message);
    }`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { cwd: REPO, stdio: ['pipe', 'pipe', 'inherit'] });
  let out = '';
  const result = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n')[0];
      if (out.includes('\n')) resolve(line!);
    });
    child.once('close', (code) => (out.includes('\n') ? undefined : reject(new Error(`other writer exited ${code} saying nothing`))));
  });
  return {
    result,
    pid: child.pid!,
    kill: () => new Promise((done) => (child.exitCode !== null || child.signalCode !== null ? done() : (child.once('close', () => done()), child.kill('SIGKILL')))),
  };
}

describe('one writer per store', () => {
  it('given a writer in this process, a second writer in this process is refused with who holds it and what to do; the first keeps writing', () => {
    const path = join(dir, 'notes.db');
    const first = openSqliteWriter(path, { schema: NOTES });
    try {
      let refusal: unknown;
      try {
        openSqliteWriter(path, { schema: NOTES }).close();
      } catch (err) {
        refusal = err;
      }
      expect(refusal).toBeInstanceOf(StoreLockedError);
      const e = refusal as StoreLockedError;
      expect(e.holder?.pid).toBe(process.pid);
      expect(e.message).toMatch(new RegExp(`^store ${path} is already open for writing by pid ${process.pid} \\(.+\\) since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z: stop it, or use another --db / data folder$`));
      first.prepare('INSERT INTO notes (text) VALUES (?)').run('still mine');
      expect(first.prepare('SELECT count(*) AS n FROM notes').get()).toEqual({ n: 1 });
    } finally {
      first.close();
    }
  });

  it('given a writer, the same store opened through a symlink to it, or through a symlinked folder, is refused too', () => {
    const real = join(dir, 'real');
    mkdirSync(real);
    const path = join(real, 'notes.db');
    const first = openSqliteWriter(path, { schema: NOTES });
    try {
      symlinkSync(path, join(dir, 'link.db'));
      symlinkSync(real, join(dir, 'linked-folder'));
      expect(() => openSqliteWriter(join(dir, 'link.db'), { schema: NOTES })).toThrow(StoreLockedError);
      expect(() => openSqliteWriter(join(dir, 'linked-folder', 'notes.db'), { schema: NOTES })).toThrow(StoreLockedError);
      first.prepare('INSERT INTO notes (text) VALUES (?)').run('still mine');
    } finally {
      first.close();
    }
  });

  it('given a writer in this process (and a refused second one closed since), another process is refused too; after close it opens', async () => {
    const path = join(dir, 'notes.db');
    const first = openSqliteWriter(path, { schema: NOTES });
    // The refused attempt opened and closed a connection to the lock file: that must not drop the lock.
    expect(() => openSqliteWriter(path, { schema: NOTES })).toThrow(StoreLockedError);
    const other = otherWriter(path);
    expect(await other.result).toBe(`refused store ${path} is already open for writing by pid ${process.pid} (${JSON.parse(readFileSync(`${path}.lock.holder`, 'utf8')).what}) since ${JSON.parse(readFileSync(`${path}.lock.holder`, 'utf8')).since}: stop it, or use another --db / data folder`);
    first.close();
    expect(existsSync(`${path}.lock.holder`)).toBe(false);
    const again = otherWriter(path);
    try {
      expect(await again.result).toBe('opened');
    } finally {
      await again.kill();
    }
  });

  it('given a writer in another process, this one is refused naming that pid; once it is killed with SIGKILL, this one opens', async () => {
    const path = join(dir, 'notes.db');
    const other = otherWriter(path);
    try {
      expect(await other.result).toBe('opened');
      expect(() => openSqliteWriter(path, { schema: NOTES })).toThrow(new RegExp(`already open for writing by pid ${other.pid} `));
    } finally {
      await other.kill();
    }
    // The killed process left its lock file and its note: neither blocks.
    expect(existsSync(`${path}.lock`)).toBe(true);
    expect(JSON.parse(readFileSync(`${path}.lock.holder`, 'utf8')).pid).toBe(other.pid);
    const db = openSqliteWriter(path, { schema: NOTES });
    try {
      expect(JSON.parse(readFileSync(`${path}.lock.holder`, 'utf8')).pid).toBe(process.pid);
    } finally {
      db.close();
    }
  });

  it('given a holder note that is garbage, the refusal still says what to do', async () => {
    const path = join(dir, 'notes.db');
    const other = otherWriter(path);
    try {
      expect(await other.result).toBe('opened');
      writeFileSync(`${path}.lock.holder`, '{"pid": "nope"');
      expect(() => openSqliteWriter(path, { schema: NOTES })).toThrow(`store ${path} is already open for writing by another process (it left no note of who it is): stop it, or use another --db / data folder`);
    } finally {
      await other.kill();
    }
  });

  it('the store, its WAL and shared memory, the lock and its note are the owner\'s only (0600), also a file an older program left 0644', () => {
    const path = join(dir, 'notes.db');
    writeFileSync(path, '', { mode: 0o644 });
    const db = openSqliteWriter(path, { schema: NOTES });
    try {
      db.prepare('INSERT INTO notes (text) VALUES (?)').run('x');
      for (const f of [path, `${path}-wal`, `${path}-shm`, `${path}.lock`, `${path}.lock.holder`]) expect((statSync(f).mode & 0o777).toString(8), f).toBe('600');
      expect(existsSync(`${path}.lock-journal`)).toBe(false);
    } finally {
      db.close();
    }
  });
});
