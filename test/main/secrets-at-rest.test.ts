import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { decodeCameraImage } from '../../src/device/qr-camera/index.js';
import { runUnbind, type RunningProcess } from '../support/processes.js';
import { stationClient, until } from './station-client.js';

/**
 * Issue 9, secrets at rest, over real processes at their most verbose log level: a QR batch with a known
 * Wi-Fi password whose token devices really use; then every byte the authority and the station printed
 * and every file they left is searched for the password, the token, the key files' keys and the accounts'
 * secrets (only their sealed forms may be there), and every file they created is 0600, every folder 0700.
 * Across a real restart the station checks a retyped Wi-Fi password against the batch's verifier.
 */
describe('secrets at rest and in logs', () => {
  const root = mkdtempSync(join(tmpdir(), 'secrets-at-rest-'));
  const dir = join(root, 'work'); // created by the programs themselves, so its mode is theirs
  const procs: RunningProcess[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    rmSync(root, { recursive: true, force: true });
  });
  const run = (args: string[]): RunningProcess => {
    const p = runUnbind(args);
    procs.push(p);
    return p;
  };

  const WIFI = { ssid: 'secret-lab', password: 'Wifi-Pass-Zq83!x' };
  const demoFile = join(dir, 'authority', 'demo.json');
  const stationData = join(dir, 'station');
  let token = '';
  let batchId = '';
  const printed: string[] = [];
  let stationArgs: string[] = [];

  it('given a QR batch used by real devices and a station restart, a mistyped Wi-Fi password is refused and the right one shows the codes', async () => {
    const authority = run(['authority', '--port', '0', '--db', join(dir, 'authority', 'authority.db'), '--demo', '--export-demo', demoFile, '--log-level', 'trace']);
    const authorityUrl = (await authority.waitFor(/listening on (http:\S+)/))[1]!;
    await authority.waitFor(/demo accounts, products and devices written/);
    stationArgs = ['start', '--port', '0', '--authority', authorityUrl, '--demo-export', demoFile, '--no-bench', '--no-lan', '--data', stationData, '--log-level', 'trace'];
    let station = run(stationArgs);
    let s = stationClient((await station.waitFor(/Unbind Station: (http:\S+)/))[1]!);

    expect((await s.call('POST', '/api/session', { demoAccountId: 'acc-owner', operator: 'Ana' })).status).toBe(200);
    const started = await s.call('POST', '/api/batches', { method: 'qr', pid: 'pqr1cam', wifi: WIFI, deviceCount: 5, ttlSeconds: 300 });
    expect(started.status).toBe(201);
    batchId = started.body.id;
    expect((await s.call('PUT', '/api/screen', { batchId, codeIndexes: [0] })).status).toBe(204);
    const screen = await s.call('GET', '/bench/screen');
    const decoded = decodeCameraImage(Buffer.from(screen.body.codes[0].png, 'base64'));
    if (!decoded.ok) throw new Error(decoded.detail);
    expect(decoded.payload.p).toBe(WIFI.password);
    token = decoded.payload.t;

    // Two of five cameras join with the token (the code stays open): it travels to the authority and is logged, if anywhere, now.
    const fleet = run(['fleet', '--devices', demoFile, '--pid', 'pqr1cam', '--count', '2', '--qr-source', `${s.base}/bench/screen?key=${s.key}`, '--poll-ms', '100', '--wifi', `${WIFI.ssid}:${WIFI.password}`]);
    await until(() => fleet.output.filter((l) => /unbinding→unbound/.test(l)).length === 2, 20_000, '2 cameras unbound');
    await fleet.kill('SIGTERM');
    await until(async () => (await s.call('GET', `/api/batches/${batchId}`)).body.results.length === 2, 10_000, 'two results at the station');

    await station.kill('SIGTERM');
    printed.push(...station.output);
    station = run(stationArgs);
    s = stationClient((await station.waitFor(/Unbind Station: (http:\S+)/))[1]!);
    expect((await s.call('POST', '/api/session', { demoAccountId: 'acc-owner', operator: 'Ana' })).status).toBe(200);
    expect((await s.call('GET', `/api/batches/${batchId}/codes/0.svg`)).body).toMatchObject({ code: 'CODES_LOCKED' });

    // A mistyped password (one character off) is refused, and the codes stay locked.
    const wrong = await s.call('POST', `/api/batches/${batchId}/unlock`, { wifi: { ssid: WIFI.ssid, password: 'Wifi-Pass-Zq83!X' } });
    expect(wrong.status).toBe(400);
    expect(wrong.body).toEqual({ code: 'WIFI_PASSWORD_MISMATCH', message: `that is not the Wi-Fi password batch ${batchId} was started with for ${WIFI.ssid}` });
    expect((await s.call('GET', `/api/batches/${batchId}/codes/0.svg`)).body).toMatchObject({ code: 'CODES_LOCKED' });
    expect((await s.call('POST', `/api/batches/${batchId}/unlock`, { wifi: { ssid: WIFI.ssid, password: '' } })).body.code).toBe('WIFI_PASSWORD_MISMATCH');

    const right = await s.call('POST', `/api/batches/${batchId}/unlock`, { wifi: WIFI });
    expect(right.status).toBe(200);
    const svg = await fetch(`${s.base}/api/batches/${batchId}/codes/0.svg`, { headers: { 'x-station-key': s.key } });
    expect(svg.status).toBe(200);
    expect(await svg.text()).toMatch(/^<svg|<\?xml/);
    // And the code it shows carries the password the devices need.
    expect((await s.call('PUT', '/api/screen', { batchId, codeIndexes: [0] })).status).toBe(204);
    const again = decodeCameraImage(Buffer.from((await s.call('GET', '/bench/screen')).body.codes[0].png, 'base64'));
    expect(again.ok && again.payload).toMatchObject({ s: WIFI.ssid, p: WIFI.password, t: token });

    await station.kill('SIGTERM');
    await authority.kill('SIGTERM');
    printed.push(...station.output, ...authority.output);
  }, 120_000);

  it('then no password, token, key or account secret is in any output or file (but sealed), and every file is 0600, every folder 0700', () => {
    expect(token).not.toBe('');
    const demo = JSON.parse(readFileSync(demoFile, 'utf8')) as { accounts: Array<{ secret: string }> };
    const keys = [readFileSync(join(stationData, 'station.key'), 'utf8').trim(), readFileSync(join(dir, 'authority', 'authority.db.key'), 'utf8').trim()];
    expect(keys.every((k) => /^[0-9a-f]{64}$/.test(k))).toBe(true);
    const secrets: Array<[string, string]> = [
      ['Wi-Fi password', WIFI.password],
      ['token', token],
      ...keys.map((k, i): [string, string] => [`key ${i}`, k]),
      ['key (base64)', Buffer.from(keys[0]!, 'hex').toString('base64')],
      ...demo.accounts.map((a, i): [string, string] => [`account secret ${i}`, a.secret]),
    ];

    const output = printed.join('\n');
    expect(output.length).toBeGreaterThan(1000); // trace level really printed
    for (const [what, value] of secrets) expect(output.includes(value), `${what} in the output`).toBe(false);

    const files: string[] = [];
    const walk = (d: string): void => {
      expect((lstatSync(d).mode & 0o777).toString(8), d).toBe('700');
      for (const e of readdirSync(d, { withFileTypes: true })) {
        const p = join(d, e.name);
        if (e.isDirectory()) walk(p);
        else files.push(p);
      }
    };
    walk(dir);
    expect(files.map((f) => f.slice(dir.length + 1)).sort()).toEqual(expect.arrayContaining(['station/batches.db', 'station/history.db', 'station/station.key', 'authority/authority.db', 'authority/authority.db.key', 'authority/demo.json']));
    for (const f of files) {
      expect((lstatSync(f).mode & 0o777).toString(8), f).toBe('600');
      const bytes = readFileSync(f);
      for (const [what, value] of secrets) {
        // A key lives in its own file, the demo export holds the accounts' secrets by design (0600).
        if (what.startsWith('key') && f.endsWith('.key')) continue;
        if (what.startsWith('account secret') && f === demoFile) continue;
        expect(bytes.includes(value), `${what} in ${f}`).toBe(false);
      }
    }
  });
});
