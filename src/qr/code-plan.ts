import { MAX_TOKEN_CAPACITY } from '../protocol/index.js';

/** One pairing code of a batch: which devices (by position in the batch) it is held before. */
export interface PlannedCode {
  index: number;
  capacity: number;
  /** Position of the first device this code serves; it serves `capacity` devices from there. */
  firstDevice: number;
}

/**
 * Splits N devices into ⌈N/30⌉ codes, filling each code to MAX_TOKEN_CAPACITY before starting the
 * next (45 → 30 + 15). Filling keeps the bench rule simple for the operator and the virtual bench
 * alike: device i is served by code ⌊i/30⌋, every code but the last is full, and the last one
 * expires harmlessly with no spare places beyond the devices actually on the bench.
 */
export function planQrCodes(deviceCount: number): PlannedCode[] {
  if (!Number.isSafeInteger(deviceCount) || deviceCount < 0) {
    throw new RangeError(`device count must be a non-negative integer, got ${deviceCount}`);
  }
  const codes: PlannedCode[] = [];
  for (let first = 0; first < deviceCount; first += MAX_TOKEN_CAPACITY) {
    codes.push({ index: codes.length, capacity: Math.min(MAX_TOKEN_CAPACITY, deviceCount - first), firstDevice: first });
  }
  return codes;
}

/** The code that serves the device at `position` in a plan made by planQrCodes. */
export function codeIndexForDevice(position: number): number {
  return Math.floor(position / MAX_TOKEN_CAPACITY);
}
