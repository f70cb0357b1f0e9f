import { PNG } from 'pngjs';
import QRCode, { type BitMatrix, type QRCodeSegment } from 'qrcode';
import { encodeQrPayload, type QrPayload } from '../protocol/index.js';

/**
 * Pairing codes as images (DESIGN §4.1): byte mode, error correction M, a quiet zone of 4 modules
 * (the minimum the QR standard asks for; cameras lose codes that touch other content); a payload
 * that is not pure ASCII is preceded by the UTF-8 ECI, so decoders that guess a charset read it exactly.
 */
export const QR_ERROR_CORRECTION = 'M';
export const QR_QUIET_ZONE_MODULES = 4;
export const DEFAULT_PIXELS_PER_MODULE = 8;
const MAX_PIXELS_PER_MODULE = 64;

export interface QrRenderOptions {
  /** Pixels per module (PNG) or user units per module (SVG width/height); integer 1–64. */
  scale?: number;
}

export interface QrSymbol {
  /** QR version 1–40 chosen for the data. */
  version: number;
  /** Modules per side, without the quiet zone (4 × version + 17). */
  modules: number;
  /** Bytes encoded (the payload's UTF-8 length). */
  payloadBytes: number;
  /** The ECI designator before the byte segment: 26 (UTF-8) when a byte is not ASCII, else none. */
  eci: typeof UTF8_ECI_DESIGNATOR | null;
  /** Pixels per side of the image, quiet zone included. */
  imageSize: number;
}

export type QrData = QrPayload | Uint8Array;

function payloadBytes(data: QrData): Uint8Array {
  // A Uint8Array passes as is: the bench and tests render hostile or reference bytes with the same code path.
  return data instanceof Uint8Array ? data : new TextEncoder().encode(encodeQrPayload(data));
}

function checkedScale(opts: QrRenderOptions | undefined): number {
  const scale = opts?.scale ?? DEFAULT_PIXELS_PER_MODULE;
  if (!Number.isInteger(scale) || scale < 1 || scale > MAX_PIXELS_PER_MODULE) {
    throw new RangeError(`scale must be an integer from 1 to ${MAX_PIXELS_PER_MODULE} pixels per module, got ${scale}`);
  }
  return scale;
}

/** ECI designator of UTF-8 (AIM ECI 000026), written in one byte as 0x1A. */
export const UTF8_ECI_DESIGNATOR = 26;

/**
 * The ECI segment as the qrcode package writes a segment: its 4-bit mode indicator (0111), then
 * getLength() in the mode's "count" bits, here the 8 bits of a one-byte designator (0xxxxxxx), then
 * no data. qrcode 1.5 has no ECI mode of its own, but writes and sizes any segment by these members.
 */
const UTF8_ECI_SEGMENT = {
  mode: { id: 'ECI', bit: 0b0111, ccBits: [8, 8, 8] },
  getLength: () => UTF8_ECI_DESIGNATOR,
  getBitsLength: () => 0,
  write: () => {},
};

function isAscii(bytes: Uint8Array): boolean {
  return bytes.every((b) => b < 0x80);
}

/**
 * The segment list for qrcode: one byte segment, after the UTF-8 ECI when a byte is not ASCII.
 * qrcode builds its segments from an array with `array.reduce` and knows only its four data modes;
 * this array's own reduce lets qrcode build the byte segment as usual, then puts the ECI before it.
 * encodeSymbol checks that the ECI is there, so a qrcode that builds segments otherwise fails loudly.
 */
function segmentsFor(bytes: Uint8Array): QRCodeSegment[] {
  const segments: QRCodeSegment[] = [{ data: bytes, mode: 'byte' }];
  if (isAscii(bytes)) return segments;
  Object.defineProperty(segments, 'reduce', {
    value(this: unknown[], ...args: Parameters<typeof Array.prototype.reduce>) {
      return [UTF8_ECI_SEGMENT, ...(Array.prototype.reduce.apply(this, args) as unknown[])];
    },
  });
  return segments;
}

