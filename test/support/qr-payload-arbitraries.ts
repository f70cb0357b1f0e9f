import fc from 'fast-check';
import { MAX_SSID_BYTES, type QrPayload } from '../../src/protocol/index.js';

/** fast-check generators for QR pairing payloads (DESIGN §4.1): valid ones, and values near them. */

const utf8 = new TextEncoder();
const isSurrogate = (cp: number): boolean => cp >= 0xd800 && cp <= 0xdfff;
const isControl = (cp: number): boolean => cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f);

/** One code point of any plane, weighted so every UTF-8 length (1–4 bytes) and JSON's escapes show up. */
const textCodePoint = fc
  .oneof(
    fc.constantFrom(0x22, 0x5c, 0x2f, 0x20, 0x2028, 0x2029, 0xfeff, 0xfffd, 0xffff, 0x10ffff), // " \ / space, JS line ends, BOM, edges
    fc.integer({ min: 0x20, max: 0x7e }),
    fc.integer({ min: 0xa0, max: 0x7ff }),
    fc.integer({ min: 0x800, max: 0xffff }),
    fc.integer({ min: 0x10000, max: 0x10ffff }),
  )
  .filter((cp) => !isSurrogate(cp) && !isControl(cp))
  .map((cp) => String.fromCodePoint(cp));

/** The longest prefix of whole code points that fits in `max` bytes of UTF-8. */
function truncateToBytes(s: string, max: number): string {
  let out = '';
  for (const ch of s) {
    if (utf8.encode(out + ch).length > max) break;
    out += ch;
  }
  return out;
}

/** Any valid SSID: 1–32 bytes of UTF-8, full Unicode without control characters. */
export const validSsid = fc
  .string({ unit: textCodePoint, minLength: 1, maxLength: MAX_SSID_BYTES })
  .map((s) => truncateToBytes(s, MAX_SSID_BYTES))
  .filter((s) => s.length > 0);

const HEX_DIGITS = [...'0123456789abcdefABCDEF'];

/** Any valid Wi-Fi password: empty, 8–63 printable ASCII (with " and \), or 64 hex digits. */
export const validPassword = fc.oneof(
  fc.constant(''),
  fc.string({ unit: 'grapheme-ascii', minLength: 8, maxLength: 63 }),
  fc.string({ unit: fc.constantFrom('"', '\\', ' ', '~'), minLength: 8, maxLength: 63 }),
  fc.string({ unit: fc.constantFrom(...HEX_DIGITS), minLength: 64, maxLength: 64 }),
);

const UPPER = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZ'];
const URL_SAFE = [...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'];

/** Any valid token string: a region, then 12–72 URL-safe characters (8 of id, 4–64 of secret). */
export const validToken = fc
  .tuple(fc.string({ unit: fc.constantFrom(...UPPER), minLength: 2, maxLength: 2 }), fc.string({ unit: fc.constantFrom(...URL_SAFE), minLength: 12, maxLength: 72 }))
  .map(([region, rest]) => region + rest);

// A plain object (fc.record's have no prototype), as a caller or JSON.parse would give.
export const validPayload: fc.Arbitrary<QrPayload> = fc.record({ s: validSsid, p: validPassword, t: validToken }).map(({ s, p, t }) => ({ s, p, t }));

/** Strings that break each limit: control characters, lone surrogates, too long, wrong alphabet. */
const anyString = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.string({ unit: 'binary-ascii', maxLength: 80 }),
  fc.string({ unit: 'grapheme', maxLength: 40 }),
  fc.constantFrom('\ud800', 'a\udfff', '\u0000', '\u0001'.repeat(17), '\u0085', 'x'.repeat(33), 'é'.repeat(17), 'g'.repeat(64)),
);
const notAString = fc.oneof(fc.integer(), fc.boolean(), fc.constant(null), fc.array(fc.string(), { maxLength: 2 }), fc.dictionary(fc.string(), fc.string(), { maxKeys: 2 }));

/** A field that is often valid, often a wrong string, sometimes not a string, sometimes absent. */
function field(valid: fc.Arbitrary<string>): fc.Arbitrary<unknown> {
  return fc.oneof({ arbitrary: valid, weight: 4 }, { arbitrary: anyString, weight: 3 }, { arbitrary: notAString, weight: 1 }, { arbitrary: fc.constant(undefined), weight: 1 });
}

/** Values near a payload: each field valid or not, sometimes an extra key. */
export const nearPayload: fc.Arbitrary<Record<string, unknown>> = fc
  .tuple(
    fc.record({ s: field(validSsid), p: field(validPassword), t: field(validToken) }),
    fc.option(fc.tuple(fc.string({ maxLength: 4 }).filter((k) => !['s', 'p', 't', '__proto__'].includes(k)), fc.jsonValue({ maxDepth: 1 })), { freq: 5 }),
  )
  .map(([fields, extra]) => {
    const value: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(fields)) if (v !== undefined) value[k] = v;
    if (extra) value[extra[0]] = extra[1];
    return value;
  });
