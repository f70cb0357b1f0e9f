import type { Migration, SecretBox, SqliteSchema } from '../../sqlite/index.js';
import * as m0001 from './0001-batches.js';
import * as m0002 from './0002-sealed-tokens.js';
import * as m0003 from './0003-batch-stop.js';
import * as m0004 from './0004-station-boots.js';

export type { Migration };

/** Numbered, append-only. Never edit a migration that has shipped: add the next one. Sealing needs the station key. */
export function batchMigrations(box: SecretBox): readonly Migration[] {
  return [
    { version: 1, name: 'batches', up: m0001.up },
    { version: 2, name: 'sealed tokens and Wi-Fi verifier', up: (db) => m0002.up(db, box) },
    { version: 3, name: 'batch stop rule', up: m0003.up },
    { version: 4, name: 'station boots', up: m0004.up },
  ];
}

export function batchSchema(box: SecretBox): SqliteSchema {
  return { label: 'batch store', migrations: batchMigrations(box) };
}