/** Encodes once, then pins version and mask so every renderer draws exactly this symbol. */
function encodeSymbol(bytes: Uint8Array, scale: number) {
  const segments = segmentsFor(bytes);
  const qr = QRCode.create(segments, { errorCorrectionLevel: QR_ERROR_CORRECTION });
  const eci = isAscii(bytes) ? null : UTF8_ECI_DESIGNATOR;
  if ((eci !== null) !== ((qr.segments as unknown[])[0] === UTF8_ECI_SEGMENT)) {
    throw new Error('the qrcode package did not take the UTF-8 ECI segment (has its segment building changed?)');
  }
  const modules = qr.modules.size;
  const symbol: QrSymbol = {
    version: qr.version,
    modules,
    payloadBytes: bytes.length,
    eci,
    imageSize: (modules + 2 * QR_QUIET_ZONE_MODULES) * scale,
  };
  const options = {
    errorCorrectionLevel: QR_ERROR_CORRECTION,
    version: qr.version,
    ...(qr.maskPattern === undefined ? {} : { maskPattern: qr.maskPattern }),
    margin: QR_QUIET_ZONE_MODULES,
  } as const;
  return { segments, symbol, options, modules: qr.modules };
}

/** The symbol a payload needs, without drawing it. */
export function qrSymbolFor(data: QrData, opts?: QrRenderOptions): QrSymbol {
  return encodeSymbol(payloadBytes(data), checkedScale(opts)).symbol;
}

export async function renderQrPng(data: QrData, opts?: QrRenderOptions): Promise<QrSymbol & { png: Buffer }> {
  const scale = checkedScale(opts);
  const { symbol, modules } = encodeSymbol(payloadBytes(data), scale);
  return { ...symbol, png: modulesPng(modules, QR_QUIET_ZONE_MODULES, scale) };
}

/**
 * The symbol as an 8-bit greyscale PNG: black modules on white, `margin` modules of quiet zone, `scale`
 * pixels a module: the pixels qrcode's own PNG renderer draws. That renderer writes them as RGBA, has
 * pngjs try five filters on every row and deflates at level 9 (ten codes took the station tens of
 * milliseconds on a code screen's first look). Here the pixels go to pngjs (which writes the PNG) as one
 * grey byte each, rows unfiltered (each module row is `scale` equal pixel rows, which deflate finds),
 * at zlib's default level: well under a millisecond and under a kilobyte a code, and a camera reads it
 * back faster too. Not 1 bit a pixel: pngjs (the virtual cameras' reader) unpacks those slowly.
 */
function modulesPng(modules: BitMatrix, margin: number, scale: number): Buffer {
  const size = modules.size;
  const side = (size + 2 * margin) * scale;
  const data = Buffer.alloc(side * side, 0xff);
  for (let my = 0; my < size; my++) {
    const first = (my + margin) * scale * side;
    for (let mx = 0; mx < size; mx++) {
      if (modules.data[my * size + mx]) data.fill(0, first + (mx + margin) * scale, first + (mx + margin + 1) * scale);
    }
    for (let k = 1; k < scale; k++) data.copyWithin(first + k * side, first, first + side);
  }
  // pngjs's writer reads only width, height and data (a `new PNG` would allocate an RGBA buffer to throw away).
  return PNG.sync.write({ width: side, height: side, data } as PNG, {
    colorType: 0,
    inputColorType: 0,
    inputHasAlpha: false,
    bitDepth: 8,
    filterType: 0,
    deflateLevel: 6,
    deflateStrategy: 0, // zlib's default (pngjs's own, 3, is run-length only: three times the bytes here)
  });
}

export async function renderQrSvg(data: QrData, opts?: QrRenderOptions): Promise<QrSymbol & { svg: string }> {
  const scale = checkedScale(opts);
  const { segments, symbol, options } = encodeSymbol(payloadBytes(data), scale);
  // The SVG renderer ignores `scale`; `width` gives the same size in user units.
  const svg = await QRCode.toString(segments, { ...options, type: 'svg', width: symbol.imageSize });
  return { ...symbol, svg: svg.trim() };
}

/** A PNG as a data URL, for an <img> in a page that must stand alone (printing, e-mail). */
export function pngDataUrl(png: Uint8Array): string {
  return `data:image/png;base64,${Buffer.from(png).toString('base64')}`;
}
