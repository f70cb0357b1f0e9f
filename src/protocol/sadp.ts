import { z } from 'zod';

/** DESIGN §4.7: SADP probe on UDP multicast; answers are `<ProbeMatch>` XML. */
export const SADP_MULTICAST_ADDRESS = '239.255.255.250';
export const SADP_PORT = 37020;

export function sadpProbeXml(uuid: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>${uuid}</Uuid><Types>inquiry</Types></Probe>`;
}

/** Real devices spell false as `flase`; anything else that is not "true" is false. */
const sadpBool = z.union([z.boolean(), z.string()]).transform((v) => v === true || String(v).trim().toLowerCase() === 'true');
const text = (max: number) => z.union([z.string(), z.number()]).transform((v) => String(v).trim()).pipe(z.string().max(max));
const OCTET = '(25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
const ipv4 = text(15).pipe(z.string().regex(new RegExp(`^${OCTET}(\\.${OCTET}){3}$`), 'IPv4Address is not an IPv4 address'));

/** A `<ProbeMatch>` after XML parsing (element name → text). Unknown elements are kept out. */
export const sadpProbeMatchSchema = z.object({
  Uuid: text(64).optional(),
  DeviceType: text(16).optional(),
  DeviceDescription: text(64).optional(),
  DeviceSN: text(64).pipe(z.string().min(4, 'DeviceSN missing')),
  MAC: text(17).pipe(z.string().regex(/^([0-9a-fA-F]{2}[-:]){5}[0-9a-fA-F]{2}$/, 'MAC is malformed')),
  IPv4Address: ipv4,
  IPv4SubnetMask: ipv4.optional(),
  IPv4Gateway: ipv4.optional(),
  CommandPort: z.coerce.number().int().min(0).max(65535).optional(),
  HttpPort: z.coerce.number().int().min(0).max(65535).optional(),
  DHCP: sadpBool.optional(),
  SoftwareVersion: text(64).optional(),
  Activated: sadpBool.optional(),
});
export type SadpProbeMatch = z.infer<typeof sadpProbeMatchSchema>;

/** An IPv4 of 0.0.0.0 means the device's DHCP failed. */
export function sadpDhcpFailed(m: SadpProbeMatch): boolean {
  return m.IPv4Address === '0.0.0.0';
}
