import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import {
  DEVICE_STATES,
  deviceInfoSchema,
  FAILURE_CODES,
  formatDeviceLine,
  formatStationLine,
  MAX_SERIAL_LINE,
  parseDeviceLine,
  parseScannedLabel,
  parseStationLine,
  UNBIND_RESULTS,
  type DeviceInfo,
  type DeviceLine,
  type StationLine,
} from '../../src/protocol/index.js';
import { LineSplitter, type LineOverflow } from '../../src/protocol/line-splitter.js';

/**
 * The serial line (DESIGN §4.6) as properties: every line either end may send, formatted, cut into
 * chunks anywhere (mid-CRLF, mid-UTF-8 character) and split again, parses back to what was sent;
 * however a byte stream is chunked, the splitter gives the same lines and overflows as a reference
 * split of the whole stream; an over-long line is refused, and never holds more than the line
 * limit in memory; any line at all is parsed or refused, never thrown on.
 */
const RUNS = 10_000;
// node:assert in the properties: vitest's matchers cost more per case than the codec itself.
const utf8 = new TextEncoder();
const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const chars = (alphabet: string, minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...alphabet), minLength, maxLength });

/** What the splitter emits, in order. */
type Event = { line: string } | { overflow: LineOverflow };

/** Pushes `bytes` in chunks cut at `cuts` (any positions), returning the events and the most bytes ever held. */
function split(bytes: Uint8Array, cuts: number[], maxLineBytes = MAX_SERIAL_LINE): { events: Event[]; held: number } {
  const events: Event[] = [];
  const s = new LineSplitter((line) => events.push({ line }), (overflow) => events.push({ overflow }), maxLineBytes);
  let held = 0;
  let at = 0;
  for (const cut of [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b).concat(bytes.length)) {
    s.push(bytes.subarray(at, cut));
    held = Math.max(held, s.bufferedBytes);
    at = cut;
  }
  return { events, held };
}

/** The reference: the whole stream cut at CRLF, CR or LF, blank lines skipped, long lines reported (not the splitter's code). */
function referenceSplit(bytes: Uint8Array, maxLineBytes: number): Event[] {
  const out: Event[] = [];
  const decoder = new TextDecoder();
  let start = 0;
  for (let i = 0; i <= bytes.length; i++) {
    if (i < bytes.length && bytes[i] !== 0x0d && bytes[i] !== 0x0a) continue;
    if (i === bytes.length) break; // the unterminated tail is still waiting for its end
    const segment = bytes.subarray(start, i);
    if (segment.length > maxLineBytes) out.push({ overflow: { droppedBytes: segment.length, head: decoder.decode(segment.subarray(0, Math.min(maxLineBytes, 40))) } });
    else if (segment.length > 0) out.push({ line: decoder.decode(segment) });
    if (bytes[i] === 0x0d && bytes[i + 1] === 0x0a) i++;
    start = i + 1;
  }
  return out;
}

const deviceInfo: fc.Arbitrary<DeviceInfo> = fc
  .record(
    {
      devId: chars(URL_SAFE, 4, 64),
      pid: chars(URL_SAFE, 3, 32),
      sn: chars(`${URL_SAFE}./`, 4, 64),
      fw: fc.array(fc.stringMatching(/^\d{1,9}$/), { minLength: 1, maxLength: 4 }).map((p) => p.join('.')),
      rg: chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 2, 2),
      st: fc.constantFrom(...DEVICE_STATES),
      // Any text a model may hold, control characters, CR/LF and lone surrogates included: JSON escapes them.
      model: fc.oneof(fc.string({ maxLength: 64 }), fc.string({ unit: 'binary', maxLength: 64 }), fc.string({ unit: 'grapheme', maxLength: 16 }).filter((m) => m.length <= 64)),
    },
    { requiredKeys: ['devId', 'pid', 'sn', 'fw', 'rg', 'st'], noNullPrototype: true },
  );
