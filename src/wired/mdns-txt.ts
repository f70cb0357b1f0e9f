import { mdnsTxtSchema, type MdnsTxt } from '../protocol/index.js';

/**
 * The TXT record of an `_iot-unbind._tcp` instance (DESIGN §4.5), from its wire strings to a checked
 * MdnsTxt, or the reason it is not one. RFC 6763 §6: each string is `key=value`, keys are
 * case-insensitive, and only the first occurrence of a key counts.
 */
export type TxtCheck = { ok: true; txt: MdnsTxt; raw: Record<string, string> } | { ok: false; why: string; raw: Record<string, string> };

const MAX_SHOWN = 40;
const show = (v: string): string => JSON.stringify(v.length > MAX_SHOWN ? `${v.slice(0, MAX_SHOWN)}…` : v);

function asStrings(data: unknown): Uint8Array[] | null {
  if (data instanceof Uint8Array) return [data];
  if (Array.isArray(data) && data.every((d) => d instanceof Uint8Array || typeof d === 'string')) {
    return data.map((d) => (typeof d === 'string' ? Buffer.from(d, 'utf8') : d));
  }
  return null;
}

export function checkTxt(data: unknown): TxtCheck {
  const raw: Record<string, string> = {};
  const strings = asStrings(data);
  if (!strings) return { ok: false, why: 'TXT data is not a list of strings', raw };
  const problems: string[] = [];
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (const bytes of strings) {
    if (bytes.length === 0) continue; // an empty TXT record is one empty string (RFC 6763 §6.1)
    let text: string;
    try {
      text = decoder.decode(bytes);
    } catch {
      problems.push('a TXT string is not UTF-8');
      continue;
    }
    const eq = text.indexOf('=');
    const key = (eq < 0 ? text : text.slice(0, eq)).toLowerCase();
    if (key === '') {
      problems.push(`TXT string ${show(text)} has no key`);
      continue;
    }
    if (Object.hasOwn(raw, key)) continue;
    raw[key] = eq < 0 ? '' : text.slice(eq + 1);
  }
  const parsed = mdnsTxtSchema.safeParse(raw);
  if (parsed.success && problems.length === 0) return { ok: true, txt: parsed.data, raw };
  for (const issue of parsed.error?.issues ?? []) {
    const key = String(issue.path[0] ?? 'TXT');
    problems.push(Object.hasOwn(raw, key) ? `${key}=${show(raw[key]!)}: ${issue.message}` : `${key} missing`);
  }
  return { ok: false, why: problems.join('; '), raw };
}
