import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { generateToken } from '../../src/protocol/index.js';
import { createDeviceApiClient, unbindOverLan, type LanUnbindTarget } from '../../src/wired/index.js';
import type { LanDevice, LanDeviceChange } from '../../src/wired/lan-device.js';

/**
 * The station's side of the wired unbind against devices that misbehave in ways the virtual bench
 * does not: each answer is scripted by a small HTTP server on its own loopback address. The happy
 * paths against real virtual devices and the real authority are in wired-unbind.integration.test.ts.
 */
type Script = Partial<Record<'/info' | '/unbind' | '/status', (n: number) => { status?: number; body: unknown } | 'hang'>>;
const servers: Server[] = [];
const TOKEN = generateToken('EU').token;
const info = (over: Record<string, unknown> = {}) => ({ body: { devId: 'fake-0001', pid: 'pnvr8ch', sn: 'NV8-FAKE-000001', fw: '4.0.1', rg: 'EU', st: 'waiting', ...over } });

/** `polls.n`: how many GET /status the device was sent so far (a test waits for one to be in flight). */
async function fakeDevice(address: string, script: Script, polls: { n: number } = { n: 0 }): Promise<LanUnbindTarget> {
  const calls = new Map<string, number>();
  const server = createServer((req, res) => {
    const path = (req.url ?? '') as keyof Script;
    const n = (calls.get(path) ?? 0) + 1;
    calls.set(path, n);
    if (path === '/status') polls.n = n;
    const answer = script[path]?.(n) ?? { status: 404, body: { code: 'NOT_FOUND', message: 'no' } };
    if (answer === 'hang') return;
    res.writeHead(answer.status ?? 200, { 'content-type': 'application/json' });
    res.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
  });
  await new Promise<void>((r) => server.listen(0, address, r));
  servers.push(server);
  return { devId: 'fake-0001', address, port: (server.address() as AddressInfo).port };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
/**
 * Without the wake each device below would end only at its 5 s request limit or after its 10 s pause: an end
 * well before both is the wake's. Half of the nearer one, not a few hundred ms, so that a loaded machine's late
 * timers cannot fail a wake that worked.
 */
const WELL_BEFORE_MS = 2_500;
const timers = (): number => process.getActiveResourcesInfo().filter((r) => r === 'Timeout').length;

afterEach(async () => {
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
});

describe('unbindOverLan with misbehaving devices', () => {
  it('given a token source that refuses with a failure code, or never answers, then the device ends with that code, or TIMEOUT at the deadline', async () => {
    const t = await fakeDevice('127.77.251.1', { '/info': () => info() });
    const refused = await unbindOverLan([t], () => {
      throw Object.assign(new Error('daily quota used up'), { code: 'QUOTA_ACCOUNT' });
    });
    expect(refused[0]).toMatchObject({ code: 'QUOTA_ACCOUNT', detail: 'no token for the device: daily quota used up' });
    const t0 = Date.now();
    const [late] = await unbindOverLan([t], () => new Promise<string>(() => undefined), { deadlineMs: 300 });
    expect(late).toMatchObject({ code: 'TIMEOUT', detail: 'no token for the device: no token before the deadline' });
    expect(Date.now() - t0).toBeLessThan(1000);
  });

  it('given another device at the address, then NETWORK_CHANGED; given a device that goes back to waiting after taking the token, then NETWORK_CHANGED too', async () => {
    const other = await fakeDevice('127.77.251.2', { '/info': () => info({ devId: 'someone-else' }) });
    expect((await unbindOverLan([other], () => TOKEN))[0]).toMatchObject({ code: 'NETWORK_CHANGED', detail: expect.stringMatching(/another device \(someone-else\)/) });
    const restarted = await fakeDevice('127.77.251.3', {
      '/info': () => info(),
      '/unbind': () => ({ body: { accepted: true } }),
      '/status': (n) => ({ body: { st: n < 2 ? 'unbinding' : 'waiting' } }),
    });
    expect((await unbindOverLan([restarted], () => TOKEN, { pollMs: 20 }))[0]).toMatchObject({ code: 'NETWORK_CHANGED', detail: expect.stringMatching(/went back to waiting/) });
  });

  it('given a device that answers nonsense, refuses the token, or reports a failure, then each ends with what the device said or TIMEOUT, never an exception', async () => {
    const nonsense = await fakeDevice('127.77.251.4', { '/info': () => ({ body: '<html>hello</html>' }) });
    expect((await unbindOverLan([nonsense], () => TOKEN))[0]).toMatchObject({ code: 'TIMEOUT', detail: expect.stringMatching(/not JSON/) });
    const wrongShape = await fakeDevice('127.77.251.5', { '/info': () => info({ st: 'sleeping' }) });
    expect((await unbindOverLan([wrongShape], () => TOKEN))[0]).toMatchObject({ code: 'TIMEOUT', detail: expect.stringMatching(/answer st: /) });
    const refuses = await fakeDevice('127.77.251.6', { '/info': () => info(), '/unbind': () => ({ body: { accepted: false, code: 'TOKEN_INVALID' } }) });
    expect((await unbindOverLan([refuses], () => TOKEN))[0]).toMatchObject({ result: 'FAILED', code: 'TOKEN_INVALID' });
    const fails = await fakeDevice('127.77.251.7', {
      '/info': () => info(),
      '/unbind': () => ({ body: { accepted: true } }),
      '/status': () => ({ body: { st: 'failed', code: 'QUOTA_PRODUCT', result: 'FAILED', ip: '127.77.251.7' } }),
    });
    expect((await unbindOverLan([fails], () => TOKEN))[0]).toMatchObject({ result: 'FAILED', code: 'QUOTA_PRODUCT' });
    const busy = await fakeDevice('127.77.251.8', { '/info': () => info({ st: 'unbinding' }) });
    expect((await unbindOverLan([busy], () => TOKEN))[0]).toMatchObject({ result: 'FAILED', code: 'NOT_WAITING', detail: 'device is unbinding, not waiting: reset it' });
  });

  it('given a station that cancels, then every device ends at once; given the same device twice, then the call is refused', async () => {
    const slow = await fakeDevice('127.77.251.9', { '/info': () => 'hang' });
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 100);
    const t0 = Date.now();
    expect((await unbindOverLan([slow], () => TOKEN, { signal: stop.signal }))[0]).toMatchObject({ code: 'TIMEOUT', detail: 'cancelled by the station' });
    expect(Date.now() - t0).toBeLessThan(1000);
    await expect(unbindOverLan([slow, slow], () => TOKEN)).rejects.toThrow(/twice/);
  });

  it('given nothing listening, then the client reports unreachable; given a silent device, then timeout — each within its time', async () => {
    const client = createDeviceApiClient({ timeoutMs: 200 });
    expect(await client.info({ address: '127.77.251.10', port: 9 })).toMatchObject({ ok: false, kind: 'unreachable', detail: expect.stringMatching(/ECONNREFUSED/) });
    const silent = await fakeDevice('127.77.251.11', { '/status': () => 'hang' });
    expect(await client.status(silent)).toMatchObject({ ok: false, kind: 'timeout', detail: expect.stringMatching(/no answer within 200 ms/) });
  });
});

