import type { Frame } from './camera-frame.js';

/** Grey levels of a frame, one byte per pixel (ITU-R BT.601 weights, as camera sensors report luma). */
export function luminance(frame: Frame): Uint8Array {
  const { data, width, height } = frame;
  const out = new Uint8Array(width * height);
  for (let i = 0; i < out.length; i++) out[i] = (data[i * 4]! * 77 + data[i * 4 + 1]! * 150 + data[i * 4 + 2]! * 29) >> 8;
  return out;
}

export function greyToFrame(grey: Uint8Array, width: number, height: number): Frame {
  const data = new Uint8ClampedArray(width * height * 4);
  for (let i = 0; i < grey.length; i++) {
    const v = grey[i]!;
    data[i * 4] = v;
    data[i * 4 + 1] = v;
    data[i * 4 + 2] = v;
    data[i * 4 + 3] = 255;
  }
  return { data, width, height };
}

/** 3 × 3 median: removes speckle without blurring module edges, once modules are 3 px or more. */
export function median3x3(grey: Uint8Array, width: number, height: number): Uint8Array {
  const out = new Uint8Array(grey.length);
  const win = new Uint8Array(9);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let k = 0;
      for (let dy = -1; dy <= 1; dy++) {
        const yy = Math.min(height - 1, Math.max(0, y + dy)) * width;
        for (let dx = -1; dx <= 1; dx++) win[k++] = grey[yy + Math.min(width - 1, Math.max(0, x + dx))]!;
      }
      win.sort();
      out[y * width + x] = win[4]!;
    }
  }
  return out;
}

/** Midpoint between the 5th and 95th percentile of grey: the dark/light cut for a screen image. */
export function darkThreshold(grey: Uint8Array): number {
  const hist = new Uint32Array(256);
  for (let i = 0; i < grey.length; i++) hist[grey[i]!]!++;
  const percentile = (p: number): number => {
    const target = grey.length * p;
    let seen = 0;
    for (let v = 0; v < 256; v++) {
      seen += hist[v]!;
      if (seen >= target) return v;
    }
    return 255;
  };
  return (percentile(0.05) + percentile(0.95)) / 2;
}

/** Copy of a frame cropped to [x0, x1) × [y0, y1). */
export function cropFrame(frame: Frame, x0: number, y0: number, x1: number, y1: number): Frame {
  const width = x1 - x0;
  const height = y1 - y0;
  const data = new Uint8ClampedArray(width * height * 4);
  for (let y = 0; y < height; y++) {
    const from = ((y0 + y) * frame.width + x0) * 4;
    data.set(frame.data.subarray(from, from + width * 4), y * width * 4);
  }
  return { data, width, height };
}
