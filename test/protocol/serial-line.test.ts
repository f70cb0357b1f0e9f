import { describe, expect, it } from 'vitest';
import { DEVICE_STATES } from '../../src/protocol/device-states.js';
import type { DeviceInfo } from '../../src/protocol/device-messages.js';
import { FAILURE_CODES, UNBIND_RESULTS } from '../../src/protocol/failure-codes.js';
import {
  formatDeviceLine,
  formatStationLine,
  MAX_SERIAL_LINE,
  parseDeviceLine,
  parseScannedLabel,
  parseStationLine,
  SERIAL_BAUD_RATE,
  SERIAL_EOL,
  type DeviceLine,
} from '../../src/protocol/serial-line.js';

const info: DeviceInfo = {
  devId: 'cam-000123',
  pid: 'ipc-dome-2mp',
  sn: 'DS-2CD2320D-I20180919AACHC52932642',
  fw: '5.5.6',
  rg: 'EU',
  st: 'waiting',
  model: 'DS-2CD2320D-I',
};

describe('serial line (DESIGN §4.6)', () => {
  it('given the line settings, then they are 115200 baud and CRLF', () => {
    expect(SERIAL_BAUD_RATE).toBe(115200);
    expect(SERIAL_EOL).toBe('\r\n');
  });

  describe('station → device', () => {
    it('given an info query, when formatted, then it is AT+INFO?\\r\\n and parses back', () => {
      const line = formatStationLine({ kind: 'info-query' });
      expect(line).toBe('AT+INFO?\r\n');
      expect(parseStationLine(line)).toEqual({ ok: true, value: { kind: 'info-query' } });
    });

    it('given an unbind with a token, when formatted, then it is AT+UNBIND=<token>\\r\\n and parses back (with or without the EOL)', () => {
      const line = formatStationLine({ kind: 'unbind', token: 'EUabcdefgh123456' });
      expect(line).toBe('AT+UNBIND=EUabcdefgh123456\r\n');
      expect(parseStationLine(line)).toEqual({ ok: true, value: { kind: 'unbind', token: 'EUabcdefgh123456' } });
      expect(parseStationLine('AT+UNBIND=EUabcdefgh123456')).toEqual({ ok: true, value: { kind: 'unbind', token: 'EUabcdefgh123456' } });
    });

    it('given a malformed token, when formatting, then it throws rather than send it', () => {
      expect(() => formatStationLine({ kind: 'unbind', token: 'bad token' })).toThrow();
    });

    it('given malformed station lines, then each is refused with a reason', () => {
      expect(parseStationLine('AT+UNBIND=eu')).toEqual({ ok: false, error: 'bad token: token too short' });
      expect(parseStationLine('AT+REBOOT')).toEqual({ ok: false, error: 'unknown command: AT+REBOOT' });
      expect(parseStationLine('at+info?')).toMatchObject({ ok: false });
      expect(parseStationLine(`AT+UNBIND=EU${'a'.repeat(MAX_SERIAL_LINE)}`)).toEqual({ ok: false, error: 'line too long' });
    });
  });

  describe('device → station', () => {
    const lines: Array<[DeviceLine, string]> = [
      [{ kind: 'info', info }, `+INFO:${JSON.stringify(info)}\r\n`],
      [{ kind: 'ok' }, 'OK\r\n'],
      ...FAILURE_CODES.map((code): [DeviceLine, string] => [{ kind: 'error', code }, `ERROR:${code}\r\n`]),
      ...DEVICE_STATES.map((state): [DeviceLine, string] => [{ kind: 'state', state }, `+STATE:${state}\r\n`]),
      ...UNBIND_RESULTS.map((result): [DeviceLine, string] => [{ kind: 'result', result }, `+RESULT:${result}\r\n`]),
      [{ kind: 'result', result: 'FAILED', code: 'QUOTA_ACCOUNT' }, '+RESULT:FAILED,QUOTA_ACCOUNT\r\n'],
      [{ kind: 'result', result: 'FAILED', code: 'NOT_WAITING' }, '+RESULT:FAILED,NOT_WAITING\r\n'],
    ];

    it.each(lines.map(([l, wire]) => ({ l, wire, name: wire.trimEnd() })))(
      'given $name, when formatted and parsed, then the same line comes back',
      ({ l, wire }) => {
        expect(formatDeviceLine(l)).toBe(wire);
        expect(parseDeviceLine(wire)).toEqual({ ok: true, value: l });
        expect(parseDeviceLine(wire.slice(0, -2))).toEqual({ ok: true, value: l });
      },
    );

    it('given an +INFO without the optional model, then it round-trips', () => {
      const { model: _model, ...bare } = info;
      expect(parseDeviceLine(formatDeviceLine({ kind: 'info', info: bare }))).toEqual({ ok: true, value: { kind: 'info', info: bare } });
    });

    describe('when a device sends a malformed line, then it is refused with a reason', () => {
      it('given an unknown error code', () => {
        expect(parseDeviceLine('ERROR:ON_FIRE\r\n')).toEqual({ ok: false, error: 'unknown error code: ON_FIRE' });
        expect(parseDeviceLine('ERROR:')).toEqual({ ok: false, error: 'unknown error code: ' });
      });
      it('given an unknown state', () => {
        expect(parseDeviceLine('+STATE:sleeping')).toEqual({ ok: false, error: 'unknown state: sleeping' });
      });
      it('given bad JSON in +INFO', () => {
        expect(parseDeviceLine('+INFO:{"devId":"cam-1",')).toEqual({ ok: false, error: '+INFO is not JSON' });
      });
      it('given +INFO JSON that misses a field or has a bad one', () => {
        const { sn: _sn, ...noSerial } = info;
        expect(parseDeviceLine(`+INFO:${JSON.stringify(noSerial)}`)).toMatchObject({ ok: false, error: expect.stringMatching(/^\+INFO sn: /) });
        expect(parseDeviceLine(`+INFO:${JSON.stringify({ ...info, st: 'asleep' })}`)).toMatchObject({ ok: false, error: expect.stringMatching(/^\+INFO st: /) });
        expect(parseDeviceLine('+INFO:null')).toMatchObject({ ok: false });
      });
      it('given a bad result line (unknown result, unknown code, extra field, empty code)', () => {
        expect(parseDeviceLine('+RESULT:MAYBE')).toEqual({ ok: false, error: 'bad result line: +RESULT:MAYBE' });
        expect(parseDeviceLine('+RESULT:FAILED,ON_FIRE')).toEqual({ ok: false, error: 'unknown result code: ON_FIRE' });
        expect(parseDeviceLine('+RESULT:FAILED,TIMEOUT,EXTRA')).toMatchObject({ ok: false, error: expect.stringMatching(/^bad result line/) });
        expect(parseDeviceLine('+RESULT:FAILED,')).toMatchObject({ ok: false });
      });
      it(`given an overlong line (over ${MAX_SERIAL_LINE} characters)`, () => {
        expect(parseDeviceLine(`+INFO:${'x'.repeat(MAX_SERIAL_LINE)}`)).toEqual({ ok: false, error: 'line too long' });
        expect(parseDeviceLine('OK'.padEnd(MAX_SERIAL_LINE + 1, ' '))).toEqual({ ok: false, error: 'line too long' });
      });
      it('given garbage bytes (line noise, a wrong baud rate)', () => {
        expect(parseDeviceLine('\u0000\u00ff\ufffd\u001b[2J')).toMatchObject({ ok: false, error: expect.stringMatching(/^unknown line: /) });
        expect(parseDeviceLine('')).toEqual({ ok: false, error: 'unknown line: ' });
        expect(parseDeviceLine('ok')).toMatchObject({ ok: false });
      });
    });

    it('given 3,000 random lines (random bytes as latin1, and mutated valid lines), when parsed, then nothing throws', () => {
      const valid = lines.map(([, w]) => w);
      for (let i = 0; i < 3000; i++) {
        let line: string;
        if (i % 2 === 0) {
          const bytes = new Uint8Array(Math.floor(Math.random() * 1200));
          globalThis.crypto.getRandomValues(bytes);
          line = Buffer.from(bytes).toString('latin1');
        } else {
          const chars = [...valid[i % valid.length]!];
          chars[Math.floor(Math.random() * chars.length)] = String.fromCharCode(Math.floor(Math.random() * 0x3000));
          line = chars.join('');
        }
        let r: ReturnType<typeof parseDeviceLine> | undefined;
        expect(() => {
          r = parseDeviceLine(line);
          parseStationLine(line);
          parseScannedLabel(line);
        }).not.toThrow();
        if (!r!.ok) expect(r!.error.length).toBeGreaterThan(0);
      }
    });
  });

  describe('barcode scanner labels', () => {
    it('given a scanned serial label with CRLF and stray spaces, then the serial comes back trimmed', () => {
      expect(parseScannedLabel('DS-2CD2320D-I20180919AACHC52932642\r\n')).toEqual({ ok: true, value: 'DS-2CD2320D-I20180919AACHC52932642' });
      expect(parseScannedLabel('  SN/2024.A_0001 \n')).toEqual({ ok: true, value: 'SN/2024.A_0001' });
    });
    it('given a label too short, too long, empty or with characters no label has, then it is refused', () => {
      for (const bad of ['AB1', 'X'.repeat(65), '', '\r\n', 'SN 1234 5678', 'SN#12345', 'SN\u00e91234']) {
        expect(parseScannedLabel(bad), JSON.stringify(bad)).toMatchObject({ ok: false, error: expect.stringMatching(/^not a serial label: /) });
      }
    });
  });
});