const code = fc.constantFrom(...FAILURE_CODES);
const deviceLine: fc.Arbitrary<DeviceLine> = fc.oneof(
  deviceInfo.map((info): DeviceLine => ({ kind: 'info', info })),
  fc.constant<DeviceLine>({ kind: 'ok' }),
  code.map((c): DeviceLine => ({ kind: 'error', code: c })),
  fc.constantFrom(...DEVICE_STATES).map((state): DeviceLine => ({ kind: 'state', state })),
  fc.tuple(fc.constantFrom(...UNBIND_RESULTS), fc.option(code, { nil: undefined })).map(([result, c]): DeviceLine => (c ? { kind: 'result', result, code: c } : { kind: 'result', result })),
);
const token = fc.tuple(chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 2, 2), chars(URL_SAFE, 12, 72)).map(([r, rest]) => r + rest);
const stationLine: fc.Arbitrary<StationLine> = fc.oneof(fc.constant<StationLine>({ kind: 'info-query' }), token.map((t): StationLine => ({ kind: 'unbind', token: t })));
const cuts = fc.array(fc.nat(), { maxLength: 12 });

describe('serial line as properties (DESIGN §4.6)', () => {
  it('given any lines a device sends, formatted and cut into chunks anywhere, then the station splits and parses back exactly those lines', () => {
    fc.assert(
      fc.property(fc.array(deviceLine, { minLength: 1, maxLength: 6 }), cuts, (lines, at) => {
        const { events } = split(utf8.encode(lines.map(formatDeviceLine).join('')), at);
        assert.deepStrictEqual(events.map((e) => ('line' in e ? parseDeviceLine(e.line) : e)), lines.map((value) => ({ ok: true, value })));
      }),
      { numRuns: RUNS },
    );
  });

  it('given any device info the contract accepts, its fields up to their longest, then its +INFO line fits the line limit and reads back', () => {
    // Every field at any length its schema allows: the encoder must not write what the station's splitter refuses.
    const longInfo = fc.record(
      {
        devId: chars(URL_SAFE, 4, 64),
        pid: chars(URL_SAFE, 3, 32),
        sn: chars(`${URL_SAFE}./`, 4, 64),
        fw: fc.array(fc.oneof(fc.constant('999999999'), fc.stringMatching(/^\d{1,9}$/)), { minLength: 1, maxLength: 4 }).map((p) => p.join('.')),
        rg: chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 2, 2),
        st: fc.constantFrom(...DEVICE_STATES),
        model: fc.oneof(fc.string({ unit: 'binary', minLength: 64, maxLength: 64 }), fc.constant('\u0000'.repeat(64)), fc.constant('\uD800'.repeat(64))),
      },
      { noNullPrototype: true },
    );
    fc.assert(
      fc.property(longInfo, (info) => {
        assert.ok(deviceInfoSchema.safeParse(info).success, 'the generator stays within the contract');
        const line = utf8.encode(formatDeviceLine({ kind: 'info', info }));
        assert.ok(line.length <= MAX_SERIAL_LINE + 2, `+INFO line of ${line.length} bytes`);
        assert.deepStrictEqual(split(line, []).events.map((e) => ('line' in e ? parseDeviceLine(e.line) : e)), [{ ok: true, value: { kind: 'info', info } }]);
      }),
      { numRuns: RUNS },
    );
  });

  it('given any lines the station sends, formatted and cut into chunks anywhere, then the device splits and parses back exactly those lines', () => {
    fc.assert(
      fc.property(fc.array(stationLine, { minLength: 1, maxLength: 6 }), cuts, (lines, at) => {
        const { events } = split(utf8.encode(lines.map(formatStationLine).join('')), at);
        assert.deepStrictEqual(events.map((e) => ('line' in e ? parseStationLine(e.line) : e)), lines.map((value) => ({ ok: true, value })));
      }),
      { numRuns: RUNS },
    );
  });

  it('given any serial labels a scanner sends (CR, LF or CRLF after each), then the station reads each label once', () => {
    const label = chars(`${URL_SAFE}./`, 4, 64);
    fc.assert(
      fc.property(fc.array(fc.tuple(label, fc.constantFrom('\r', '\n', '\r\n')), { minLength: 1, maxLength: 8 }), cuts, (labels, at) => {
        const { events } = split(utf8.encode(labels.map(([l, eol]) => l + eol).join('')), at);
        assert.deepStrictEqual(events.map((e) => ('line' in e ? parseScannedLabel(e.line) : e)), labels.map(([value]) => ({ ok: true, value })));
      }),
      { numRuns: RUNS },
    );
  });

  it('given any byte stream cut into chunks anywhere, then the lines and overflows are those of the whole stream, and no more than the limit is held', () => {
    const byte = fc.oneof({ weight: 3, arbitrary: fc.constantFrom(0x0d, 0x0a, 0x41, 0xc3, 0xa9, 0xe6, 0xbc, 0xa2, 0xff) }, { weight: 2, arbitrary: fc.integer({ min: 0, max: 255 }) });
    fc.assert(
      fc.property(fc.array(byte, { maxLength: 300 }).map((b) => Uint8Array.from(b)), cuts, fc.integer({ min: 1, max: 48 }), (bytes, at, max) => {
        const whole = split(bytes, [], max);
        const chunked = split(bytes, at, max);
        assert.deepStrictEqual(chunked.events, whole.events);
        assert.deepStrictEqual(whole.events, referenceSplit(bytes, max));
        assert.ok(chunked.held <= max && whole.held <= max, `held ${chunked.held} bytes with a limit of ${max}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('given a line longer than the limit, in any chunks, then it is refused once with its length and what follows it is read; the buffer never passes the limit', () => {
    fc.assert(
      fc.property(fc.integer({ min: MAX_SERIAL_LINE + 1, max: 20 * MAX_SERIAL_LINE }), cuts, fc.constantFrom('\r', '\n', '\r\n'), (length, at, eol) => {
        const flood = 'A'.repeat(length);
        const { events, held } = split(utf8.encode(`${flood}${eol}OK\r\n`), at);
        assert.deepStrictEqual(events, [{ overflow: { droppedBytes: length, head: 'A'.repeat(40) } }, { line: 'OK' }]);
        assert.ok(held <= MAX_SERIAL_LINE, `held ${held}`);
      }),
      { numRuns: RUNS },
    );
  });

  it('given any text as a line, then the device, station and label parsers read or refuse it with a reason, never throw', () => {
    const prefix = fc.constantFrom('', 'OK', 'ERROR:', '+STATE:', '+RESULT:', '+RESULT:FAILED,', '+INFO:', '+INFO:{"devId":', 'AT+INFO?', 'AT+UNBIND=', 'AT+UNBIND=EU');
    const line = fc.tuple(prefix, fc.oneof(fc.string({ maxLength: 80 }), fc.string({ unit: 'binary', maxLength: 80 }), fc.json({ maxDepth: 2 }))).map(([p, rest]) => p + rest);
    fc.assert(
      fc.property(fc.oneof(line, fc.string({ maxLength: MAX_SERIAL_LINE + 40, size: 'max' })), (l) => {
        for (const r of [parseDeviceLine(l), parseStationLine(l), parseScannedLabel(l)]) assert.ok(r.ok || r.error.length > 0, 'a refusal says why');
        const info = parseDeviceLine(l);
        if (info.ok && info.value.kind === 'info') assert.ok(deviceInfoSchema.safeParse(info.value.info).success);
      }),
      { numRuns: RUNS },
    );
  });

  it('given the shrunk counterexample (a 551-digit firmware, 64 NULs as model), then the contract refuses the firmware, so no +INFO line passes the limit', () => {
    // The firmware was unbounded: its +INFO line was 1027 bytes, which the station's splitter drops as over-long.
    const info = { devId: 'AAAA', pid: 'AAA', sn: 'AAAA', fw: '0'.repeat(551), rg: 'AA', st: 'waiting', model: '\u0000'.repeat(64) };
    assert.equal(deviceInfoSchema.safeParse(info).success, false);
    assert.equal(deviceInfoSchema.safeParse({ ...info, fw: '999999999.999999999.999999999.999999999' }).success, true);
    assert.equal(deviceInfoSchema.safeParse({ ...info, fw: '1234567890' }).success, false);
    const widest = utf8.encode(formatDeviceLine({ kind: 'info', info: deviceInfoSchema.parse({ ...info, devId: 'A'.repeat(64), pid: 'A'.repeat(32), sn: 'A'.repeat(64), fw: '999999999.999999999.999999999.999999999', st: 'unbinding' }) }));
    assert.ok(widest.length <= MAX_SERIAL_LINE + 2, `the widest +INFO line is ${widest.length} bytes`);
  });
});
