import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { SADP_DATAGRAM_LIMITS, screenSadpDatagram, sadpDhcpFailed, sadpProbeMatchSchema, type SadpProbeMatch } from '../protocol/index.js';

/**
 * One SADP datagram (DESIGN §4.7) as the sweep reads it: a device's `<ProbeMatch>`, a `<Probe>`
 * (ours looped back, or another station's: not an answer), or something unusable with the reason.
 * Never throws: what comes off the LAN may be anything.
 */
export interface SadpFields {
  /** DeviceSN: Hikvision serials embed the model (`DS-7608NI-Q1…`). */
  serial: string;
  mac: string;
  /** IPv4Address; 0.0.0.0 when the device's DHCP failed. */
  ipv4: string;
  dhcpFailed: boolean;
  uuid: string | null;
  deviceType: string | null;
  /** DeviceDescription: the model. */
  model: string | null;
  subnetMask: string | null;
  gateway: string | null;
  dhcp: boolean | null;
  /** SoftwareVersion as the device spells it (`V5.5.6build 180326`). */
  firmware: string | null;
  activated: boolean | null;
  commandPort: number | null;
  httpPort: number | null;
}

export type SadpDatagram = { kind: 'match'; fields: SadpFields } | { kind: 'probe'; uuid: string | null } | { kind: 'rejected'; why: string };

/**
 * Every element stays text (serials, versions, ports): the schema decides what each one is. The
 * parser's own limits repeat the screen's (a DTD never reaches it), as a second line.
 */
const parser = new XMLParser({
  parseTagValue: false,
  ignoreDeclaration: true,
  ignoreAttributes: true,
  htmlEntities: false,
  maxNestedTags: SADP_DATAGRAM_LIMITS.maxDepth,
  processEntities: { enabled: true, maxEntityCount: 1, maxEntitySize: 1, maxExpandedLength: SADP_DATAGRAM_LIMITS.maxBytes },
});
const MAX_WHY = 200;

export function toSadpFields(m: SadpProbeMatch): SadpFields {
  return {
    serial: m.DeviceSN,
    mac: m.MAC,
    ipv4: m.IPv4Address,
    dhcpFailed: sadpDhcpFailed(m),
    uuid: m.Uuid ?? null,
    deviceType: m.DeviceType ?? null,
    model: m.DeviceDescription ?? null,
    subnetMask: m.IPv4SubnetMask ?? null,
    gateway: m.IPv4Gateway ?? null,
    dhcp: m.DHCP ?? null,
    firmware: m.SoftwareVersion ?? null,
    activated: m.Activated ?? null,
    commandPort: m.CommandPort ?? null,
    httpPort: m.HttpPort ?? null,
  };
}

/** One datagram as it came off the socket (bytes), or its text. Bounded before any XML parsing. */
export function parseSadpDatagram(datagram: Uint8Array | string): SadpDatagram {
  const screen = screenSadpDatagram(datagram);
  if (!screen.ok) return { kind: 'rejected', why: `refused before parsing: ${screen.why}`.slice(0, MAX_WHY) };
  const text = screen.text;
  const valid = XMLValidator.validate(text);
  if (valid !== true) return { kind: 'rejected', why: `not well-formed XML: ${valid.err.msg} (line ${valid.err.line})`.slice(0, MAX_WHY) };
  let doc: unknown;
  try {
    doc = parser.parse(text);
  } catch (err) {
    return { kind: 'rejected', why: `not XML: ${err instanceof Error ? err.message : String(err)}`.slice(0, MAX_WHY) };
  }
  const root = typeof doc === 'object' && doc !== null ? (doc as Record<string, unknown>) : {};
  if ('Probe' in root && !('ProbeMatch' in root)) {
    const uuid = (root.Probe as { Uuid?: unknown } | null)?.Uuid;
    return { kind: 'probe', uuid: typeof uuid === 'string' ? uuid : null };
  }
  if (!('ProbeMatch' in root)) {
    const names = Object.keys(root);
    return { kind: 'rejected', why: names.length ? `not a ProbeMatch: root element <${names[0]}>` : 'no XML element' };
  }
  const parsed = sadpProbeMatchSchema.safeParse(root.ProbeMatch);
  if (!parsed.success) {
    const why = parsed.error.issues.map((i) => `${i.path.join('.') || 'ProbeMatch'}: ${i.message}`).join('; ');
    return { kind: 'rejected', why: `ProbeMatch refused: ${why}`.slice(0, MAX_WHY) };
  }
  return { kind: 'match', fields: toSadpFields(parsed.data) };
}
