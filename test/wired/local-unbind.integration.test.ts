import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseWiredFaultSpec, startWiredBench, type DeviceIdentity, type WiredBench } from '../../src/device/index.js';
import {
  ADMIN_LOCKOUT_MS,
  RESET_REQUEST_VALIDITY_MS,
  adminProof,
  deriveAdminKey,
  generateToken,
  parseResetRequestQrText,
  resetRequestQrText,
} from '../../src/protocol/index.js';
import { DEMO_ADMIN_PASSWORD } from '../../src/cloud/demo.js';
import { createDeviceApiClient, unbindOverLan, type DeviceEndpoint, type LanUnbindTarget } from '../../src/wired/index.js';
import { startWiredAuthority, type WiredAuthority } from './support/authority.js';
import { LAN_PORTS } from './support/lan.js';

/**
 * Local unbind with the admin password (DESIGN §4.8) and the admin password reset (§4.9), every part real:
 * the authority over HTTP, virtual NVRs on loopback that were never reset (`operating`), their local API, and
 * the station's LAN client. The devices' clock is the test's, so 30 minutes and 48 hours pass at once.
 */
const PORTS = LAN_PORTS.localUnbind;
let authority: WiredAuthority;
let bench: WiredBench | null = null;
let now = Date.parse('2026-12-02T10:00:00Z');
const client = createDeviceApiClient();

async function startBench(devices: DeviceIdentity[]): Promise<WiredBench> {
  bench = await startWiredBench({
    devices,
    regionUrls: { EU: authority.url },
    products: authority.demo.products,
    mdnsPort: PORTS.mdns,
    sadpPort: PORTS.sadp,
    sadp: false,
    faults: parseWiredFaultSpec(`notreset=${devices.length}`),
    clock: () => now,
    log: () => undefined,
    withdrawAfterMs: 200,
  });
  return bench;
}
const at = (devId: string): DeviceEndpoint => bench!.endpoint(devId)!;
const target = (d: DeviceIdentity): LanUnbindTarget => ({ devId: d.devId, ...at(d.devId), expectedSerial: d.serial });

/** The station's proof: PBKDF2 once per distinct salt (counted), HMAC per challenge. */
function prover(password: string): { proofFor(salt: string, challenge: string): Promise<string>; derivations: () => number } {
  const keys = new Map<string, Promise<Buffer>>();
  return {
    async proofFor(salt, challenge) {
      if (!keys.has(salt)) keys.set(salt, deriveAdminKey(password, salt));
      return adminProof(await keys.get(salt)!, challenge);
    },
    derivations: () => keys.size,
  };
}

/** One local unbind attempt by hand: a fresh challenge from /info, the proof, POST /unbind-local. */
async function tryLocal(devId: string, password: string, token: string) {
  const info = await client.info(at(devId));
  if (!info.ok) throw new Error(info.detail);
  const proof = adminProof(await deriveAdminKey(password, info.value.adminSalt!), info.value.challenge!);
  const r = await client.unbindLocal(at(devId), { token, challenge: info.value.challenge!, proof });
  if (!r.ok) throw new Error(r.detail);
  return r.value;
}

beforeAll(async () => {
  authority = await startWiredAuthority({ accountLimit: 10_000, productLimit: 10_000 });
});
afterEach(async () => {
  await bench?.close();
  bench = null;
});
afterAll(async () => {
  await authority?.close();
});

