import { afterEach, describe, expect, it } from 'vitest';
import type { Pool } from 'pg';
import type { LogRow } from '../../../src/cloud/device-logs.js';
import { createPgTokenFeed, type PgTokenFeed } from '../../../src/cloud/pg/pg-token-feed.js';
import { createPgUnbind, type PgUnbind } from '../../../src/cloud/pg/pg-unbind.js';
import { useTestPg } from '../../support/pg-server.js';
import { seedWorld, type World } from './pg-world.js';

/** A token's results followed on one node while another decides them: nothing lost, nothing twice, in order. */
const testPg = useTestPg();

interface Node {
  name: string;
  pool: Pool;
  unbind: PgUnbind;
  feed: PgTokenFeed;
}

const feeds: PgTokenFeed[] = [];
afterEach(async () => {
  for (const f of feeds.splice(0)) await f.close();
});

async function twoNodes(o: { bound: number; notify?: boolean; safetyPollMs?: number }): Promise<{ world: World; a: Node; b: Node; url: string; admin: Pool }> {
  const pg = testPg();
  const url = await pg.freshDatabase();
  const admin = pg.pool(url, 2);
  const world = await seedWorld(admin, { boundDevices: o.bound });
  const node = async (name: string): Promise<Node> => {
    const pool = pg.pool(url, 8, name);
    // Polls rarely unless a test says otherwise: the notifications must do the work in the fast path.
    const feed = createPgTokenFeed({ pool, url, notify: o.notify ?? true, safetyPollMs: o.safetyPollMs ?? 60_000 });
    feeds.push(feed);
    await feed.ready();
    return { name, pool, unbind: createPgUnbind({ pool, box: world.box, timeZone: 'UTC' }), feed };
  };
  return { world, a: await node('node-a'), b: await node('node-b'), url, admin };
}

/** Collects what a follower receives, and resolves when it holds `n` rows. */
function collect(feed: PgTokenFeed, tokenId: string, after = 0): { rows: LogRow[]; until(n: number): Promise<LogRow[]>; stop(): void } {
  const rows: LogRow[] = [];
  const waiters: Array<{ n: number; done: (r: LogRow[]) => void }> = [];
  const stop = feed.follow(tokenId, after, (fresh) => {
    rows.push(...fresh);
    for (const w of [...waiters]) if (rows.length >= w.n) {
      waiters.splice(waiters.indexOf(w), 1);
      w.done(rows);
    }
  });
  return {
    rows,
    until: (n) => (rows.length >= n ? Promise.resolve(rows) : new Promise((done) => waiters.push({ n, done }))),
    stop,
  };
}

const idsOf = (rows: Array<{ id: number }>): number[] => rows.map((r) => r.id);

async function logOf(admin: Pool, tokenId: string): Promise<LogRow[]> {
  return (await admin.query<LogRow>('SELECT * FROM device_logs WHERE token_id = $1 ORDER BY id', [tokenId])).rows;
}

describe('token results across nodes on PostgreSQL', () => {
  it('given a station following a token on node B, when 40 devices are decided on A and B at once, then B delivers every result in order, each once', async () => {
    const { world, a, b, admin } = await twoNodes({ bound: 40 });
    const t = await world.issue('acc-owner', 30);
    const seen = collect(b.feed, t.id);
    await Promise.all(
      world.devices('cam1').map(async (d, i) => {
        const node = i % 3 === 0 ? b : a;
        const out = await node.unbind.unbind(world.request(d, t.token));
        if (out.log.token_id) node.feed.committed(out.log.token_id);
      }),
    );
    const rows = await seen.until(40);
    const log = await logOf(admin, t.id);
    expect(log).toHaveLength(40); // 30 places taken, 10 told TOKEN_EXHAUSTED
    expect(idsOf(rows)).toEqual(idsOf(log));
    expect(rows).toEqual(log);
  });

  it('given node A never notifies (killed between its commits and its NOTIFY), then B still delivers everything, through its safety poll', async () => {
    const { world, a, b, admin } = await twoNodes({ bound: 12, notify: false, safetyPollMs: 100 });
    const t = await world.issue('acc-owner', 30);
    const seen = collect(b.feed, t.id);
    for (const d of world.devices('cam1')) {
      const out = await a.unbind.unbind(world.request(d, t.token));
      a.feed.committed(out.log.token_id!);
    }
    expect(idsOf(await seen.until(12))).toEqual(idsOf(await logOf(admin, t.id)));
  });

  it('given a station that followed on B and lost it, when it resumes on A with Last-Event-ID, then it gets the rest: nothing missed, nothing twice', async () => {
    const { world, a, b, admin } = await twoNodes({ bound: 20 });
    const t = await world.issue('acc-owner', 30);
    const devices = world.devices('cam1');
    const first = collect(b.feed, t.id);
    for (const d of devices.slice(0, 8)) a.feed.committed((await a.unbind.unbind(world.request(d, t.token))).log.token_id!);
    const got = await first.until(8);
    first.stop();
    await b.feed.close(); // node B dies
    const lastEventId = got[got.length - 1]!.id;
    for (const d of devices.slice(8, 14)) a.feed.committed((await a.unbind.unbind(world.request(d, t.token))).log.token_id!);
    const resumed = collect(a.feed, t.id, lastEventId);
    for (const d of devices.slice(14)) a.feed.committed((await a.unbind.unbind(world.request(d, t.token))).log.token_id!);
    const rest = await resumed.until(12);
    expect([...idsOf(got), ...idsOf(rest)]).toEqual(idsOf(await logOf(admin, t.id)));
  });

  it('given an unbind of a token still open on one connection, then the next one of that token waits for it, so a later id is never visible first', async () => {
    const { world, a, b, admin } = await twoNodes({ bound: 2 });
    const t = await world.issue('acc-owner', 30);
    const d1 = world.devices('cam1')[0];
    // A refusal that names the token: it takes no place, so only the token lock can make it wait.
    const d2 = world.devices('old1')[0];
    const seen = collect(b.feed, t.id);
    // Node X (a raw connection) is half-way through an unbind of the token: locked, its log row's id drawn, not committed.
    const x = await admin.connect();
    try {
      await x.query('BEGIN');
      await x.query('SELECT 1 FROM tokens WHERE id = $1 FOR NO KEY UPDATE', [t.id]);
      const xId = (await x.query<{ id: number }>("INSERT INTO device_logs (at, dev_id, token_id, result, reason) VALUES ($1, $2, $3, 'FAILED', 'TIMEOUT') RETURNING id", [Date.now(), d1!.devId, t.id])).rows[0]!.id;
      // Node A decides another device of the token meanwhile (UNSUPPORTED_PRODUCT): it must wait for X, not commit a larger id before X's.
      const decided = a.unbind.unbind(world.request(d2!, t.token)).then(() => 'decided' as const);
      const waiting = (async () => {
        for (;;) {
          const r = await admin.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'node-a' AND wait_event_type = 'Lock'");
          if (r.rowCount) return 'waiting' as const;
        }
      })();
      expect(await Promise.race([decided, waiting])).toBe('waiting');
      b.feed.committed(t.id);
      expect(seen.rows).toEqual([]); // nothing of the token is visible while its first row is open
      await x.query('COMMIT');
      await decided;
      a.feed.committed(t.id);
      const rows = await seen.until(2);
      expect(rows[0]!.id).toBe(xId);
      expect(rows[1]!.id).toBeGreaterThan(xId);
      expect(idsOf(rows)).toEqual(idsOf(await logOf(admin, t.id)));
    } finally {
      x.release();
    }
  });
});
