import Database from 'better-sqlite3';
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendSignedRequest } from '../../src/batch/station-authority-client.js';
import { DEMO_ADMIN_PASSWORD } from '../../src/cloud/demo.js';
import type { CaseView, StationEvent } from '../../src/protocol/index.js';
import { runUnbind, type RunningProcess } from '../support/processes.js';
import { nextEvent, stationClient, until } from './station-client.js';

/**
 * Issue 12's chain, end to end on real parts: `unbind start` at trace level (the station, its embedded
 * authority, the virtual wired bench answering SADP and HTTP on loopback). An NVR never reset, on an admin
 * password the operator does not know: the station exports its reset request; the partner files a
 * password-reset case with it and a label photo from the station; the owner approves it at the authority;
 * the partner's station follows the case and receives the reset code; it applies the code on the device with
 * a new admin password; the old password is then refused and the new one unbinds the device locally.
 * Afterwards no admin password and no reset code is in any line printed or any file kept (SQLite included).
 */
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('label NV8 serial')]);
const DEV = 'pnvr8ch-0007'; // the demo NVRs ending in 7 are on an admin password of their own

interface Demo {
  accounts: Array<{ accountId: string; clientId: string; secret: string }>;
  devices: Array<{ devId: string; serial: string; adminPassword?: string }>;
}

