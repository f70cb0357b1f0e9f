import type { Migration, SqliteSchema } from '../../sqlite/index.js';
import * as m0001 from './0001-attempts.js';
import * as m0002 from './0002-filter-indexes.js';
import * as m0003 from './0003-device-text-search.js';
import * as m0004 from './0004-day-summary.js';

export type { Migration };

/** Numbered, append-only. Never edit a migration that has shipped: add the next one. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'attempts', up: m0001.up },
  { version: 2, name: 'filter-indexes', up: m0002.up },
  { version: 3, name: 'device-text-search', up: m0003.up },
  { version: 4, name: 'day-summary', up: m0004.up },
];

export const HISTORY_SCHEMA: SqliteSchema = { label: 'history schema', migrations: MIGRATIONS };
