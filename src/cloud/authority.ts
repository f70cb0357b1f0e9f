import type { FastifyInstance } from 'fastify';
import { openAuthorityDb } from './authority-database.js';
import { createSecretBox, loadOrCreateMasterKey, type SecretBox } from './secret-box.js';
import { createAuthorityServices, type AuthorityServices } from './services.js';
import { createSqliteStore, type AuthorityStore } from './store.js';
import { buildAuthorityServer } from './http/server.js';
import { exportDemo, seedDemo, type DemoExport } from './demo.js';
import { assertTimeZone } from '../quota/day-window.js';
import { startCheckpointer } from './checkpointer.js';

export interface AuthorityOptions {
  dbPath: string;
  /** The master key file for secrets at rest (default: `<dbPath>.key`, created 0600 if missing). */
  keyFile?: string;
  port?: number;
  host?: string;
  demo?: boolean;
  /** The quota day's time zone (IANA name), default UTC. */
  timeZone?: string;
  clock?: () => number;
  logLevel?: string;
  logStream?: NodeJS.WritableStream;
  accountLimit?: number;
  productLimit?: number;
}

export interface RunningAuthority {
  url: string;
  port: number;
  /** What the HTTP layer serves from (both stores). */
  store: AuthorityStore;
  /** The SQLite store's synchronous services (tests and the demo export read them). */
  services: AuthorityServices;
  box: SecretBox;
  app: FastifyInstance;
  exportDemo(): DemoExport;
  close(): Promise<void>;
}

/** Opens the store, seeds the demo world if asked, and serves the station and device APIs. */
export async function startAuthority(o: AuthorityOptions): Promise<RunningAuthority> {
  const timeZone = o.timeZone ?? 'UTC';
  assertTimeZone(timeZone);
  const db = openAuthorityDb(o.dbPath);
  const box = createSecretBox(loadOrCreateMasterKey(o.keyFile ?? `${o.dbPath}.key`));
  const services = createAuthorityServices({
    db,
    box,
    timeZone,
    ...(o.clock ? { clock: o.clock } : {}),
    ...(o.accountLimit !== undefined ? { accountLimit: o.accountLimit } : {}),
    ...(o.productLimit !== undefined ? { productLimit: o.productLimit } : {}),
  });
  if (o.demo) seedDemo(services);
  const store = createSqliteStore(services);
  const app = buildAuthorityServer(store, {
    ...(o.logLevel ? { logLevel: o.logLevel } : {}),
    ...(o.logStream ? { logStream: o.logStream } : {}),
  });
  const checkpointer = startCheckpointer(o.dbPath, { onError: (message) => app.log.warn({ evt: 'checkpoint', message }, 'WAL checkpoint failed') });
  const host = o.host ?? '127.0.0.1';
  await app.listen({ port: o.port ?? 0, host });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (o.port ?? 0);
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
  return {
    url,
    port,
    store,
    services,
    box,
    app,
    exportDemo: () => exportDemo(services, box, url),
    async close() {
      await app.close();
      await checkpointer.stop();
      db.close();
    },
  };
}
