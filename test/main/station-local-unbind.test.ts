import { lstatSync, readdirSync, readFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ADMIN_PASSWORD } from '../../src/cloud/demo.js';
import { computeResetCode } from '../../src/protocol/index.js';
import { runUnbind, type RunningProcess } from '../support/processes.js';
import { stationClient, until } from './station-client.js';

/**
 * Local unbind (DESIGN §4.8) and the admin password reset (§4.9) through the station, as `unbind start` runs
 * them at trace level: real SADP and mDNS on loopback, real HTTP to the virtual NVRs never reset, the embedded
 * authority. At the end no admin password and no reset code is in any line the process wrote or any file it keeps.
 */
describe('station: local unbind with the admin password, and the password reset', () => {
  const dir = mkdtempSync(join(tmpdir(), 'station-local-'));
  const NEW_PASSWORD = 'Fresh-Admin-9931';
  const WRONG_PASSWORD = 'Guess-Admin-1234';
  const secrets: string[] = [NEW_PASSWORD, WRONG_PASSWORD];
  let station: RunningProcess;
  let s: ReturnType<typeof stationClient>;

  beforeAll(async () => {
    // 40 wired devices, NVRs and DVRs in turn; the first 22 never reset: NVRs 0001–0011 among them.
    station = runUnbind([
      'start', '--port', '0', '--authority-port', '0', '--data', dir, '--bench-devices', '1', '--bench-wired', '40', '--bench-not-reset', '22',
      '--bench-uart', '1', '--mdns-port', '25371', '--sadp-port', '27031', '--log-level', 'trace',
    ]);
    s = stationClient((await station.waitFor(/Unbind Station: (http:\S+)/, 60_000))[1]!);
    expect((await s.call('POST', '/api/session', { demoAccountId: 'acc-owner', operator: 'Eva' })).status).toBe(200);
  }, 90_000);
  afterAll(async () => {
    await station?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  type Lan = { key: string; source: string; serial: string; problem: { code: string } | null; sadp: { model: string | null; activated: boolean | null } | null };
  const lan = async () => (await s.call<Lan[]>('GET', '/api/lan')).body;
  const bench = async () => (await s.call<Array<{ devId: string; serial: string; state: string }>>('GET', '/api/bench')).body;
  const nvrNumber = (devId: string): number => Number(/^pnvr8ch-(\d{4})$/.exec(devId)?.[1] ?? 0);
  /** The LAN key of each not-reset NVR 0001–0010, by devId. */
  async function notResetNvrKeys(): Promise<Map<string, string>> {
    const serialOf = new Map((await bench()).filter((d) => d.state === 'operating').map((d) => [d.serial, d.devId]));
    const out = new Map<string, string>();
    for (const d of await lan()) {
      const devId = serialOf.get(d.serial);
      if (devId && nvrNumber(devId) >= 1 && nvrNumber(devId) <= 10 && d.source === 'sadp' && d.problem?.code === 'NOT_WAITING') out.set(devId, d.key);
    }
    return out;
  }
  const finished = async (id: string) => {
    await until(async () => (await s.call('GET', `/api/batches/${id}`)).body.status === 'completed', 30_000, `batch ${id} completed`);
    return (await s.call('GET', `/api/lan/local-unbind/${id}`)).body;
  };

  let keys: Map<string, string>;
  it('lists the bound, online, not reset NVRs from SADP as "not reset" (activated)', async () => {
    await until(async () => {
      await s.call('POST', '/api/lan/refresh');
      return (await notResetNvrKeys()).size === 10;
    }, 15_000, '10 not-reset NVRs on the LAN');
    keys = await notResetNvrKeys();
    const entries = (await lan()).filter((d) => [...keys.values()].includes(d.key));
    expect(entries.every((d) => d.sadp?.activated === true && /^DS-76/.test(d.sadp.model ?? ''))).toBe(true);
  }, 30_000);

  it('unbinds 10 NVRs locally in one go with one password: 9 UNBOUND, the one on its own password ADMIN_PASSWORD with 4 attempts left', async () => {
    const started = await s.call('POST', '/api/lan/local-unbind', { keys: [...keys.values()], adminPassword: DEMO_ADMIN_PASSWORD });
    expect(started.status).toBe(201);
    const view = await finished(started.body.id);
    expect(view.batch.tally).toEqual({ unbound: 9, notBound: 0, failed: 1, pending: 0 });
    const failed = view.batch.results.filter((r: { result: string }) => r.result === 'FAILED');
    expect(failed).toMatchObject([{ devId: 'pnvr8ch-0007', code: 'ADMIN_PASSWORD' }]);
    expect(view.devices.find((d: { devId: string }) => d.devId === 'pnvr8ch-0007')).toMatchObject({ attemptsLeft: 4, unlockAt: null });
    const history = (await s.call('GET', `/api/history?batchId=${started.body.id}`)).body.items as Array<{ devId: string; result: string; code: string | null; method: string }>;
    expect(history).toHaveLength(10);
    expect(history.filter((r) => r.result === 'UNBOUND')).toHaveLength(9);
    expect(history.find((r) => r.devId === 'pnvr8ch-0007')).toMatchObject({ result: 'FAILED', code: 'ADMIN_PASSWORD', method: 'wired' });
  }, 60_000);

  const odd = () => keys.get('pnvr8ch-0007')!;
  it('locks the device after its fifth wrong password: DEVICE_LOCKED with the unlock time 30 minutes on', async () => {
    const left: Array<number | null> = [];
    let last: { devices: Array<{ attemptsLeft: number | null; unlockAt: string | null }>; batch: { results: Array<{ code: string | null }> } } | null = null;
    for (let i = 0; i < 4; i++) {
      const started = await s.call('POST', '/api/lan/local-unbind', { keys: [odd()], adminPassword: WRONG_PASSWORD });
      expect(started.status).toBe(201);
      last = await finished(started.body.id);
      left.push(last!.devices[0]!.attemptsLeft);
    }
    expect(left).toEqual([3, 2, 1, null]);
    expect(last!.batch.results[0]!.code).toBe('DEVICE_LOCKED');
    const unlockAt = Date.parse(last!.devices[0]!.unlockAt!);
    expect(unlockAt - Date.now()).toBeGreaterThan(29 * 60_000);
    expect(unlockAt - Date.now()).toBeLessThanOrEqual(30 * 60_000);
  }, 60_000);

  it('reads the reset request (XML and QR), refuses a wrong code, applies the right one with a new password, which then unbinds the device locally', async () => {
    const r = await s.call('POST', '/api/lan/reset-request', { key: odd() });
    expect(r.status).toBe(200);
    expect(r.body.xml).toContain('<ResetRequest>');
    expect(r.body.qrText).toBe(`RST1:pnvr8ch-0007:${r.body.challenge}:${Date.parse(r.body.issuedAt)}`);
    expect(r.body.qrSvg).toContain('<svg');
    expect(Date.parse(r.body.expiresAt) - Date.parse(r.body.issuedAt)).toBe(48 * 3_600_000);
    // The code an approved case answers: HMAC of the device key, which the demo export holds for the bench.
    const exported = JSON.parse(readFileSync(join(dir, 'demo-export.json'), 'utf8')) as { devices: Array<{ devId: string; deviceKey: string }> };
    const code = computeResetCode(exported.devices.find((d) => d.devId === 'pnvr8ch-0007')!.deviceKey, 'pnvr8ch-0007', r.body.challenge);
    secrets.push(code);
    const wrong = (code[0] === 'A' ? 'B' : 'A') + code.slice(1);
    expect(await s.call('POST', '/api/lan/reset-code', { key: odd(), code: wrong, newPassword: NEW_PASSWORD })).toMatchObject({ status: 409, body: { code: 'RESET_CODE_INVALID' } });
    expect(await s.call('POST', '/api/lan/reset-code', { key: odd(), code, newPassword: NEW_PASSWORD })).toEqual({ status: 200, body: { devId: 'pnvr8ch-0007', applied: true } });
    expect(await s.call('POST', '/api/lan/reset-code', { key: odd(), code, newPassword: 'Once-More-1' })).toMatchObject({ status: 409, body: { code: 'RESET_CODE_INVALID' } });
    const started = await s.call('POST', '/api/lan/local-unbind', { keys: [odd()], adminPassword: NEW_PASSWORD });
    const view = await finished(started.body.id);
    expect(view.batch.results).toMatchObject([{ devId: 'pnvr8ch-0007', result: 'UNBOUND' }]);
  }, 60_000);

  it('reads the reset request of a UART gateway over its serial line (AT+RESETREQ?)', async () => {
    const port = (await s.call('GET', '/api/serial')).body.settings.uartPorts[0] as string;
    const r = await s.call('POST', '/api/serial/reset-request', { port });
    expect(r.status).toBe(200);
    expect(r.body.devId).toMatch(/^pgw1uart-/);
    expect(r.body.xml).toContain(`<DeviceSN>${r.body.serial}</DeviceSN>`);
    expect(r.body.qrText).toBe(`RST1:${r.body.devId}:${r.body.challenge}:${Date.parse(r.body.issuedAt)}`);
    expect(await s.call('POST', '/api/serial/reset-request', { port: '/dev/not-configured' })).toMatchObject({ status: 400, body: { code: 'PORT_NOT_CONFIGURED' } });
  }, 30_000);

  it('keeps no admin password and no reset code in any line it wrote or any file it keeps', async () => {
    const files: string[] = [];
    const walk = (d: string): void => {
      for (const name of readdirSync(d)) {
        const p = join(d, name);
        const st = lstatSync(p);
        if (st.isDirectory()) walk(p);
        else if (st.isFile()) files.push(p); // not the bench's pty links: reading a tty would wait for input
      }
    };
    walk(dir);
    expect(files.some((f) => f.endsWith('.db'))).toBe(true);
    expect(station.output.length).toBeGreaterThan(10); // trace level: the requests are logged
    const output = station.output.join('\n');
    for (const secret of [...secrets, DEMO_ADMIN_PASSWORD]) expect(output.includes(secret), `output holds ${secret}`).toBe(false);
    for (const f of files) {
      const bytes = readFileSync(f);
      // The demo export is the bench's factory sheet (0600, with the device keys): the demo passwords are its own.
      const own = f.endsWith('demo-export.json') ? secrets : [...secrets, DEMO_ADMIN_PASSWORD];
      for (const secret of own) {
        expect(bytes.includes(Buffer.from(secret)), `${f} holds ${secret}`).toBe(false);
        expect(bytes.includes(Buffer.from(secret, 'utf16le')), `${f} holds ${secret}`).toBe(false);
      }
    }
  });
});
