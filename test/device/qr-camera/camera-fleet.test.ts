import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { startFleet, type DeviceIdentity, type Fleet } from '../../../src/device/index.js';
import { fleetStatusSchema } from '../../../src/protocol/virtual-bench.js';
import { generateToken, type DeviceUnbindResponse, type QrPayload } from '../../../src/protocol/index.js';
import { renderQrPng } from '../../../src/qr/index.js';
import { BENCH, benchPayload, makeIdentity } from '../support/identities.js';
import { startScreenServer, type ScreenServer } from '../support/screen-server.js';
import { startStrictAuthority, type StrictAuthority } from '../support/strict-authority.js';

let dir: string;
let fleet: Fleet | null = null;
let authority: StrictAuthority;
let screen: ScreenServer;
let identities: DeviceIdentity[];
const lines: string[] = [];

/** Capacity 30 per token, one use per device per token, like the real authority's token rules. */
function capacityRules(): (r: { devId: string; token: string }) => DeviceUnbindResponse {
  const uses = new Map<string, Set<string>>();
  return ({ devId, token }) => {
    const used = uses.get(token) ?? new Set<string>();
    uses.set(token, used);
    if (used.has(devId)) return { result: 'FAILED', reason: 'TOKEN_REUSED' };
    if (used.size >= 30) return { result: 'FAILED', reason: 'TOKEN_EXHAUSTED' };
    used.add(devId);
    return { result: 'UNBOUND' };
  };
}

const png = async (p: QrPayload, scale = 3): Promise<Buffer> => (await renderQrPng(p, { scale })).png;

async function start(count: number, extra: Partial<Parameters<typeof startFleet>[0]> = {}): Promise<Fleet> {
  identities = Array.from({ length: count }, (_, i) => makeIdentity(i + 1));
  authority = await startStrictAuthority(Object.fromEntries(identities.map((d) => [d.devId, d.deviceKey])), { kind: 'answer', answer: capacityRules() });
  fleet = await startFleet({
    devices: identities,
    regionUrls: { EU: authority.url },
    bench: { networks: BENCH },
    qrSource: { url: screen.url, pollMs: 50 },
    log: (l) => lines.push(l),
    restartMs: 20,
    ...extra,
  });
  return fleet;
}

async function settle(f: Fleet): Promise<void> {
  await f.pollNow();
  await f.idle();
}

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fleet-'));
  screen = await startScreenServer();
  lines.length = 0;
});
afterEach(async () => {
  await fleet?.close();
  fleet = null;
  await authority?.close();
  await screen.close();
  await rm(dir, { recursive: true, force: true });
});

