import { describe, expect, it } from 'vitest';
import { sendSignedRequest } from '../../src/batch/station-authority-client.js';
import type { CaseView } from '../../src/protocol/index.js';
import { useAuthorityAndStation } from './authority-and-station.js';
import { nextEvent } from './station-client.js';

/**
 * Cases through the station (DESIGN §4.10, §4.11), real processes over real HTTP: an authority with the
 * demo world and a station on it. The partner files a case from the station; the owner decides; the
 * partner's station pushes the new state (it polls the authority while a case is open) and keeps the
 * outcome in its history.
 */
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('label QR camera')]);

interface Demo {
  accounts: Array<{ accountId: string; role: string; clientId: string; secret: string }>;
  devices: Array<{ devId: string; serial: string; pid: string; bound: boolean }>;
}

describe('station: cases (real authority and station processes)', () => {
  const env = useAuthorityAndStation<Demo>('station-cases-', 'info');
  const owner = () => env.demo().accounts.find((a) => a.role === 'owner' && a.accountId === 'acc-owner')!;
  const asOwner = async (method: string, path: string, body?: unknown) => {
    const res = await sendSignedRequest({ url: env.authorityUrl(), clientId: owner().clientId, secret: owner().secret }, method, path, body === undefined ? {} : { body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  };

  it('given a partner filing a case with a label photo, when the owner approves it, then the partner sees it approved live and in its history', async () => {
    const signedIn = await env.station().call('POST', '/api/session', { demoAccountId: 'acc-partner', operator: 'Pia' });
    expect(signedIn.body.account).toMatchObject({ accountId: 'acc-partner', verifiedInstaller: true });
    const dev = env.demo().devices.filter((d) => d.pid === 'pqr1cam' && d.bound)[5]!;
    const filed = await env.station().call<CaseView>('POST', '/api/cases', { kind: 'unbind', serial: dev.serial, labelPhoto: PNG.toString('base64'), note: 'customer return' });
    expect(filed.status, JSON.stringify(filed.body)).toBe(201);
    expect(filed.body).toMatchObject({ state: 'submitted', devId: dev.devId, labelSerial: dev.serial, filer: 'acc-partner' });
    const listed = await env.station().call('GET', '/api/cases?state=submitted');
    expect(listed.body.items.map((c: CaseView) => c.id)).toEqual([filed.body.id]);
    const photo = await env.station().call('GET', `/api/cases/${filed.body.id}/photo`);
    expect(photo.body).toEqual({ type: 'image/png', base64: PNG.toString('base64') });

    const event = await nextEvent(env.station().base, env.station().key, (e) => e.type === 'case' && e.case.id === filed.body.id, async () => {
      expect((await asOwner('POST', `/api/v1/cases/${filed.body.id}/approve`)).status).toBe(200);
    });
    expect(event).toMatchObject({ type: 'case', case: { id: filed.body.id, state: 'approved', reviewer: 'acc-owner' } });
    const history = await env.station().call('GET', `/api/history?method=case&batchId=${filed.body.id}`);
    expect(history.body.items).toEqual([expect.objectContaining({ method: 'case', batchId: filed.body.id, devId: dev.devId, serial: dev.serial, result: 'UNBOUND', code: null, operator: 'Pia', accountId: 'acc-partner' })]);
    // Seen again, it is not written twice.
    await env.station().call('GET', '/api/cases');
    expect((await env.station().call('GET', `/api/history?batchId=${filed.body.id}`)).body.items).toHaveLength(1);
  });

  it('given a photo that is not an image, then the station refuses it with its code and hint before the authority sees it', async () => {
    const dev = env.demo().devices.filter((d) => d.pid === 'pqr1cam' && d.bound)[6]!;
    const before = (await asOwner('GET', '/api/v1/cases')).body.items.length;
    const r = await env.station().call('POST', '/api/cases', { kind: 'unbind', devId: dev.devId, labelPhoto: Buffer.from('%PDF-1.4 label').toString('base64') });
    expect(r).toMatchObject({ status: 400, body: { code: 'PHOTO_NOT_IMAGE', message: expect.stringMatching(/not a JPEG or PNG/) } });
    const notB64 = await env.station().call('POST', '/api/cases', { kind: 'unbind', devId: dev.devId, labelPhoto: 'data:image/png;base64,AAAA' });
    expect(notB64).toMatchObject({ status: 400, body: { code: 'PHOTO_NOT_BASE64' } });
    expect((await asOwner('GET', '/api/v1/cases')).body.items.length).toBe(before);
  });

  it('given the owner at the station, then it lists cases with their due time, opens the photo, and rejects with a code and a note; the partner sees it in history', async () => {
    const dev = env.demo().devices.filter((d) => d.pid === 'pqr1cam' && d.bound)[7]!;
    const filed = await env.station().call<CaseView>('POST', '/api/cases', { kind: 'unbind', devId: dev.devId, labelPhoto: PNG.toString('base64') });
    expect(filed.status).toBe(201);
    const owner = await env.station().call('POST', '/api/session', { demoAccountId: 'acc-owner', operator: 'Olga' });
    expect(owner.body.account).toMatchObject({ accountId: 'acc-owner', verifiedInstaller: false });
    const pending = await env.station().call('GET', '/api/cases?state=submitted');
    const mine = pending.body.items.find((c: CaseView) => c.id === filed.body.id);
    expect(mine).toMatchObject({ state: 'submitted', dueAt: expect.any(String) });
    expect((await env.station().call('GET', `/api/cases/${filed.body.id}/photo`)).body.type).toBe('image/png');
    const rejected = await env.station().call('POST', `/api/cases/${filed.body.id}/reject`, { reason: 'SERIAL_MISMATCH', note: 'label shows another serial' });
    expect(rejected.body).toMatchObject({ state: 'rejected', rejectCode: 'SERIAL_MISMATCH', reviewNote: 'label shows another serial' });
    const bad = await env.station().call('POST', `/api/cases/${filed.body.id}/reject`, { reason: 'BECAUSE' });
    expect(bad).toMatchObject({ status: 400, body: { code: 'BAD_REQUEST' } });
    // The authority's refusal is passed on with its code.
    expect((await env.station().call('POST', `/api/cases/${filed.body.id}/approve`, {})).body.code).toBe('CASE_DECIDED');

    expect((await env.station().call('POST', '/api/session', { demoAccountId: 'acc-partner', operator: 'Pia' })).status).toBe(200);
    await env.station().call('GET', '/api/cases');
    const history = await env.station().call('GET', `/api/history?batchId=${filed.body.id}`);
    expect(history.body.items).toEqual([expect.objectContaining({ method: 'case', result: 'FAILED', code: 'SERIAL_MISMATCH' })]);
  });
});
