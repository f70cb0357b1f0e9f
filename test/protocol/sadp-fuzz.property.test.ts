import { readFileSync } from 'node:fs';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sadpProbeUuid } from '../../src/device/index.js';
import { SADP_DATAGRAM_LIMITS, screenSadpDatagram } from '../../src/protocol/index.js';
import { parseSadpDatagram, type SadpDatagram } from '../../src/wired/index.js';

/**
 * SADP datagrams (DESIGN §4.7) as properties: whatever comes off the LAN — any bytes up to the 64 KB
 * of a UDP datagram, XML-shaped or not — is read or refused, never thrown on, and anything over the
 * size bound is refused before an XML parser sees it. How long the worst datagram takes (< 5 ms) is a
 * figure of bench:sadp, not of a timed test. Round trips of valid messages: sadp.property.
 */
const RUNS = 10_000;
const FIXTURES = new URL('../../../shared/fixtures/sadp/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8');
const MAX = SADP_DATAGRAM_LIMITS.maxBytes;
const utf8Length = (s: string): number => Buffer.byteLength(s, 'utf8');

/** node:assert in the properties: vitest's matchers cost more per case than the codec itself. */
function expectOneOfTheThree(d: SadpDatagram): void {
  assert.ok(['match', 'probe', 'rejected'].includes(d.kind), d.kind);
  if (d.kind === 'rejected') assert.ok(d.why.length > 0 && d.why.length <= 200, d.why);
}
const assertRefusedBeforeParsing = (d: SadpDatagram): void => assert.ok(d.kind === 'rejected' && /^refused before parsing: datagram of \d+ bytes/.test(d.why), JSON.stringify(d));

/** Pieces of XML and of what breaks parsers, to be glued in any order: the datagrams fuzzing finds. */
const xmlPiece = fc.oneof(
  fc.constantFrom(
    '<?xml version="1.0" encoding="UTF-8"?>', '<ProbeMatch>', '</ProbeMatch>', '<Probe>', '</Probe>', '<Uuid>', '</Uuid>',
    '<DeviceSN>', '</DeviceSN>', '<MAC>', '</MAC>', '<IPv4Address>', '</IPv4Address>', '<a>', '</a>', '<a/>', '<b x="1" y=\'2\'>',
    '&amp;', '&lt;', '&#60;', '&#x1F600;', '&e;', '&', '<', '>', '/>', '<!--', '-->', '<![CDATA[', ']]>', '<!DOCTYPE a [',
    '<!ENTITY e "eeeeeeeeee">', ']>', '<?pi x?>', '\r\n', ' ', '"', 'flase', 'true', '0.0.0.0', '44-47-cc-37-ce-81',
    '__proto__', '<__proto__>', '</__proto__>', '<constructor>', '</constructor>', '\u0000', '\uFFFD', '\uD800',
  ),
  fc.string({ maxLength: 12 }),
);
const xmlSoup = fc.array(xmlPiece, { maxLength: 60 }).map((pieces) => pieces.join(''));

/** A small unit repeated up to 64 KB: deep nesting, thousands of elements, entity floods, huge attributes. */
const blownUp = fc
  .record({ head: xmlSoup, unit: xmlSoup.filter((u) => u.length > 0), tail: xmlSoup, bytes: fc.integer({ min: 1, max: 65_507 }) })
  .map(({ head, unit, tail, bytes }) => head + unit.repeat(Math.max(1, Math.floor(bytes / unit.length))).slice(0, bytes) + tail);

describe('SADP datagrams as properties (DESIGN §4.7): whatever arrives is read or refused', () => {
  it('given arbitrary bytes (up to and past the size bound), then the station reads or refuses them, never throws', () => {
    const bytes = fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.uint8Array({ maxLength: MAX + 16, size: 'max' }));
    fc.assert(
      fc.property(bytes, (b) => {
        const d = parseSadpDatagram(b);
        expectOneOfTheThree(d);
        if (b.length > MAX) assertRefusedBeforeParsing(d);
        assert.equal(sadpProbeUuid(b), null); // random bytes are no inquiry probe
      }),
      { numRuns: RUNS },
    );
  });

  it('given XML-shaped fuzz (tags, entities, DTDs, comments, CDATA, lone surrogates), as bytes and as text, then it never throws', () => {
    fc.assert(
      fc.property(xmlSoup, (text) => {
        expectOneOfTheThree(parseSadpDatagram(text));
        expectOneOfTheThree(parseSadpDatagram(Buffer.from(text, 'utf8')));
        const uuid = sadpProbeUuid(text);
        assert.ok(uuid === null || typeof uuid === 'string');
      }),
      { numRuns: RUNS },
    );
  });

  it('given XML-shaped units repeated up to 64 KB, then anything over the bound is refused before parsing and nothing throws', () => {
    fc.assert(
      fc.property(blownUp, (text) => {
        const d = parseSadpDatagram(text);
        expectOneOfTheThree(d);
        if (utf8Length(text) > MAX) assertRefusedBeforeParsing(d);
        assert.equal(screenSadpDatagram(text).ok, screenSadpDatagram(Buffer.from(text, 'utf8')).ok); // text and bytes: one verdict
        sadpProbeUuid(text);
      }),
      { numRuns: RUNS },
    );
  });

});

