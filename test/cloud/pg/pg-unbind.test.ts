import { describe, expect, it } from 'vitest';
import type { Pool } from 'pg';
import { createPgUnbind, type PgUnbind, type PgUnbindOutcome } from '../../../src/cloud/pg/pg-unbind.js';
import { useTestPg } from '../../support/pg-server.js';
import { seedWorld, type World } from './pg-world.js';

/** The device unbind on a real PostgreSQL, alone and raced by several nodes (pools) at once. */
const testPg = useTestPg();

async function setUp(o: { bound: number; unbound?: number; nodes?: number; accountLimit?: number; productLimit?: number; lingerMs?: number }): Promise<{
  pool: Pool;
  world: World;
  nodes: PgUnbind[];
}> {
  const pg = testPg();
  const url = await pg.freshDatabase();
  const pool = pg.pool(url, 4);
  const world = await seedWorld(pool, { boundDevices: o.bound, unboundDevices: o.unbound ?? 0 });
  // Each node: its own pool and its own unbind service, as separate authority processes would have.
  const nodes = Array.from({ length: o.nodes ?? 1 }, (_, i) =>
    createPgUnbind({
      pool: pg.pool(url, 8, `node-${i}`),
      box: world.box,
      timeZone: 'UTC',
      ...(o.accountLimit !== undefined ? { accountLimit: o.accountLimit } : {}),
      ...(o.productLimit !== undefined ? { productLimit: o.productLimit } : {}),
      ...(o.lingerMs !== undefined ? { lingerMs: o.lingerMs } : {}),
    }),
  );
  return { pool, world, nodes };
}

const count = async (pool: Pool, sql: string, params: unknown[] = []): Promise<number> => Number((await pool.query<{ n: string }>(sql, params)).rows[0]!.n);
const answer = (o: PgUnbindOutcome): string => (o.reason ? `${o.result}:${o.reason}` : o.result);
const tally = (outs: PgUnbindOutcome[]): Record<string, number> => {
  const t: Record<string, number> = {};
  for (const o of outs) t[answer(o)] = (t[answer(o)] ?? 0) + 1;
  return t;
};

