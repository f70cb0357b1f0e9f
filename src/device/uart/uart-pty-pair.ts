import { spawn, type ChildProcess } from 'node:child_process';
import { lstat, mkdir, readlink, unlink } from 'node:fs/promises';
import { join, resolve } from 'node:path';

/**
 * A virtual serial cable: socat joins two pseudo-terminals and links them as `<dir>/<name>-dev`
 * (the virtual device's end) and `<dir>/<name>-station` (what the station opens, as it would a
 * /dev/ttyUSB0). Either end may be closed and opened again while socat runs; bytes written while
 * the other end is closed wait in the pty. Closing the pair kills socat and removes both links.
 */
export interface PtyPair {
  devicePath: string;
  stationPath: string;
  /** socat's process id. */
  pid: number;
  /** Whether socat still runs. */
  readonly running: boolean;
  /**
   * Resolves when socat exits, whoever ended it. An end still open on a dead pair reads end-of-file
   * forever (serialport spins on it), so an owner closes its end when this resolves.
   */
  readonly exited: Promise<void>;
  close(): Promise<void>;
}

export interface PtyPairOptions {
  dir: string;
  /** Link base name: letters, digits, dot, dash, underscore (socat's address syntax has no quoting). */
  name: string;
  /** Default: `socat` on the PATH. */
  socat?: string;
  readyTimeoutMs?: number;
}

const NAME = /^[A-Za-z0-9._-]{1,64}$/;
/** Characters socat's address parser would take as syntax. */
const UNSAFE_IN_ADDRESS = /[,:!"'\\\s{}[\]]/;
const DEFAULT_READY_TIMEOUT_MS = 5_000;
const STOP_GRACE_MS = 2_000;
const STDERR_TAIL = 4_096;

/** socat children still running, killed if this process exits without closing them (no orphan holds a pty). */
const running = new Set<ChildProcess>();
let exitHookInstalled = false;
function track(child: ChildProcess): void {
  running.add(child);
  child.once('exit', () => running.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of running) c.kill('SIGTERM');
  });
}

/** Removes a stale link from an earlier run; refuses to touch anything that is not a symlink. */
async function clearStaleLink(path: string): Promise<void> {
  let isLink: boolean;
  try {
    isLink = (await lstat(path)).isSymbolicLink();
  } catch {
    return; // nothing there
  }
  if (!isLink) throw new Error(`${path} exists and is not a link: refusing to replace it`);
  await unlink(path);
}

async function linkTarget(path: string): Promise<string | null> {
  try {
    const target = await readlink(path);
    await lstat(target); // the pty behind the link exists
    return target;
  } catch {
    return null;
  }
}

const pause = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function startPtyPair(options: PtyPairOptions): Promise<PtyPair> {
  if (!NAME.test(options.name)) throw new Error(`pty pair name "${options.name}" must be 1–64 letters, digits, ".", "-" or "_"`);
  const dir = resolve(options.dir);
  if (UNSAFE_IN_ADDRESS.test(dir)) throw new Error(`pty directory "${dir}" contains a character socat's address syntax would misread`);
  await mkdir(dir, { recursive: true });
  const devicePath = join(dir, `${options.name}-dev`);
  const stationPath = join(dir, `${options.name}-station`);
  await clearStaleLink(devicePath);
  await clearStaleLink(stationPath);

  const child = spawn(options.socat ?? 'socat', ['-d', '-d', `pty,raw,echo=0,link=${devicePath}`, `pty,raw,echo=0,link=${stationPath}`], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (text: string) => {
    stderr = (stderr + text).slice(-STDERR_TAIL);
  });
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  let spawnError: Error | null = null;
  const exited = new Promise<void>((done) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      done();
    });
    child.once('error', (err) => {
      spawnError = err;
      if (child.pid === undefined) done(); // never started: no exit event follows
    });
  });

  const removeLinks = async (): Promise<void> => {
    // socat removes its links on SIGTERM; after a SIGKILL or a crash they are left behind.
    await clearStaleLink(devicePath).catch(() => undefined);
    await clearStaleLink(stationPath).catch(() => undefined);
  };
  const stop = async (): Promise<void> => {
    if (exit === null && child.pid !== undefined) {
      child.kill('SIGTERM');
      const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
      await exited;
      clearTimeout(killer);
    }
    await removeLinks();
  };

  const deadline = Date.now() + (options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS);
  for (;;) {
    if (spawnError) {
      const err: Error & { code?: string } = spawnError;
      throw new Error(err.code === 'ENOENT' ? 'socat is not installed (Debian package "socat"): it makes the virtual serial cables' : `cannot run socat: ${err.message}`);
    }
    if (exit) {
      await removeLinks();
      throw new Error(`socat exited before the ptys were ready: ${stderr.trim() || JSON.stringify(exit)}`);
    }
    if ((await linkTarget(devicePath)) && (await linkTarget(stationPath))) break;
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`socat did not create ${devicePath} and ${stationPath} within ${options.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS} ms: ${stderr.trim()}`);
    }
    await pause(10);
  }
  track(child);

  return {
    devicePath,
    stationPath,
    pid: child.pid!,
    get running() {
      return exit === null;
    },
    exited,
    close: stop,
  };
}