describe('unbindOverLan when the station already receives the result from the authority', () => {
  it('given the authority reports the device first, then it ends on that report at once, without a /status poll', async () => {
    let polls = 0;
    const t = await fakeDevice('127.77.251.12', {
      '/info': () => info(),
      '/unbind': () => ({ body: { accepted: true } }),
      '/status': () => {
        polls++;
        return { body: { st: 'unbinding' } };
      },
    });
    const t0 = Date.now();
    const [o] = await unbindOverLan([t], () => TOKEN, { pollMs: 1000, reported: async () => ({ result: 'UNBOUND', detail: 'reported by the authority' }) });
    expect(o).toMatchObject({ result: 'UNBOUND', reported: true, detail: 'reported by the authority' });
    expect(Date.now() - t0).toBeLessThan(500);
    expect(polls).toBe(0);
  });

  it('given reports keep coming for other devices, then the device does not poll /status while they do, ends on its own report, and polls once they pause', async () => {
    let polls = 0;
    const script: Script = {
      '/info': () => info(),
      '/unbind': () => ({ body: { accepted: true } }),
      '/status': () => {
        polls++;
        return { body: { st: 'failed', code: 'CLOUD_UNREACHABLE', result: 'FAILED' } };
      },
    };
    const busy = await fakeDevice('127.77.251.15', script);
    // The stream is busy: every look at it finds a report just now; the device's own comes on the third look.
    let looks = 0;
    let reportNow: (r: { result: 'UNBOUND'; detail: string }) => void = () => undefined;
    const own = new Promise<{ result: 'UNBOUND'; detail: string }>((resolve) => (reportNow = resolve));
    const lastReportAt = (): number => {
      if (++looks === 3) reportNow({ result: 'UNBOUND', detail: 'reported by the authority' });
      return Date.now();
    };
    const [o] = await unbindOverLan([busy], () => TOKEN, { pollMs: 20, reported: () => own, lastReportAt });
    expect(o).toMatchObject({ result: 'UNBOUND', reported: true });
    expect(looks).toBeGreaterThanOrEqual(3);
    expect(polls).toBe(0);
    // The stream went quiet (its last report is old) and this device's report never comes: its /status ends it.
    const quiet = await fakeDevice('127.77.251.16', script);
    const since = Date.now();
    const never = (_t: LanUnbindTarget, signal: AbortSignal) => new Promise<null>((resolve) => signal.addEventListener('abort', () => resolve(null), { once: true }));
    const [q] = await unbindOverLan([quiet], () => TOKEN, { pollMs: 20, reported: never, lastReportAt: () => since });
    expect(q).toMatchObject({ result: 'FAILED', code: 'CLOUD_UNREACHABLE' });
    expect(polls).toBe(1);
  });

  it('given no report comes, then the device’s own /status still ends it (CLOUD_UNREACHABLE), and a silent device ends TIMEOUT', async () => {
    const unreachable = await fakeDevice('127.77.251.13', {
      '/info': () => info(),
      '/unbind': () => ({ body: { accepted: true } }),
      '/status': () => ({ body: { st: 'failed', code: 'CLOUD_UNREACHABLE', result: 'FAILED' } }),
    });
    let stopped = false;
    const never = (_t: LanUnbindTarget, signal: AbortSignal) =>
      new Promise<null>((resolve) => signal.addEventListener('abort', () => ((stopped = true), resolve(null)), { once: true }));
    expect((await unbindOverLan([unreachable], () => TOKEN, { pollMs: 20, reported: never }))[0]).toMatchObject({ result: 'FAILED', code: 'CLOUD_UNREACHABLE' });
    expect(stopped).toBe(true); // the wait for the report is released when the device ends
    const silent = await fakeDevice('127.77.251.14', { '/info': () => info(), '/unbind': () => ({ body: { accepted: true } }), '/status': () => 'hang' });
    expect((await unbindOverLan([silent], () => TOKEN, { timeoutMs: 100, deadlineMs: 400, pollMs: 20, reported: never }))[0]).toMatchObject({ code: 'TIMEOUT' });
  });
});