describe('a fleet of cameras before one screen', () => {
  it('31 cameras on one code: 30 unbound, the 31st refused TOKEN_EXHAUSTED; one line per state change', async () => {
    screen.show(await png(benchPayload()));
    const f = await start(31);
    await settle(f);
    const states = f.status();
    expect(states.filter((s) => s.state === 'unbound')).toHaveLength(30);
    expect(states.filter((s) => s.state === 'failed').map((s) => s.lastCode)).toEqual(['TOKEN_EXHAUSTED']);
    expect(authority.accepted).toHaveLength(31);
    expect(authority.refused).toEqual([]);
    const changes = lines.filter((l) => l.includes('→'));
    expect(changes).toHaveLength(62);
    expect(changes.find((l) => l.includes('unbinding→failed'))).toMatch(/^\d{4}-\d\d-\d\dT\S+Z tcam-\d{4} unbinding→failed TOKEN_EXHAUSTED$/);
    expect(lines.some((l) => /screen code 0:screen: QR v\d+ for Wi-Fi "bench-lab-01", token EU\S{8}\*\*\*\*/.test(l))).toBe(true);
    // The picture did not change: nobody scans it again.
    await settle(f);
    expect(authority.accepted).toHaveLength(31);
  });

  it('a JSON screen with two codes (30 + 15): each camera scans only the code it is held before', async () => {
    const [p1, p2] = [benchPayload(), benchPayload()];
    screen.files.set('second.png', await png(p2));
    screen.show(JSON.stringify({ codes: [{ id: 'c1', png: `data:image/png;base64,${(await png(p1)).toString('base64')}`, capacity: 30 }, { id: 'c2', png: '/img/second.png', capacity: 15 }] }));
    const f = await start(45);
    await settle(f);
    expect(f.status().every((s) => s.state === 'unbound')).toBe(true);
    const perToken = (t: string) => authority.accepted.filter((r) => r.token === t).map((r) => r.devId);
    expect(perToken(p1.t)).toHaveLength(30);
    expect(perToken(p2.t)).toHaveLength(15);
    expect(perToken(p2.t).sort()).toEqual(identities.slice(30).map((d) => d.devId));
  });

  it('a screen of three new codes: the cameras before the first are at work before the second is read (no camera waits for codes it does not see)', async () => {
    const payloads = [benchPayload(), benchPayload(), benchPayload()];
    const pngs = await Promise.all(payloads.map((p) => png(p)));
    screen.show(JSON.stringify({ codes: pngs.map((b, i) => ({ id: `c${i + 1}`, png: b.toString('base64'), capacity: 2 })) }));
    const f = await start(6);
    await settle(f);
    expect(f.status().every((s) => s.state === 'unbound')).toBe(true);
    const at = (re: RegExp): number => lines.findIndex((l) => re.test(l));
    const read = [1, 2, 3].map((i) => at(new RegExp(`screen code 0:c${i}: QR`)));
    expect(read.every((i) => i >= 0)).toBe(true);
    // Cameras 1–2 are held before c1, 3–4 before c2: each pair starts after its code is read and before the next one is.
    for (const [k, cams] of [[0, [1, 2]], [1, [3, 4]]] as const) {
      for (const c of cams) {
        const working = at(new RegExp(`tcam-${String(c).padStart(4, '0')} waiting→unbinding`));
        expect(working).toBeGreaterThan(read[k]!);
        expect(working).toBeLessThan(read[k + 1]!);
      }
    }
  });

  it('overflow ignore: a code that leaves the screen (used up) is never handed to the cameras the batch is not for', async () => {
    // The station's screen for a batch of 3 on a bench of 5: code c1 for 2 devices, c2 for 1.
    const [p1, p2] = [benchPayload(), benchPayload()];
    const [c1, c2] = [(await png(p1)).toString('base64'), (await png(p2)).toString('base64')];
    screen.show(JSON.stringify({ codes: [{ id: 'c1', png: c1, capacity: 2 }, { id: 'c2', png: c2, capacity: 1 }] }));
    const f = await start(5, { overflow: 'ignore' });
    await settle(f);
    expect(f.status().map((s) => s.state)).toEqual(['unbound', 'unbound', 'unbound', 'waiting', 'waiting']);
    // c1 is used up first and leaves the screen (as the station does); c2 stays, still held before camera 3.
    screen.show(JSON.stringify({ codes: [{ id: 'c2', png: c2, capacity: 1 }] }));
    await settle(f);
    expect(f.status().map((s) => s.state)).toEqual(['unbound', 'unbound', 'unbound', 'waiting', 'waiting']);
    expect(authority.accepted.map((r) => r.devId).sort()).toEqual(identities.slice(0, 3).map((d) => d.devId));
    // A new code is held before the devices still waiting, as the operator would show it.
    const p3 = benchPayload();
    screen.show(JSON.stringify({ codes: [{ id: 'c2', png: c2, capacity: 1 }, { id: 'c3', png: (await png(p3)).toString('base64'), capacity: 2 }] }));
    await settle(f);
    expect(f.status().map((s) => s.state)).toEqual(['unbound', 'unbound', 'unbound', 'unbound', 'unbound']);
    expect(authority.accepted.filter((r) => r.token === p3.t).map((r) => r.devId).sort()).toEqual(identities.slice(3).map((d) => d.devId));
  });

  it('several sources are several screens, in order; a file source works like a URL', async () => {
    const [p1, p2] = [benchPayload(), benchPayload()];
    await writeFile(join(dir, 'a.png'), await png(p1));
    await writeFile(join(dir, 'screen.json'), JSON.stringify({ codes: [{ id: 'b', png: 'b.png', capacity: 2 }] }));
    await writeFile(join(dir, 'b.png'), await png(p2));
    const f = await start(5, { qrSource: [{ file: join(dir, 'a.png') }, { file: join(dir, 'screen.json') }] });
    await settle(f);
    // a.png is a PNG: capacity 30 assumed, so the 5 cameras all face it and the second screen is unused.
    expect(new Set(authority.accepted.map((r) => r.token))).toEqual(new Set([p1.t]));
    await f.close();
    await authority.close();
    fleet = null;
    await writeFile(join(dir, 'screen0.json'), JSON.stringify({ codes: [{ id: 'a', png: 'a.png', capacity: 3 }] }));
    const g = await start(5, { qrSource: [{ file: join(dir, 'screen0.json') }, { file: join(dir, 'screen.json') }] });
    await settle(g);
    expect(authority.accepted.filter((r) => r.token === p1.t)).toHaveLength(3);
    expect(authority.accepted.filter((r) => r.token === p2.t)).toHaveLength(2);
  });

  it('a new code on the screen: waiting devices scan it, finished ones record NOT_WAITING', async () => {
    screen.show(await png(benchPayload({ p: 'wrong-password' })));
    const f = await start(3, { faults: { selections: [{ kind: 'notreset', count: 1 }] } });
    await settle(f);
    expect(f.status().map((s) => [s.state, s.lastCode])).toEqual([
      ['operating', 'NOT_WAITING'],
      ['failed', 'WIFI_AUTH'],
      ['failed', 'WIFI_AUTH'],
    ]);
    expect(authority.hits()).toBe(0);
    expect(lines.filter((l) => l.includes('NOT_WAITING'))).toEqual([expect.stringMatching(/ tcam-0001 operating: code ignored NOT_WAITING \(not reset\)$/)]);
    f.resetDevice(identities[1]!.devId);
    await settle(f); // reset devices look again at once: same wrong code
    expect(f.device(identities[1]!.devId)!.lastCode).toBe('WIFI_AUTH');
    screen.show(await png(benchPayload()));
    await settle(f);
    expect(f.status().map((s) => s.state)).toEqual(['operating', 'failed', 'failed']);
    expect(f.device(identities[2]!.devId)!.details().rejected.map((r) => r.reason)).toEqual(['NOT_WAITING']);
    f.resetAll();
    await settle(f);
    expect(f.status().map((s) => s.state)).toEqual(['unbound', 'unbound', 'unbound']);
    expect(authority.accepted).toHaveLength(3);
  });

  it('after a power loss a device waits for the next code instead of retrying the same one', async () => {
    screen.show(await png(benchPayload()));
    const f = await start(2, { faults: { selections: [{ kind: 'powerloss', count: 1 }] } });
    await settle(f);
    expect(f.status().map((s) => s.state)).toEqual(['waiting', 'unbound']);
    expect(lines.some((l) => l.endsWith('unbinding→waiting restarted after power loss'))).toBe(true);
    await settle(f);
    expect(authority.accepted).toHaveLength(2);
    screen.show(await png(benchPayload()));
    await settle(f);
    expect(f.status().map((s) => s.state)).toEqual(['unbound', 'unbound']);
    expect(authority.accepted).toHaveLength(3);
  });

  it('bad screens are reported once and never stop the fleet', async () => {
    const f = await start(2);
    screen.show({ status: 500, body: 'down' });
    await settle(f);
    await settle(f);
    expect(lines.filter((l) => l.includes('HTTP 500'))).toHaveLength(1);
    screen.show('{"codes": [{"id": "x"}]}');
    await settle(f);
    expect(lines.some((l) => l.includes('JSON screen codes.0.png'))).toBe(true);
    screen.show('plain text');
    await settle(f);
    expect(lines.some((l) => l.includes('neither a PNG nor JSON'))).toBe(true);
    screen.show(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2, 3])); // a broken PNG
    await settle(f);
    expect(lines.some((l) => l.includes('unreadable: BAD_IMAGE'))).toBe(true);
    expect(f.status().every((s) => s.state === 'waiting')).toBe(true);
    screen.show(await png(benchPayload()));
    await settle(f);
    expect(f.status().every((s) => s.state === 'unbound')).toBe(true);
  });

  it('polls on its own', async () => {
    const f = await start(1);
    screen.show(await png(benchPayload()));
    const deadline = Date.now() + 5_000;
    while (f.status()[0]!.state !== 'unbound' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(f.status()[0]!.state).toBe('unbound');
  });

  it('closes at once even while a request hangs at the authority', async () => {
    screen.show(await png(benchPayload()));
    const f = await start(2);
    authority.behave({ kind: 'hang' });
    await f.pollNow();
    await authority.whenAccepted(2);
    expect(f.status().map((s) => s.state)).toEqual(['unbinding', 'unbinding']);
    const started = Date.now();
    await f.close();
    fleet = null;
    expect(Date.now() - started).toBeLessThan(1_000); // the device timeout is 10 s
    expect(f.device(identities[0]!.devId)!.details().history.at(-1)!.detail).toBe('switched off while working');
  });

  it('refuses duplicate devices and bad region URLs', async () => {
    const d = makeIdentity(1);
    await expect(startFleet({ devices: [d, d], regionUrls: {}, bench: { networks: BENCH }, log: () => undefined })).rejects.toThrow(/twice/);
    await expect(startFleet({ devices: [d], regionUrls: { EU: 'ftp://x' }, bench: { networks: BENCH }, log: () => undefined })).rejects.toThrow();
  });
});

