import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { DEVICE_STATES, mdnsTxtSchema, type MdnsTxt } from '../../src/protocol/index.js';
import { checkTxt } from '../../src/wired/index.js';

/**
 * The mDNS TXT record of `_iot-unbind._tcp` (DESIGN §4.5, RFC 6763 §6) as properties: a device's
 * record, written as the bench devices write it and carried through the DNS wire codec the sweep's
 * socket uses (dns-packet, inside multicast-dns), reads back as it was — keys in any case, in any
 * order, with extra and repeated keys; any list of byte strings, and any value at all, is read or
 * refused with a reason, never thrown on.
 */
const RUNS = 10_000;
// node:assert in the properties: vitest's matchers cost more per case than the codec itself.
// dns-packet has no types of its own: the two calls used here, typed by hand.
const dnsPacket = createRequire(import.meta.url)('dns-packet') as {
  encode(p: { type: 'response'; answers: Array<{ type: 'TXT'; name: string; ttl: number; data: Array<string | Uint8Array> }> }): Buffer;
  decode(b: Buffer): { answers: Array<{ type: string; data: unknown }> };
};
/** A TXT record's strings through the wire: what the sweep's socket hands checkTxt. */
function overTheWire(strings: Array<string | Uint8Array>): unknown {
  const data = strings.map((s) => (typeof s === 'string' ? s : Buffer.from(s.buffer, s.byteOffset, s.length)));
  const wire = dnsPacket.encode({ type: 'response', answers: [{ type: 'TXT', name: 'dev._iot-unbind._tcp.local', ttl: 120, data }] });
  return dnsPacket.decode(wire).answers[0]!.data;
}

const chars = (alphabet: string, minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...alphabet), minLength, maxLength });
const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** Valid values of every key, from the contract (§4.5 and the identifiers of §4.3), not from the schema under test. */
const validTxt: fc.Arbitrary<MdnsTxt> = fc.record({
  v: fc.constant('1' as const),
  id: chars(URL_SAFE, 4, 64),
  pid: chars(URL_SAFE, 3, 32),
  sn: chars(`${URL_SAFE}./`, 4, 64),
  fw: fc.array(fc.nat({ max: 9999 }), { minLength: 1, maxLength: 4 }).map((p) => p.join('.')),
  rg: chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ', 2, 2),
  st: fc.constantFrom(...DEVICE_STATES),
}, { noNullPrototype: true });
/** A key written in any ASCII case (RFC 6763 §6.4: keys are case-insensitive). */
const anyCase = (key: string) => fc.array(fc.boolean(), { minLength: key.length, maxLength: key.length }).map((up) => [...key].map((c, i) => (up[i] ? c.toUpperCase() : c)).join(''));

describe('mDNS TXT records as properties (DESIGN §4.5)', () => {
  it('given any valid record, written as a device writes it and carried over the DNS wire, then the sweep reads back the same record', () => {
    fc.assert(
      fc.property(validTxt, (txt) => {
        const strings = Object.entries(txt).map(([k, v]) => `${k}=${v}`);
        assert.deepStrictEqual(checkTxt(overTheWire(strings)), { ok: true, txt, raw: txt });
      }),
      { numRuns: RUNS },
    );
  });

  it('given keys in any case and order, extra keys, and later repeats of a key, then the first occurrence of each key counts and extras stay out', () => {
    const extraKey = chars('abcdefghijklmnopqrstuvwxyz-_0123456789', 1, 9).filter((k) => !['v', 'id', 'pid', 'sn', 'fw', 'rg', 'st'].includes(k));
    const record = fc.record({
      txt: validTxt,
      cases: fc.record({ v: anyCase('v'), id: anyCase('id'), pid: anyCase('pid'), sn: anyCase('sn'), fw: anyCase('fw'), rg: anyCase('rg'), st: anyCase('st') }),
      order: fc.array(fc.nat(), { minLength: 12, maxLength: 12 }),
      extras: fc.array(fc.tuple(extraKey, fc.string({ maxLength: 20 })), { maxLength: 5 }),
      repeats: fc.array(fc.tuple(fc.constantFrom('v', 'id', 'pid', 'sn', 'fw', 'rg', 'st'), fc.string({ maxLength: 20 })), { maxLength: 5 }),
    });
    fc.assert(
      fc.property(record, ({ txt, cases, order, extras, repeats }) => {
        // The record's own strings in a random order, extra keys anywhere among them, repeats after them.
        const strings = Object.entries(txt).map(([k, v]) => `${cases[k as keyof MdnsTxt]}=${v}`);
        for (let i = strings.length - 1; i > 0; i--) {
          const j = order[i]! % (i + 1);
          [strings[i], strings[j]] = [strings[j]!, strings[i]!];
        }
        extras.forEach(([k, v], i) => strings.splice(order[7 + i]! % (strings.length + 1), 0, `${k}=${v}`));
        for (const [k, v] of repeats) strings.push(`${k.toUpperCase()}=${v}`);
        const r = checkTxt(overTheWire(strings));
        assert.deepStrictEqual(r.ok && r.txt, txt);
      }),
      { numRuns: RUNS },
    );
  });

  it('given any list of byte strings (as they come off the wire), then it is read or refused with a reason, never thrown on', () => {
    const bytes = fc.oneof(
      fc.uint8Array({ maxLength: 255 }),
      fc.string({ maxLength: 40 }).map((s) => Buffer.from(s, 'utf8')),
      fc.tuple(fc.constantFrom('v', 'id', 'pid', 'sn', 'fw', 'rg', 'st', 'ID', '__proto__', 'constructor', ''), fc.uint8Array({ maxLength: 70 })).map(([k, v]) => Buffer.concat([Buffer.from(`${k}=`), v])),
    );
    fc.assert(
      fc.property(fc.array(bytes, { maxLength: 12 }), (strings) => {
        const r = checkTxt(overTheWire(strings));
        if (r.ok) assert.ok(mdnsTxtSchema.safeParse(r.txt).success, 'what is read passes the schema');
        else assert.ok(r.why.length > 0, 'a refusal says why');
        assert.equal(Object.getPrototypeOf(r.raw), Object.prototype, 'no key reaches the prototype');
      }),
      { numRuns: RUNS },
    );
  });

  it('given a valid record with one value replaced by any string, then it is read exactly when that value is valid for its key', () => {
    const key = fc.constantFrom('v', 'id', 'pid', 'sn', 'fw', 'rg', 'st') as fc.Arbitrary<keyof MdnsTxt>;
    fc.assert(
      fc.property(validTxt, key, fc.oneof(fc.string({ maxLength: 70 }), fc.string({ unit: 'grapheme', maxLength: 10 })), (txt, k, value) => {
        const spoiled = { ...txt, [k]: value };
        const r = checkTxt(overTheWire(Object.entries(spoiled).map(([kk, v]) => `${kk}=${v}`)));
        const valid = mdnsTxtSchema.shape[k].safeParse(value).success;
        assert.equal(r.ok, valid);
        if (!r.ok) assert.ok(r.why.startsWith(`${k}=`), r.why);
      }),
      { numRuns: RUNS },
    );
  });

  it('given any value at all in place of the record, then it is refused or read, never thrown on', () => {
    fc.assert(
      fc.property(fc.anything({ withTypedArray: true }), (v) => {
        const r = checkTxt(v);
        assert.equal(typeof r.ok, 'boolean');
      }),
      { numRuns: RUNS },
    );
  });
});
