import { chmodSync, existsSync, readFileSync, realpathSync, unlinkSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { basename, dirname, join } from 'node:path';
import BetterSqlite3, { type Database } from 'better-sqlite3';

/**
 * One writer per store (DESIGN §9), held by the operating system so that `kill -9` cannot leave it behind.
 *
 * The lock is a sidecar SQLite file `<db>.lock` opened with `locking_mode = EXCLUSIVE` after one write
 * transaction: its connection keeps a POSIX (fcntl) write lock on the file until it closes or the process
 * dies, when the kernel drops it. Across processes a second taker gets SQLITE_BUSY at once (no busy
 * timeout); inside one process POSIX locks do not conflict, but SQLite keeps its own table of the locks
 * its connections hold on each inode, so a second writer in the same process is refused too.
 *
 * Beware of POSIX lock semantics: closing ANY descriptor of the lock file in this process drops every
 * lock the process holds on it. Nothing but this module may open `<db>.lock` (stat and chmod are fine),
 * and the file is never deleted (a process that opened the old inode would then lock a different file
 * than the next one). Who holds the lock is told by a small plain file beside it, `<db>.lock.holder`.
 */
export interface WriterHolder {
  pid: number;
  /** What the holder is: `unbind authority`, `unbind start`, `vitest` … (never its full argument list). */
  what: string;
  host: string;
  /** ISO time the lock was taken. */
  since: string;
}

export class StoreLockedError extends Error {
  readonly code = 'STORE_LOCKED';
  constructor(
    readonly path: string,
    readonly holder: WriterHolder | null,
    label: string,
  ) {
    const who = holder
      ? `pid ${holder.pid} (${holder.what}${holder.host !== hostname() ? ` on ${holder.host}` : ''}) since ${holder.since}`
      : 'another process (it left no note of who it is)';
    super(`${label} ${path} is already open for writing by ${who}: stop it, or use another --db / data folder`);
    this.name = 'StoreLockedError';
  }
}

export interface WriterLock {
  release(): void;
}

/** What this process is, for the holder note: the program and its subcommand, no options (they may name secrets). */
function describeSelf(): string {
  const script = process.argv[1] ? basename(process.argv[1]).replace(/\.(c|m)?[jt]s$/, '') : basename(process.execPath);
  const sub = process.argv[2] && !process.argv[2].startsWith('-') ? ` ${process.argv[2]}` : '';
  return `${script}${sub}`.slice(0, 80);
}

function readHolder(path: string): WriterHolder | null {
  try {
    const h = JSON.parse(readFileSync(path, 'utf8')) as Partial<WriterHolder>;
    if (typeof h.pid !== 'number' || typeof h.since !== 'string') return null;
    return { pid: h.pid, what: String(h.what ?? '?').slice(0, 80), host: String(h.host ?? '?').slice(0, 80), since: h.since.slice(0, 40) };
  } catch {
    return null;
  }
}

/** Takes the one-writer lock of the store at `dbPath`, or throws StoreLockedError naming who holds it. */
export function takeWriterLock(dbPath: string, label: string): WriterLock {
  // Beside the file itself, not beside the name it was opened by: a symlink to the store (or a path
  // through a symlinked folder) must meet the same lock.
  let canonical = dbPath;
  try {
    canonical = existsSync(dbPath) ? realpathSync(dbPath) : join(realpathSync(dirname(dbPath)), basename(dbPath));
  } catch {
    // The folder does not exist: opening the store fails below with its own message.
  }
  const lockPath = `${canonical}.lock`;
  const holderPath = `${lockPath}.holder`;
  let lock: Database;
  try {
    // timeout 0: a held lock is refused now, not after the default five seconds of retrying.
    lock = new BetterSqlite3(lockPath, { timeout: 0 });
  } catch (err) {
    throw new Error(`${label} ${dbPath}: cannot open its lock file ${lockPath}: ${(err as Error).message}`);
  }
  try {
    chmodSync(lockPath, 0o600);
    lock.pragma('locking_mode = EXCLUSIVE');
    // Nothing of value lives in the lock file: its journal stays in memory, so no -journal file beside it.
    // (better-sqlite3 refuses journal_mode = OFF and keeps DELETE.)
    lock.pragma('journal_mode = MEMORY');
    lock.exec('BEGIN EXCLUSIVE');
    lock.exec('COMMIT');
  } catch (err) {
    lock.close();
    if ((err as { code?: string }).code === 'SQLITE_BUSY') throw new StoreLockedError(dbPath, readHolder(holderPath), label);
    throw err;
  }
  const holder: WriterHolder = { pid: process.pid, what: describeSelf(), host: hostname(), since: new Date().toISOString() };
  try {
    // A note left by a holder that was killed is simply replaced.
    writeFileSync(holderPath, `${JSON.stringify(holder)}\n`, { mode: 0o600 });
    chmodSync(holderPath, 0o600);
  } catch {
    // The note only explains a refusal; the lock itself is what counts.
  }
  let held = true;
  return {
    release() {
      if (!held) return;
      held = false;
      // The note goes first: once the lock is dropped the next holder may write its own.
      try {
        if (readHolder(holderPath)?.pid === process.pid && existsSync(holderPath)) unlinkSync(holderPath);
      } catch {
        // already gone
      }
      lock.close();
    },
  };
}
