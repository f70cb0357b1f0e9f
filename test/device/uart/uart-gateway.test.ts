import { lstat } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startAuthority } from '../../../src/cloud/authority.js';
import { demoExportSchema, FaultSpecError, type DemoExport, type DeviceIdentity } from '../../../src/device/index.js';
import { startUartBench } from '../../../src/device/uart/index.js';
import { startUartGateway, type UartGatewayOptions } from '../../../src/device/uart/index.js';
import { startVirtualScanner } from '../../../src/device/uart/index.js';
import { openBarcodeScanner } from '../../../src/wired/serial-scanner.js';
import { type IssuedToken } from '../../../src/protocol/index.js';
import { createAuthorityClient } from '../../../src/batch/station-authority-client.js';
import { openUartDevice, type UartClientEvent, type UartDeviceClient } from '../../../src/wired/serial-uart-client.js';
import { deviceLogs, type Account } from '../../qr/support/station-client.js';
import { makePtyDir, openScriptedPeer, type PtyDir } from '../../support/pty-pair.js';

/**
 * The serial method end to end, every part real: the authority over HTTP, a token issued by a signed
 * station call (channel "serial"), a virtual UART gateway on a socat pty pair, and the station's
 * UART client on the other end of the cable.
 */
let dir: PtyDir;
let authority: Awaited<ReturnType<typeof startAuthority>>;
let demo: DemoExport;
const cleanups: Array<() => Promise<void>> = [];
const later = <T extends { close(): Promise<void> }>(thing: T): T => {
  cleanups.unshift(() => thing.close());
  return thing;
};

function account(role: string): Account {
  const a = demo.accounts.find((x) => x.role === role && x.region === 'EU');
  if (!a) throw new Error(`no ${role} account`);
  return a;
}

async function issueSerialToken(role = 'owner', capacity = 5): Promise<IssuedToken> {
  const a = account(role);
  return createAuthorityClient({ url: authority.url, clientId: a.clientId, secret: a.secret }).issueToken({ capacity, channel: 'serial' });
}

/** Bound gateways, handed out once each: tests never share a device. */
const handedOut = new Set<string>();
function takeGateways(n: number): DeviceIdentity[] {
  const picked = demo.devices.filter((d) => d.pid === 'pgw1uart' && d.bound && !handedOut.has(d.devId)).slice(0, n);
  if (picked.length < n) throw new Error(`only ${picked.length} bound gateways left`);
  for (const d of picked) handedOut.add(d.devId);
  return picked;
}

let seq = 0;
async function gatewayWithClient(over: Partial<UartGatewayOptions> = {}, timeouts = { infoMs: 500, ackMs: 500, resultMs: 8_000 }) {
  const identity = over.identity ?? takeGateways(1)[0]!;
  const gateway = later(await startUartGateway({ identity, regionUrls: { EU: authority.url }, ptyDir: dir.path, name: `gw-t${++seq}`, requestTimeoutMs: 5_000, ...over }));
  const events: UartClientEvent[] = [];
  const client: UartDeviceClient = later(await openUartDevice({ port: { path: gateway.stationPath }, timeouts, onEvent: (e) => events.push(e) }));
  return { identity, gateway, client, events };
}

const logsOf = (devId: string) => deviceLogs(authority.url, account('owner'), { devId });

