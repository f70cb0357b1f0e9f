import pg from 'pg';
import type { Pool } from 'pg';
import type { LogRow } from '../device-logs.js';

/**
 * A token's results across authority nodes (DESIGN §9): a station following a token on node B gets every
 * result decided on node A, in order, each once, and resumes from `Last-Event-ID` on any node.
 *
 * The outbox is `device_logs` itself: written in the unbind's transaction, its identity id is the global
 * sequence, and the stream's event id is that id (as on SQLite). Ids are drawn before commit, so in general
 * a smaller id can become visible after a larger one; reading "id > last" would then skip it for good.
 * Not for one token: every row naming a token is inserted while its token row is locked (pg-unbind.ts), so
 * the next row of that token draws its id only after the previous one committed. Per token, id order is
 * commit order, and "WHERE token_id = $1 AND id > $last" never skips — no lag, no snapshot horizon to wait
 * for, and a long transaction elsewhere in the database delays nobody.
 *
 * LISTEN/NOTIFY only wakes readers up. The deciding node notifies after its commit (not inside the unbind
 * transaction: a NOTIFY there takes a database-wide lock through the commit and serialises every unbind),
 * coalesced; a notification lost (a node killed between commit and NOTIFY, a dropped LISTEN connection) is
 * made good by the safety poll, which reads every followed token by sequence.
 */
export const RESULTS_CHANNEL = 'unbind_results';
const READ_LIMIT = 500;
const MAX_PAYLOAD = 7_000; // NOTIFY payloads stop at 8000 bytes

export interface PgTokenFeedOptions {
  /** For reads and NOTIFY. */
  pool: Pool;
  /** For the LISTEN connection, which is held outside the pool. */
  url: string;
  safetyPollMs?: number;
  /** Off only in tests that show what the safety poll makes good. */
  notify?: boolean;
  listen?: boolean;
  /** How long committed tokens are gathered into one NOTIFY (default 5 ms). */
  notifyDelayMs?: number;
  onError?: (err: Error) => void;
}

export interface PgTokenFeed {
  /** Every result of the token with an id above `afterSeq`, in id order, each once; returns the unsubscribe. */
  follow(tokenId: string, afterSeq: number, onRows: (rows: LogRow[]) => void): () => void;
  /** This node committed results of the token: its own followers read at once, the other nodes are told. */
  committed(tokenId: string): void;
  /** Resolves once the LISTEN connection listens (followers on other nodes can be woken). */
  ready(): Promise<void>;
  close(): Promise<void>;
}

interface Follower {
  cursor: number;
  onRows: (rows: LogRow[]) => void;
}

interface Watch {
  followers: Set<Follower>;
  reading: boolean;
  again: boolean;
}

