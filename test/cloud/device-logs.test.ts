import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eligible, startHarness, type Harness } from '../support/authority-harness.js';

/** Device logs: filters, cursor pages, and DESIGN §7 scoping (owner and space roles see all, partners their own). */
describe('device logs', () => {
  let h: Harness;
  const ops: Record<string, string[]> = { partner: [], member: [], owner: [], none: [] };
  beforeAll(async () => {
    h = await startHarness();
    const run = async (role: 'partner' | 'member' | 'owner' | 'none', pid: string, from: number, n: number) => {
      const t = await h.station(role).issueToken(30);
      for (const d of eligible(h, pid).slice(from, from + n)) {
        await h.unbind(d, t.token);
        ops[role]!.push(d.devId);
      }
    };
    await run('partner', 'pqr1cam', 0, 3);
    await run('member', 'pqr1cam', 10, 2);
    await run('member', 'pgw1uart', 0, 2);
    await run('owner', 'pnvr8ch', 0, 2);
    await run('owner', 'plegacy1', 0, 1);
    await run('none', 'pqr1cam', 20, 1);
  });
  afterAll(() => h.close());

  const logs = async (role: 'partner' | 'member' | 'owner' | 'none' | 'oem', query = '') => {
    const r = await h.station(role).call('GET', `/api/v1/device-logs${query}`);
    expect(r.status).toBe(200);
    return r.body as { items: Array<{ devId: string; operator: string | null; result: string; reason: string | null; pid: string }>; nextCursor: string | null };
  };

  it('the owner sees every operation on its products, by anyone', async () => {
    const all = await logs('owner');
    expect(all.items.map((i) => i.devId).sort()).toEqual([...ops.partner!, ...ops.member!, ...ops.owner!, ...ops.none!].sort());
    expect(all.items.find((i) => i.operator === 'acc-none')).toMatchObject({ result: 'FAILED', reason: 'UNAUTHORIZED' });
  });

  it('a partner sees only its own operations, not the member’s on the same product', async () => {
    const mine = await logs('partner');
    expect(mine.items.map((i) => i.devId).sort()).toEqual([...ops.partner!].sort());
    expect(mine.items.every((i) => i.operator === 'acc-partner')).toBe(true);
  });

  it('a space member sees all operations on the products its role covers, none elsewhere', async () => {
    const seen = await logs('member');
    const pids = new Set(seen.items.map((i) => i.pid));
    expect([...pids].sort()).toEqual(['pgw1uart', 'pqr1cam']);
    expect(seen.items.filter((i) => i.pid === 'pqr1cam').map((i) => i.operator).sort()).toEqual(
      ['acc-member', 'acc-member', 'acc-none', 'acc-partner', 'acc-partner', 'acc-partner'],
    );
  });

  it('an account with no rights sees nothing, not even its own refused attempts', async () => {
    expect((await logs('none')).items).toEqual([]);
    expect((await logs('oem')).items).toEqual([]);
  });

  it('filters by result, reason, product, device, operator and time', async () => {
    expect((await logs('owner', '?result=FAILED')).items.map((i) => i.reason).sort()).toEqual(['UNAUTHORIZED', 'UNSUPPORTED_PRODUCT']);
    expect((await logs('owner', '?reason=UNSUPPORTED_PRODUCT')).items).toHaveLength(1);
    expect((await logs('owner', '?pid=pnvr8ch')).items).toHaveLength(2);
    expect((await logs('owner', `?devId=${ops.member![0]}`)).items).toHaveLength(1);
    expect((await logs('owner', '?operator=acc-member')).items).toHaveLength(4);
    const future = new Date(Date.now() + 3_600_000).toISOString();
    expect((await logs('owner', `?from=${encodeURIComponent(future)}`)).items).toHaveLength(0);
    expect((await logs('owner', `?to=${encodeURIComponent(future)}`)).items).toHaveLength(11);
  });

  it('pages with a cursor, newest first, without gaps or repeats', async () => {
    const seen: number[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const page: { items: Array<{ id: number }>; nextCursor: string | null } = (await h.station('owner').call('GET', `/api/v1/device-logs?limit=3${cursor ? `&cursor=${cursor}` : ''}`)).body;
      seen.push(...page.items.map((i) => i.id));
      cursor = page.nextCursor;
      pages++;
    } while (cursor);
    expect(pages).toBe(4);
    expect(seen).toHaveLength(11);
    expect([...seen].sort((a, b) => b - a)).toEqual(seen);
    expect(new Set(seen).size).toBe(11);
  });

  it('malformed queries get 400 with the field named', async () => {
    for (const [q, field] of [
      ['?limit=abc', 'query.limit'],
      ['?limit=0', 'query.limit'],
      ['?result=MAYBE', 'query.result'],
      ['?from=yesterday', 'query.from'],
      ['?cursor=%00%01', 'query.cursor'],
      ['?unknown=1', 'query'],
      ['?pid=a&pid=b', 'query.pid'],
    ] as const) {
      const r = await h.station('owner').call('GET', `/api/v1/device-logs${q}`);
      expect(r.status, q).toBe(400);
      expect(r.body.message, q).toContain(field);
    }
    const forged = await h.station('owner').call('GET', '/api/v1/device-logs?cursor=TDk5OTk5OTk5OTk5OTk5OTk5OQ');
    expect(forged).toMatchObject({ status: 400, body: { code: 'BAD_CURSOR' } });
  });
});
