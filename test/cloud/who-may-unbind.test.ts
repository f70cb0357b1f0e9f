import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eligible, startHarness, type Harness } from '../support/authority-harness.js';

/** DESIGN §7, every rule over real HTTP: owner, partner, space role, OEM source, nobody else. */
describe('who may unbind a device', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const pids = async (role: 'owner' | 'partner' | 'member' | 'none' | 'oem', region = 'EU') =>
    ((await h.station(role, region).call('GET', '/api/v1/products')).body.items as Array<{ pid: string; grant: string; role?: string }>);

  it('lists for each account exactly the products it may unbind, with the grant that allows it', async () => {
    const owner = await pids('owner');
    expect(owner.map((p) => p.pid).sort()).toEqual(['pdvr4ch', 'pfwcam2', 'pgw1uart', 'plegacy1', 'pnvr8ch', 'poemcam', 'pqr1cam']);
    expect(owner.every((p) => p.grant === 'owner')).toBe(true);
    expect(await pids('partner')).toEqual([
      expect.objectContaining({ pid: 'pnvr8ch', grant: 'partner' }),
      expect.objectContaining({ pid: 'pqr1cam', grant: 'partner' }),
    ]);
    expect((await pids('member')).map((p) => [p.pid, p.grant, p.role])).toEqual([
      ['pfwcam2', 'space-role', 'After-sale'],
      ['pgw1uart', 'space-role', 'After-sale'],
      ['pqr1cam', 'space-role', 'After-sale'],
    ]);
    expect(await pids('oem')).toEqual([expect.objectContaining({ pid: 'poemcam', grant: 'oem' })]);
    expect(await pids('none')).toEqual([]);
    expect((await pids('owner', 'AY')).map((p) => p.pid)).toEqual(['payqr1']);
  });

  it('the account with no rights gets UNAUTHORIZED on every product, and consumes nothing', async () => {
    const token = await h.station('none').issueToken(3);
    for (const pid of ['pqr1cam', 'pnvr8ch', 'pgw1uart']) {
      const d = eligible(h, pid)[0]!;
      expect((await h.unbind(d, token.token)).body).toEqual({ result: 'FAILED', reason: 'UNAUTHORIZED' });
      expect(await h.authority.store.registry.bindingOf(d.devId)).toBeDefined();
    }
    expect((await h.station('none').call('GET', '/api/v1/quota')).body.account.used).toBe(0);
  });

  it('a partner may unbind only the products it was authorized for', async () => {
    const token = await h.station('partner').issueToken(3);
    expect((await h.unbind(eligible(h, 'pnvr8ch')[0]!, token.token)).body.result).toBe('UNBOUND');
    expect((await h.unbind(eligible(h, 'pgw1uart')[0]!, token.token)).body).toEqual({ result: 'FAILED', reason: 'UNAUTHORIZED' });
  });

  it('a space member with the After-sale role may unbind the products of its data permission only', async () => {
    const token = await h.station('member').issueToken(3);
    expect((await h.unbind(eligible(h, 'pgw1uart')[1]!, token.token)).body.result).toBe('UNBOUND');
    expect((await h.unbind(eligible(h, 'pnvr8ch')[1]!, token.token)).body).toEqual({ result: 'FAILED', reason: 'UNAUTHORIZED' });
  });

  it('the OEM source account may unbind the OEM product', async () => {
    const token = await h.station('oem').issueToken(1);
    expect((await h.unbind(eligible(h, 'poemcam')[0]!, token.token)).body.result).toBe('UNBOUND');
  });

  it('an owner of another region may not unbind this owner products', async () => {
    const token = await h.station('owner', 'AY').issueToken(1);
    // The region check comes first: an AY token cannot serve an EU device at all.
    expect((await h.unbind(eligible(h, 'pqr1cam')[5]!, token.token)).body).toEqual({ result: 'FAILED', reason: 'REGION_MISMATCH' });
  });

  it('a revoked partner grant stops a token that was already issued', async () => {
    const partner = h.station('partner');
    const owner = h.station('owner');
    const token = await partner.issueToken(5);
    const [a, b] = eligible(h, 'pnvr8ch').slice(10, 12);
    expect((await h.unbind(a!, token.token)).body.result).toBe('UNBOUND');
    const revoke = await owner.call('DELETE', '/api/v1/authorizations/partners/pnvr8ch/acc-partner');
    expect(revoke.status).toBe(200);
    expect(revoke.body.partners).toEqual([expect.objectContaining({ pid: 'pqr1cam', accountId: 'acc-partner' })]);
    expect((await h.unbind(b!, token.token)).body).toEqual({ result: 'FAILED', reason: 'UNAUTHORIZED' });
    // Granting again restores it, for the same token.
    expect((await owner.call('POST', '/api/v1/authorizations/partners', { pid: 'pnvr8ch', accountId: 'acc-partner' })).status).toBe(201);
    expect((await h.unbind(b!, token.token)).body.result).toBe('UNBOUND');
  });

  it('only the owner may grant or revoke; a partner cannot grant itself more', async () => {
    const r = await h.station('partner').call('POST', '/api/v1/authorizations/partners', { pid: 'pgw1uart', accountId: 'acc-partner' });
    expect(r).toMatchObject({ status: 403, body: { code: 'NOT_OWNER' } });
    const m = await h.station('member').call('DELETE', '/api/v1/authorizations/partners/pqr1cam/acc-partner');
    expect(m).toMatchObject({ status: 403, body: { code: 'NOT_OWNER' } });
  });

  it('a custom role needs the unbind permission; removing the member stops it at once', async () => {
    const owner = h.station('owner');
    const viewer = await owner.call('POST', '/api/v1/authorizations/roles', { name: 'Viewer', canUnbind: false, allProducts: true });
    expect(viewer.status).toBe(201);
    expect((await owner.call('POST', '/api/v1/authorizations/members', { accountId: 'acc-none', roleId: viewer.body.roleId })).status).toBe(201);
    const token = await h.station('none').issueToken(5);
    const [d1, d2, d3] = eligible(h, 'pdvr4ch').slice(5, 8);
    expect((await h.unbind(d1!, token.token)).body).toEqual({ result: 'FAILED', reason: 'UNAUTHORIZED' });

    const dvrTech = await owner.call('POST', '/api/v1/authorizations/roles', { name: 'DVR technician', canUnbind: true, pids: ['pdvr4ch'] });
    expect(dvrTech.body).toMatchObject({ kind: 'custom', canUnbind: true, allProducts: false, pids: ['pdvr4ch'] });
    await owner.call('POST', '/api/v1/authorizations/members', { accountId: 'acc-none', roleId: dvrTech.body.roleId });
    expect((await h.unbind(d2!, token.token)).body.result).toBe('UNBOUND');

    expect((await owner.call('DELETE', '/api/v1/authorizations/members/acc-none')).status).toBe(200);
    expect((await h.unbind(d3!, token.token)).body).toEqual({ result: 'FAILED', reason: 'UNAUTHORIZED' });
  });

  it('a role cannot cover products of another owner', async () => {
    const r = await h.station('owner').call('POST', '/api/v1/authorizations/roles', { name: 'Sneaky', canUnbind: true, pids: ['payqr1'] });
    expect(r).toMatchObject({ status: 403, body: { code: 'NOT_OWNER' } });
  });
});
