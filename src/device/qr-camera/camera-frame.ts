import { PNG } from 'pngjs';

/** What a camera hands the decoder: PNG bytes, or raw RGBA pixels (4 bytes per pixel, row-major). */
export interface RgbaImage {
  data: Uint8Array | Uint8ClampedArray;
  width: number;
  height: number;
}
export type CameraImage = Uint8Array | RgbaImage;

/** A frame ready for jsQR: RGBA in a Uint8ClampedArray. */
export interface Frame {
  data: Uint8ClampedArray;
  width: number;
  height: number;
}

/** A 4096 × 4096 frame is far beyond any bench camera; larger inputs are refused before decoding. */
export const MAX_FRAME_PIXELS = 4096 * 4096;
const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

export type FrameRead = { ok: true; frame: Frame } | { ok: false; detail: string };

function checkSize(width: number, height: number): string | null {
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) return `image size ${width}×${height} is not valid`;
  if (width * height > MAX_FRAME_PIXELS) return `image of ${width}×${height} pixels is larger than a camera frame`;
  return null;
}

export function isPng(bytes: Uint8Array): boolean {
  return bytes.length >= 8 && PNG_SIGNATURE.every((b, i) => bytes[i] === b);
}

function readPng(bytes: Uint8Array): FrameRead {
  if (!isPng(bytes)) return { ok: false, detail: 'not a PNG image' };
  if (bytes.length < 24) return { ok: false, detail: 'PNG is truncated' };
  // IHDR sits at a fixed place: refuse a decompression bomb before inflating it.
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const sizeError = checkSize(view.getUint32(16), view.getUint32(20));
  if (sizeError) return { ok: false, detail: sizeError };
  try {
    const png = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { ok: true, frame: { data: new Uint8ClampedArray(png.data.buffer, png.data.byteOffset, png.data.byteLength), width: png.width, height: png.height } };
  } catch (err) {
    return { ok: false, detail: `PNG does not decode: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/** Turns any camera input into a frame; never throws. */
export function readFrame(image: CameraImage): FrameRead {
  if (image instanceof Uint8Array) return readPng(image);
  if (typeof image !== 'object' || image === null) return { ok: false, detail: 'not an image' };
  const { data, width, height } = image;
  const sizeError = checkSize(width, height);
  if (sizeError) return { ok: false, detail: sizeError };
  if (!(data instanceof Uint8Array || data instanceof Uint8ClampedArray)) return { ok: false, detail: 'RGBA data is not a byte array' };
  if (data.length !== width * height * 4) return { ok: false, detail: `RGBA data has ${data.length} bytes, ${width}×${height} needs ${width * height * 4}` };
  return { ok: true, frame: { data: new Uint8ClampedArray(data.buffer, data.byteOffset, data.byteLength), width, height } };
}
