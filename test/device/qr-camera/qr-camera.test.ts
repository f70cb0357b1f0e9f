import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { QrCamera, type QrCameraOptions, type StateChange } from '../../../src/device/index.js';
import { canTransition, generateToken, LIGHTS, type QrPayload } from '../../../src/protocol/index.js';
import { renderQrPng } from '../../../src/qr/index.js';
import { BENCH, benchPayload, makeIdentity } from '../support/identities.js';
import { compose, pngToRgba } from '../support/pixels.js';
import { startStrictAuthority, type StrictAuthority } from '../support/strict-authority.js';

let authority: StrictAuthority;
const identity = makeIdentity(1);
const code = async (p: QrPayload): Promise<Buffer> => (await renderQrPng(p, { scale: 4 })).png;

function device(over: Partial<QrCameraOptions> = {}): { agent: QrCamera; changes: StateChange[] } {
  const agent = new QrCamera({ identity, networks: BENCH, regionUrls: { EU: authority.url }, restartMs: 20, ...over });
  const changes: StateChange[] = [];
  agent.onStateChange((c) => changes.push(c));
  return { agent, changes };
}

beforeEach(async () => {
  authority = await startStrictAuthority({ [identity.devId]: identity.deviceKey });
});
afterEach(async () => {
  await authority.close();
});

describe('a reset device shown a pairing code', () => {
  it('unbinds: waiting → unbinding → unbound, green light, binding forgotten, one correctly signed request', async () => {
    const { agent, changes } = device();
    expect(agent.state).toBe('waiting');
    expect(agent.light).toEqual(LIGHTS.waiting);
    const payload = benchPayload();
    const outcome = await agent.scanImage(await code(payload));
    expect(outcome).toEqual({ kind: 'finished', state: 'unbound', result: 'UNBOUND', code: null });
    expect(changes.map((c) => `${c.from}→${c.to}`)).toEqual(['waiting→unbinding', 'unbinding→unbound']);
    expect(agent.light).toEqual({ color: 'green', pattern: 'solid' });
    expect(agent.bound).toBe(false);
    expect(authority.refused).toEqual([]);
    expect(authority.accepted).toHaveLength(1);
    expect(authority.accepted[0]).toMatchObject({ devId: identity.devId, token: payload.t });
    expect(authority.accepted[0]!.nonce).toMatch(/^[A-Za-z0-9_-]{32}$/);
    expect(Math.abs(authority.accepted[0]!.ts - Date.now())).toBeLessThan(5_000);
    expect(agent.status()).toEqual({ devId: identity.devId, serial: identity.serial, pid: identity.pid, state: 'unbound', light: LIGHTS.unbound, lastCode: null, result: 'UNBOUND' });
  });

  it('NOT_BOUND is a result, not a failure: unbound, binding forgotten', async () => {
    authority.behave({ kind: 'answer', answer: () => ({ result: 'NOT_BOUND' }) });
    const { agent } = device();
    expect(await agent.scanImage(await code(benchPayload()))).toMatchObject({ state: 'unbound', result: 'NOT_BOUND', code: null });
    expect(agent.bound).toBe(false);
  });

  it('a refusal shows failed with its code on a solid red light, and the device keeps its binding', async () => {
    authority.behave({ kind: 'answer', answer: () => ({ result: 'FAILED', reason: 'TOKEN_EXHAUSTED' }) });
    const { agent } = device();
    expect(await agent.scanImage(await code(benchPayload()))).toEqual({ kind: 'finished', state: 'failed', result: 'FAILED', code: 'TOKEN_EXHAUSTED' });
    expect(agent.light).toEqual({ color: 'red', pattern: 'solid' });
    expect(agent.bound).toBe(true);
    expect(agent.details().history.some((e) => e.kind === 'answer' && e.detail === 'FAILED TOKEN_EXHAUSTED')).toBe(true);
  });

  it('calls the authority of the token region, and none when no address is known for it', async () => {
    const ay = await startStrictAuthority({ [identity.devId]: identity.deviceKey });
    try {
      const { agent } = device({ regionUrls: { EU: authority.url, AY: ay.url } });
      await agent.scanImage(await code(benchPayload({ t: generateToken('AY').token })));
      expect(ay.accepted).toHaveLength(1);
      expect(authority.hits()).toBe(0);
      agent.reset();
      expect(await agent.scanImage(await code(benchPayload({ t: generateToken('IN').token })))).toMatchObject({ state: 'failed', code: 'CLOUD_UNREACHABLE' });
      expect(agent.details().history.some((e) => e.detail.includes('no authority address for region "IN"'))).toBe(true);
      expect(ay.hits() + authority.hits()).toBe(1);
    } finally {
      await ay.close();
    }
  });

  it('uses a fresh nonce on every attempt (the strict authority refuses a reused one)', async () => {
    const { agent } = device();
    for (let i = 0; i < 3; i++) {
      await agent.scanImage(await code(benchPayload()));
      agent.reset();
    }
    expect(authority.accepted).toHaveLength(3);
    expect(new Set(authority.accepted.map((r) => r.nonce)).size).toBe(3);
    expect(authority.refused).toEqual([]);
  });
});

