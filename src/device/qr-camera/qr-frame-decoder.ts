import { jsQR } from './jsqr.js';
import { decodeQrPayload, type QrPayload } from '../../protocol/index.js';
import { readFrame, type CameraImage, type Frame } from './camera-frame.js';
import { cropFrame, darkThreshold, greyToFrame, luminance, median3x3 } from './frame-filters.js';
import { findModuleGrids, renderModuleGrid, restoreFunctionPatterns } from './qr-grid-recovery.js';

/**
 * The camera's decoder: a frame in, one pairing payload or a reason out. Never throws.
 *
 * Passes, cheapest first: jsQR on the frame as is; the module-grid recovery for pixel-exact
 * frames; jsQR after a 3 × 3 median (speckle on modules of 3 px or more). A frame must show
 * exactly one code: after a hit, the code's area is blanked and the frame decoded again (without
 * the median pass); jsQR
 * finds nothing at all in a frame with two codes, so a frame without a hit is split at its widest
 * blank band (the quiet zones between codes) and each part decoded, up to 8 parts.
 * Two copies of the same code are one code; two different codes make the frame ambiguous.
 */

export type FrameRejection = 'BAD_IMAGE' | 'NO_CODE' | 'MULTIPLE_CODES' | 'BAD_PAYLOAD';
export type FrameDecode =
  | { ok: true; payload: QrPayload; version: number; pass: PassName }
  | { ok: false; reason: FrameRejection; detail: string };

export type PassName = 'direct' | 'grid' | 'median';
interface Point {
  x: number;
  y: number;
}
interface Sighting {
  bytes: Uint8Array;
  version: number;
  pass: PassName;
  /** The code's corners in frame pixels, clockwise from top left. */
  corners: [Point, Point, Point, Point];
}

const JSQR_OPTIONS = { inversionAttempts: 'dontInvert' } as const; // the station draws dark on light
const MAX_SPLIT_DEPTH = 3;
const MIN_SPLIT_GAP_PX = 3;

function direct(frame: Frame): Sighting | null {
  const code = jsQR(frame.data, frame.width, frame.height, JSQR_OPTIONS);
  if (!code) return null;
  const l = code.location;
  return {
    bytes: Uint8Array.from(code.binaryData),
    version: code.version,
    pass: 'direct',
    corners: [l.topLeftCorner, l.topRightCorner, l.bottomRightCorner, l.bottomLeftCorner],
  };
}

function gridRecovered(frame: Frame): Sighting | null {
  for (const grid of findModuleGrids(luminance(frame), frame.width, frame.height)) {
    restoreFunctionPatterns(grid);
    for (const tieAs of [0, 1] as const) {
      const clean = renderModuleGrid(grid, tieAs);
      const code = jsQR(clean.data, clean.width, clean.height, JSQR_OPTIONS);
      if (!code) continue;
      const { x0, y0, x1, y1 } = grid.box;
      return { bytes: Uint8Array.from(code.binaryData), version: code.version, pass: 'grid', corners: [{ x: x0, y: y0 }, { x: x1, y: y0 }, { x: x1, y: y1 }, { x: x0, y: y1 }] };
    }
  }
  return null;
}

function medianFiltered(frame: Frame): Sighting | null {
  const found = direct(greyToFrame(median3x3(luminance(frame), frame.width, frame.height), frame.width, frame.height));
  return found && { ...found, pass: 'median' };
}

type Pass = (f: Frame) => Sighting | null;
const ALL_PASSES: readonly Pass[] = [direct, gridRecovered, medianFiltered];
/** Looking for a second code after a hit skips the median pass: it costs more than the rest together. */
const SECOND_LOOK_PASSES: readonly Pass[] = [direct, gridRecovered];

function findCode(frame: Frame, passes: readonly Pass[] = ALL_PASSES): Sighting | null {
  for (const pass of passes) {
    const s = pass(frame);
    if (s) return s;
  }
  return null;
}

/** The frame with the sighted code's area (grown by a fifth, for the finder edges) painted white. */
function blankOut(frame: Frame, corners: Sighting['corners']): Frame {
  const cx = corners.reduce((a, p) => a + p.x, 0) / 4;
  const cy = corners.reduce((a, p) => a + p.y, 0) / 4;
  const grown = corners.map((p) => ({ x: cx + (p.x - cx) * 1.2, y: cy + (p.y - cy) * 1.2 }));
  const data = new Uint8ClampedArray(frame.data);
  const yMin = Math.max(0, Math.floor(Math.min(...grown.map((p) => p.y))));
  const yMax = Math.min(frame.height - 1, Math.ceil(Math.max(...grown.map((p) => p.y))));
  // Scanline fill of the convex quadrilateral: per row, the span between its edge crossings.
  for (let y = yMin; y <= yMax; y++) {
    const yc = y + 0.5;
    let left = Infinity;
    let right = -Infinity;
    for (let i = 0; i < 4; i++) {
      const a = grown[i]!;
      const b = grown[(i + 1) % 4]!;
      if ((a.y <= yc && b.y > yc) || (b.y <= yc && a.y > yc)) {
        const x = a.x + ((yc - a.y) / (b.y - a.y)) * (b.x - a.x);
        left = Math.min(left, x);
        right = Math.max(right, x);
      }
    }
    if (left > right) continue;
    const x0 = Math.max(0, Math.ceil(left - 0.5));
    const x1 = Math.min(frame.width - 1, Math.floor(right - 0.5));
    if (x1 >= x0) data.fill(255, (y * frame.width + x0) * 4, (y * frame.width + x1 + 1) * 4);
  }
  return { data, width: frame.width, height: frame.height };
}

