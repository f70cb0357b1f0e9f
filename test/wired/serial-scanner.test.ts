import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MAX_SERIAL_LINE } from '../../src/protocol/index.js';
import { startVirtualScanner } from '../../src/device/uart/index.js';
import type { SerialLinkEvent } from '../../src/wired/serial-link.js';
import { SerialOpenError } from '../../src/wired/serial-link.js';
import { SerialSettingsError } from '../../src/wired/serial-port-settings.js';
import { openBarcodeScanner, type ScanRejection } from '../../src/wired/serial-scanner.js';
import { eventually, makePtyDir, openScriptedPeer, startTestPair, type PtyDir } from '../support/pty-pair.js';

/** The station's barcode scanner port, read through real ptys (socat) from a virtual scanner or a scripted one. */
const LABELS = Array.from({ length: 8 }, (_, i) => `GW1-2024${String(i + 1).padStart(4, '0')}`);

let dir: PtyDir;
const cleanups: Array<() => Promise<void>> = [];
const later = <T extends { close(): Promise<void> }>(thing: T): T => {
  cleanups.unshift(() => thing.close());
  return thing;
};

function recorder() {
  const labels: string[] = [];
  const rejected: ScanRejection[] = [];
  const events: SerialLinkEvent[] = [];
  return {
    labels,
    rejected,
    events,
    handlers: { onLabel: (l: string) => labels.push(l), onRejected: (r: ScanRejection) => rejected.push(r), onStatus: (e: SerialLinkEvent) => events.push(e) },
  };
}

beforeAll(async () => {
  dir = await makePtyDir('scanner-');
});
afterEach(async () => {
  for (const c of cleanups.splice(0)) await c();
});
afterAll(async () => {
  await dir.remove();
});