describe('a device acts only when reset', () => {
  it('after unbound or failed it ignores codes (NOT_WAITING) until reset, then pairs again', async () => {
    const { agent } = device();
    await agent.scanImage(await code(benchPayload()));
    expect(agent.state).toBe('unbound');
    expect(await agent.scanImage(await code(benchPayload()))).toMatchObject({ kind: 'rejected', reason: 'NOT_WAITING' });
    expect(authority.hits()).toBe(1);
    expect(agent.state).toBe('unbound');
    expect(agent.lastResult).toBe('UNBOUND');
    agent.reset();
    expect(agent.state).toBe('waiting');
    expect(agent.status()).toMatchObject({ lastCode: null, result: null });
    await agent.scanImage(await code(benchPayload()));
    expect(authority.hits()).toBe(2);
  });

  it('a device never reset refuses every code, sends nothing, and says why', async () => {
    const { agent, changes } = device({ initialState: 'operating' });
    expect(agent.light).toBeNull();
    expect(await agent.scanImage(await code(benchPayload()))).toMatchObject({ kind: 'rejected', reason: 'NOT_WAITING' });
    expect(agent.state).toBe('operating');
    expect(agent.lastCode).toBe('NOT_WAITING');
    expect(agent.details().rejected).toEqual([expect.objectContaining({ reason: 'NOT_WAITING' })]);
    expect(authority.hits()).toBe(0);
    expect(changes).toEqual([]);
    agent.reset();
    expect(changes.map((c) => `${c.from}→${c.to} ${c.note}`)).toEqual(['operating→waiting reset']);
  });

  it('while unbinding it ignores further frames: the same code is never processed twice at once', async () => {
    authority.behave({ kind: 'delay', ms: 150, answer: { result: 'UNBOUND' } });
    const { agent } = device();
    const png = await code(benchPayload());
    const first = agent.scanImage(png);
    expect(agent.state).toBe('unbinding'); // decided before any await
    const again = await Promise.all([agent.scanImage(png), agent.scanImage(png)]);
    expect(again).toEqual([{ kind: 'busy' }, { kind: 'busy' }]);
    expect(await first).toMatchObject({ state: 'unbound' });
    expect(authority.accepted).toHaveLength(1);
  });

  it('every state change follows DESIGN §6', async () => {
    authority.behave({ kind: 'answer', answer: (r) => (r.token.endsWith('A') ? { result: 'FAILED', reason: 'UNAUTHORIZED' } : { result: 'UNBOUND' }) });
    const { agent, changes } = device({ initialState: 'operating' });
    agent.reset();
    await agent.scanImage(await code(benchPayload({ t: 'EUabcdefghAAAAAA' })));
    agent.reset();
    await agent.scanImage(await code(benchPayload({ t: 'EUabcdefghBBBBBB' })));
    agent.reset();
    expect(changes.map((c) => c.to)).toEqual(['waiting', 'unbinding', 'failed', 'waiting', 'unbinding', 'unbound', 'waiting']);
    for (const c of changes) expect(c.from === 'operating' ? c.to === 'waiting' : c.to !== 'operating' && canTransition(c.from, c.to)).toBe(true);
  });
});