describe('station: a reset request exported, a reset case approved, the code applied, the new password unbinding locally', () => {
  const dir = mkdtempSync(join(tmpdir(), 'station-reset-case-'));
  const NEW_PASSWORD = 'Case-Reset-Admin-5821';
  let station: RunningProcess;
  let s: ReturnType<typeof stationClient>;
  let authorityUrl = '';
  let demo: Demo;
  let oldPassword = '';
  let key = '';
  const secrets: string[] = [NEW_PASSWORD];

  beforeAll(async () => {
    // 16 wired devices, NVRs and DVRs in turn: the first 14 never reset (NVRs 0001–0007), then one without DHCP.
    station = runUnbind([
      'start', '--port', '0', '--authority-port', '0', '--data', dir, '--bench-devices', '1', '--bench-wired', '16', '--bench-not-reset', '14',
      '--bench-uart', '0', '--mdns-port', '25391', '--sadp-port', '27051', '--log-level', 'trace',
    ]);
    s = stationClient((await station.waitFor(/Unbind Station: (http:\S+)/, 60_000))[1]!);
    authorityUrl = (await station.waitFor(/authority (http:\S+) \(embedded/))[1]!;
    demo = JSON.parse(readFileSync(join(dir, 'demo-export.json'), 'utf8')) as Demo;
    oldPassword = demo.devices.find((d) => d.devId === DEV)!.adminPassword!;
    secrets.push(oldPassword);
  }, 90_000);
  afterAll(async () => {
    await station?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const owner = () => demo.accounts.find((a) => a.accountId === 'acc-owner')!;
  const asOwner = async <T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> => {
    const res = await sendSignedRequest({ url: authorityUrl, clientId: owner().clientId, secret: owner().secret }, method, path, body === undefined ? {} : { body: JSON.stringify(body) });
    return { status: res.status, body: (await res.json()) as T };
  };
  type LocalView = { batch: { status: string; results: Array<{ devId: string; result: string; code: string | null }> }; devices: Array<{ devId: string; attemptsLeft: number | null }> };
  /** A local unbind of the device with this password, run to its end. */
  async function unbindLocally(adminPassword: string): Promise<LocalView> {
    const started = await s.call('POST', '/api/lan/local-unbind', { keys: [key], adminPassword });
    expect(started.status, JSON.stringify(started.body)).toBe(201);
    await until(async () => (await s.call('GET', `/api/batches/${started.body.id}`)).body.status === 'completed', 30_000, `local unbind ${started.body.id} completed`);
    return (await s.call<LocalView>('GET', `/api/lan/local-unbind/${started.body.id}`)).body;
  }

  let resetCode = '';
  it('chains reset request → case → approval → reset code → new password → local unbind', async () => {
    expect(oldPassword).not.toBe(DEMO_ADMIN_PASSWORD);
    const signedIn = await s.call('POST', '/api/session', { demoAccountId: 'acc-partner', operator: 'Pia' });
    expect(signedIn.body.account).toMatchObject({ accountId: 'acc-partner', verifiedInstaller: true });

    // Given the NVR on the bench LAN, bound and not reset, on a password the operator does not know.
    const serial = demo.devices.find((d) => d.devId === DEV)!.serial;
    await until(async () => {
      await s.call('POST', '/api/lan/refresh');
      const entry = (await s.call<Array<{ key: string; source: string; serial: string; problem: { code: string } | null }>>('GET', '/api/lan')).body.find((d) => d.serial === serial && d.source === 'sadp');
      key = entry?.problem?.code === 'NOT_WAITING' ? entry.key : '';
      return key !== '';
    }, 15_000, `${DEV} on the LAN, not reset`);
    const guessed = await unbindLocally(DEMO_ADMIN_PASSWORD);
    expect(guessed.batch.results).toMatchObject([{ devId: DEV, result: 'FAILED', code: 'ADMIN_PASSWORD' }]);

    // The station exports the device's reset request (§4.9): XML to save, QR text.
    const request = await s.call('POST', '/api/lan/reset-request', { key });
    expect(request.status).toBe(200);
    expect(request.body.xml).toContain(`<DeviceSN>${serial}</DeviceSN>`);
    expect(request.body.qrText).toBe(`RST1:${DEV}:${request.body.challenge}:${Date.parse(request.body.issuedAt)}`);

    // The partner files a password-reset case from the station with the XML file and a label photo.
    const filed = await s.call<CaseView>('POST', '/api/cases', { kind: 'password-reset', serial, labelPhoto: PNG.toString('base64'), resetRequest: request.body.xml });
    expect(filed.status, JSON.stringify(filed.body)).toBe(201);
    expect(filed.body).toMatchObject({ kind: 'password-reset', state: 'submitted', devId: DEV, filer: 'acc-partner', resetRequest: { challenge: request.body.challenge, issuedAt: request.body.issuedAt } });
    expect(filed.body.resetCode).toBeUndefined();
    const pending = await asOwner<{ items: CaseView[] }>('GET', '/api/v1/cases?state=submitted');
    expect(pending.body.items.find((c) => c.id === filed.body.id)).toMatchObject({ kind: 'password-reset', resetRequest: { challenge: request.body.challenge } });

    // The owner approves at the authority; the partner's station, following the case, pushes it with its code.
    let approved: { status: number; body: CaseView } | null = null;
    const event = await nextEvent(s.base, s.key, (e) => e.type === 'case' && e.case.id === filed.body.id, async () => {
      approved = await asOwner<CaseView>('POST', `/api/v1/cases/${filed.body.id}/approve`, { note: 'label checked' });
    });
    expect(approved!.status).toBe(200);
    expect(approved!.body).toMatchObject({ state: 'approved', resetCode: expect.stringMatching(/^[A-Z2-7]{12}$/) });
    expect(event).toMatchObject({ type: 'case', case: { id: filed.body.id, state: 'approved', reviewer: 'acc-owner', resetCode: approved!.body.resetCode } });
    resetCode = (event as Extract<StationEvent, { type: 'case' }>).case.resetCode!;
    secrets.push(resetCode);
    const listed = await s.call<{ items: CaseView[] }>('GET', '/api/cases?state=approved');
    expect(listed.body.items.find((c) => c.id === filed.body.id)?.resetCode).toBe(resetCode);

    // The station applies the case's code on the device with a new admin password, once.
    expect(await s.call('POST', '/api/lan/reset-code', { key, code: resetCode, newPassword: NEW_PASSWORD })).toEqual({ status: 200, body: { devId: DEV, applied: true } });
    expect(await s.call('POST', '/api/lan/reset-code', { key, code: resetCode, newPassword: 'Again-Admin-1' })).toMatchObject({ status: 409, body: { code: 'RESET_CODE_INVALID' } });

    // Then the old password is refused, and the new one unbinds the device locally.
    const withOld = await unbindLocally(oldPassword);
    expect(withOld.batch.results).toMatchObject([{ devId: DEV, result: 'FAILED', code: 'ADMIN_PASSWORD' }]);
    const withNew = await unbindLocally(NEW_PASSWORD);
    expect(withNew.batch.results).toMatchObject([{ devId: DEV, result: 'UNBOUND', code: null }]);
    // The authority recorded it as a local unbind by the partner.
    const logs = await asOwner<{ items: Array<{ devId: string; result: string; method: string; operator: string }> }>('GET', `/api/v1/device-logs?devId=${DEV}&result=UNBOUND`);
    expect(logs.body.items).toMatchObject([{ devId: DEV, result: 'UNBOUND', method: 'local', operator: 'acc-partner' }]);
  }, 90_000);

  it('keeps no admin password and no reset code in any line printed, any file, or any stored column', async () => {
    expect(resetCode).toMatch(/^[A-Z2-7]{12}$/);
    await station.kill('SIGTERM'); // its last lines printed, its SQLite files checkpointed and closed
    const output = station.output.join('\n');
    expect(output).toMatch(/case approved/); // trace level: the authority's lines are there too
    for (const secret of [...secrets, DEMO_ADMIN_PASSWORD]) expect(output.includes(secret), `output holds ${secret}`).toBe(false);

    const files: string[] = [];
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        const st = lstatSync(p);
        if (st.isDirectory()) walk(p);
        else if (st.isFile()) files.push(p);
      }
    };
    walk(dir);
    const dbs = files.filter((f) => f.endsWith('.db'));
    expect(dbs.map((f) => f.slice(dir.length + 1)).sort()).toEqual(expect.arrayContaining(['authority.db', 'batches.db', 'history.db']));
    for (const f of files) {
      const bytes = readFileSync(f);
      // The demo export is the bench's factory sheet (0600): the devices' first passwords are its own.
      const own = f.endsWith('demo-export.json') ? [NEW_PASSWORD, resetCode] : [...secrets, DEMO_ADMIN_PASSWORD];
      for (const secret of own) {
        expect(bytes.includes(Buffer.from(secret)), `${f} holds ${secret}`).toBe(false);
        expect(bytes.includes(Buffer.from(secret, 'utf16le')), `${f} holds ${secret}`).toBe(false);
      }
    }
    // And column by column, as SQLite gives the values back (text, numbers, blobs, whatever their encoding on disk).
    for (const f of dbs) {
      const db = new Database(f, { readonly: true });
      try {
        const tables = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all() as string[];
        for (const t of tables) {
          for (const row of db.prepare(`SELECT * FROM "${t.replace(/"/g, '""')}"`).raw().iterate() as IterableIterator<unknown[]>) {
            for (const v of row) {
              const text = Buffer.isBuffer(v) ? v.toString('latin1') : String(v);
              for (const secret of [...secrets, DEMO_ADMIN_PASSWORD]) expect(text.includes(secret), `${f} ${t} holds ${secret}`).toBe(false);
            }
          }
        }
      } finally {
        db.close();
      }
    }
  }, 30_000);
});