/** The widest run of blank lines strictly between inked lines, over both axes, if wide enough to part two codes. */
function widestGap(frame: Frame): { axis: 'x' | 'y'; from: number; to: number } | null {
  const grey = luminance(frame);
  const cut = darkThreshold(grey);
  const rows = new Uint32Array(frame.height);
  const cols = new Uint32Array(frame.width);
  for (let y = 0; y < frame.height; y++) {
    for (let x = 0; x < frame.width; x++) {
      if (grey[y * frame.width + x]! < cut) {
        rows[y]!++;
        cols[x]!++;
      }
    }
  }
  let best: { axis: 'x' | 'y'; from: number; to: number } | null = null;
  for (const [axis, counts, across] of [['y', rows, frame.width], ['x', cols, frame.height]] as const) {
    const blank = (i: number): boolean => counts[i]! <= across * 0.06; // speckle is not ink
    let first = 0;
    while (first < counts.length && blank(first)) first++;
    let last = counts.length - 1;
    while (last > first && blank(last)) last--;
    for (let i = first; i <= last; ) {
      if (!blank(i)) {
        i++;
        continue;
      }
      const from = i;
      while (i <= last && blank(i)) i++;
      if (!best || i - from > best.to - best.from) best = { axis, from, to: i };
    }
  }
  return best && best.to - best.from >= MIN_SPLIT_GAP_PX ? best : null;
}

function findCodesBySplitting(frame: Frame, depth: number, found: Sighting[]): void {
  const gap = widestGap(frame);
  if (!gap) return;
  const mid = Math.floor((gap.from + gap.to) / 2);
  const parts =
    gap.axis === 'x'
      ? [cropFrame(frame, 0, 0, mid, frame.height), cropFrame(frame, mid, 0, frame.width, frame.height)]
      : [cropFrame(frame, 0, 0, frame.width, mid), cropFrame(frame, 0, mid, frame.width, frame.height)];
  for (const part of parts) {
    const s = findCode(part);
    if (s) found.push(s);
    else if (depth > 1) findCodesBySplitting(part, depth - 1, found);
  }
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

function toDecode(sighting: Sighting): FrameDecode {
  const payload = decodeQrPayload(sighting.bytes);
  if (!payload.ok) return { ok: false, reason: 'BAD_PAYLOAD', detail: payload.error };
  return { ok: true, payload: payload.value, version: sighting.version, pass: sighting.pass };
}

function decodeFrame(frame: Frame): FrameDecode {
  const first = findCode(frame);
  if (first) {
    const second = findCode(blankOut(frame, first.corners), SECOND_LOOK_PASSES);
    if (second && !sameBytes(first.bytes, second.bytes)) return { ok: false, reason: 'MULTIPLE_CODES', detail: 'the frame shows two different codes' };
    return toDecode(first);
  }
  const sightings: Sighting[] = [];
  findCodesBySplitting(frame, MAX_SPLIT_DEPTH, sightings);
  const distinct = sightings.filter((s, i) => sightings.findIndex((o) => sameBytes(o.bytes, s.bytes)) === i);
  if (distinct.length > 1) return { ok: false, reason: 'MULTIPLE_CODES', detail: `the frame shows ${distinct.length} different codes` };
  if (distinct.length === 1) return toDecode(distinct[0]!);
  return { ok: false, reason: 'NO_CODE', detail: 'no QR code found in the frame' };
}

/** Decodes one camera image into a pairing payload, or says precisely why not. Never throws. */
export function decodeCameraImage(image: CameraImage): FrameDecode {
  try {
    const read = readFrame(image);
    if (!read.ok) return { ok: false, reason: 'BAD_IMAGE', detail: read.detail };
    return decodeFrame(read.frame);
  } catch (err) {
    // jsQR and pngjs are third-party code fed hostile input: a throw is a rejection, not a crash.
    return { ok: false, reason: 'BAD_IMAGE', detail: `decoder error: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * A decoder shared by cameras looking at the same screen: the result depends only on the pixels,
 * so one decode per distinct image object serves every camera (a fleet of 1000 decodes once).
 */
export function createSharedDecoder(): (image: CameraImage) => FrameDecode {
  const cache = new WeakMap<object, FrameDecode>();
  return (image) => {
    const hit = cache.get(image);
    if (hit) return hit;
    const result = decodeCameraImage(image);
    cache.set(image, result);
    return result;
  };
}