describe('Wi-Fi failures never reach the authority', () => {
  const cases = [
    ['an SSID not on the bench', { s: 'elsewhere' }, {}, 'WIFI_NOT_FOUND', null],
    ['a wrong password', { p: 'wrong-password' }, {}, 'WIFI_AUTH', null],
    ['a network without DHCP', { s: 'no-dhcp-net' }, {}, 'DHCP_FAILED', '0.0.0.0'],
    ['a device whose DHCP client fails', {}, { faults: { dhcp: true } }, 'DHCP_FAILED', '0.0.0.0'],
  ] as const;
  for (const [name, payloadOver, opts, expected, ip] of cases) {
    it(`${name}: failed ${expected}, no request`, async () => {
      const { agent } = device(opts);
      expect(await agent.scanImage(await code(benchPayload(payloadOver)))).toEqual({ kind: 'finished', state: 'failed', result: 'FAILED', code: expected });
      expect(agent.ip).toBe(ip);
      expect(authority.hits()).toBe(0);
    });
  }
});

describe('network and authority faults', () => {
  it('no route to the authority (fault): CLOUD_UNREACHABLE, no request', async () => {
    const { agent } = device({ faults: { unreachable: true } });
    expect(await agent.scanImage(await code(benchPayload()))).toMatchObject({ state: 'failed', code: 'CLOUD_UNREACHABLE' });
    expect(authority.hits()).toBe(0);
  });

  it('connection refused: CLOUD_UNREACHABLE with the cause recorded', async () => {
    const closed = await startStrictAuthority({});
    const url = closed.url;
    await closed.close();
    const { agent } = device({ regionUrls: { EU: url } });
    expect(await agent.scanImage(await code(benchPayload()))).toMatchObject({ state: 'failed', code: 'CLOUD_UNREACHABLE' });
    expect(agent.details().history.some((e) => e.kind === 'fault' && e.detail.includes('ECONNREFUSED'))).toBe(true);
  });

  it('no answer in time, every time it asks: TIMEOUT after its retries, each a new signed request for the same token', async () => {
    authority.behave({ kind: 'hang' });
    const { agent } = device({ requestTimeoutMs: 200, retry: { attempts: 3, backoffMs: 10, maxBackoffMs: 10 } });
    const started = Date.now();
    const payload = benchPayload();
    expect(await agent.scanImage(await code(payload))).toMatchObject({ state: 'failed', code: 'TIMEOUT' });
    expect(Date.now() - started).toBeGreaterThanOrEqual(3 * 190);
    expect(authority.accepted).toHaveLength(3);
    expect(new Set(authority.accepted.map((r) => r.nonce)).size).toBe(3);
    expect(authority.accepted.every((r) => r.token === payload.t && r.devId === identity.devId)).toBe(true);
  });

  it('the answer lost (connection reset) and told again when it asks with a new nonce: the replayed answer is its result', async () => {
    authority.behave({ kind: 'drop', times: 2, answer: { result: 'UNBOUND', replayed: true } });
    const { agent } = device({ retry: { attempts: 3, backoffMs: 10, maxBackoffMs: 10 } });
    expect(await agent.scanImage(await code(benchPayload()))).toEqual({ kind: 'finished', state: 'unbound', result: 'UNBOUND', code: null });
    expect(authority.accepted).toHaveLength(3);
    expect(new Set(authority.accepted.map((r) => r.nonce)).size).toBe(3);
    expect(authority.refused).toEqual([]);
    const history = agent.details().history;
    expect(history.filter((e) => e.kind === 'request' && e.detail.includes('asking again'))).toHaveLength(2);
    expect(history.some((e) => e.kind === 'answer' && e.detail === 'UNBOUND (replayed: decided before)')).toBe(true);
  });

  it('a device that may not retry (attempts 1) fails on the first lost answer', async () => {
    authority.behave({ kind: 'drop', times: 1, answer: { result: 'UNBOUND' } });
    const { agent } = device({ retry: { attempts: 1, backoffMs: 10, maxBackoffMs: 10 } });
    expect(await agent.scanImage(await code(benchPayload()))).toMatchObject({ state: 'failed', code: 'CLOUD_UNREACHABLE' });
    expect(authority.accepted).toHaveLength(1);
  });

  const badAnswers = [
    ['HTTP 500 with an error body', { kind: 'status', status: 500, body: '{"code":"INTERNAL","message":"boom"}' }, 'HTTP 500 INTERNAL: boom'],
    ['HTTP 400', { kind: 'status', status: 400, body: 'nope' }, 'HTTP 400'],
    ['an answer that is not JSON', { kind: 'raw', body: '<html>proxy</html>' }, 'answer is not JSON'],
    ['an unknown result', { kind: 'raw', body: '{"result":"MAYBE"}' }, 'answer result'],
    ['an unknown reason', { kind: 'raw', body: '{"result":"FAILED","reason":"SOMETHING"}' }, 'answer reason'],
  ] as const;
  for (const [name, behaviour, detail] of badAnswers) {
    it(`${name}: CLOUD_UNREACHABLE with the reason recorded`, async () => {
      authority.behave(behaviour);
      const { agent } = device();
      expect(await agent.scanImage(await code(benchPayload()))).toMatchObject({ state: 'failed', code: 'CLOUD_UNREACHABLE' });
      expect(agent.details().history.some((e) => e.kind === 'fault' && e.detail.includes(detail))).toBe(true);
    });
  }

  it('latency delays the request', async () => {
    const { agent } = device({ faults: { latencyMs: 250 } });
    const started = Date.now();
    await agent.scanImage(await code(benchPayload()));
    expect(Date.now() - started).toBeGreaterThanOrEqual(240);
    expect(agent.state).toBe('unbound');
  });

  it('network change mid-request: the authority got the request, the device discards the answer (NETWORK_CHANGED)', async () => {
    const { agent } = device({ faults: { networkChange: true } });
    expect(await agent.scanImage(await code(benchPayload()))).toMatchObject({ state: 'failed', code: 'NETWORK_CHANGED' });
    expect(authority.accepted).toHaveLength(1);
    expect(agent.bound).toBe(true); // it never read that it was unbound
    const history = agent.details().history;
    expect(history.some((e) => e.detail.startsWith('address changed from 10.77.'))).toBe(true);
    agent.reset();
    // One event, not a condition: the retry goes through.
    expect(await agent.scanImage(await code(benchPayload()))).toMatchObject({ state: 'unbound' });
  });

  it('power loss during the unbind: request committed at the authority, device restarts in waiting, a new code then finds it NOT_BOUND', async () => {
    let unbound = false;
    authority.behave({ kind: 'answer', answer: () => (unbound ? { result: 'NOT_BOUND' } : ((unbound = true), { result: 'UNBOUND' })) });
    const { agent, changes } = device({ faults: { powerLoss: true } });
    expect(await agent.scanImage(await code(benchPayload()))).toEqual({ kind: 'finished', state: 'waiting', result: null, code: null });
    expect(authority.accepted).toHaveLength(1);
    expect(changes.map((c) => `${c.from}→${c.to}`)).toEqual(['waiting→unbinding', 'unbinding→waiting']);
    expect(changes[1]!.note).toBe('restarted after power loss');
    expect(agent.bound).toBe(true);
    expect(await agent.scanImage(await code(benchPayload()))).toMatchObject({ state: 'unbound', result: 'NOT_BOUND' });
    expect(agent.bound).toBe(false);
  });

  it('a reset while unbinding drops the attempt; its answer is ignored', async () => {
    authority.behave({ kind: 'hang' });
    const { agent } = device();
    const pending = agent.scanImage(await code(benchPayload()));
    // The reset must come while the request is at the authority: wait until it got there, not for a fixed time.
    await authority.whenAccepted(1);
    expect(authority.accepted).toHaveLength(1);
    agent.reset();
    expect(agent.state).toBe('waiting');
    expect(await pending).toMatchObject({ kind: 'finished', state: 'waiting' });
    authority.behave({ kind: 'answer', answer: () => ({ result: 'UNBOUND' }) });
    expect(await agent.scanImage(await code(benchPayload()))).toMatchObject({ state: 'unbound' });
  });
});

