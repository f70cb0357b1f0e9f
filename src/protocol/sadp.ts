import { z } from 'zod';

/** DESIGN §4.7: SADP probe on UDP multicast; answers are `<ProbeMatch>` XML. */
export const SADP_MULTICAST_ADDRESS = '239.255.255.250';
export const SADP_PORT = 37020;

/** XML text content: `&`, `<` and `>` escaped, so any Uuid reads back as written. */
export const escapeXmlText = (s: string): string => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

export function sadpProbeXml(uuid: string): string {
  return `<?xml version="1.0" encoding="utf-8"?><Probe><Uuid>${escapeXmlText(uuid)}</Uuid><Types>inquiry</Types></Probe>`;
}

/**
 * What one SADP datagram may hold before any XML parser sees it. A real answer is about 1.4 KB of
 * ~35 flat elements (shared/fixtures/sadp); a UDP datagram may be 64 KB, and an XML parser spends
 * 45–126 ms on 64 KB of crafted elements. These bounds keep every datagram's parse (or refusal)
 * under 5 ms (bench:sadp) with a margin of 5× over the largest real answer.
 */
export const SADP_DATAGRAM_LIMITS = {
  /** UTF-8 bytes of the datagram; checked before decoding it. */
  maxBytes: 8192,
  /** Start tags (elements), the declaration and processing instructions included. */
  maxTags: 128,
  /** Nesting: `<ProbeMatch><DeviceSN>` is 2. */
  maxDepth: 4,
  /** Characters of one tag between `<` and `>`: bounds names and attribute values. */
  maxTagChars: 256,
  /** Attributes in the whole datagram (the XML declaration has up to 3; SADP elements have none). */
  maxAttributes: 8,
  /** Character and entity references (`&amp;`, `&#60;`) in the whole datagram. */
  maxReferences: 128,
} as const;

export type SadpScreen = { ok: true; text: string } | { ok: false; why: string };

const utf8 = new TextDecoder('utf-8');
const utf8Encoder = new TextEncoder();
const LT = 0x3c;
const AMP = 0x26;

/**
 * Bounds a datagram cheaply (one linear pass, no parser) and decodes it: over-size datagrams are
 * refused before they are even decoded. Refuses DTDs (`<!DOCTYPE`, `<!ENTITY`): SADP has none, and
 * entity definitions are the parser's slowest path. Not a validator: the XML parser still decides
 * whether what passes is XML (an unterminated tag, comment or CDATA passes here). Never throws.
 */
export function screenSadpDatagram(datagram: Uint8Array | string): SadpScreen {
  const L = SADP_DATAGRAM_LIMITS;
  // A UTF-16 unit is at least one UTF-8 byte: a string longer than maxBytes is over without encoding it.
  const bytes = typeof datagram === 'string' ? (datagram.length > L.maxBytes ? datagram.length : utf8Encoder.encode(datagram).length) : datagram.length;
  if (bytes > L.maxBytes) return { ok: false, why: `datagram of ${bytes} bytes is over the ${L.maxBytes} a SADP answer may have` };
  const text = typeof datagram === 'string' ? datagram : utf8.decode(datagram);
  let tags = 0;
  let depth = 0;
  let references = 0;
  let attributes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === AMP) {
      if (++references > L.maxReferences) return { ok: false, why: `more than ${L.maxReferences} character or entity references` };
      continue;
    }
    if (c !== LT) continue;
    if (text.startsWith('<!--', i)) {
      const end = text.indexOf('-->', i + 4);
      if (end < 0) break; // unterminated: nothing more to count, and the parser refuses it
      i = end + 2;
      continue;
    }
    if (text.startsWith('<![CDATA[', i)) {
      const end = text.indexOf(']]>', i + 9);
      if (end < 0) break;
      i = end + 2;
      continue;
    }
    if (text.startsWith('<!', i)) return { ok: false, why: 'a DTD or markup declaration (<!…>): SADP has none' };
    const end = text.indexOf('>', i + 1);
    if (end < 0) break;
    if (end - i - 1 > L.maxTagChars) return { ok: false, why: `a tag of ${end - i - 1} characters (more than ${L.maxTagChars})` };
    const tag = text.slice(i + 1, end);
    i = end;
    if (tag.startsWith('/')) {
      depth = Math.max(0, depth - 1); // stray end tags earn no extra depth; the parser refuses them
      continue;
    }
    if (++tags > L.maxTags) return { ok: false, why: `more than ${L.maxTags} elements` };
    for (let j = tag.indexOf('='); j >= 0; j = tag.indexOf('=', j + 1)) attributes++;
    if (attributes > L.maxAttributes) return { ok: false, why: `more than ${L.maxAttributes} attributes` };
    if (tag.startsWith('?') || tag.endsWith('/')) continue;
    if (++depth > L.maxDepth) return { ok: false, why: `elements nested deeper than ${L.maxDepth}` };
  }
  return { ok: true, text };
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
