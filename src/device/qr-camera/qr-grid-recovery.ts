import type { Frame } from './camera-frame.js';
import { darkThreshold, greyToFrame } from './frame-filters.js';

/**
 * Recovery for pixel-exact frames (the virtual bench's screen grabs, not photos): when speckle hides
 * the code from the generic decoder, find the symbol's pixel grid, vote every module by majority
 * of its pixels, and restore the function patterns (finders, timing, alignment, version), which
 * the standard fixes for a given size and which carry no data. The data modules keep their votes
 * and Reed–Solomon corrects what the vote got wrong; jsQR then reads a clean rendering.
 */

/** Modules as voted: 1 dark, 0 light, -1 a tie (as many dark as light pixels). */
export interface ModuleGrid {
  size: number;
  version: number;
  modules: Int8Array;
  /** Where the symbol lies in the frame, in pixels, [x0, x1) × [y0, y1). */
  box: { x0: number; y0: number; x1: number; y1: number };
}

const RENDER_SCALE = 4;
const QUIET_ZONE = 4;

function isSymbolSize(n: number): boolean {
  return Number.isInteger(n) && n >= 21 && n <= 177 && (n - 17) % 4 === 0;
}

/**
 * First and last index whose dark count stands out: above a quarter of the densest line and above
 * three times the 10th percentile (the speckle level of the quiet zone, which is a fifth or more of
 * a framed code's lines). A frame of speckle alone has no such span.
 */
function denseSpan(counts: Uint32Array): [number, number] | null {
  const sorted = Uint32Array.from(counts).sort();
  const max = sorted[sorted.length - 1] ?? 0;
  if (max === 0) return null;
  const floor = Math.max(max / 4, 3 * sorted[Math.floor(sorted.length / 10)]!);
  let first = -1;
  let last = -1;
  counts.forEach((c, i) => {
    if (c > floor) {
      if (first < 0) first = i;
      last = i;
    }
  });
  return first < 0 ? null : [first, last + 1];
}

/** Every grid the frame could hold: one per module size that divides the symbol's span into a legal size. */
export function findModuleGrids(grey: Uint8Array, width: number, height: number): ModuleGrid[] {
  const cut = darkThreshold(grey);
  const rows = new Uint32Array(height);
  const cols = new Uint32Array(width);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      if (grey[y * width + x]! < cut) {
        rows[y]!++;
        cols[x]!++;
      }
    }
  }
  const ys = denseSpan(rows);
  const xs = denseSpan(cols);
  if (!ys || !xs) return [];
  const [x0, x1] = xs;
  const [y0, y1] = ys;
  const span = x1 - x0;
  if (span !== y1 - y0) return []; // a pixel-exact symbol is square
  const grids: ModuleGrid[] = [];
  for (let scale = Math.floor(span / 21); scale >= 1; scale--) {
    const size = span / scale;
    if (!isSymbolSize(size)) continue;
    const modules = new Int8Array(size * size);
    const half = (scale * scale) / 2;
    for (let r = 0; r < size; r++) {
      for (let c = 0; c < size; c++) {
        let dark = 0;
        for (let dy = 0; dy < scale; dy++) {
          const row = (y0 + r * scale + dy) * width + x0 + c * scale;
          for (let dx = 0; dx < scale; dx++) if (grey[row + dx]! < cut) dark++;
        }
        modules[r * size + c] = dark > half ? 1 : dark < half ? 0 : -1;
      }
    }
    grids.push({ size, version: (size - 17) / 4, modules, box: { x0, y0, x1, y1 } });
  }
  return grids;
}

/** Centres of alignment patterns along one axis (ISO/IEC 18004 table E.1, as computed by encoders). */
export function alignmentCentres(version: number): number[] {
  if (version === 1) return [];
  const count = Math.floor(version / 7) + 2;
  const size = version * 4 + 17;
  const step = size === 145 ? 26 : Math.ceil((size - 13) / (2 * count - 2)) * 2;
  const centres = [size - 7];
  for (let i = 1; i < count - 1; i++) centres.push(centres[i - 1]! - step);
  centres.push(6);
  return centres.reverse();
}

/** The 18-bit version information: version in 6 bits, BCH(18,6) remainder with generator 0x1F25. */
export function versionInfoBits(version: number): number {
  let rem = version << 12;
  const generator = 0x1f25;
  for (let bit = 17; bit >= 12; bit--) if (rem & (1 << bit)) rem ^= generator << (bit - 12);
  return (version << 12) | rem;
}

export function restoreFunctionPatterns(grid: ModuleGrid): void {
  const { size: n, modules, version } = grid;
  const set = (r: number, c: number, dark: boolean): void => {
    if (r >= 0 && c >= 0 && r < n && c < n) modules[r * n + c] = dark ? 1 : 0;
  };
  for (const [r0, c0] of [[0, 0], [0, n - 7], [n - 7, 0]] as const) {
    for (let dr = -1; dr <= 7; dr++) {
      for (let dc = -1; dc <= 7; dc++) {
        const ring = Math.max(Math.abs(dr - 3), Math.abs(dc - 3));
        set(r0 + dr, c0 + dc, ring !== 2 && ring !== 4); // ring 4 is the light separator
      }
    }
  }
  for (let i = 8; i < n - 8; i++) {
    set(6, i, i % 2 === 0);
    set(i, 6, i % 2 === 0);
  }
  const centres = alignmentCentres(version);
  for (const r of centres) {
    for (const c of centres) {
      if ((r === 6 && c === 6) || (r === 6 && c === n - 7) || (r === n - 7 && c === 6)) continue; // under a finder
      for (let dr = -2; dr <= 2; dr++) for (let dc = -2; dc <= 2; dc++) set(r + dr, c + dc, Math.max(Math.abs(dr), Math.abs(dc)) !== 1);
    }
  }
  set(n - 8, 8, true); // the dark module
  if (version >= 7) {
    const bits = versionInfoBits(version);
    for (let i = 0; i < 18; i++) {
      const dark = ((bits >> i) & 1) === 1;
      set(Math.floor(i / 3), (i % 3) + n - 11, dark);
      set((i % 3) + n - 11, Math.floor(i / 3), dark);
    }
  }
}

/** A clean frame of the grid (4 px per module, 4-module quiet zone); ties are drawn as `tieAs`. */
export function renderModuleGrid(grid: ModuleGrid, tieAs: 0 | 1): Frame {
  const side = (grid.size + 2 * QUIET_ZONE) * RENDER_SCALE;
  const grey = new Uint8Array(side * side).fill(255);
  for (let r = 0; r < grid.size; r++) {
    for (let c = 0; c < grid.size; c++) {
      const m = grid.modules[r * grid.size + c]!;
      if ((m === -1 ? tieAs : m) !== 1) continue;
      for (let dy = 0; dy < RENDER_SCALE; dy++) {
        const row = ((r + QUIET_ZONE) * RENDER_SCALE + dy) * side + (c + QUIET_ZONE) * RENDER_SCALE;
        grey.fill(0, row, row + RENDER_SCALE);
      }
    }
  }
  return greyToFrame(grey, side, side);
}
