import type { Migration, SqliteSchema } from '../../sqlite/index.js';
import * as m0001 from './0001-initial.js';
import * as m0002 from './0002-folded-failures.js';
import * as m0003 from './0003-decided-answers.js';
import * as m0004 from './0004-cases.js';
import * as m0005 from './0005-ticket-decisions-serial-formats.js';
import * as m0006 from './0006-device-log-method.js';

export type { Migration };

/** Numbered, append-only. Never edit a migration that has shipped: add the next one. */
export const MIGRATIONS: readonly Migration[] = [
  { version: 1, name: 'initial', up: m0001.up },
  { version: 2, name: 'folded-failures', up: m0002.up },
  { version: 3, name: 'decided-answers', up: m0003.up },
  { version: 4, name: 'cases', up: m0004.up },
  { version: 5, name: 'ticket-decisions-serial-formats', up: m0005.up },
  { version: 6, name: 'device-log-method', up: m0006.up },
];

export const AUTHORITY_SCHEMA: SqliteSchema = { label: 'database schema', migrations: MIGRATIONS };
