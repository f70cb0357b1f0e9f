import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { sadpProbeMatchXml, sadpProbeUuid, type SadpIdentity } from '../../src/device/index.js';
import { sadpProbeXml } from '../../src/protocol/index.js';
import { parseSadpDatagram } from '../../src/wired/index.js';

/**
 * SADP messages (DESIGN §4.7) as properties: what the bench's devices and the station write reads
 * back as it was written. Arbitrary input, and the bounds that refuse it, are sadp-fuzz.property.
 */
const RUNS = 10_000;
// node:assert in the properties: vitest's matchers cost more per case than the codec itself.

describe('SADP messages as properties (DESIGN §4.7): what is written reads back', () => {
  it('given any valid device identity, when the bench device writes its ProbeMatch, then the station reads back every field', () => {
    const octet = fc.integer({ min: 0, max: 255 });
    const hex2 = fc.integer({ min: 0, max: 255 }).map((b) => b.toString(16).padStart(2, '0'));
    // What a model, serial or type may hold: printable text, XML's special characters included.
    const label = (min: number, max: number) =>
      fc.string({ unit: fc.constantFrom(...'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_./ &<>"\'#;é漢Ω'), minLength: min, maxLength: max })
        .filter((s) => s.trim().length >= min);
    const identity: fc.Arbitrary<SadpIdentity> = fc.record({
      serial: label(4, 64),
      model: label(1, 64),
      deviceType: label(1, 16),
      mac: fc.array(hex2, { minLength: 6, maxLength: 6 }).map((h) => h.join('-')),
      ipv4: fc.oneof(fc.constant('0.0.0.0'), fc.tuple(octet, octet, octet, octet).map((o) => o.join('.'))),
      httpPort: fc.integer({ min: 0, max: 65_535 }),
      firmware: fc.array(fc.nat({ max: 999 }), { minLength: 1, maxLength: 4 }).map((p) => p.join('.')),
      activated: fc.boolean(),
      analogChannels: fc.nat({ max: 64 }),
      digitalChannels: fc.nat({ max: 64 }),
    });
    const uuid = fc.uuid().map((u) => u.toUpperCase());
    fc.assert(
      fc.property(identity, uuid, (d, u) => {
        const xml = sadpProbeMatchXml(d, u);
        const read = parseSadpDatagram(Buffer.from(xml, 'utf8'));
        assert.deepStrictEqual(read, {
          kind: 'match',
          fields: {
            serial: d.serial.trim(),
            mac: d.mac,
            ipv4: d.ipv4,
            dhcpFailed: d.ipv4 === '0.0.0.0',
            uuid: u,
            deviceType: d.deviceType.trim(),
            model: d.model.trim(),
            subnetMask: d.ipv4 === '0.0.0.0' ? '0.0.0.0' : '255.0.0.0',
            gateway: d.ipv4 === '0.0.0.0' ? '0.0.0.0' : '127.0.0.1',
            dhcp: true,
            firmware: `V${d.firmware}build 240318`,
            activated: d.activated,
            commandPort: 8000,
            httpPort: d.httpPort,
          },
        });
        // A device on the group hears other devices' answers: none of them is a probe.
        assert.equal(sadpProbeUuid(xml), null);
      }),
      { numRuns: RUNS },
    );
  });

  it('given any Uuid a probe may carry, when the station writes its probe, then the station and every device read the same Uuid back', () => {
    const uuid = fc.oneof(fc.uuid().map((u) => u.toUpperCase()), fc.string({ minLength: 1, maxLength: 64 }).filter((s) => s.trim() === s && s.length > 0 && !/[\u0000-\u001f\uD800-\uDFFF\uFFFE\uFFFF]/.test(s)));
    fc.assert(
      fc.property(uuid, (u) => {
        const probe = sadpProbeXml(u);
        assert.deepStrictEqual(parseSadpDatagram(probe), { kind: 'probe', uuid: u });
        assert.equal(sadpProbeUuid(Buffer.from(probe, 'utf8')), u);
      }),
      { numRuns: RUNS },
    );
  });

  it('given the shrunk counterexample "<!" as the Uuid, then the probe escapes it and reads back (it was written raw: no XML)', () => {
    expect(sadpProbeXml('<!')).toContain('<Uuid>&lt;!</Uuid>');
    expect(parseSadpDatagram(sadpProbeXml('<!'))).toEqual({ kind: 'probe', uuid: '<!' });
    expect(sadpProbeUuid(sadpProbeXml('a&b>c'))).toBe('a&b>c');
  });
});
