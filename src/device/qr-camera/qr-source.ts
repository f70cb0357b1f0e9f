import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve as resolvePath } from 'node:path';
import { MAX_TOKEN_CAPACITY } from '../../protocol/index.js';
import { screenSchema } from '../../protocol/virtual-bench.js';
import { isPng } from './camera-frame.js';

/**
 * The screens the bench cameras look at (the station's display of pairing codes).
 *
 * A source is an http(s) URL (GET) or a file, read on every poll. It holds either one PNG (one
 * code on that screen) or the JSON form `{codes: [{id, png, capacity?}]}` of src/protocol/virtual-bench
 * (several codes on one screen). The kind is told by the bytes (PNG signature), not by headers.
 * Several sources are several screens; their codes are concatenated in the order the sources
 * were given, and cameras are assigned to codes by capacity (see camera-view.ts).
 */
export type QrSourceSpec = { url: string; file?: undefined } | { file: string; url?: undefined };

export interface ShownCode {
  /** `<source index>:<code id>`; a PNG source's only code has id `screen`. */
  key: string;
  capacity: number;
  png: Buffer;
  /** SHA-256 of the PNG: a code whose bytes did not change is the same picture. */
  hash: string;
  /** The product whose devices the operator holds it before; any device when absent. */
  pid?: string;
}

export type ScreenRead = { ok: true; codes: ShownCode[] } | { ok: false; error: string };

const MAX_SOURCE_BYTES = 8 * 1024 * 1024;
const FETCH_TIMEOUT_MS = 5_000;
const PNG_BASE64_PREFIX = 'iVBORw0KGgo'; // the PNG signature in base64

export function describeSource(spec: QrSourceSpec): string {
  return spec.url ?? spec.file;
}

/** A `--qr-source` argument: http(s) URLs are fetched, anything else is a file path. */
export function qrSourceFromArg(arg: string): QrSourceSpec {
  return /^https?:\/\//i.test(arg) ? { url: arg } : { file: arg };
}

async function fetchBytes(url: string): Promise<Buffer> {
  const response = await fetch(url, { signal: AbortSignal.timeout(FETCH_TIMEOUT_MS) });
  if (response.status !== 200) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error(`GET ${url}: HTTP ${response.status}`);
  }
  const declared = Number(response.headers.get('content-length') ?? '0');
  if (declared > MAX_SOURCE_BYTES) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error(`GET ${url}: ${declared} bytes is more than a screen`);
  }
  const bytes = Buffer.from(await response.arrayBuffer());
  if (bytes.length > MAX_SOURCE_BYTES) throw new Error(`GET ${url}: more than ${MAX_SOURCE_BYTES} bytes`);
  return bytes;
}

async function readBytes(path: string): Promise<Buffer> {
  const info = await stat(path);
  if (!info.isFile()) throw new Error(`${path} is not a file`);
  if (info.size > MAX_SOURCE_BYTES) throw new Error(`${path}: ${info.size} bytes is more than a screen`);
  return readFile(path);
}

/** A code's `png` field: base64, a data URL, or a reference relative to the source. */
async function resolvePng(ref: string, spec: QrSourceSpec): Promise<Buffer> {
  if (ref.startsWith('data:')) {
    const m = /^data:image\/png;base64,([A-Za-z0-9+/=\s]+)$/.exec(ref);
    if (!m) throw new Error('a data URL must be data:image/png;base64,…');
    return Buffer.from(m[1]!, 'base64');
  }
  if (ref.startsWith(PNG_BASE64_PREFIX)) return Buffer.from(ref, 'base64');
  if (/^https?:\/\//i.test(ref)) return fetchBytes(ref);
  if (spec.url !== undefined) return fetchBytes(new URL(ref, spec.url).toString());
  return readBytes(resolvePath(dirname(spec.file), ref));
}

function codeOf(key: string, capacity: number, png: Buffer, pid?: string): ShownCode {
  return { key, capacity, png, hash: createHash('sha256').update(png).digest('hex'), ...(pid ? { pid } : {}) };
}

/** One look at one screen. Never throws: an unreadable screen is an error the fleet reports. */
export async function readScreen(spec: QrSourceSpec, index: number): Promise<ScreenRead> {
  try {
    const bytes = spec.url !== undefined ? await fetchBytes(spec.url) : await readBytes(spec.file);
    // A PNG is the one code on that screen, whatever it shows: the cameras say what they make of it.
    if (isPng(bytes)) return { ok: true, codes: [codeOf(`${index}:screen`, MAX_TOKEN_CAPACITY, bytes)] };
    let json: unknown;
    try {
      json = JSON.parse(bytes.toString('utf8'));
    } catch {
      return { ok: false, error: 'neither a PNG nor JSON' };
    }
    const screen = screenSchema.safeParse(json);
    if (!screen.success) {
      const issue = screen.error.issues[0];
      return { ok: false, error: `JSON screen ${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}` };
    }
    const codes: ShownCode[] = [];
    for (const c of screen.data.codes) {
      const png = await resolvePng(c.png, spec);
      codes.push(codeOf(`${index}:${c.id}`, c.capacity ?? MAX_TOKEN_CAPACITY, png, c.pid));
    }
    return { ok: true, codes };
  } catch (err) {
    return { ok: false, error: err instanceof Error ? err.message : String(err) };
  }
}
