import type { Database } from 'better-sqlite3';

/** One step of a schema: the file `NNNN-name.ts` that holds `up`, listed in its store's `migrations/index.ts`. */
export interface Migration {
  version: number;
  name: string;
  up(db: Database): void;
}

/** A store's schema: its numbered, append-only migrations, and how its errors name it. */
export interface SqliteSchema {
  /** Names the file in errors: `history schema version 42 is newer than this program knows (3)`. */
  label: string;
  migrations: readonly Migration[];
}

/** The version `PRAGMA user_version` holds once every migration ran. */
export function latestVersion(schema: SqliteSchema): number {
  return schema.migrations.at(-1)?.version ?? 0;
}

/** A file written by a newer program is left untouched: not even switched to WAL. */
export function refuseNewerSchema(db: Database, schema: SqliteSchema): number {
  const current = db.pragma('user_version', { simple: true }) as number;
  const newest = latestVersion(schema);
  if (current > newest) {
    throw new Error(`${schema.label} version ${current} is newer than this program knows (${newest}); upgrade the program`);
  }
  return current;
}

/**
 * Applies each migration above the file's `user_version` up to `target`, each in its own immediate
 * transaction with its new version, so a failing step leaves schema and version as they were.
 */
export function migrateTo(db: Database, schema: SqliteSchema, target: number = latestVersion(schema)): void {
  const current = refuseNewerSchema(db, schema);
  for (const m of schema.migrations) {
    if (m.version <= current || m.version > target) continue;
    db.transaction(() => {
      m.up(db);
      db.pragma(`user_version = ${m.version}`);
    }).immediate();
  }
}