describe('SADP datagrams: crafted worst cases, 64 KB each', () => {
  const K64 = 65_507; // the largest UDP payload over IPv4
  const fit = (unit: string, head = '', tail = ''): string => head + unit.repeat(Math.floor((K64 - head.length - tail.length) / unit.length)) + tail;
  const worst: Record<string, string> = {
    'deep nesting': fit('<a>', '<ProbeMatch>'),
    'many elements': fit('<E>1</E>', '<ProbeMatch>', '</ProbeMatch>'),
    'one name repeated': fit('<DeviceSN>x</DeviceSN>', '<ProbeMatch>', '</ProbeMatch>'),
    'entity references': fit('&amp;', '<ProbeMatch><DeviceSN>', '</DeviceSN></ProbeMatch>'),
    'an entity bomb': `<?xml version="1.0"?><!DOCTYPE l [<!ENTITY a "${'a'.repeat(9000)}">${Array.from({ length: 9 }, (_, i) => `<!ENTITY ${'b'.repeat(i + 1)} "${'&a;'.repeat(10)}">`).join('')}]><ProbeMatch><DeviceSN>&bbbbbbbbb;</DeviceSN></ProbeMatch>`.padEnd(K64, ' '),
    'a huge attribute': fit('a', '<ProbeMatch x="', '"></ProbeMatch>'),
    'many attributes': fit(' a="1"', '<ProbeMatch', '></ProbeMatch>'),
    'an unterminated tag': fit('a', '<ProbeMatch'),
    'only <': fit('<'),
    'a real answer padded with 64 KB of text': fixture('camera-full.xml').replace('<DeviceLock>', `<Pad>${'x'.repeat(K64 - 1500)}</Pad><DeviceLock>`),
  };

  for (const [name, text] of Object.entries(worst)) {
    it(`given ${name} (${utf8Length(text)} bytes), then it is refused before any XML parsing, without throwing`, () => {
      expect(utf8Length(text)).toBeGreaterThan(MAX);
      expect(parseSadpDatagram(Buffer.from(text, 'utf8'))).toEqual({ kind: 'rejected', why: `refused before parsing: datagram of ${utf8Length(text)} bytes is over the ${MAX} a SADP answer may have` });
      expect(sadpProbeUuid(text)).toBeNull();
    });
  }

  it('given each shape within the size bound, then the element, depth, tag, attribute, reference and DTD bounds refuse it by name', () => {
    const small = (s: string): string => s.slice(0, MAX);
    const refused = (text: string) => screenSadpDatagram(text);
    expect(refused(small(fit('<a/>', '<ProbeMatch>')))).toEqual({ ok: false, why: `more than ${SADP_DATAGRAM_LIMITS.maxTags} elements` });
    expect(refused('<ProbeMatch><a><b><c><d>x</d></c></b></a></ProbeMatch>')).toEqual({ ok: false, why: `elements nested deeper than ${SADP_DATAGRAM_LIMITS.maxDepth}` });
    expect(refused(`<ProbeMatch x="${'a'.repeat(300)}"></ProbeMatch>`)).toEqual({ ok: false, why: 'a tag of 315 characters (more than 256)' });
    expect(refused(`<ProbeMatch ${Array.from({ length: 9 }, (_, i) => `a${i}="1"`).join(' ')}></ProbeMatch>`)).toEqual({ ok: false, why: 'more than 8 attributes' });
    expect(refused(`<?xml version="1.0" encoding="UTF-8"?><ProbeMatch>${Array.from({ length: 7 }, (_, i) => `<a${i} b="1"/>`).join('')}</ProbeMatch>`)).toEqual({ ok: false, why: 'more than 8 attributes' });
    expect(refused(`<ProbeMatch><DeviceSN>${'&amp;'.repeat(129)}</DeviceSN></ProbeMatch>`)).toEqual({ ok: false, why: `more than ${SADP_DATAGRAM_LIMITS.maxReferences} character or entity references` });
    expect(refused('<!DOCTYPE a [<!ENTITY e "x">]><ProbeMatch>&e;</ProbeMatch>')).toEqual({ ok: false, why: 'a DTD or markup declaration (<!…>): SADP has none' });
    // Unterminated markup is bounded by the size alone: the parser refuses it.
    for (const open of ['<ProbeMatch><!-- unterminated', '<ProbeMatch><![CDATA[ unterminated', '<ProbeMatch', '<<<']) {
      expect(refused(open), open).toEqual({ ok: true, text: open });
      expect(parseSadpDatagram(open), open).toMatchObject({ kind: 'rejected', why: expect.stringMatching(/^not well-formed XML/) });
    }
    // Every refusal reaches the station as a rejected datagram, with the reason.
    expect(parseSadpDatagram('<ProbeMatch><a><b><c><d>x</d></c></b></a></ProbeMatch>')).toEqual({ kind: 'rejected', why: 'refused before parsing: elements nested deeper than 4' });
  });

  it('given real answers, also grown to the bounds (the size, the element count), then they are still read', () => {
    for (const name of ['camera-full.xml', 'nvr-short.xml']) expect(parseSadpDatagram(fixture(name)).kind, name).toBe('match');
    const camera = fixture('camera-full.xml');
    const tags = (camera.match(/<[^/!]/g) ?? []).length; // the declaration counts
    const grown = camera.replace('<DeviceLock>', Array.from({ length: SADP_DATAGRAM_LIMITS.maxTags - tags }, (_, i) => `<Extra${i}>${'v'.repeat(40)}</Extra${i}>\r\n`).join('') + '<DeviceLock>');
    expect(utf8Length(grown)).toBeLessThanOrEqual(MAX);
    expect(parseSadpDatagram(Buffer.from(grown, 'utf8')).kind).toBe('match');
    const padded = camera.replace('<DeviceLock>', `<Pad>${'p'.repeat(MAX - utf8Length(camera) - 11)}</Pad><DeviceLock>`);
    expect(utf8Length(padded)).toBe(MAX);
    expect(parseSadpDatagram(padded).kind).toBe('match');
    expect(parseSadpDatagram(`${padded} `)).toMatchObject({ kind: 'rejected', why: expect.stringMatching(/^refused before parsing: datagram of 8193 bytes/) });
  });
});