describe('barcode scanner on a serial port', () => {
  it('given a scanner that misreads some labels, then good labels arrive in order and the unreadable lines are reported and skipped', async () => {
    const virtual = later(await startVirtualScanner({ labels: LABELS, wrong: { typo: 1, garbled: 2, other: 1 }, ptyDir: dir.path, intervalMs: 5, autoStart: false }));
    const r = recorder();
    const scanner = later(await openBarcodeScanner({ port: { path: virtual.stationPath }, ...r.handlers }));
    virtual.start();
    await virtual.done;
    const readable = virtual.plan.filter((p) => p.kind !== 'garbled').map((p) => p.line);
    await eventually(() => r.labels.length === readable.length && r.rejected.length === 2, 'every scan to be read');

    expect(virtual.sent).toEqual(virtual.plan.map((p) => p.line));
    expect(r.labels).toEqual(readable);
    // A typo or a swapped label is a well-formed serial: the scanner passes it on, the batch's manifest check catches it.
    expect(virtual.plan.filter((p) => p.kind === 'typo' || p.kind === 'other').every((p) => r.labels.includes(p.line) && p.line !== p.of)).toBe(true);
    expect(r.rejected.map((x) => [x.reason, x.line])).toEqual(virtual.plan.filter((p) => p.kind === 'garbled').map((p) => ['not-a-label', p.line]));
    expect(r.rejected[0]!.detail).toMatch(/not a serial label/);
    expect(scanner.stats()).toMatchObject({ labels: readable.length, rejected: 2 });
    expect(r.events[0]).toMatchObject({ kind: 'open', framing: '115200 8N1', reconnected: false });
  });

  it('given CR, LF and CRLF endings and a label split across writes, then each label arrives once', async () => {
    const pair = later(await startTestPair(dir.path, 'endings'));
    const peer = later(await openScriptedPeer(pair.devicePath));
    const r = recorder();
    later(await openBarcodeScanner({ port: { path: pair.stationPath }, ...r.handlers }));
    await peer.write('GW1-20240001\rGW1-20240002\nGW1-2024');
    await new Promise((res) => setTimeout(res, 30));
    await peer.write('0003\r\n\r\n  GW1-20240004  \r\n');
    await eventually(() => r.labels.length === 4, 'four labels');
    expect(r.labels).toEqual(['GW1-20240001', 'GW1-20240002', 'GW1-20240003', 'GW1-20240004']);
    expect(r.rejected).toEqual([]);
  });

  it('given a flood of 1 MB without a line end, then it is dropped and reported once, memory stays bounded, and the next label arrives', async () => {
    const pair = later(await startTestPair(dir.path, 'flood'));
    const peer = later(await openScriptedPeer(pair.devicePath));
    const r = recorder();
    const scanner = later(await openBarcodeScanner({ port: { path: pair.stationPath }, ...r.handlers }));
    let most = 0;
    const watch = setInterval(() => (most = Math.max(most, scanner.stats().bufferedBytes)), 1);
    const chunk = Buffer.alloc(16 * 1024, 0x37);
    try {
      for (let i = 0; i < 64; i++) await peer.write(chunk);
      await peer.write('\r\nGW1-20240007\r\n');
      await eventually(() => r.labels.length === 1, 'the label after the flood', 10_000);
    } finally {
      clearInterval(watch);
    }
    expect(r.labels).toEqual(['GW1-20240007']);
    expect(r.rejected).toHaveLength(1);
    expect(r.rejected[0]).toMatchObject({ reason: 'too-long', line: '7'.repeat(40), detail: `line of ${64 * chunk.length} bytes dropped: longer than ${MAX_SERIAL_LINE} bytes` });
    expect(most).toBeLessThanOrEqual(MAX_SERIAL_LINE);
  });

  it('given the scanner vanishes mid-stream, then the loss is reported, reopening is retried with backoff, and a new scanner on the same path is read', async () => {
    const first = await startVirtualScanner({ labels: LABELS, ptyDir: dir.path, name: 'replug', intervalMs: 20, autoStart: false });
    const r = recorder();
    const scanner = later(await openBarcodeScanner({ port: { path: first.stationPath }, ...r.handlers, reconnect: { initialDelayMs: 20, maxDelayMs: 80 } }));
    first.start();
    await eventually(() => r.labels.length >= 2, 'the first labels');
    await first.close(); // socat killed, links removed: the USB cable pulled mid-stream
    await eventually(() => r.events.some((e) => e.kind === 'reconnect-failed'), 'a failed reconnect attempt');
    expect(scanner.state).toBe('reconnecting');
    const lost = r.events.find((e) => e.kind === 'lost');
    expect(lost).toMatchObject({ kind: 'lost', path: first.stationPath });
    expect(r.events.find((e) => e.kind === 'reconnect-failed')).toMatchObject({ attempt: 1, detail: expect.stringMatching(/no such port/) });
    expect(r.labels.length).toBeLessThan(LABELS.length);
    expect(r.labels).toEqual(LABELS.slice(0, r.labels.length));

    const second = later(await startVirtualScanner({ labels: ['GW1-20249999'], ptyDir: dir.path, name: 'replug', intervalMs: 5, autoStart: false }));
    await eventually(() => scanner.state === 'open', 'the scanner to be reopened');
    second.start();
    await eventually(() => r.labels.at(-1) === 'GW1-20249999', 'the label from the replugged scanner');
    expect(r.events.filter((e) => e.kind === 'open').map((e) => e.kind === 'open' && e.reconnected)).toEqual([false, true]);
    await scanner.close();
    expect(r.events.at(-1)).toEqual({ kind: 'closed', path: first.stationPath });
    expect(scanner.state).toBe('closed');
  });

  it('given a reconnect policy of two attempts, when the port stays gone, then the scanner gives up and says so', async () => {
    const pair = await startTestPair(dir.path, 'giveup');
    const r = recorder();
    const scanner = later(await openBarcodeScanner({ port: { path: pair.stationPath }, ...r.handlers, reconnect: { initialDelayMs: 10, maxDelayMs: 20, maxAttempts: 2 } }));
    await pair.close();
    await eventually(() => scanner.state === 'gave-up', 'the scanner to give up');
    expect(r.events.map((e) => e.kind)).toEqual(['open', 'lost', 'reconnect-failed', 'reconnect-failed', 'gave-up']);
    expect(r.events.filter((e) => e.kind === 'reconnect-failed').map((e) => e.kind === 'reconnect-failed' && e.nextDelayMs)).toEqual([20, null]);
  });

  it('given a path that is no port, or a bad setting, then opening fails with a reason the operator can act on', async () => {
    const noop = () => undefined;
    await expect(openBarcodeScanner({ port: { path: `${dir.path}/nothing-here` }, onLabel: noop })).rejects.toThrow(SerialOpenError);
    await expect(openBarcodeScanner({ port: { path: `${dir.path}/nothing-here` }, onLabel: noop })).rejects.toThrow(/no such port/);
    await expect(openBarcodeScanner({ port: { path: '/dev/null', baudRate: 0 }, onLabel: noop })).rejects.toThrow(SerialSettingsError);
    await expect(openBarcodeScanner({ port: { path: '/dev/null', parity: 'weird' as 'none' }, onLabel: noop })).rejects.toThrow(/parity/);
  });

  it('given two programs, when the second opens a scanner the first holds, then it is refused as in use', async () => {
    const pair = later(await startTestPair(dir.path, 'locked'));
    const noop = () => undefined;
    later(await openBarcodeScanner({ port: { path: pair.stationPath }, onLabel: noop }));
    await expect(openBarcodeScanner({ port: { path: pair.stationPath }, onLabel: noop })).rejects.toThrow(/in use by another program/);
  });
});
