import { readFileSync } from 'node:fs';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { sadpDhcpFailed, sadpProbeMatchSchema, sadpProbeXml, SADP_MULTICAST_ADDRESS, SADP_PORT } from '../../src/protocol/sadp.js';

const FIXTURES = new URL('../../../shared/fixtures/sadp/', import.meta.url);
const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8');

// The configuration the wired sweep uses: every element stays a string (serials, versions, ports).
const xml = new XMLParser({ parseTagValue: false });

/** XML text → the `<ProbeMatch>` element as element → text, or whatever the parser made of garbage. */
function probeMatchOf(text: string): unknown {
  const doc = xml.parse(text) as Record<string, unknown>;
  return doc.ProbeMatch ?? doc;
}

describe('SADP probe answers (DESIGN §4.7)', () => {
  it('given the probe, then it is the inquiry XML on 239.255.255.250:37020 and carries the Uuid', () => {
    expect(SADP_MULTICAST_ADDRESS).toBe('239.255.255.250');
    expect(SADP_PORT).toBe(37020);
    const probe = xml.parse(sadpProbeXml('5A1B2C3D-0000-4000-8000-000000000001')) as { Probe: { Uuid: string; Types: string } };
    expect(probe.Probe).toEqual({ Uuid: '5A1B2C3D-0000-4000-8000-000000000001', Types: 'inquiry' });
  });

  it('given the real camera answer (camera-full.xml, CRLF, IPv6, unknown elements), then every field is read as the device sent it', () => {
    const r = sadpProbeMatchSchema.safeParse(probeMatchOf(fixture('camera-full.xml')));
    expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
    expect(r.data).toEqual({
      Uuid: 'F93CF8DC-DF53-424B-98A7-9FC0536E1083',
      DeviceType: '142378',
      DeviceDescription: 'DS-2CD2320D-I',
      DeviceSN: 'DS-2CD2320D-I20180919AACHC52932642',
      CommandPort: 8000,
      HttpPort: 80,
      MAC: '44-47-cc-37-ce-81',
      IPv4Address: '192.168.1.112',
      IPv4SubnetMask: '255.255.255.0',
      IPv4Gateway: '192.168.1.1',
      DHCP: true,
      SoftwareVersion: 'V5.5.6build 180326',
      Activated: true,
    });
    expect(sadpDhcpFailed(r.data!)).toBe(false);
  });

  it('given the real NVR answer (nvr-short.xml, several elements per line, no DHCP element), then it parses and DHCP stays unknown', () => {
    const r = sadpProbeMatchSchema.safeParse(probeMatchOf(fixture('nvr-short.xml')));
    expect(r.success, JSON.stringify(r.error?.issues)).toBe(true);
    expect(r.data).toMatchObject({
      Uuid: 'ABC',
      DeviceType: '139711',
      DeviceDescription: 'DS-7608NI-Q1',
      DeviceSN: 'DS-7608NI-Q10820230101CCRRK12345678WCVU',
      MAC: 'c0-56-e3-00-00-01',
      IPv4Address: '192.168.1.64',
      Activated: true,
    });
    expect(r.data!.DHCP).toBeUndefined();
  });

  it('given a device spelling false as "flase" (and "false", "False", empty), then the boolean is false; "true" in any case is true', () => {
    const camera = fixture('camera-full.xml');
    for (const spelled of ['flase', 'false', 'False', ' flase ', '']) {
      const text = camera.replace('<DHCP>true</DHCP>', `<DHCP>${spelled}</DHCP>`).replace('<Activated>true</Activated>', `<Activated>${spelled}</Activated>`);
      const r = sadpProbeMatchSchema.safeParse(probeMatchOf(text));
      expect(r.success, spelled).toBe(true);
      expect(r.data, spelled).toMatchObject({ DHCP: false, Activated: false });
    }
    const upper = camera.replace('<DHCP>true</DHCP>', '<DHCP>TRUE</DHCP>');
    expect(sadpProbeMatchSchema.parse(probeMatchOf(upper)).DHCP).toBe(true);
  });

  it('given an answer with IPv4 0.0.0.0, then the sweep can tell DHCP failed', () => {
    const text = fixture('nvr-short.xml').replace('<IPv4Address>192.168.1.64</IPv4Address>', '<IPv4Address>0.0.0.0</IPv4Address>');
    const r = sadpProbeMatchSchema.safeParse(probeMatchOf(text));
    expect(r.success).toBe(true);
    expect(sadpDhcpFailed(r.data!)).toBe(true);
  });

  it('given a MAC written with colons, then it is accepted too', () => {
    const text = fixture('nvr-short.xml').replace('c0-56-e3-00-00-01', 'C0:56:E3:00:00:01');
    expect(sadpProbeMatchSchema.safeParse(probeMatchOf(text)).success).toBe(true);
  });

  describe('when an answer is not a usable ProbeMatch, then safeParse fails without throwing', () => {
    const cases: Array<[string, string, RegExp]> = [
      ['garbage text', 'this is not xml at all \u0000\u00ff', /DeviceSN|MAC|IPv4Address/],
      ['broken XML', '<ProbeMatch><DeviceSN>DS-1<MAC>', /./],
      ['markup noise', '<<<>>>', /./],
      ['an empty ProbeMatch', '<ProbeMatch></ProbeMatch>', /./],
      ['a missing DeviceSN', fixture('nvr-short.xml').replace(/<DeviceSN>[^<]*<\/DeviceSN>/, ''), /DeviceSN/],
      ['an empty DeviceSN', fixture('nvr-short.xml').replace(/<DeviceSN>[^<]*<\/DeviceSN>/, '<DeviceSN></DeviceSN>'), /DeviceSN/],
      ['a malformed MAC', fixture('nvr-short.xml').replace('c0-56-e3-00-00-01', 'c0-56-e3-00-00'), /MAC/],
      ['a MAC with non-hex digits', fixture('nvr-short.xml').replace('c0-56-e3-00-00-01', 'zz-56-e3-00-00-01'), /MAC/],
      ['an IPv4 that is a host name', fixture('nvr-short.xml').replace('192.168.1.64', 'nvr.local'), /IPv4Address/],
      ['a port out of range', fixture('nvr-short.xml').replace('<HttpPort>80</HttpPort>', '<HttpPort>70000</HttpPort>'), /HttpPort/],
      ['a repeated DeviceSN element', fixture('nvr-short.xml').replace('<CommandPort>', '<DeviceSN>DS-OTHER-SERIAL</DeviceSN><CommandPort>'), /DeviceSN/],
    ];
    it.each(cases.map(([name, text, field]) => ({ name, text, field })))('given $name', ({ text, field }) => {
      let r: ReturnType<typeof sadpProbeMatchSchema.safeParse> | undefined;
      expect(() => {
        r = sadpProbeMatchSchema.safeParse(probeMatchOf(text));
      }).not.toThrow();
      expect(r!.success).toBe(false);
      expect(r!.error!.issues.map((i) => `${i.path.join('.')} ${i.message}`).join('; ')).toMatch(field);
    });

    it('given values of the wrong shape (null, arrays, nested objects, numbers), then it fails without throwing', () => {
      for (const v of [null, undefined, 42, 'x', [], [{ DeviceSN: 'DS-12345' }], { DeviceSN: { '#text': 'x' } }, { DeviceSN: 12345678, MAC: 5, IPv4Address: 1 }]) {
        expect(() => sadpProbeMatchSchema.safeParse(v)).not.toThrow();
        expect(sadpProbeMatchSchema.safeParse(v).success).toBe(false);
      }
    });
  });

  it('given an IPv4 with an octet over 255, then it is refused as not an IPv4 address', () => {
    const text = fixture('nvr-short.xml').replace('192.168.1.64', '192.168.1.640');
    const r = sadpProbeMatchSchema.safeParse(probeMatchOf(text));
    expect(r.success).toBe(false);
  });
});
