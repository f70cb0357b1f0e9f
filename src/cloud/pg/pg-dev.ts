import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chownSync, existsSync, mkdirSync, readFileSync, readlinkSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join, resolve } from 'node:path';

/**
 * A throwaway PostgreSQL for tests and for a person (`unbind pg-dev start|stop|status --dir D`):
 * initdb + pg_ctl from the Debian server binaries, a data dir under D, listening only on 127.0.0.1,
 * its unix socket in D/socket. TCP logins need a password generated at init (scram-sha-256, kept in
 * D/password, 0600); the socket admits only the OS user postgres (peer). Never a production server.
 *
 * Layout of D: data/ (PGDATA, owned by postgres), socket/, server.log, password.
 */
export const DEFAULT_PG_BIN_DIR = '/usr/lib/postgresql/15/bin';
const SUPERUSER = 'postgres';
const CONF_FILE = 'unbind-pg-dev.conf';

export interface PgDevOptions {
  dir: string;
  /** TCP port on 127.0.0.1; default: the port of the last start if free, else a free one. */
  port?: number;
  /** fsync, synchronous_commit and full_page_writes off: fast, and a crash may lose or corrupt data. For tests. */
  unsafeFast?: boolean;
  binDir?: string;
}

export interface PgDevStatus {
  dir: string;
  running: boolean;
  pid: number | null;
  port: number | null;
  /** `postgres://postgres:<password>@127.0.0.1:<port>/postgres`; null while stopped. */
  url: string | null;
}

export class PgDevError extends Error {}

interface Paths {
  dir: string;
  data: string;
  socket: string;
  log: string;
  password: string;
}

function pathsOf(dir: string): Paths {
  const d = resolve(dir);
  return { dir: d, data: join(d, 'data'), socket: join(d, 'socket'), log: join(d, 'server.log'), password: join(d, 'password') };
}

/** postgres refuses to run as root: as root we run its tools as the OS user postgres and give it D. */
const asRoot = (): boolean => process.getuid?.() === 0;

function run(binDir: string, tool: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
  const file = join(binDir, tool);
  const [cmd, argv] = asRoot() ? ['runuser', ['-u', SUPERUSER, '--', file, ...args]] : [file, args];
  return new Promise((done, fail) => {
    execFile(cmd, argv, { encoding: 'utf8', timeout: 120_000 }, (err, stdout, stderr) => {
      if (err) fail(new PgDevError(`${tool} failed: ${(stderr || stdout || err.message).trim()}`));
      else done({ stdout, stderr });
    });
  });
}

function giveToPostgres(path: string): void {
  if (!asRoot()) return;
  const ids = lookupPostgresIds();
  chownSync(path, ids.uid, ids.gid);
}

let postgresIds: { uid: number; gid: number } | undefined;
function lookupPostgresIds(): { uid: number; gid: number } {
  if (postgresIds) return postgresIds;
  const f = readFileSync('/etc/passwd', 'utf8').split('\n').find((l) => l.startsWith(`${SUPERUSER}:`))?.split(':');
  if (!f?.[2] || !f[3]) throw new PgDevError(`there is no OS user ${SUPERUSER} to run the server as (install Debian postgresql)`);
  postgresIds = { uid: Number(f[2]), gid: Number(f[3]) };
  return postgresIds;
}

function checkBinaries(binDir: string): void {
  for (const tool of ['initdb', 'pg_ctl', 'postgres']) {
    if (!existsSync(join(binDir, tool))) throw new PgDevError(`${join(binDir, tool)} is missing: install Debian postgresql (15)`);
  }
}

/** The pid in postmaster.pid, if it belongs to a live postmaster of this data dir (not a zombie, not a reused pid). */
function livePostmaster(p: Paths): { pid: number; port: number } | null {
  const pidFile = join(p.data, 'postmaster.pid');
  if (!existsSync(pidFile)) return null;
  const lines = readFileSync(pidFile, 'utf8').split('\n');
  const pid = Number(lines[0]);
  const port = Number(lines[3]);
  if (!Number.isInteger(pid) || pid <= 0) return null;
  try {
    // A postmaster killed with -9 stays a zombie where nobody reaps it, and kill(pid, 0) still succeeds.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2)[0] === 'Z') return null;
    if (realpathSync(readlinkSync(`/proc/${pid}/cwd`)) !== realpathSync(p.data)) return null;
  } catch {
    return null;
  }
  return { pid, port };
}

function urlOf(p: Paths, port: number, database = 'postgres'): string {
  const password = readFileSync(p.password, 'utf8').trim();
  return `postgres://${SUPERUSER}:${password}@127.0.0.1:${port}/${database}`;
}

export function pgDevStatus(dir: string): PgDevStatus {
  const p = pathsOf(dir);
  const live = livePostmaster(p);
  return { dir: p.dir, running: !!live, pid: live?.pid ?? null, port: live?.port ?? null, url: live ? urlOf(p, live.port) : null };
}

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => done(port));
    });
  });
}

function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const s = createServer();
    s.once('error', () => done(false));
    s.listen(port, '127.0.0.1', () => s.close(() => done(true)));
  });
}

