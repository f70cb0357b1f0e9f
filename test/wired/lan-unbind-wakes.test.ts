import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/protocol/index.js';
import { unbindOverLan, type LanUnbindTarget } from '../../src/wired/index.js';
import type { LanDevice, LanDeviceChange } from '../../src/wired/lan-device.js';

/**
 * 248a6b3: a device's waits end on a flag and a callback (no AbortController per device), and a token given
 * at once skips the deadline race. Each wake source (the authority's report, a move the sweep saw, the
 * station's cancel) must still cut whatever the device is doing: a pause between polls or a GET /status in
 * flight, and nothing (timer, wait for the report) may be left behind. Coverage tests: they pass on 248a6b3.
 */
type Script = Partial<Record<'/info' | '/unbind' | '/status', (n: number) => { status?: number; body: unknown } | 'hang'>>;
const servers: Server[] = [];
const TOKEN = generateToken('EU').token;
const info = { body: { devId: 'fake-0001', pid: 'pnvr8ch', sn: 'NV8-FAKE-000001', fw: '4.0.1', rg: 'EU', st: 'waiting' } };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/**
 * Without the wake each device below would end only at its 5 s request limit or after its 10 s pause: an end
 * well before both is the wake's. Half of the nearer one, not a few hundred ms, so that a loaded machine's late
 * timers cannot fail a wake that worked.
 */
const WELL_BEFORE_MS = 2_500;
const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

async function fakeDevice(address: string, script: Script, polls: { n: number } = { n: 0 }): Promise<LanUnbindTarget> {
  const server = createServer((req, res) => {
    const path = (req.url ?? '') as keyof Script;
    if (path === '/status') polls.n++;
    const answer = script[path]?.(polls.n) ?? { status: 404, body: { code: 'NOT_FOUND', message: 'no' } };
    if (answer === 'hang') return;
    res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(answer.body));
  });
  await new Promise<void>((r) => server.listen(0, address, r));
  servers.push(server);
  return { devId: 'fake-0001', address, port: (server.address() as AddressInfo).port };
}

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

const accepted: Script = { '/info': () => info, '/unbind': () => ({ body: { accepted: true } }) };

