import type { QuotaLedger } from '../quota/quota-ledger.js';
import type { Accounts } from './accounts.js';
import type { Authorizations } from './authorizations.js';
import type { Cases } from './cases.js';
import type { DeviceLogs } from './device-logs.js';
import type { TokenEvents } from './events.js';
import type { GrantResolver } from './grants.js';
import type { QuotaTickets } from './quota-tickets.js';
import type { Registry } from './registry.js';
import type { AuthorityServices } from './services.js';
import type { Tokens } from './tokens.js';
import type { UnbindService } from './unbind.js';
import { NONCE_MEMORY_MS } from './nonce-memory.js';

/**
 * The authority's store as the HTTP layer sees it: what both stores can serve (issue 10, DESIGN §9), so
 * every method answers a promise. SQLite (services.ts) keeps its synchronous services and group commit
 * inside, each method wrapped here: the wrapper calls the synchronous method at once, in the same turn
 * (one microtask more per call, no thread hop), so a SQLite transaction around several calls still holds.
 * PostgreSQL (pg/pg-store.ts) serves the same interface with queries on a pool.
 */
export type Async<T> = {
  readonly [K in keyof T]: T[K] extends (...a: infer A) => infer R ? (...a: A) => Promise<Awaited<R>> : T[K];
};

/** The station API's nonces (DESIGN §4.4): unique per client id, forgotten once they can no longer be replayed. */
export interface StationNonces {
  /** False when this client id used this nonce before. */
  remember(clientId: string, nonce: string, now: number): Promise<boolean>;
  /** Forgets station and device nonces too old to be replayed; how many. */
  purge(now: number): Promise<number>;
}

export interface AuthorityStore {
  readonly kind: 'sqlite' | 'pg';
  clock: () => number;
  accounts: Async<Accounts>;
  registry: Async<Registry>;
  grants: Async<GrantResolver>;
  authorizations: Async<Authorizations>;
  quota: Async<QuotaLedger>;
  tickets: Async<QuotaTickets>;
  logs: Async<DeviceLogs>;
  tokens: Async<Tokens>;
  unbind: Async<UnbindService>;
  /** Remote cases (§4.10). */
  cases: Async<Cases>;
  /**
   * A token's results as they are decided, in seq order, on any node of the store. On PostgreSQL a node's
   * own decisions come through the shared feed too (never straight from this process ahead of its order).
   */
  events: {
    /** `afterSeq`: the store may also deliver what committed after it and before the subscription (PostgreSQL does). */
    subscribe(tokenId: string, onResult: Parameters<TokenEvents['subscribe']>[1], afterSeq?: number): () => void;
  };
  nonces: StationNonces;
  /** Several writes as one transaction where the store can (SQLite); `work` must not await in between. */
  together(work: () => void): void;
  close(): Promise<void>;
}

/** Every method of `impl` answering a promise: the call itself runs now, a throw becomes a rejection. */
export function asyncOf<T extends object>(impl: T): Async<T> {
  const out: Record<string, unknown> = {};
  for (const k of Object.keys(impl) as Array<keyof T & string>) {
    const v = impl[k];
    if (typeof v === 'function') {
      const f = v as (...a: unknown[]) => unknown;
      out[k] = (...a: unknown[]) => {
        try {
          return Promise.resolve(f.apply(impl, a));
        } catch (err) {
          return Promise.reject(err);
        }
      };
    } else Object.defineProperty(out, k, { get: () => impl[k], enumerable: true });
  }
  return out as Async<T>;
}

/** The SQLite store: the synchronous services of one better-sqlite3 database, answered as promises. */
export function createSqliteStore(s: AuthorityServices): AuthorityStore {
  const rememberNonce = s.db.prepare('INSERT OR IGNORE INTO api_nonces (client_id, nonce, seen_at) VALUES (?, ?, ?)');
  const purge = s.db.prepare('DELETE FROM api_nonces WHERE seen_at < ?');
  // Device nonces older than the ±300 s window can never be replayed (their ts is refused first).
  const purgeDevice = s.db.prepare('DELETE FROM device_nonces WHERE seen_at < ?');
  return {
    kind: 'sqlite',
    clock: s.clock,
    accounts: asyncOf(s.accounts),
    registry: asyncOf(s.registry),
    grants: asyncOf(s.grants),
    authorizations: asyncOf(s.authorizations),
    quota: asyncOf(s.quota),
    tickets: asyncOf(s.tickets),
    logs: asyncOf(s.logs),
    tokens: asyncOf(s.tokens),
    unbind: asyncOf(s.unbind),
    cases: asyncOf(s.cases),
    events: s.events,
    nonces: {
      remember: async (clientId, nonce, now) => rememberNonce.run(clientId, nonce, now).changes === 1,
      purge: async (now) => purge.run(now - NONCE_MEMORY_MS).changes + purgeDevice.run(now - NONCE_MEMORY_MS).changes,
    },
    together: (work) => s.db.transaction(work)(),
    close: async () => {
      s.db.close();
    },
  };
}
