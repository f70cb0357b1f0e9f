import { parseArgs } from 'node:util';
import { PgDevError, pgDevStatus, startPgDev, stopPgDev } from './pg-dev.js';

/** `unbind pg-dev start|stop|status --dir D [--port P] [--unsafe-fast]`: a throwaway PostgreSQL for a person. */
export const PG_DEV_USAGE = `usage: unbind pg-dev start|stop|status --dir D [--port P] [--unsafe-fast]

  start    initialise D on first use, start the server on 127.0.0.1 and print its postgres:// URL
  stop     shut the server down cleanly (fast mode: open sessions are ended)
  status   print the URL when it runs, or "stopped"
  --dir D        where the data, socket, log and generated password live (the OS user postgres must reach it)
  --port P       TCP port on 127.0.0.1 (default: the last one if free, else a free one)
  --unsafe-fast  fsync and synchronous commit off: faster, and a crash of the machine may lose the data
`;

export async function runPgDevCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { dir: { type: 'string' }, port: { type: 'string' }, 'unsafe-fast': { type: 'boolean', default: false }, help: { type: 'boolean', short: 'h' } },
    allowPositionals: true,
    strict: true,
  });
  const [action, ...extra] = positionals;
  if (values.help) {
    process.stdout.write(PG_DEV_USAGE);
    return 0;
  }
  const fail = (message: string): number => {
    process.stderr.write(`unbind pg-dev: ${message}\n\n${PG_DEV_USAGE}`);
    return 2;
  };
  if (!action || !['start', 'stop', 'status'].includes(action) || extra.length > 0) return fail(`expected start, stop or status, not ${[action, ...extra].join(' ') || 'nothing'}`);
  if (!values.dir) return fail('--dir is required');
  const port = values.port === undefined ? undefined : Number(values.port);
  if (port !== undefined && (!Number.isInteger(port) || port < 1 || port > 65535)) return fail(`--port must be 1–65535, not ${values.port}`);
  try {
    if (action === 'start') {
      const s = await startPgDev({ dir: values.dir, ...(port !== undefined ? { port } : {}), unsafeFast: values['unsafe-fast'] });
      process.stdout.write(`${s.url}\n`);
      process.stderr.write(`PostgreSQL running in ${s.dir} (pid ${s.pid}); stop it with: unbind pg-dev stop --dir ${values.dir}\n`);
    } else if (action === 'stop') {
      const was = await stopPgDev({ dir: values.dir });
      process.stderr.write(was ? 'PostgreSQL stopped\n' : 'PostgreSQL was not running\n');
    } else {
      const s = pgDevStatus(values.dir);
      process.stdout.write(s.running ? `${s.url}\n` : 'stopped\n');
      return s.running ? 0 : 3;
    }
    return 0;
  } catch (err) {
    if (err instanceof PgDevError) {
      process.stderr.write(`unbind pg-dev: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
}