describe('unbindOverLan with more devices than requests at once', () => {
  it('given three devices and one request at a time, then each device that passed its check takes its token before the next device is checked', async () => {
    const seen: string[] = [];
    const targets: LanUnbindTarget[] = [];
    for (const [i, devId] of ['fake-a', 'fake-b', 'fake-c'].entries()) {
      const server = createServer((req, res) => {
        seen.push(`${devId} ${req.url}`);
        const body = req.url === '/info' ? info({ devId }).body : req.url === '/unbind' ? { accepted: true } : { st: 'unbound', result: 'UNBOUND' };
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      });
      await new Promise<void>((r) => server.listen(0, `127.77.251.${20 + i}`, r));
      servers.push(server);
      targets.push({ devId, address: `127.77.251.${20 + i}`, port: (server.address() as AddressInfo).port });
    }
    const outcomes = await unbindOverLan(targets, () => TOKEN, { concurrency: 1, pollMs: 10 });
    expect(outcomes.map((o) => o.result)).toEqual(['UNBOUND', 'UNBOUND', 'UNBOUND']);
    // Not every /info first and the tokens after: a token waits behind no other device's check.
    expect(seen.filter((s) => !s.endsWith('/status'))).toEqual(['fake-a /info', 'fake-a /unbind', 'fake-b /info', 'fake-b /unbind', 'fake-c /info', 'fake-c /unbind']);
  });
});

const accepted: Script = { '/info': () => info(), '/unbind': () => ({ body: { accepted: true } }) };

describe('unbindOverLan: every wake (the authority’s report, a move the sweep saw, the station’s cancel) cuts what the device is doing, and leaves nothing behind', () => {
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
      '/info': () => info(),
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