beforeAll(async () => {
  dir = await makePtyDir('uart-gw-');
  authority = await startAuthority({ dbPath: join(dir.path, 'authority.db'), port: 0, host: '127.0.0.1', demo: true, logLevel: 'warn' });
  demo = demoExportSchema.parse(authority.exportDemo());
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
afterAll(async () => {
  await authority?.close();
  await dir?.remove();
});

describe('UART gateway unbind against the real authority', () => {
  it('given a reset gateway and its scanned label, then info() + unbind(token) over the pty end in +RESULT:UNBOUND, and the authority logs it', async () => {
    const { identity, gateway, client } = await gatewayWithClient();
    const info = await client.info();
    expect(info).toEqual({ ok: true, info: { devId: identity.devId, pid: 'pgw1uart', sn: identity.serial, fw: identity.firmware, rg: 'EU', st: 'waiting' } });
    const issued = await issueSerialToken();
    const outcome = await client.unbind(issued.token, { expectedSerial: identity.serial });
    expect(outcome).toMatchObject({ result: 'UNBOUND', code: null, tokenSent: true, states: ['unbinding', 'unbound'] });
    expect(gateway.status()).toMatchObject({ state: 'unbound', result: 'UNBOUND', light: { color: 'green', pattern: 'solid' } });
    expect(gateway.details().bound).toBe(false);
    const logs = await logsOf(identity.devId);
    expect(logs.map((l) => [l.result, l.reason, l.channel, l.tokenId, l.serial])).toEqual([['UNBOUND', null, 'serial', issued.id, identity.serial]]);
  });

  it('given a gateway already done, then a second token is refused NOT_WAITING; after a reset it unbinds again and the authority answers NOT_BOUND', async () => {
    const { identity, gateway, client, events } = await gatewayWithClient();
    const issued = await issueSerialToken();
    expect((await client.unbind(issued.token)).result).toBe('UNBOUND');
    expect(await client.unbind(issued.token)).toMatchObject({ result: 'FAILED', code: 'NOT_WAITING', tokenSent: true, states: [] });
    expect(await logsOf(identity.devId)).toHaveLength(1);

    gateway.reset();
    await expect.poll(() => events.some((e) => e.kind === 'line-ignored' && e.line === '+STATE:waiting')).toBe(true); // unsolicited, reported
    const again = await issueSerialToken();
    expect(await client.unbind(again.token, { expectedSerial: identity.serial })).toMatchObject({ result: 'NOT_BOUND', code: null, states: ['unbinding', 'unbound'] });
    expect((await logsOf(identity.devId)).map((l) => l.result)).toEqual(['NOT_BOUND', 'UNBOUND']); // newest first
  });

  it("given a label that belongs to another device, then SERIAL_MISMATCH before any token is sent: the gateway keeps waiting and the authority hears nothing", async () => {
    const [device, other] = takeGateways(2);
    const { gateway, client } = await gatewayWithClient({ identity: device! });
    const issued = await issueSerialToken();
    const outcome = await client.unbind(issued.token, { expectedSerial: other!.serial });
    expect(outcome).toMatchObject({ result: 'FAILED', code: 'SERIAL_MISMATCH', tokenSent: false, info: { sn: device!.serial } });
    expect(gateway.status()).toMatchObject({ state: 'waiting', lastCode: null });
    expect(gateway.details().history.filter((h) => h.kind === 'code' || h.kind === 'request')).toEqual([]);
    expect(await logsOf(device!.devId)).toEqual([]);
  });

  it('given a gateway that was never reset, then info() and unbind() end NOT_WAITING with no token sent; once reset it answers', async () => {
    const { identity, gateway, client } = await gatewayWithClient({ initialState: 'operating' });
    expect(await client.info()).toEqual({ ok: false, code: 'NOT_WAITING', detail: 'device answered ERROR:NOT_WAITING' });
    const issued = await issueSerialToken();
    expect(await client.unbind(issued.token, { expectedSerial: identity.serial })).toMatchObject({ result: 'FAILED', code: 'NOT_WAITING', tokenSent: false });
    expect(gateway.status()).toMatchObject({ state: 'operating', light: null });
    expect(await logsOf(identity.devId)).toEqual([]);
    gateway.reset();
    expect(await client.info()).toMatchObject({ ok: true, info: { st: 'waiting' } });
  });

  it('given a gateway whose UART answers nothing, then TIMEOUT after the step limit, not a hang, and no token is sent', async () => {
    const { identity, gateway, client } = await gatewayWithClient({ faults: { silent: true } });
    const issued = await issueSerialToken();
    const started = Date.now();
    expect(await client.unbind(issued.token, { expectedSerial: identity.serial })).toMatchObject({ result: 'FAILED', code: 'TIMEOUT', tokenSent: false, detail: 'no +INFO within 500 ms' });
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(gateway.details().history.some((h) => h.kind === 'rejected' && /silent/.test(h.detail))).toBe(true);
  });

  it('given a gateway that goes quiet after taking the token, then TIMEOUT with the token marked sent; the gateway still finishes at the authority', async () => {
    const { identity, gateway, client } = await gatewayWithClient({ faults: { latencyMs: 900 } }, { infoMs: 500, ackMs: 500, resultMs: 300 });
    const issued = await issueSerialToken();
    const outcome = await client.unbind(issued.token);
    expect(outcome).toMatchObject({ result: 'FAILED', code: 'TIMEOUT', tokenSent: true, states: ['unbinding'] });
    expect(outcome.detail).toMatch(/the device may still finish/);
    await gateway.idle();
    expect(gateway.status().state).toBe('unbound');
    expect((await logsOf(identity.devId)).map((l) => l.result)).toEqual(['UNBOUND']);
  });

  it('given a token of an account without rights, then +RESULT:FAILED,UNAUTHORIZED and the gateway keeps its binding', async () => {
    const { gateway, client } = await gatewayWithClient();
    const issued = await issueSerialToken('none');
    expect(await client.unbind(issued.token)).toMatchObject({ result: 'FAILED', code: 'UNAUTHORIZED', states: ['unbinding', 'failed'] });
    expect(gateway.status()).toMatchObject({ state: 'failed', lastCode: 'UNAUTHORIZED', light: { color: 'red', pattern: 'solid' } });
    expect(gateway.details().bound).toBe(true);
  });

  it('given malformed commands and a flood on the line, then the gateway answers what it can, ignores the rest and logs it', async () => {
    const identity = takeGateways(1)[0]!;
    const gateway = later(await startUartGateway({ identity, regionUrls: { EU: authority.url }, ptyDir: dir.path, name: 'gw-raw' }));
    const station = later(await openScriptedPeer(gateway.stationPath));
    await station.write('AT+FOO\r\nAT+UNBIND=not a token\r\n');
    await station.write(Buffer.alloc(5_000, 0x41));
    await station.write('\r\nAT+INFO?\r\n');
    await station.nextLine(/^\+INFO:/);
    expect(station.lines).toEqual(['ERROR:TOKEN_INVALID', expect.stringMatching(/^\+INFO:\{"devId":"/)]);
    const rejected = gateway.details().history.filter((h) => h.kind === 'rejected').map((h) => h.detail);
    expect(rejected).toEqual([expect.stringMatching(/unknown command: AT\+FOO/), expect.stringMatching(/AT\+UNBIND with bad token/), expect.stringMatching(/line of 5000 bytes dropped/)]);
    expect(gateway.status().state).toBe('waiting');
  });

  it('given close(), then socat is gone and both links are removed', async () => {
    const { gateway } = await gatewayWithClient();
    const { stationPath, devicePath } = gateway;
    await lstat(stationPath);
    await gateway.close();
    await expect(lstat(stationPath)).rejects.toThrow(/ENOENT/);
    await expect(lstat(devicePath)).rejects.toThrow(/ENOENT/);
  });
});

describe('serial method: scanned labels, then UART unbinds (DESIGN §3 "Serial")', () => {
  it('given a scan that misread one label, then that device fails SERIAL_MISMATCH with no token sent, and the others are unbound', async () => {
    const devices = takeGateways(3);
    const bench = later(await startUartBench({ devices, regionUrls: { EU: authority.url }, ptyDir: join(dir.path, 'serial-flow') }));
    const scanner = later(await startVirtualScanner({ labels: devices.map((d) => d.serial), wrong: { typo: 1 }, ptyDir: join(dir.path, 'serial-flow'), intervalMs: 5, autoStart: false }));
    const manifest: string[] = [];
    later(await openBarcodeScanner({ port: { path: scanner.stationPath }, onLabel: (l) => manifest.push(l) }));
    scanner.start();
    await scanner.done;
    await expect.poll(() => manifest.length).toBe(3);
    expect(manifest[1]).not.toBe(devices[1]!.serial);

    const issued = await issueSerialToken('owner', 3);
    const outcomes = [];
    for (const [i, gateway] of bench.gateways.entries()) {
      const client = later(await openUartDevice({ port: { path: gateway.stationPath } }));
      outcomes.push(await client.unbind(issued.token, { expectedSerial: manifest[i]! }));
    }
    expect(outcomes.map((o) => [o.result, o.code, o.tokenSent])).toEqual([
      ['UNBOUND', null, true],
      ['FAILED', 'SERIAL_MISMATCH', false],
      ['UNBOUND', null, true],
    ]);
    const logs = await deviceLogs(authority.url, account('owner'), { tokenId: issued.id });
    expect(logs.map((l) => l.devId).sort()).toEqual([devices[0]!.devId, devices[2]!.devId].sort());
  });
});

describe('UART bench (the fleet side)', () => {
  it('given three gateways with one never reset, then they sit on gw-1..gw-3 with their states, and close removes every link', async () => {
    const devices = takeGateways(3);
    const bench = await startUartBench({ devices, regionUrls: { EU: authority.url }, ptyDir: join(dir.path, 'bench'), faults: { selections: [{ kind: 'notreset', count: 1 }] } });
    try {
      expect(bench.gateways.map((g) => g.stationPath)).toEqual([1, 2, 3].map((n) => join(dir.path, 'bench', `gw-${n}-station`)));
      expect(bench.status().map((s) => [s.devId, s.state])).toEqual([
        [devices[0]!.devId, 'operating'],
        [devices[1]!.devId, 'waiting'],
        [devices[2]!.devId, 'waiting'],
      ]);
      expect(bench.resetDevice(devices[0]!.devId)).toBe(true);
      expect(bench.gateway(devices[0]!.devId)!.status().state).toBe('waiting');
    } finally {
      await bench.close();
    }
    for (const g of bench.gateways) await expect(lstat(g.stationPath)).rejects.toThrow(/ENOENT/);
  });

  it('given a fault the UART gateway does not model, then the bench refuses to start', async () => {
    await expect(startUartBench({ devices: takeGateways(1), regionUrls: { EU: authority.url }, ptyDir: dir.path, faults: { selections: [{ kind: 'powerloss', count: 1 }] } })).rejects.toThrow(FaultSpecError);
  });
});
