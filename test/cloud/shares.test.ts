import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/authority-harness.js';
import { MAX_SHARE_RECEIVERS_PER_CHANNEL, MAX_SHARING_ACCOUNTS_PER_RECEIVER } from '../../src/cloud/registry.js';

/** Shares follow the consumer cloud's limits: 64 receivers per channel, 100 sharing accounts per receiver. */
describe('device shares', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('refuses the 65th receiver on one channel', async () => {
    const { registry, clock } = h.authority.store;
    await registry.addConsumer('owner-x', 'Owner X', 'EU');
    for (let i = 0; i < MAX_SHARE_RECEIVERS_PER_CHANNEL + 1; i++) await registry.addConsumer(`rx-${i}`, `R ${i}`, 'EU');
    const dev = h.devices((d) => d.pid === 'pqr1cam' && !d.bound)[0]!;
    await registry.bind(dev.devId, 'owner-x', clock());
    for (let i = 0; i < MAX_SHARE_RECEIVERS_PER_CHANNEL; i++) await registry.share(dev.devId, 2, 'owner-x', `rx-${i}`, clock());
    await expect(registry.share(dev.devId, 2, 'owner-x', `rx-${MAX_SHARE_RECEIVERS_PER_CHANNEL}`, clock())).rejects.toThrow(/64 accounts/);
    expect((await registry.sharesOf(dev.devId)).filter((s) => s.channel === 2)).toHaveLength(64);
  });

  it('refuses a 101st sharing account for one receiver, but more shares from a known sharer', async () => {
    const { registry, clock } = h.authority.store;
    await registry.addConsumer('popular', 'Popular', 'EU');
    const devs = h.devices((d) => d.pid === 'pnvr8ch').slice(0, MAX_SHARING_ACCOUNTS_PER_RECEIVER + 2);
    for (const [i, d] of devs.entries()) {
      await registry.addConsumer(`sharer-${i}`, `S ${i}`, 'EU');
      await registry.bind(d.devId, `sharer-${i}`, clock());
    }
    for (let i = 0; i < MAX_SHARING_ACCOUNTS_PER_RECEIVER; i++) await registry.share(devs[i]!.devId, 1, `sharer-${i}`, 'popular', clock());
    await expect(registry.share(devs[100]!.devId, 1, 'sharer-100', 'popular', clock())).rejects.toThrow(/100 accounts/);
    await registry.bind(devs[101]!.devId, 'sharer-0', clock());
    await expect(registry.share(devs[101]!.devId, 1, 'sharer-0', 'popular', clock())).resolves.toBeUndefined();
  });

  it('only the bound consumer can share a device', async () => {
    const { registry, clock } = h.authority.store;
    const dev = h.devices((d) => d.pid === 'pdvr4ch' && d.bound)[0]!;
    await expect(registry.share(dev.devId, 1, 'rx-1', 'rx-2', clock())).rejects.toThrow(/not bound/);
  });
});
