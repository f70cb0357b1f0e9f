import type { PgMigration, PgSchema } from '../pg-migrations.js';
import * as m0001 from './0001-initial.js';
import * as m0002 from './0002-unbind-decide.js';
import * as m0003 from './0003-folded-failures.js';
import * as m0004 from './0004-decided-answers.js';
import * as m0005 from './0005-cases.js';
import * as m0006 from './0006-ticket-decisions-serial-formats.js';
import * as m0007 from './0007-device-log-method.js';
import * as m0008 from './0008-unbind-decide-many.js';

/** Numbered, append-only, the twin of ../../migrations: never edit one that has shipped, add the next. */
export const PG_MIGRATIONS: readonly PgMigration[] = [
  { version: 1, name: 'initial', up: m0001.up },
  { version: 2, name: 'unbind-decide', up: m0002.up },
  { version: 3, name: 'folded-failures', up: m0003.up },
  { version: 4, name: 'decided-answers', up: m0004.up },
  { version: 5, name: 'cases', up: m0005.up },
  { version: 6, name: 'ticket-decisions-serial-formats', up: m0006.up },
  { version: 7, name: 'device-log-method', up: m0007.up },
  { version: 8, name: 'unbind-decide-many', up: m0008.up },
];

export const PG_AUTHORITY_SCHEMA: PgSchema = { label: 'database schema', migrations: PG_MIGRATIONS };
