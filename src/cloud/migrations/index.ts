import type { Database } from 'better-sqlite3';
import * as m0001 from './0001-initial.js';

export interface Migration {
  version: number;
  name: string;
  up(db: Database): void;
}

/** Numbered, append-only. Never edit a migration that has shipped: add the next one. */
export const MIGRATIONS: readonly Migration[] = [{ version: 1, name: 'initial', up: m0001.up }];
