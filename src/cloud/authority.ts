import type { FastifyInstance } from 'fastify';
import { openAuthorityDb } from './authority-database.js';
import { createSecretBox, loadOrCreateMasterKey, type SecretBox } from './secret-box.js';
import { createAuthorityServices, type AuthorityServices } from './services.js';
import { createSqliteStore, type AuthorityStore } from './store.js';
import { buildAuthorityServer } from './http/server.js';
import { exportDemo, seedDemo, type DemoExport } from './demo.js';
import { assertTimeZone } from '../quota/day-window.js';
import { startCheckpointer } from './checkpointer.js';
import { createPgPool } from './pg/pg-pool.js';
import { migratePg } from './pg/pg-migrations.js';
import { PG_AUTHORITY_SCHEMA } from './pg/migrations/index.js';
import { createPgStore } from './pg/pg-store.js';
import { exportDemoPg, seedDemoPg } from './pg/pg-demo.js';

export interface AuthorityOptions {
  /** The store: a SQLite file, or a PostgreSQL URL (postgres://user:password@host:port/db) shared by several nodes. */
  dbPath: string;
  /**
   * The master key file for secrets at rest (default: `<dbPath>.key` for SQLite; required for PostgreSQL,
   * where every node of the cluster must hold the same key, beside the node, never in the database).
   */
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
  /** PostgreSQL pool size per node (default 16). */
  pgPoolSize?: number;
}

export interface RunningAuthority {
  url: string;
  port: number;
  /** What the HTTP layer serves from (both stores). */
  store: AuthorityStore;
  /** The SQLite store's synchronous services (SQLite only: tests and the bench read them). */
  services: AuthorityServices;
  box: SecretBox;
  app: FastifyInstance;
  /** The demo world with its secrets: live on SQLite, as it was at start on PostgreSQL. */
  exportDemo(): DemoExport;
  close(): Promise<void>;
}

export const isPostgresUrl = (db: string): boolean => /^postgres(ql)?:\/\//.test(db);

/** Opens the store, seeds the demo world if asked, and serves the station and device APIs. */
export async function startAuthority(o: AuthorityOptions): Promise<RunningAuthority> {
  const timeZone = o.timeZone ?? 'UTC';
  assertTimeZone(timeZone);
  if (isPostgresUrl(o.dbPath)) return startPgAuthority(o, timeZone);
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
  // A failed checkpoint is logged as an error: the WAL then grows to the writer's own backstop between checkpoints.
  const checkpointer = startCheckpointer(db, { onError: (message) => app.log.error({ evt: 'checkpoint', message }, 'WAL checkpoint failed') });
  let listening: { url: string; port: number };
  try {
    listening = await listen(app, o);
  } catch (err) {
    await app.close().catch(() => {});
    await checkpointer.stop();
    db.close();
    throw err;
  }
  const { url, port } = listening;
  return {
    url,
    port,
    store,
    services,
    box,
    app,
    exportDemo: () => exportDemo(services, box, url),
    async close() {
      // The store is closed even when the server's close fails: its file and writer lock are never left behind.
      try {
        await app.close();
      } finally {
        try {
          await checkpointer.stop();
        } finally {
          db.close();
        }
      }
    },
  };
}

async function listen(app: FastifyInstance, o: AuthorityOptions): Promise<{ url: string; port: number }> {
  const host = o.host ?? '127.0.0.1';
  await app.listen({ port: o.port ?? 0, host });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (o.port ?? 0);
  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port };
}

/** One stateless node of the cluster: any number of them may serve one database at once. */
async function startPgAuthority(o: AuthorityOptions, timeZone: string): Promise<RunningAuthority> {
  if (!o.keyFile) throw new Error('a PostgreSQL store needs --key-file: the master key lives beside each node (the same key on every node), never in the database');
  const box = createSecretBox(loadOrCreateMasterKey(o.keyFile));
  const pool = createPgPool(o.dbPath, { max: o.pgPoolSize ?? 16 });
  let app: FastifyInstance | null = null;
  try {
    await migratePg(pool, PG_AUTHORITY_SCHEMA);
    const clock = o.clock ?? Date.now;
    if (o.demo) await seedDemoPg(pool, box, clock);
    const store = createPgStore({
      pool,
      url: o.dbPath,
      box,
      timeZone,
      clock,
      ...(o.accountLimit !== undefined ? { accountLimit: o.accountLimit } : {}),
      ...(o.productLimit !== undefined ? { productLimit: o.productLimit } : {}),
      onError: (err) => app?.log.warn({ evt: 'token-feed', message: err.message }, 'token feed error'),
    });
    await store.feed.ready();
    app = buildAuthorityServer(store, {
      ...(o.logLevel ? { logLevel: o.logLevel } : {}),
      ...(o.logStream ? { logStream: o.logStream } : {}),
    });
    const { url, port } = await listen(app, o);
    const demo = o.demo ? await exportDemoPg(pool, box, url) : null;
    const served = app;
    return {
      url,
      port,
      store,
      get services(): AuthorityServices {
        throw new Error('the PostgreSQL store has no synchronous services: use store');
      },
      box,
      app: served,
      exportDemo: () => {
        if (!demo) throw new Error('no demo world: start with demo');
        return demo;
      },
      async close() {
        await served.close();
        await store.close();
      },
    };
  } catch (err) {
    await app?.close().catch(() => {});
    await pool.end().catch(() => {});
    throw err;
  }
}