describe('local unbind with the admin password (DESIGN §4.8)', () => {
  it('given 10 NVRs never reset, one of them on another password, when the station unbinds them with one password, then 9 are UNBOUND (logged method local) and 1 ADMIN_PASSWORD with its attempts left', async () => {
    const nvrs = authority.take(10, 'pnvr8ch');
    const odd = nvrs.filter((d) => d.adminPassword !== DEMO_ADMIN_PASSWORD);
    expect(odd).toHaveLength(1); // the demo export sets one of these ten to its own password
    await startBench(nvrs);
    for (const d of nvrs) expect((await client.info(at(d.devId))).ok && (await client.info(at(d.devId)))).toMatchObject({ value: { st: 'operating' } });
    const token = await authority.issueToken(10);
    const p = prover(DEMO_ADMIN_PASSWORD);
    const outcomes = await unbindOverLan(nvrs.map(target), () => token.token, { client, local: p, pollMs: 50 });

    const byResult = outcomes.map((o) => [o.devId, o.result, o.code ?? null]);
    expect(byResult.filter(([, r]) => r === 'UNBOUND')).toHaveLength(9);
    expect(outcomes.find((o) => o.devId === odd[0]!.devId)).toMatchObject({ result: 'FAILED', code: 'ADMIN_PASSWORD', attemptsLeft: 4 });
    expect(p.derivations()).toBe(10); // each device its own salt: one PBKDF2 each, never one per request
    const logs = await authority.deviceLogs({ tokenId: token.id });
    expect(logs).toHaveLength(9);
    expect(logs.every((l) => l.result === 'UNBOUND' && l.method === 'local' && l.channel === 'wired')).toBe(true);
    expect(logs.map((l) => l.devId)).not.toContain(odd[0]!.devId); // a refused proof never reaches the authority
  }, 30_000);

  it('given 5 wrong proofs, then the device locks for 30 minutes on its clock, refuses even the right password until then, and takes it after', async () => {
    const [nvr] = authority.take(1, 'pnvr8ch', (d) => d.adminPassword === DEMO_ADMIN_PASSWORD);
    await startBench([nvr!]);
    const token = await authority.issueToken(1);
    const left: Array<number | undefined> = [];
    for (let i = 0; i < 4; i++) {
      const r = await tryLocal(nvr!.devId, 'not-the-password', token.token);
      expect(r).toMatchObject({ accepted: false, code: 'ADMIN_PASSWORD' });
      left.push(r.attemptsLeft);
    }
    expect(left).toEqual([4, 3, 2, 1]);
    const locked = await tryLocal(nvr!.devId, 'still-not-it', token.token);
    const unlockAt = new Date(now + ADMIN_LOCKOUT_MS).toISOString();
    expect(locked).toEqual({ accepted: false, code: 'DEVICE_LOCKED', unlockAt });
    expect(await tryLocal(nvr!.devId, DEMO_ADMIN_PASSWORD, token.token)).toEqual({ accepted: false, code: 'DEVICE_LOCKED', unlockAt });
    const start = now;
    now = start + ADMIN_LOCKOUT_MS - 1;
    expect(await tryLocal(nvr!.devId, DEMO_ADMIN_PASSWORD, token.token)).toEqual({ accepted: false, code: 'DEVICE_LOCKED', unlockAt });
    now = start + ADMIN_LOCKOUT_MS;
    // The station's batch, through the lock's end: the right password unbinds.
    const [o] = await unbindOverLan([target(nvr!)], () => token.token, { client, local: prover(DEMO_ADMIN_PASSWORD), pollMs: 50 });
    expect(o).toMatchObject({ result: 'UNBOUND' });
    expect(await authority.deviceLogs({ devId: nvr!.devId })).toMatchObject([{ result: 'UNBOUND', method: 'local' }]);
  }, 30_000);

  it('given a right proof with a token the authority never issued, then the authority refuses it as for any unbind (TOKEN_INVALID, logged local)', async () => {
    const [nvr] = authority.take(1, 'pnvr8ch', (d) => d.adminPassword === DEMO_ADMIN_PASSWORD);
    await startBench([nvr!]);
    const [o] = await unbindOverLan([target(nvr!)], () => generateToken('EU').token, { client, local: prover(DEMO_ADMIN_PASSWORD), pollMs: 50 });
    expect(o).toMatchObject({ result: 'FAILED', code: 'TOKEN_INVALID' });
    expect(await authority.deviceLogs({ devId: nvr!.devId })).toMatchObject([{ result: 'FAILED', reason: 'TOKEN_INVALID', method: 'local' }]);
  }, 30_000);
});

