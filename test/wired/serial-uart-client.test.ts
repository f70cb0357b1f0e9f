import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { formatDeviceLine, MAX_SERIAL_LINE, type DeviceInfo } from '../../src/protocol/index.js';
import { openUartDevice, type UartClientEvent, type UartClientOptions, type UartDeviceClient } from '../../src/wired/serial-uart-client.js';
import { eventually, makePtyDir, openScriptedPeer, startTestPair, type PtyDir, type ScriptedPeer } from '../support/pty-pair.js';
import type { PtyPair } from '../../src/device/uart/index.js';

/**
 * The station's UART client against a scripted device on a real pty pair: the device's answers are
 * written by hand, so every odd case (silence, garbage, a lost cable) is exact.
 */
const TOKEN = 'EUab12cd34XYZ789';
const INFO: DeviceInfo = { devId: 'gw-dev-0001', pid: 'pgw1uart', sn: 'GW1-20240001', fw: '1.8.0', rg: 'EU', st: 'waiting' };
const line = (l: Parameters<typeof formatDeviceLine>[0]): string => formatDeviceLine(l).trimEnd();

let dir: PtyDir;
let seq = 0;
const cleanups: Array<() => Promise<void>> = [];

interface Bench {
  pair: PtyPair;
  peer: ScriptedPeer;
  client: UartDeviceClient;
  events: UartClientEvent[];
}

async function bench(over: Partial<UartClientOptions> = {}): Promise<Bench> {
  const pair = await startTestPair(dir.path, `uart-${++seq}`);
  cleanups.unshift(() => pair.close());
  const peer = await openScriptedPeer(pair.devicePath);
  cleanups.unshift(() => peer.close());
  const events: UartClientEvent[] = [];
  const client = await openUartDevice({ port: { path: pair.stationPath }, timeouts: { infoMs: 300, ackMs: 300, resultMs: 600 }, onEvent: (e) => events.push(e), ...over });
  cleanups.unshift(() => client.close());
  return { pair, peer, client, events };
}

const ignored = (events: UartClientEvent[]) => events.flatMap((e) => (e.kind === 'line-ignored' ? [[e.reason, e.line]] : []));