describe('device unbind on PostgreSQL', () => {
  it('given a bound device and a token, when it asks, then it is unbound: binding and shares gone, quota and place consumed, one log row', async () => {
    const { pool, world, nodes } = await setUp({ bound: 1, nodes: 2 });
    const [dev] = world.devices('cam1');
    const t = await world.issue('acc-owner', 2);
    const out = await nodes[0]!.unbind(world.request(dev!, t.token));
    expect(answer(out)).toBe('UNBOUND');
    expect(out.log).toMatchObject({ dev_id: dev!.devId, token_id: t.id, operator_id: 'acc-owner', result: 'UNBOUND', reason: null });
    expect(out.exhausted).toBe(false);
    expect(await count(pool, 'SELECT count(*) AS n FROM bindings WHERE dev_id = $1', [dev!.devId])).toBe(0);
    expect(await count(pool, 'SELECT count(*) AS n FROM shares WHERE dev_id = $1', [dev!.devId])).toBe(0);
    expect((await pool.query('SELECT scope, key, used FROM quota_usage ORDER BY scope')).rows).toEqual([
      { scope: 'account', key: 'acc-owner', used: 1 },
      { scope: 'product', key: 'cam1', used: 1 },
    ]);
    expect((await pool.query('SELECT used FROM tokens WHERE id = $1', [t.id])).rows[0]).toEqual({ used: 1 });
    expect((await pool.query('SELECT id, result FROM device_logs')).rows).toEqual([{ id: out.log.id, result: 'UNBOUND' }]);

    // The same place again, with a new nonce: the decided answer again (on another node too, no new row);
    // the same nonce: a replay. Neither pays anything.
    const retry = await nodes[1]!.unbind(world.request(dev!, t.token));
    expect(retry).toMatchObject({ result: 'UNBOUND', replayed: true, log: { id: out.log.id } });
    expect((await pool.query('SELECT count(*)::int AS n FROM device_logs')).rows[0]).toEqual({ n: 1 });
    const again = world.request(dev!, t.token);
    await nodes[0]!.unbind(again);
    expect(answer(await nodes[0]!.unbind(again))).toBe('FAILED:REPLAY');
    expect(await count(pool, "SELECT sum(used) AS n FROM quota_usage")).toBe(2);
  });

  it('given a device nobody binds, then NOT_BOUND takes a place of the token and no quota', async () => {
    const { pool, world, nodes } = await setUp({ bound: 0, unbound: 1 });
    const t = await world.issue('acc-owner', 1);
    const out = await nodes[0]!.unbind(world.request(world.devices('cam1')[0]!, t.token));
    expect(answer(out)).toBe('NOT_BOUND');
    expect(out.exhausted).toBe(true);
    expect(await count(pool, 'SELECT count(*) AS n FROM quota_usage')).toBe(0);
    expect((await pool.query('SELECT used FROM tokens WHERE id = $1', [t.id])).rows[0]).toEqual({ used: 1 });
  });

  it('given each refusal of DESIGN §5, then it is answered with its code, logged, and changes no binding, quota or place', async () => {
    const { pool, world, nodes } = await setUp({ bound: 3 });
    const node = nodes[0]!;
    const [a, b, c] = world.devices('cam1');
    const t = await world.issue('acc-owner', 1);
    const forged = world.request(a!, t.token, { sig: '0'.repeat(64) });
    expect(answer(await node.unbind(forged))).toBe('FAILED:DEVICE_AUTH');
    // A forged request did not burn the nonce: the device's own request with it still counts.
    expect(answer(await node.unbind(world.request(a!, t.token, { nonce: forged.nonce, ts: forged.ts })))).toBe('UNBOUND');
    expect(answer(await node.unbind(world.request(b!, t.token)))).toBe('FAILED:TOKEN_EXHAUSTED');
    expect(answer(await node.unbind(world.request(b!, t.token, { ts: Date.now() - 301_000 })))).toBe('FAILED:REPLAY');
    expect(answer(await node.unbind(world.request(b!, `${t.token.slice(0, 10)}zzzzzz`)))).toBe('FAILED:TOKEN_INVALID');
    const expired = await world.issue('acc-owner', 5, { ttlMs: -1 });
    expect(answer(await node.unbind(world.request(b!, expired.token)))).toBe('FAILED:TOKEN_EXPIRED');
    const elsewhere = await world.issue('acc-owner', 5, { region: 'AY' });
    expect(answer(await node.unbind(world.request(b!, elsewhere.token)))).toBe('FAILED:REGION_MISMATCH');
    const stranger = await world.issue('acc-stranger', 5);
    expect(answer(await node.unbind(world.request(b!, stranger.token)))).toBe('FAILED:UNAUTHORIZED');
    const partner = await world.issue('acc-partner', 5);
    expect(answer(await node.unbind(world.request(world.devices('old1')[0]!, partner.token)))).toBe('FAILED:UNSUPPORTED_PRODUCT');
    // The grant is read live: revoked, the partner's token stops at once.
    await pool.query("UPDATE partner_grants SET revoked_at = 1 WHERE account_id = 'acc-partner'");
    expect(answer(await node.unbind(world.request(c!, partner.token)))).toBe('FAILED:UNAUTHORIZED');
    expect(answer(await node.unbind({ ...world.request(c!, partner.token), devId: 'no-such-device' }))).toBe('FAILED:DEVICE_UNKNOWN');

    expect(await count(pool, 'SELECT count(*) AS n FROM bindings')).toBe(3); // b, c and old1
    expect(await count(pool, 'SELECT sum(used) AS n FROM quota_usage')).toBe(2);
    expect(await count(pool, 'SELECT sum(used) AS n FROM tokens')).toBe(1);
    // Every checked request is logged, except the unknown device (nobody may read about it).
    expect(await count(pool, "SELECT count(*) AS n FROM device_logs WHERE result = 'FAILED'")).toBe(9);
  });

  it('given the product limit reached before the account limit, then QUOTA_PRODUCT, and the account is not charged for it', async () => {
    const { pool, world, nodes } = await setUp({ bound: 3, productLimit: 2 });
    const t = await world.issue('acc-owner', 3);
    const outs = [];
    for (const d of world.devices('cam1')) outs.push(answer(await nodes[0]!.unbind(world.request(d, t.token))));
    expect(outs).toEqual(['UNBOUND', 'UNBOUND', 'FAILED:QUOTA_PRODUCT']);
    expect((await pool.query('SELECT scope, used FROM quota_usage ORDER BY scope')).rows).toEqual([
      { scope: 'account', used: 2 },
      { scope: 'product', used: 2 },
    ]);
    // An approved ticket raises the product's limit for the day: the next request passes.
    await pool.query(`INSERT INTO quota_tickets (id, requester_id, scope, pid, limit_value, from_day, to_day, reason, status, created_at)
      VALUES ('tk1', 'acc-owner', 'product', 'cam1', 3, '2000-01-01', '2999-12-31', 'more', 'approved', 0)`);
    const t2 = await world.issue('acc-owner', 1);
    expect(answer(await nodes[0]!.unbind(world.request(world.devices('cam1')[2]!, t2.token)))).toBe('UNBOUND');
  });

  it('given 4 nodes racing 160 bound devices of one account and product, with 180 places, then exactly 100 are unbound and the ledger equals the log', async () => {
    const { pool, world, nodes } = await setUp({ bound: 160, nodes: 4 });
    const tokens = await Promise.all(Array.from({ length: 6 }, () => world.issue('acc-owner', 30)));
    const reqs = world.devices('cam1').map((d, i) => ({ node: nodes[i % nodes.length]!, req: world.request(d, tokens[i % tokens.length]!.token) }));
    const outs = await Promise.all(reqs.map(({ node, req }) => node.unbind(req)));
    expect(tally(outs)).toEqual({ UNBOUND: 100, 'FAILED:QUOTA_ACCOUNT': 60 });
    expect((await pool.query('SELECT scope, used FROM quota_usage ORDER BY scope')).rows).toEqual([
      { scope: 'account', used: 100 },
      { scope: 'product', used: 100 },
    ]);
    expect(await count(pool, "SELECT count(*) AS n FROM device_logs WHERE result = 'UNBOUND'")).toBe(100);
    expect(await count(pool, 'SELECT count(*) AS n FROM bindings')).toBe(60 + 1);
    // Decided in groups, none rolled back and decided again alone.
    expect(nodes.map((n) => n.stats().alone)).toEqual([0, 0, 0, 0]);
    expect(nodes.reduce((sum, n) => sum + n.stats().grouped, 0)).toBe(160);
  });

  it('given 40 devices racing one token of 30 places on 4 nodes, then exactly 30 get a place and 10 are told TOKEN_EXHAUSTED', async () => {
    const { pool, world, nodes } = await setUp({ bound: 20, unbound: 20, nodes: 4 });
    const t = await world.issue('acc-owner', 30);
    const outs = await Promise.all(world.devices('cam1').map((d, i) => nodes[i % 4]!.unbind(world.request(d, t.token))));
    const got = outs.filter((o) => o.result !== 'FAILED');
    expect(got).toHaveLength(30);
    expect(outs.filter((o) => o.reason === 'TOKEN_EXHAUSTED')).toHaveLength(10);
    expect(outs.filter((o) => o.exhausted)).toHaveLength(1 + 10); // the one that took the last place, and every refusal after it
    expect((await pool.query('SELECT used FROM tokens WHERE id = $1', [t.id])).rows[0]).toEqual({ used: 30 });
    expect(await count(pool, 'SELECT count(*) AS n FROM token_uses')).toBe(30);
  });

  it('given one device asking on two nodes at once, with two tokens and with one nonce, then it is unbound and paid once', async () => {
    const { pool, world, nodes } = await setUp({ bound: 2, nodes: 2 });
    const [a, b] = world.devices('cam1');
    const [t1, t2] = await Promise.all([world.issue('acc-owner', 5), world.issue('acc-partner', 5)]);
    const two = await Promise.all([nodes[0]!.unbind(world.request(a!, t1.token)), nodes[1]!.unbind(world.request(a!, t2.token))]);
    expect(two.map(answer).sort()).toEqual(['NOT_BOUND', 'UNBOUND']);
    const same = world.request(b!, t1.token);
    const replayed = await Promise.all([nodes[0]!.unbind(same), nodes[1]!.unbind(same)]);
    expect(replayed.map(answer).sort()).toEqual(['FAILED:REPLAY', 'UNBOUND']);
    expect(await count(pool, "SELECT sum(used) AS n FROM quota_usage WHERE scope = 'product'")).toBe(2);
  });

  it('given two nodes deciding groups that name the same tokens, devices and quota rows in opposite orders, at once, then neither deadlocks and each request gets its own answer', async () => {
    const { pool, world, nodes } = await setUp({ bound: 60, nodes: 2 });
    const devs = world.devices('cam1');
    // Two accounts (two quota rows of scope account, one of the product), four tokens, every device asked twice.
    const owner = await Promise.all([world.issue('acc-owner', 30), world.issue('acc-owner', 30)]);
    const partner = await Promise.all([world.issue('acc-partner', 30), world.issue('acc-partner', 30)]);
    const ahead = devs.map((d, i) => world.request(d, owner[i % 2]!.token));
    const behind = devs.map((d, i) => world.request(d, partner[i % 2]!.token)).reverse();
    const [a, b] = await Promise.all([Promise.all(ahead.map((r) => nodes[0]!.unbind(r))), Promise.all(behind.map((r) => nodes[1]!.unbind(r)))]);
    expect(nodes.map((n) => n.stats().alone)).toEqual([0, 0]);
    // One group per node: every request of a node was in flight at once.
    expect(nodes.map((n) => n.stats().groups)).toEqual([1, 1]);
    const byDev = new Map<string, string[]>();
    [...a, ...b].forEach((o) => byDev.set(o.log.dev_id, [...(byDev.get(o.log.dev_id) ?? []), answer(o)]));
    for (const d of devs) expect(byDev.get(d.devId)!.sort()).toEqual(['NOT_BOUND', 'UNBOUND']);
    expect(await count(pool, "SELECT sum(used) AS n FROM quota_usage WHERE scope = 'product'")).toBe(60);
    expect(await count(pool, "SELECT sum(used) AS n FROM quota_usage WHERE scope = 'account'")).toBe(60);
    expect(await count(pool, 'SELECT sum(used) AS n FROM tokens')).toBe(120);
    expect(await count(pool, "SELECT count(*) AS n FROM device_logs WHERE result = 'UNBOUND'")).toBe(60);
    expect(await count(pool, 'SELECT count(*) AS n FROM decided_answers')).toBe(120);
  });

  it('given one group holding the same request twice, a retry and a second token for one device, then each is told its own answer and pays once', async () => {
    const { pool, world, nodes } = await setUp({ bound: 2 });
    const [a, b] = world.devices('cam1');
    const [t1, t2] = await Promise.all([world.issue('acc-owner', 5), world.issue('acc-partner', 5)]);
    const same = world.request(a!, t1.token);
    const outs = await Promise.all([
      nodes[0]!.unbind(same),
      nodes[0]!.unbind(same), // the same nonce: a replay
      nodes[0]!.unbind(world.request(a!, t1.token)), // a retry with a new nonce: told the first's answer
      nodes[0]!.unbind(world.request(a!, t2.token)), // another token: the device is no longer bound
      nodes[0]!.unbind(world.request(b!, `${t1.token.slice(0, 10)}zzzzzz`)),
    ]);
    expect(nodes[0]!.stats()).toMatchObject({ groups: 1, grouped: 5, alone: 0 });
    expect(outs.map(answer)).toEqual(['UNBOUND', 'FAILED:REPLAY', 'UNBOUND', 'NOT_BOUND', 'FAILED:TOKEN_INVALID']);
    expect(outs[2]).toMatchObject({ replayed: true, log: { id: outs[0]!.log.id } });
    expect(outs[1]!.log.token_id).toBeNull();
    expect(await count(pool, "SELECT sum(used) AS n FROM quota_usage WHERE scope = 'product'")).toBe(1);
    expect((await pool.query('SELECT id, used FROM tokens ORDER BY used')).rows.map((r) => r.used)).toEqual([1, 1]);
  });

  it('given another node half-way through unbinding a device, when this node is asked for it, then it waits, finds it unbound, and charges nothing', async () => {
    const { pool, world, nodes } = await setUp({ bound: 1 });
    const [dev] = world.devices('cam1');
    const t = await world.issue('acc-owner', 5);
    const x = await pool.connect();
    try {
      await x.query('BEGIN');
      await x.query('DELETE FROM bindings WHERE dev_id = $1', [dev!.devId]); // not committed yet
      const decided = nodes[0]!.unbind(world.request(dev!, t.token));
      for (;;) {
        const r = await pool.query("SELECT 1 FROM pg_stat_activity WHERE application_name = 'node-0' AND wait_event_type = 'Lock'");
        if (r.rowCount) break;
      }
      await x.query('COMMIT');
      expect(answer(await decided)).toBe('NOT_BOUND');
      expect(await count(pool, 'SELECT count(*) AS n FROM quota_usage WHERE used > 0')).toBe(0);
    } finally {
      x.release();
    }
  });

  // Over HTTP the callers of a group are answered together but come back one by one, each over its own connection.
  const closedLoop = async (node: PgUnbind, world: World, callers: number, rounds: number, turns = true): Promise<PgUnbindOutcome[]> => {
    const devs = world.devices('cam1');
    const tokens = await Promise.all(Array.from({ length: Math.ceil((callers * rounds) / 30) }, () => world.issue('acc-owner', 30)));
    let next = 0;
    const outs: PgUnbindOutcome[] = [];
    await Promise.all(
      Array.from({ length: callers }, async (_, c) => {
        for (let r = 0; r < rounds; r++) {
          const i = next++;
          outs.push(await node.unbind(world.request(devs[i]!, tokens[Math.floor(i / 30)]!.token)));
          if (turns) for (let k = 0; k <= c; k++) await new Promise((done) => setImmediate(done)); // caller c comes back c+1 turns later
        }
      }),
    );
    return outs;
  };

  it('given callers answered together that come back in different turns, then the next group waits for them: one group per round', async () => {
    const { world, nodes } = await setUp({ bound: 48, lingerMs: 10_000 });
    const outs = await closedLoop(nodes[0]!, world, 8, 6);
    expect(tally(outs)).toEqual({ UNBOUND: 48 });
    expect(nodes[0]!.stats()).toMatchObject({ groups: 6, grouped: 48, alone: 0 });
    // Without the wait the first caller back leaves alone, and the rounds fall apart into many small groups.
    const eager = await setUp({ bound: 48, lingerMs: 0 });
    await closedLoop(eager.nodes[0]!, eager.world, 8, 6);
    expect(eager.nodes[0]!.stats().groups).toBeGreaterThan(6);
  });

  it('given callers in the same process that ask again as soon as they are answered, then the next group goes without waiting', async () => {
    // They may be back before the group's own promise settles: the wait counts what arrived before the answers went out.
    const { world, nodes } = await setUp({ bound: 48, lingerMs: 3_000 });
    const t0 = performance.now();
    const outs = await closedLoop(nodes[0]!, world, 8, 6, false);
    expect(performance.now() - t0).toBeLessThan(3_000);
    expect(tally(outs)).toEqual({ UNBOUND: 48 });
    expect(nodes[0]!.stats()).toMatchObject({ groups: 6, grouped: 48, alone: 0 });
  });

  it('given the callers just answered do not come back, then the next request waits at most lingerMs; a lone caller asking one after another never waits', async () => {
    const { world, nodes } = await setUp({ bound: 8, lingerMs: 300 });
    const devs = world.devices('cam1');
    const t = await world.issue('acc-owner', 30);
    const node = nodes[0]!;
    // One at a time: each group of one is followed by one request, which goes at once.
    const t0 = performance.now();
    for (const d of devs.slice(0, 4)) expect(answer(await node.unbind(world.request(d, t.token)))).toBe('UNBOUND');
    expect(performance.now() - t0).toBeLessThan(4 * 300);
    // A group of two answered, then one request: it waits for the second caller, who never comes, until lingerMs ends.
    await Promise.all(devs.slice(4, 6).map((d) => node.unbind(world.request(d, t.token))));
    const t1 = performance.now();
    expect(answer(await node.unbind(world.request(devs[6]!, t.token)))).toBe('UNBOUND');
    expect(performance.now() - t1).toBeGreaterThanOrEqual(250);
    expect(node.stats()).toMatchObject({ groups: 6, grouped: 7, alone: 0 });
  });
});