describe('hostile images leave the device waiting and record why', () => {
  it('no code, garbled, 2 KB, non-UTF-8 and two codes: rejected, logged, no request, no throw', async () => {
    const { agent } = device({ rejectedLimit: 4 });
    const utf8 = new TextEncoder();
    const two = compose(pngToRgba(await code(benchPayload())), pngToRgba(await code(benchPayload({ s: 'other-lab' }))), 'h');
    const inputs: Array<[Parameters<QrCamera['scanImage']>[0], string]> = [
      [{ data: new Uint8Array(90 * 90 * 4).fill(255), width: 90, height: 90 }, 'NO_CODE'],
      [(await renderQrPng(utf8.encode('{"s":"bench-lab-01","p":'), { scale: 4 })).png, 'BAD_PAYLOAD'],
      [(await renderQrPng(new Uint8Array(2048).fill(0x7b), { scale: 2 })).png, 'BAD_PAYLOAD'],
      [(await renderQrPng(Uint8Array.from([0xff, 0xfe, 0xfd, 0x80]), { scale: 4 })).png, 'BAD_PAYLOAD'],
      [two, 'MULTIPLE_CODES'],
      [utf8.encode('not an image'), 'BAD_IMAGE'],
      [{ data: 'pixels', width: 1, height: 1 } as never, 'BAD_IMAGE'],
    ];
    for (const [image, reason] of inputs) {
      expect(await agent.scanImage(image)).toMatchObject({ kind: 'rejected', reason });
      expect(agent.state).toBe('waiting');
    }
    const rejected = agent.details().rejected;
    expect(rejected.map((r) => r.reason)).toEqual(['BAD_PAYLOAD', 'MULTIPLE_CODES', 'BAD_IMAGE', 'BAD_IMAGE']); // bounded: the newest 4
    expect(rejected.every((r) => r.detail.length > 0)).toBe(true);
    expect(authority.hits()).toBe(0);
    expect(await agent.scanImage(await code(benchPayload()))).toMatchObject({ state: 'unbound' });
  });

  it('a decoder that throws is a rejection, not a crash', async () => {
    const { agent } = device({
      decode: () => {
        throw new Error('sensor glitch');
      },
    });
    expect(await agent.scanImage(new Uint8Array(4))).toMatchObject({ kind: 'rejected', reason: 'BAD_IMAGE', detail: expect.stringContaining('sensor glitch') });
    expect(agent.state).toBe('waiting');
  });

  it('the event history is bounded, and no snapshot exposes the device key', async () => {
    const { agent } = device({ historyLimit: 5 });
    for (let i = 0; i < 4; i++) {
      await agent.scanImage(await code(benchPayload()));
      agent.reset();
    }
    const details = agent.details();
    expect(details.history).toHaveLength(5);
    expect(JSON.stringify(details)).not.toContain(identity.deviceKey);
  });

  it('refuses a malformed identity at construction', () => {
    expect(() => new QrCamera({ identity: { ...identity, devId: 'a b' }, networks: BENCH, regionUrls: {} })).toThrow(/devId/);
  });
});