beforeAll(async () => {
  dir = await makePtyDir('uart-client-');
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
afterAll(async () => {
  await dir.remove();
});

describe('UART device client (DESIGN §4.6, station side)', () => {
  it('given a device that talks noise around its answer, then info() returns the validated identity and the noise is reported', async () => {
    const { peer, client, events } = await bench();
    await peer.write('boot: gw fw 1.8.0\r\n'); // before any command: unsolicited
    peer.answer((l) => (l === 'AT+INFO?' ? ['+FOO:bar', '+INFO:{"devId":"x"}', line({ kind: 'info', info: INFO })] : null));
    await new Promise((r) => setTimeout(r, 50));
    expect(await client.info()).toEqual({ ok: true, info: INFO });
    expect(ignored(events)).toEqual([
      ['garbage', 'boot: gw fw 1.8.0'],
      ['garbage', '+FOO:bar'],
      ['garbage', '+INFO:{"devId":"x"}'],
    ]);
    expect(events.find((e) => e.kind === 'sent')).toMatchObject({ command: 'AT+INFO?' });
  });

  it('given a device that answers everything, then unbind() reports each +STATE and ends on +RESULT', async () => {
    const { peer, client } = await bench();
    peer.answer((l) => (l === 'AT+INFO?' ? line({ kind: 'info', info: INFO }) : l.startsWith('AT+UNBIND=') ? ['OK', '+STATE:unbinding', '+STATE:unbound', '+RESULT:UNBOUND'] : null));
    const seen: string[] = [];
    const outcome = await client.unbind(TOKEN, { expectedSerial: INFO.sn, onState: (s) => seen.push(s) });
    expect(outcome).toEqual({ result: 'UNBOUND', code: null, detail: 'device reported UNBOUND', info: INFO, tokenSent: true, states: ['unbinding', 'unbound'] });
    expect(seen).toEqual(['unbinding', 'unbound']);
    expect(peer.lines).toEqual(['AT+INFO?', `AT+UNBIND=${TOKEN}`]);
  });

  it('given the scanned label differs from the serial the device reports, then SERIAL_MISMATCH and the token never goes on the line', async () => {
    const { peer, client } = await bench();
    peer.answer((l) => (l === 'AT+INFO?' ? line({ kind: 'info', info: INFO }) : null));
    const outcome = await client.unbind(TOKEN, { expectedSerial: 'GW1-20240002' });
    expect(outcome).toMatchObject({ result: 'FAILED', code: 'SERIAL_MISMATCH', tokenSent: false, info: INFO });
    expect(outcome.detail).toBe('the device reports serial GW1-20240001, its label says GW1-20240002: no token sent');
    // Commands go one at a time, in order: a token sent would be on the line before the next command.
    expect(await client.info()).toEqual({ ok: true, info: INFO });
    expect(peer.lines).toEqual(['AT+INFO?', 'AT+INFO?']);
  });

  it('given a device that refuses the token, then its code is the outcome (NOT_WAITING) and FAILED,<code> results are read too', async () => {
    const { peer, client } = await bench();
    let answer = ['ERROR:NOT_WAITING'];
    peer.answer((l) => (l === 'AT+INFO?' ? line({ kind: 'info', info: { ...INFO, st: 'unbound' } }) : l.startsWith('AT+UNBIND=') ? answer : null));
    expect(await client.unbind(TOKEN)).toMatchObject({ result: 'FAILED', code: 'NOT_WAITING', tokenSent: true, detail: 'device refused the token: ERROR:NOT_WAITING' });
    answer = ['OK', '+STATE:unbinding', '+STATE:failed', '+RESULT:FAILED,TOKEN_EXPIRED'];
    expect(await client.unbind(TOKEN)).toMatchObject({ result: 'FAILED', code: 'TOKEN_EXPIRED', states: ['unbinding', 'failed'] });
    answer = ['OK', '+RESULT:NOT_BOUND'];
    expect(await client.unbind(TOKEN)).toMatchObject({ result: 'NOT_BOUND', code: null, states: [] });
  });

  it('given a device that never answers, then info() and unbind() end in TIMEOUT after their step limit, not a hang', async () => {
    const { client } = await bench();
    const started = Date.now();
    expect(await client.info()).toEqual({ ok: false, code: 'TIMEOUT', detail: 'no +INFO within 300 ms' });
    expect(await client.unbind(TOKEN)).toMatchObject({ result: 'FAILED', code: 'TIMEOUT', tokenSent: false, info: null });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('given a device that stops answering after taking the token, then TIMEOUT at the result deadline, with the token marked as sent', async () => {
    const { peer, client } = await bench();
    peer.answer((l) => (l === 'AT+INFO?' ? line({ kind: 'info', info: INFO }) : l.startsWith('AT+UNBIND=') ? ['OK', '+STATE:unbinding'] : null));
    const started = Date.now();
    const outcome = await client.unbind(TOKEN);
    expect(Date.now() - started).toBeGreaterThanOrEqual(550);
    expect(outcome).toMatchObject({ result: 'FAILED', code: 'TIMEOUT', tokenSent: true, states: ['unbinding'] });
    expect(outcome.detail).toBe("no +RESULT within 600 ms of OK (last state: unbinding); the device may still finish: check the token's results");
  });

  it('given the cable is pulled while a result is awaited, then the step fails at once and the loss is reported', async () => {
    const { pair, peer, client, events } = await bench({ timeouts: { infoMs: 300, ackMs: 300, resultMs: 20_000 } });
    peer.answer((l) => (l === 'AT+INFO?' ? line({ kind: 'info', info: INFO }) : l.startsWith('AT+UNBIND=') ? ['OK', '+STATE:unbinding'] : null));
    const pending = client.unbind(TOKEN);
    // The cable goes while the result is awaited: once the client read the device's state after OK, not after a fixed time.
    await eventually(() => events.some((e) => e.kind === 'state'), 'the client to read +STATE after OK');
    const started = Date.now();
    await peer.close();
    await pair.close();
    const outcome = await pending;
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(outcome).toMatchObject({ result: 'FAILED', code: 'TIMEOUT', tokenSent: true });
    expect(outcome.detail).toMatch(/^port lost: /);
    expect(events.some((e) => e.kind === 'port' && e.event.kind === 'lost')).toBe(true);
    expect(client.state).toBe('reconnecting');
    expect(await client.info()).toMatchObject({ ok: false, code: 'TIMEOUT', detail: expect.stringMatching(/^port not open: .*no such port/) });
  });

  it('given three calls at once, then the commands go one at a time: each only after the previous one was answered', async () => {
    const { peer, client } = await bench({ timeouts: { infoMs: 1_000, ackMs: 1_000, resultMs: 1_000 } });
    const order: string[] = [];
    peer.answer((l) => {
      order.push(`got ${l.split('=')[0]}`);
      const reply = l === 'AT+INFO?' ? [line({ kind: 'info', info: INFO })] : ['OK', '+RESULT:UNBOUND'];
      setTimeout(() => {
        order.push('answered');
        for (const r of reply) void peer.write(`${r}\r\n`);
      }, 40);
      return null;
    });
    const [a, b, c] = await Promise.all([client.info(), client.unbind(TOKEN), client.info()]);
    expect([a.ok, b.result, c.ok]).toEqual([true, 'UNBOUND', true]);
    expect(order).toEqual(['got AT+INFO?', 'answered', 'got AT+INFO?', 'answered', 'got AT+UNBIND', 'answered', 'got AT+INFO?', 'answered']);
  });

  it('given an overlong line from the device, then it is dropped and reported, and the answer after it is read', async () => {
    const { peer, client, events } = await bench();
    peer.answer((l) => (l === 'AT+INFO?' ? ['Z'.repeat(MAX_SERIAL_LINE * 50), line({ kind: 'info', info: INFO })] : null));
    expect(await client.info()).toEqual({ ok: true, info: INFO });
    expect(ignored(events)).toEqual([['too-long', 'Z'.repeat(40)]]);
  });

  it('given a token that is not one, then nothing is sent (TOKEN_INVALID); given close(), then queued calls end at once', async () => {
    const { peer, client } = await bench({ timeouts: { infoMs: 5_000, ackMs: 5_000, resultMs: 5_000 } });
    expect(await client.unbind('not a token')).toMatchObject({ result: 'FAILED', code: 'TOKEN_INVALID', tokenSent: false });
    const first = client.info();
    const second = client.unbind(TOKEN);
    await peer.nextLine(/^AT\+INFO\?$/);
    const started = Date.now();
    await client.close();
    expect(await first).toEqual({ ok: false, code: 'TIMEOUT', detail: 'client closed' });
    expect(await second).toMatchObject({ result: 'FAILED', code: 'TIMEOUT', detail: 'client closed', tokenSent: false });
    expect(Date.now() - started).toBeLessThan(1_000);
  });
});