describe('admin password reset (DESIGN §4.9)', () => {
  it('given a device whose password nobody knows, when its reset request goes to the authority and the code comes back, then the code sets a new password once, and the new password unbinds it locally', async () => {
    const [nvr] = authority.take(1, 'pnvr8ch', (d) => d.adminPassword !== DEMO_ADMIN_PASSWORD);
    await startBench([nvr!]);
    const exported = await client.resetRequest(at(nvr!.devId));
    if (!exported.ok) throw new Error(exported.detail);
    const { request, xml } = exported.value;
    expect(xml).toContain(`<DeviceSN>${nvr!.serial}</DeviceSN>`);
    expect(request).toMatchObject({ devId: nvr!.devId, serial: nvr!.serial, issuedAt: new Date(Math.floor(now / 1000) * 1000).toISOString() });
    // The QR text carries the same request.
    expect(parseResetRequestQrText(resetRequestQrText(request))).toEqual({ devId: request.devId, challenge: request.challenge, issuedAt: request.issuedAt });
    // Reading it again before it is used gives the same request: a case filed with it stays answerable.
    expect((await client.resetRequest(at(nvr!.devId))).ok && (await client.resetRequest(at(nvr!.devId)))).toMatchObject({ value: { request: { challenge: request.challenge } } });

    const code = authority.resetCodeFor(nvr!.devId, request.challenge);
    expect(code).toMatch(/^[A-Z2-7]{12}$/);
    const wrong = (code[0] === 'A' ? 'B' : 'A') + code.slice(1);
    expect(await client.applyResetCode(at(nvr!.devId), wrong, 'New-Pass-1')).toEqual({ ok: true, value: { accepted: false, code: 'RESET_CODE_INVALID' } });
    expect(await client.applyResetCode(at(nvr!.devId), code, 'New-Pass-1')).toEqual({ ok: true, value: { accepted: true } });
    expect(await client.applyResetCode(at(nvr!.devId), code, 'Another-2')).toEqual({ ok: true, value: { accepted: false, code: 'RESET_CODE_INVALID' } }); // once

    const token = await authority.issueToken(1);
    expect(await tryLocal(nvr!.devId, nvr!.adminPassword!, token.token)).toMatchObject({ accepted: false, code: 'ADMIN_PASSWORD' });
    const [o] = await unbindOverLan([target(nvr!)], () => token.token, { client, local: prover('New-Pass-1'), pollMs: 50 });
    expect(o).toMatchObject({ result: 'UNBOUND' });
    expect(await authority.deviceLogs({ devId: nvr!.devId })).toMatchObject([{ result: 'UNBOUND', method: 'local' }]);
  }, 30_000);

  it('given a reset request older than 48 hours, then its code is refused RESET_CODE_EXPIRED, and the next request has a new challenge', async () => {
    const [nvr] = authority.take(1, 'pnvr8ch');
    await startBench([nvr!]);
    const first = await client.resetRequest(at(nvr!.devId));
    if (!first.ok) throw new Error(first.detail);
    const code = authority.resetCodeFor(nvr!.devId, first.value.request.challenge);
    now += RESET_REQUEST_VALIDITY_MS;
    expect(await client.applyResetCode(at(nvr!.devId), code, 'Too-Late-1')).toEqual({ ok: true, value: { accepted: false, code: 'RESET_CODE_EXPIRED' } });
    const second = await client.resetRequest(at(nvr!.devId));
    expect(second.ok && second.value.request.challenge).not.toBe(first.value.request.challenge);
    expect(await client.applyResetCode(at(nvr!.devId), code, 'Too-Late-1')).toEqual({ ok: true, value: { accepted: false, code: 'RESET_CODE_INVALID' } });
  }, 30_000);
});

describe('the local API of a device with an admin login, fed malformed input', () => {
  it('given bodies that are not JSON, of the wrong shape, too large, or the wrong method, then each is refused and nothing changes', async () => {
    const [nvr] = authority.take(1, 'pnvr8ch', (d) => d.adminPassword === DEMO_ADMIN_PASSWORD);
    await startBench([nvr!]);
    const base = `http://${at(nvr!.devId).address}:${at(nvr!.devId).port}`;
    const post = async (path: string, body: string) => {
      const res = await fetch(base + path, { method: 'POST', headers: { 'content-type': 'application/json' }, body });
      return { status: res.status, json: await res.json() };
    };
    expect(await post('/unbind-local', '{not json')).toMatchObject({ status: 400, json: { code: 'BAD_REQUEST' } });
    expect(await post('/unbind-local', JSON.stringify({ token: 'x', challenge: 'y', proof: 'z' }))).toEqual({ status: 200, json: { accepted: false, code: 'ADMIN_PASSWORD' } });
    expect(await post('/unbind-local', 'x'.repeat(10_000))).toMatchObject({ status: 413 });
    expect(await post('/reset-code', JSON.stringify({ code: 'lowercase-no', newPassword: 'p' }))).toEqual({ status: 200, json: { accepted: false, code: 'RESET_CODE_INVALID' } });
    expect((await fetch(`${base}/reset-request`, { method: 'POST' })).status).toBe(405);
    expect((await fetch(`${base}/unbind-local`)).status).toBe(405);
    // None of those counted as a wrong password: the right one still has every attempt and unbinds.
    const token = await authority.issueToken(1);
    const [o] = await unbindOverLan([target(nvr!)], () => token.token, { client, local: prover(DEMO_ADMIN_PASSWORD), pollMs: 50 });
    expect(o).toMatchObject({ result: 'UNBOUND' });
  }, 30_000);
});
