import { createHash } from 'node:crypto';
import { escapeXmlText } from '../../protocol/index.js';

/**
 * A Hikvision-style `<ProbeMatch>` answer (DESIGN §4.7) as real devices write it (see
 * shared/fixtures/sadp): an XML declaration, CRLF between elements, IPv6 fields, booleans spelled
 * `flase` in some elements, and many elements a station does not need.
 */
export interface SadpIdentity {
  serial: string;
  /** DeviceDescription: the model, such as DS-7608NI-Q1. */
  model: string;
  /** DeviceType: a vendor's numeric product class. */
  deviceType: string;
  mac: string;
  /** IPv4Address: 0.0.0.0 when DHCP failed. */
  ipv4: string;
  httpPort: number;
  /** Dotted firmware; written as Hikvision's `V4.0.1build 240318`. */
  firmware: string;
  activated: boolean;
  analogChannels: number;
  digitalChannels: number;
}

/** A stable MAC for a device: a Hikvision OUI, then three bytes of the devId's hash. */
export function macFor(devId: string): string {
  const h = createHash('sha256').update(devId).digest();
  return ['c0', '56', 'e3', ...[h[0]!, h[1]!, h[2]!].map((b) => b.toString(16).padStart(2, '0'))].join('-');
}

/** Some firmware writes `flase`; the station must read it as false (fixture camera-full.xml). */
const hikBool = (v: boolean, misspelled = false): string => (v ? 'true' : misspelled ? 'flase' : 'false');

export function sadpProbeMatchXml(d: SadpIdentity, uuid: string): string {
  const elements: Array<[string, string | number]> = [
    ['Uuid', uuid],
    ['Types', 'inquiry'],
    ['DeviceType', d.deviceType],
    ['DeviceDescription', d.model],
    ['DeviceSN', d.serial],
    ['CommandPort', 8000],
    ['HttpPort', d.httpPort],
    ['MAC', d.mac],
    ['IPv4Address', d.ipv4],
    ['IPv4SubnetMask', d.ipv4 === '0.0.0.0' ? '0.0.0.0' : '255.0.0.0'],
    ['IPv4Gateway', d.ipv4 === '0.0.0.0' ? '0.0.0.0' : '127.0.0.1'],
    ['IPv6Address', '::'],
    ['IPv6Gateway', '::'],
    ['IPv6MaskLen', 64],
    ['DHCP', 'true'],
    ['AnalogChannelNum', d.analogChannels],
    ['DigitalChannelNum', d.digitalChannels],
    ['SoftwareVersion', `V${d.firmware}build 240318`],
    ['DSPVersion', 'V5.0, build 240318'],
    ['BootTime', new Date().toISOString().slice(0, 19).replace('T', ' ')],
    ['Encrypt', 'true'],
    ['ResetAbility', hikBool(false)],
    ['DiskNumber', d.digitalChannels > 0 ? 1 : 0],
    // A factory-reset Hikvision device is inactive until given a password.
    ['Activated', hikBool(d.activated)],
    ['PasswordResetAbility', 'true'],
    ['SupportHCPlatform', 'true'],
    ['HCPlatformEnable', hikBool(false, true)],
    ['DeviceLock', 'true'],
  ];
  const body = elements.map(([k, v]) => `<${k}>${escapeXmlText(String(v))}</${k}>`).join('\r\n');
  return `<?xml version="1.0" encoding="UTF-8"?>\r\n<ProbeMatch>${body}\r\n</ProbeMatch>\r\n`;
}
