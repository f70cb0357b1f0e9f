import type { Database } from 'better-sqlite3';
import { createQuotaLedger, type QuotaLedger } from '../quota/quota-ledger.js';
import { createAccounts, type Accounts } from './accounts.js';
import { createAuthorizations, type Authorizations } from './authorizations.js';
import { createDeviceLogs, type DeviceLogs } from './device-logs.js';
import { createTokenEvents, type TokenEvents } from './events.js';
import { createGrantResolver, type GrantResolver } from './grants.js';
import { createQuotaTickets, type QuotaTickets } from './quota-tickets.js';
import { createRegistry, type Registry } from './registry.js';
import type { SecretBox } from './secret-box.js';
import { createTokens, type Tokens } from './tokens.js';
import { createUnbindService, type UnbindService } from './unbind.js';
import { createCases, type Cases } from './cases.js';
import { createResetCodes, type ResetCodes } from './reset-codes.js';

/** Everything the authority does, over one store; the HTTP layer and the bench both use this. */
export interface AuthorityServices {
  db: Database;
  clock: () => number;
  accounts: Accounts;
  registry: Registry;
  grants: GrantResolver;
  authorizations: Authorizations;
  quota: QuotaLedger;
  tickets: QuotaTickets;
  logs: DeviceLogs;
  tokens: Tokens;
  events: TokenEvents;
  unbind: UnbindService;
  resetCodes: ResetCodes;
  cases: Cases;
}

export interface ServiceOptions {
  db: Database;
  box: SecretBox;
  timeZone: string;
  clock?: () => number;
  accountLimit?: number;
  productLimit?: number;
}

export function createAuthorityServices(o: ServiceOptions): AuthorityServices {
  const clock = o.clock ?? Date.now;
  const { db, box } = o;
  const grants = createGrantResolver(db);
  const quota = createQuotaLedger(db, {
    timeZone: o.timeZone,
    ...(o.accountLimit !== undefined ? { accountLimit: o.accountLimit } : {}),
    ...(o.productLimit !== undefined ? { productLimit: o.productLimit } : {}),
  });
  const logs = createDeviceLogs(db, grants);
  const events = createTokenEvents();
  const accounts = createAccounts(db, box);
  const resetCodes = createResetCodes(db, box);
  return {
    db,
    clock,
    accounts,
    registry: createRegistry(db, box),
    grants,
    authorizations: createAuthorizations(db),
    quota,
    tickets: createQuotaTickets(db, grants),
    logs,
    tokens: createTokens(db, logs, box),
    events,
    unbind: createUnbindService({ db, box, quota, grants, logs, events, clock }),
    resetCodes,
    cases: createCases({ db, accounts, grants, quota, logs, resetCodes, timeZone: o.timeZone }),
  };
}