describe('a wired device’s waits (248a6b3)', () => {
  it('a report that comes while its GET /status hangs cuts that request: it ends on the report at once', async () => {
    const polls = { n: 0 };
    const t = await fakeDevice('127.77.252.1', { ...accepted, '/status': () => 'hang' }, polls);
    let report: (r: { result: 'UNBOUND'; detail: string }) => void = () => undefined;
    const own = new Promise<{ result: 'UNBOUND'; detail: string }>((resolve) => (report = resolve));
    const t0 = Date.now();
    const done = unbindOverLan([t], () => TOKEN, { pollMs: 50, timeoutMs: 5_000, reported: () => own });
    while (polls.n === 0) await sleep(10); // its GET /status is in flight (and hangs)
    report({ result: 'UNBOUND', detail: 'reported by the authority' });
    const [o] = await done;
    expect(o).toMatchObject({ result: 'UNBOUND', reported: true });
    expect(Date.now() - t0).toBeLessThan(WELL_BEFORE_MS);
  });

  it('the station’s cancel during a hanging GET /status ends the device at once, TIMEOUT (cancelled)', async () => {
    const polls = { n: 0 };
    const t = await fakeDevice('127.77.252.2', { ...accepted, '/status': () => 'hang' }, polls);
    const ac = new AbortController();
    const never = (_t: LanUnbindTarget, signal: AbortSignal) => new Promise<null>((resolve) => signal.addEventListener('abort', () => resolve(null), { once: true }));
    const done = unbindOverLan([t], () => TOKEN, { pollMs: 20, timeoutMs: 5_000, reported: never, signal: ac.signal });
    while (polls.n === 0) await sleep(10);
    const t0 = Date.now();
    ac.abort();
    const [o] = await done;
    expect(o).toMatchObject({ code: 'TIMEOUT', detail: 'cancelled by the station' });
    expect(Date.now() - t0).toBeLessThan(WELL_BEFORE_MS);
  });

  it('the station’s cancel during the pause between polls ends the device at once', async () => {
    const polls = { n: 0 };
    const t = await fakeDevice('127.77.252.3', { ...accepted, '/status': () => ({ body: { st: 'unbinding' } }) }, polls);
    const ac = new AbortController();
    const done = unbindOverLan([t], () => TOKEN, { pollMs: 10_000, signal: ac.signal });
    while (polls.n === 0) await sleep(10);
    await sleep(50); // now in its 10 s pause
    const t0 = Date.now();
    ac.abort();
    const [o] = await done;
    expect(o).toMatchObject({ code: 'TIMEOUT', detail: 'cancelled by the station' });
    expect(Date.now() - t0).toBeLessThan(WELL_BEFORE_MS);
  });

  it('a move the sweep sees during a long pause, or during a hanging GET /status, wakes the device: NETWORK_CHANGED at once', async () => {
    for (const [address, status] of [
      ['127.77.252.4', () => ({ body: { st: 'unbinding' } })],
      ['127.77.252.5', () => 'hang' as const],
    ] as const) {
      const polls = { n: 0 };
      const t = await fakeDevice(address, { ...accepted, '/status': status }, polls);
      const listeners: Array<(c: LanDeviceChange) => void> = [];
      let now: LanDevice | undefined;
      const sweep = {
        device: () => now,
        on: (_e: 'change', l: (c: LanDeviceChange) => void) => {
          listeners.push(l);
          return () => undefined;
        },
      };
      const done = unbindOverLan([t], () => TOKEN, { pollMs: 10_000, timeoutMs: 5_000, sweep });
      while (polls.n === 0) await sleep(10);
      await sleep(50);
      const previous = { devId: t.devId, address: t.address, port: t.port, source: 'mdns' } as unknown as LanDevice;
      now = { ...previous, address: '127.77.252.99' } as LanDevice;
      const t0 = Date.now();
      for (const l of listeners) l({ kind: 'updated', device: now, previous } as LanDeviceChange);
      const [o] = await done;
      expect(o).toMatchObject({ code: 'NETWORK_CHANGED', movedTo: `127.77.252.99:${t.port}` });
      expect(Date.now() - t0).toBeLessThan(WELL_BEFORE_MS);
    }
  });

  it('leaves no timer behind: ended by its report in a long pause, by its /status, or with a token given later (its deadline timer)', async () => {
    const before = timers();
    const a = await fakeDevice('127.77.252.6', { ...accepted, '/status': () => ({ body: { st: 'unbinding' } }) });
    const [o1] = await unbindOverLan([a], () => TOKEN, { pollMs: 10_000, reported: async () => (await sleep(100), { result: 'UNBOUND' as const, detail: 'r' }) });
    expect(o1).toMatchObject({ reported: true });
    const b = await fakeDevice('127.77.252.7', { ...accepted, '/status': () => ({ body: { st: 'unbound', result: 'UNBOUND' } }) });
    let stopped = false;
    const never = (_t: LanUnbindTarget, signal: AbortSignal) => new Promise<null>((resolve) => signal.addEventListener('abort', () => ((stopped = true), resolve(null)), { once: true }));
    const [o2] = await unbindOverLan([b], async () => (await sleep(20), TOKEN), { pollMs: 20, deadlineMs: 60_000, reported: never });
    expect(o2).toMatchObject({ result: 'UNBOUND' });
    expect(stopped).toBe(true); // the wait for a report that never came is released
    await sleep(20);
    expect(timers()).toBeLessThanOrEqual(before);
  });

  it('a token source that throws at once, or answers null at once: the device ends with that code, or withheld, with no token sent', async () => {
    let unbinds = 0;
    const t = await fakeDevice('127.77.252.8', {
      '/info': () => info,
      '/unbind': () => {
        unbinds++;
        return { body: { accepted: true } };
      },
    });
    const [thrown] = await unbindOverLan([t], () => {
      throw Object.assign(new Error('quota'), { code: 'QUOTA_ACCOUNT' });
    });
    expect(thrown).toMatchObject({ code: 'QUOTA_ACCOUNT' });
    const [held] = await unbindOverLan([t], () => null);
    expect(held).toMatchObject({ withheld: true });
    expect(unbinds).toBe(0);
  });
});
