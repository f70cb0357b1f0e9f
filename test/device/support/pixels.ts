import { PNG } from 'pngjs';
import type { RgbaImage } from '../../../src/device/index.js';

/** Deterministic PRNG (mulberry32): a failing noise case can be replayed from its seed. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function pngToRgba(png: Uint8Array): RgbaImage & { data: Uint8Array } {
  const img = PNG.sync.read(Buffer.from(png));
  return { data: new Uint8Array(img.data), width: img.width, height: img.height };
}

/** Flips exactly round(fraction × pixels) distinct pixels black↔white; returns a new image. */
export function flipPixels(image: RgbaImage, fraction: number, seed: number): RgbaImage & { data: Uint8Array } {
  const data = new Uint8Array(image.data);
  const pixels = image.width * image.height;
  const rnd = seededRandom(seed);
  const chosen = new Set<number>();
  const target = Math.round(pixels * fraction);
  while (chosen.size < target) chosen.add(Math.floor(rnd() * pixels));
  for (const p of chosen) {
    const v = data[p * 4]! > 127 ? 0 : 255;
    data[p * 4] = v;
    data[p * 4 + 1] = v;
    data[p * 4 + 2] = v;
  }
  return { data, width: image.width, height: image.height };
}

/** Two images on one white canvas, side by side ('h'), stacked ('v') or corner to corner ('diag'). */
export function compose(a: RgbaImage, b: RgbaImage, layout: 'h' | 'v' | 'diag'): RgbaImage & { data: Uint8Array } {
  const width = layout === 'v' ? Math.max(a.width, b.width) : a.width + b.width;
  const height = layout === 'h' ? Math.max(a.height, b.height) : a.height + b.height;
  const data = new Uint8Array(width * height * 4).fill(255);
  const blit = (img: RgbaImage, ox: number, oy: number): void => {
    for (let y = 0; y < img.height; y++) {
      data.set(img.data.subarray(y * img.width * 4, (y + 1) * img.width * 4), ((oy + y) * width + ox) * 4);
    }
  };
  blit(a, 0, 0);
  blit(b, layout === 'v' ? 0 : a.width, layout === 'h' ? 0 : a.height);
  return { data, width, height };
}

export function rgbaToPng(image: RgbaImage): Buffer {
  const png = new PNG({ width: image.width, height: image.height });
  png.data = Buffer.from(image.data);
  return PNG.sync.write(png);
}
