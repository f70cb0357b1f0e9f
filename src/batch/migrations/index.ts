import type { Migration, SqliteSchema } from '../../sqlite/index.js';
import * as m0001 from './0001-batches.js';

export type { Migration };

/** Numbered, append-only. Never edit a migration that has shipped: add the next one. */
export const BATCH_MIGRATIONS: readonly Migration[] = [{ version: 1, name: 'batches', up: m0001.up }];

export const BATCH_SCHEMA: SqliteSchema = { label: 'batch store', migrations: BATCH_MIGRATIONS };
