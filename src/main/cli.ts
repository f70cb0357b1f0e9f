import { parseArgs } from 'node:util';
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { isPostgresUrl, startAuthority } from '../cloud/authority.js';
import { StartUsageError } from './station-config.js';

/** The `unbind` command line: one program, one subcommand per job. */
const USAGE = `usage: unbind <command> [options]

commands:
  start                     run the main job: station + embedded authority + virtual bench (see unbind start --help)
  fleet                     run virtual devices against an authority (see unbind fleet --help)
  pg-dev start|stop|status  a throwaway PostgreSQL on 127.0.0.1 for trying the cluster store (see unbind pg-dev --help)
  authority                 run the unbind authority
      --port P              TCP port on 127.0.0.1 (default 8787; 0 picks a free one)
      --host H              address to listen on (default 127.0.0.1)
      --db FILE|URL         SQLite store (default .data/authority.db), or postgres://user:password@host:port/db
                            shared by several authority nodes
      --key-file FILE       master key for secrets at rest (default <db>.key; for PostgreSQL required, the same on
                            every node, kept beside the node, never in the database)
      --demo                seed the demo world once
      --export-demo FILE    write the demo accounts, products and devices (with secrets) as JSON
      --tz ZONE             quota day time zone, IANA name (default UTC)
      --log-level L         fatal|error|warn|info|debug (default info)
`;

export class UsageError extends Error {}

function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

async function runAuthority(argv: string[], defaults: { demo: boolean; exportDemo?: string }): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      port: { type: 'string', default: '8787' },
      host: { type: 'string', default: '127.0.0.1' },
      db: { type: 'string', default: '.data/authority.db' },
      'key-file': { type: 'string' },
      demo: { type: 'boolean', default: defaults.demo },
      'export-demo': { type: 'string', ...(defaults.exportDemo ? { default: defaults.exportDemo } : {}) },
      tz: { type: 'string', default: 'UTC' },
      'log-level': { type: 'string', default: 'info' },
    },
    strict: true,
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new UsageError(`--port must be 0–65535, not ${values.port}`);
  if (!['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'].includes(values['log-level'])) throw new UsageError(`--log-level ${values['log-level']} is unknown`);
  try {
    new Intl.DateTimeFormat('en', { timeZone: values.tz });
  } catch {
    throw new UsageError(`--tz ${values.tz} is not a known time zone`);
  }
  const pg = isPostgresUrl(values.db);
  if (pg && !values['key-file']) throw new UsageError('--db postgres://… needs --key-file FILE: the master key every node of the cluster shares');
  const dbPath = pg ? values.db : resolve(values.db);
  if (!pg) mkdirSync(dirname(dbPath), { recursive: true, mode: 0o700 });
  const keyFile = values['key-file'] ? resolve(values['key-file']) : undefined;
  if (keyFile) mkdirSync(dirname(keyFile), { recursive: true, mode: 0o700 });
  const authority = await startAuthority({ dbPath, ...(keyFile ? { keyFile } : {}), port, host: values.host, demo: values.demo, timeZone: values.tz, logLevel: values['log-level'] });
  // The URL's password is never printed.
  const shown = pg ? redactUrl(dbPath) : dbPath;
  process.stderr.write(`unbind authority listening on ${authority.url} (store ${shown}, quota day in ${values.tz})\n`);
  if (values['export-demo']) {
    const file = resolve(values['export-demo']);
    mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
    writeFileSync(file, JSON.stringify(authority.exportDemo(), null, 2), { mode: 0o600 });
    process.stderr.write(`demo accounts, products and devices written to ${file}\n`);
  }
  if (values.demo) {
    for (const a of authority.exportDemo().accounts) process.stderr.write(`  ${a.role.padEnd(8)} ${a.region} ${a.name.padEnd(22)} client_id=${a.clientId}\n`);
  }
  await new Promise<void>((done) => {
    const stop = (): void => {
      authority.close().then(done, done);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'authority':
        return await runAuthority(rest, { demo: false });
      case 'start': {
        // Loaded for its command only: `unbind authority` carries no station, camera or serial code.
        const { START_USAGE, startStation } = await import('./start-command.js');
        if (rest.includes('--help') || rest.includes('-h')) {
          process.stdout.write(`${START_USAGE}\n`);
          return 0;
        }
        const station = await startStation(rest);
        await new Promise<void>((done) => {
          const stop = (): void => void station.close().then(done, done);
          process.once('SIGINT', stop);
          process.once('SIGTERM', stop);
        });
        return 0;
      }
      case 'fleet':
        return await (await import('../device/fleet-cli/index.js')).runFleetCommand(rest);
      case 'pg-dev':
        return await (await import('../cloud/pg/pg-dev-command.js')).runPgDevCommand(rest);
      case undefined:
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(USAGE);
        return command === undefined ? 2 : 0;
      default:
        throw new UsageError(`unknown command ${command}`);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof StartUsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`unbind: ${(err as Error).message}\n\n${USAGE}`);
      return 2;
    }
    // Another process writes the same store (DESIGN §9): its message names it and says what to do.
    if ((err as { code?: unknown }).code === 'STORE_LOCKED') {
      process.stderr.write(`unbind: ${(err as Error).message}\n`);
      return 1;
    }
    throw err;
  }
}
