import type { Database } from 'better-sqlite3';
import * as m0001 from './0001-attempts.js';
import * as m0002 from './0002-filter-indexes.js';
import * as m0003 from './0003-device-text-search.js';

export interface Migration {
  version: number;
  name: string;
  up(db: Database): void;
}

/** Numbered, append-only. Never edit a migration that has shipped: add the next one. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'attempts', up: m0001.up },
  { version: 2, name: 'filter-indexes', up: m0002.up },
  { version: 3, name: 'device-text-search', up: m0003.up },
];