describe('the fleet status port', () => {
  async function call(f: Fleet, method: string, path: string, body?: string) {
    const res = await fetch(`${f.statusUrl}${path}`, { method, ...(body === undefined ? {} : { body }) });
    return { status: res.status, allow: res.headers.get('allow'), json: (await res.json()) as unknown };
  }

  it('serves the state of every device and resets them', async () => {
    screen.show(await png(benchPayload({ s: 'elsewhere' })));
    const f = await start(3, { statusPort: 0 });
    expect(f.statusUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await settle(f);
    const all = await call(f, 'GET', '/status');
    expect(all.status).toBe(200);
    const rows = fleetStatusSchema.parse(all.json);
    expect(rows.map((r) => [r.devId, r.state, r.lastCode, r.result, r.light?.color])).toEqual(identities.map((d) => [d.devId, 'failed', 'WIFI_NOT_FOUND', 'FAILED', 'red']));
    expect(Object.keys((all.json as object[])[0]!).sort()).toEqual(['devId', 'lastCode', 'light', 'pid', 'result', 'serial', 'state']);

    const one = await call(f, 'GET', `/devices/${identities[0]!.devId}`);
    expect(one.json).toMatchObject({ devId: identities[0]!.devId, firmware: '3.2.0', history: expect.any(Array) });
    expect(JSON.stringify(one.json)).not.toContain(identities[0]!.deviceKey);

    screen.show(await png(benchPayload()));
    await settle(f); // a new picture: the failed devices record NOT_WAITING
    const reset = await call(f, 'POST', `/devices/${identities[0]!.devId}/reset`);
    expect(reset).toMatchObject({ status: 200, json: { devId: identities[0]!.devId } });
    await settle(f);
    expect(f.status().map((s) => s.state)).toEqual(['unbound', 'failed', 'failed']);
    expect(await call(f, 'POST', '/reset-all', '{}')).toMatchObject({ status: 200, json: { reset: 3 } });
    await settle(f);
    // The first device already used this code: one device uses a token once.
    expect(f.status().map((s) => [s.state, s.lastCode])).toEqual([
      ['failed', 'TOKEN_REUSED'],
      ['unbound', null],
      ['unbound', null],
    ]);
  });

  it('answers malformed requests with {code, message}', async () => {
    const f = await start(1, { statusPort: 0 });
    const cases: Array<[string, string, string | undefined, number, string]> = [
      ['GET', '/nothing', undefined, 404, 'NOT_FOUND'],
      ['GET', '/devices/tcam-9999', undefined, 404, 'NOT_FOUND'],
      ['POST', '/devices/tcam-9999/reset', undefined, 404, 'NOT_FOUND'],
      ['POST', '/devices/bad%20id/reset', undefined, 400, 'BAD_REQUEST'],
      ['POST', '/devices/%E0%A4%A/reset', undefined, 400, 'BAD_REQUEST'],
      ['POST', '/status', undefined, 405, 'METHOD_NOT_ALLOWED'],
      ['GET', '/reset-all', undefined, 405, 'METHOD_NOT_ALLOWED'],
      ['POST', '/reset-all', '{"devices": "all"}', 400, 'BAD_REQUEST'],
      ['POST', '/reset-all', 'x'.repeat(10_000), 413, 'BODY_TOO_LARGE'],
    ];
    for (const [method, path, body, status, code] of cases) {
      const r = await call(f, method, path, body);
      expect([method, path, r.status, r.json]).toEqual([method, path, status, { code, message: expect.any(String) }]);
    }
    expect((await call(f, 'POST', '/status')).allow).toBe('GET');
    expect(f.status()[0]!.state).toBe('waiting');
  });
});

describe('the token in use', () => {
  it('uses the region of the token to pick the authority', async () => {
    screen.show(await png(benchPayload({ t: generateToken('AY').token })));
    const f = await start(1);
    await settle(f);
    expect(f.status()[0]).toMatchObject({ state: 'failed', lastCode: 'CLOUD_UNREACHABLE' });
    expect(authority.hits()).toBe(0);
  });
});