export function createPgTokenFeed(o: PgTokenFeedOptions): PgTokenFeed {
  const { pool } = o;
  const onError = o.onError ?? (() => {});
  const watches = new Map<string, Watch>();
  let closed = false;

  async function read(tokenId: string, w: Watch): Promise<void> {
    for (;;) {
      if (w.followers.size === 0 || closed) return;
      const from = Math.min(...[...w.followers].map((f) => f.cursor));
      const { rows } = await pool.query<LogRow>('SELECT * FROM device_logs WHERE token_id = $1 AND id > $2 ORDER BY id LIMIT $3', [tokenId, from, READ_LIMIT]);
      for (const f of w.followers) {
        const fresh = rows.filter((r) => r.id > f.cursor);
        if (fresh.length === 0) continue;
        f.cursor = fresh[fresh.length - 1]!.id;
        f.onRows(fresh);
      }
      if (rows.length < READ_LIMIT) return;
    }
  }

  /** One read at a time per token; a wake-up during a read makes one more read after it. */
  function wake(tokenId: string): void {
    const w = watches.get(tokenId);
    if (!w || closed) return;
    if (w.reading) {
      w.again = true;
      return;
    }
    w.reading = true;
    void (async () => {
      try {
        do {
          w.again = false;
          await read(tokenId, w);
        } while (w.again && !closed);
      } catch (err) {
        onError(err as Error); // the next wake-up or poll reads again from the same cursors
      } finally {
        w.reading = false;
      }
    })();
  }
  const wakeAll = (): void => {
    for (const id of watches.keys()) wake(id);
  };

  // NOTIFY after commit, coalesced: one in flight, the tokens committed meanwhile go in the next one.
  const pending = new Set<string>();
  const notifyDelayMs = o.notifyDelayMs ?? 5;
  let flushTimer: NodeJS.Timeout | null = null;
  let notifying = false;
  // At most one NOTIFY in flight, and one start per notifyDelayMs: what commits meanwhile waits for the next.
  function tick(): void {
    flushTimer = null;
    if (notifying) flushTimer = setTimeout(tick, notifyDelayMs);
    else void flush();
  }
  async function flush(): Promise<void> {
    if (notifying || pending.size === 0 || closed) return;
    notifying = true;
    try {
      // Every token pending now (in payloads of at most MAX_PAYLOAD); tokens committed during it go in the next tick.
      const now = [...pending];
      pending.clear();
      while (now.length > 0 && !closed) {
        const batch: string[] = [];
        let size = 0;
        while (now.length > 0 && size + now[0]!.length + 1 <= MAX_PAYLOAD) {
          const id = now.shift()!;
          batch.push(id);
          size += id.length + 1;
        }
        if (batch.length === 0) batch.push(now.shift()!); // (a token id is far shorter than a payload)
        await pool.query('SELECT pg_notify($1, $2)', [RESULTS_CHANNEL, batch.join(',')]);
      }
    } catch (err) {
      onError(err as Error); // lost: the safety poll of the other nodes reads it
    } finally {
      notifying = false;
    }
  }

  // The LISTEN connection; when it drops, it is opened again and every followed token is read (we may have missed some).
  let listener: pg.Client | null = null;
  let retry: NodeJS.Timeout | null = null;
  let listening: Promise<void> = Promise.resolve();
  function listen(): Promise<void> {
    const client = new pg.Client({ connectionString: o.url, application_name: 'unbind-feed' });
    listener = client;
    client.on('notification', (n) => {
      if (n.channel !== RESULTS_CHANNEL || !n.payload) return;
      for (const id of n.payload.split(',')) wake(id);
    });
    const again = (err?: Error): void => {
      if (err) onError(err);
      if (closed || listener !== client) return;
      listener = null;
      client.end().catch(() => {});
      retry = setTimeout(() => {
        retry = null;
        listening = listen().then(wakeAll);
      }, 500);
    };
    client.on('error', again);
    client.on('end', () => again());
    return client.connect().then(
      () => client.query(`LISTEN ${RESULTS_CHANNEL}`).then(() => undefined),
      (err: Error) => again(err),
    );
  }
  if (o.listen ?? true) listening = listen();

  const poll = setInterval(wakeAll, o.safetyPollMs ?? 1_000);
  poll.unref();

  return {
    follow(tokenId, afterSeq, onRows) {
      let w = watches.get(tokenId);
      if (!w) {
        w = { followers: new Set(), reading: false, again: false };
        watches.set(tokenId, w);
      }
      const f: Follower = { cursor: afterSeq, onRows };
      w.followers.add(f);
      wake(tokenId);
      return () => {
        w.followers.delete(f);
        if (w.followers.size === 0 && watches.get(tokenId) === w) watches.delete(tokenId);
      };
    },
    committed(tokenId) {
      wake(tokenId);
      if (o.notify ?? true) {
        pending.add(tokenId);
        // Gathered for a few milliseconds: one NOTIFY for every group this node commits meanwhile, not one per group.
        if (!flushTimer) flushTimer = setTimeout(tick, notifyDelayMs);
      }
    },
    ready: () => listening,
    async close() {
      closed = true;
      clearInterval(poll);
      if (flushTimer) clearTimeout(flushTimer);
      if (retry) clearTimeout(retry);
      const l = listener;
      listener = null;
      await l?.end().catch(() => {});
    },
  };
}