async function initCluster(p: Paths, binDir: string): Promise<void> {
  mkdirSync(p.dir, { recursive: true, mode: 0o700 });
  giveToPostgres(p.dir);
  const password = randomBytes(18).toString('base64url');
  writeFileSync(p.password, `${password}\n`, { mode: 0o600 });
  // initdb reads the password from a file it can open as postgres; it lives only for the call.
  const pwfile = join(p.dir, `.initdb-pw-${process.pid}`);
  writeFileSync(pwfile, `${password}\n`, { mode: 0o600 });
  giveToPostgres(pwfile);
  try {
    await run(binDir, 'initdb', ['-D', p.data, '-U', SUPERUSER, `--pwfile=${pwfile}`, '--auth-local=peer', '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C.UTF-8', '--no-sync']);
  } catch (err) {
    rmSync(p.data, { recursive: true, force: true });
    throw new PgDevError(`${(err as Error).message}\n(the OS user ${SUPERUSER} must be able to reach ${p.dir}: put it under /tmp or another directory it may enter)`);
  } finally {
    rmSync(pwfile, { force: true });
  }
  writeFileSync(join(p.data, 'postgresql.conf'), `${readFileSync(join(p.data, 'postgresql.conf'), 'utf8')}\ninclude_if_exists = '${CONF_FILE}'\n`);
}

function lastPort(p: Paths): number | null {
  const conf = join(p.data, CONF_FILE);
  if (!existsSync(conf)) return null;
  const m = /^port = (\d+)$/m.exec(readFileSync(conf, 'utf8'));
  return m ? Number(m[1]) : null;
}

function writeConf(p: Paths, port: number, unsafeFast: boolean): void {
  const durable = unsafeFast ? 'off' : 'on';
  const conf = [
    "listen_addresses = '127.0.0.1'",
    `port = ${port}`,
    `unix_socket_directories = '${p.socket.replace(/'/g, "''")}'`,
    'max_connections = 200',
    `fsync = ${durable}`,
    `synchronous_commit = ${durable}`,
    `full_page_writes = ${durable}`,
    '',
  ].join('\n');
  const file = join(p.data, CONF_FILE);
  writeFileSync(file, conf, { mode: 0o644 });
  giveToPostgres(file);
}

/** Starts the server (initialising D on first use); when it already runs, answers its status. */
export async function startPgDev(o: PgDevOptions): Promise<PgDevStatus> {
  const binDir = o.binDir ?? DEFAULT_PG_BIN_DIR;
  checkBinaries(binDir);
  const p = pathsOf(o.dir);
  const running = livePostmaster(p);
  if (running) {
    if (o.port !== undefined && o.port !== running.port) throw new PgDevError(`the server in ${p.dir} already runs on port ${running.port}; stop it first`);
    return pgDevStatus(p.dir);
  }
  if (!existsSync(join(p.data, 'PG_VERSION'))) await initCluster(p, binDir);
  // A pid file and socket lock left by a killed server name a dead (or reused) pid: postgres would refuse to start.
  // The socket dir is this server's alone, so whatever it holds is stale once the postmaster is gone.
  rmSync(join(p.data, 'postmaster.pid'), { force: true });
  rmSync(p.socket, { recursive: true, force: true });
  mkdirSync(p.socket, { recursive: true, mode: 0o700 });
  giveToPostgres(p.socket);
  if (!existsSync(p.log)) {
    writeFileSync(p.log, '', { mode: 0o600 });
    giveToPostgres(p.log);
  }

  const previous = lastPort(p);
  // Another process may take a free port between our probe and the server's bind: a port we chose is chosen again.
  for (let attempt = 0; ; attempt++) {
    const port = o.port ?? (attempt === 0 && previous !== null && (await portIsFree(previous)) ? previous : await freePort());
    writeConf(p, port, o.unsafeFast ?? false);
    try {
      await run(binDir, 'pg_ctl', ['-D', p.data, '-l', p.log, '-w', '-t', '60', '-s', 'start']);
      return pgDevStatus(p.dir);
    } catch (err) {
      const inUse = /could not bind|Address already in use/.test(readFileSync(p.log, 'utf8').split('\n').slice(-20).join('\n'));
      if (o.port !== undefined || !inUse || attempt >= 4) throw new PgDevError(`${(err as Error).message}\n${tailOf(p.log)}`);
    }
  }
}

function tailOf(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').slice(-5).join('\n') : '';
}

/** A clean (fast) shutdown; answers whether a server was running. A stale pid file is removed. */
export async function stopPgDev(o: { dir: string; binDir?: string }): Promise<boolean> {
  const p = pathsOf(o.dir);
  if (!livePostmaster(p)) {
    rmSync(join(p.data, 'postmaster.pid'), { force: true });
    rmSync(p.socket, { recursive: true, force: true });
    return false;
  }
  await run(o.binDir ?? DEFAULT_PG_BIN_DIR, 'pg_ctl', ['-D', p.data, '-m', 'fast', '-w', '-t', '60', '-s', 'stop']);
  return true;
}

/** The URL of one database of a running server. */
export function pgDevUrl(dir: string, database: string): string {
  const s = pgDevStatus(dir);
  if (!s.running || s.port === null) throw new PgDevError(`no server runs in ${resolve(dir)}`);
  return urlOf(pathsOf(dir), s.port, database);
}
