import { serialSchema } from '../../protocol/index.js';

/**
 * What the virtual barcode scanner reads, label by label, with some scans deliberately wrong:
 * - `typo`: the device's label misread as another well-formed serial that no device has;
 *   it replaces the good scan, so that device later fails SERIAL_MISMATCH.
 * - `other`: the neighbouring device's label scanned instead of this one's (two labels swapped
 *   on the bench); it replaces the good scan, with the same effect.
 * - `garbled`: a partial read that is not a serial at all; the station rejects the line, and the
 *   operator's rescan (the good label) follows it.
 */
export type ScanKind = 'label' | 'typo' | 'other' | 'garbled';
export const WRONG_SCAN_KINDS = ['typo', 'garbled', 'other'] as const;
export type WrongScans = Partial<Record<(typeof WRONG_SCAN_KINDS)[number], number>>;

export interface PlannedScan {
  line: string;
  kind: ScanKind;
  /** The label of the device in front of the scanner. */
  of: string;
}

const DIGITS = '0123456789';
const LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';

/** One character of the label changed to its neighbour, until no bench device has the result. */
export function typoOf(label: string, taken: ReadonlySet<string>): string {
  for (let pos = label.length - 1; pos >= 0; pos--) {
    const ch = label[pos]!;
    const alphabet = DIGITS.includes(ch) ? DIGITS : LETTERS.includes(ch.toUpperCase()) ? LETTERS : null;
    if (!alphabet) continue;
    for (let step = 1; step < alphabet.length; step++) {
      const next = alphabet[(alphabet.indexOf(ch.toUpperCase()) + step) % alphabet.length]!;
      const candidate = label.slice(0, pos) + (ch === ch.toLowerCase() && alphabet === LETTERS ? next.toLowerCase() : next) + label.slice(pos + 1);
      if (!taken.has(candidate)) return candidate;
    }
  }
  return `${label.slice(0, -1)}X`;
}

/** The first half of the label and two characters no serial may contain: a read cut short. */
export function garbledOf(label: string): string {
  return `${label.slice(0, Math.ceil(label.length / 2))}#?`;
}

function counts(wrong: number | WrongScans): Array<(typeof WRONG_SCAN_KINDS)[number]> {
  if (typeof wrong === 'number') {
    if (!Number.isInteger(wrong) || wrong < 0) throw new RangeError(`wrong must be a whole number, got ${wrong}`);
    return Array.from({ length: wrong }, (_, i) => WRONG_SCAN_KINDS[i % WRONG_SCAN_KINDS.length]!);
  }
  const kinds: Array<(typeof WRONG_SCAN_KINDS)[number]> = [];
  for (const kind of WRONG_SCAN_KINDS) {
    const n = wrong[kind] ?? 0;
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`wrong.${kind} must be a whole number, got ${n}`);
    for (let i = 0; i < n; i++) kinds.push(kind);
  }
  // Interleaved, so that the wrong scans of each kind spread over the bench.
  return interleave(kinds);
}

function interleave<T>(items: T[]): T[] {
  const groups = new Map<T, number>();
  for (const item of items) groups.set(item, (groups.get(item) ?? 0) + 1);
  const out: T[] = [];
  while (out.length < items.length) {
    for (const [item, left] of groups) {
      if (left === 0) continue;
      out.push(item);
      groups.set(item, left - 1);
    }
  }
  return out;
}

/**
 * The scans, in bench order. Each device is scanned once; `wrong` devices (spread evenly, never two
 * wrong scans for one device) get a wrong scan of the kinds asked. Deterministic: a bench rerun
 * scans the same lines.
 */
export function planScans(labels: readonly string[], wrong: number | WrongScans = 0): PlannedScan[] {
  for (const label of labels) {
    const r = serialSchema.safeParse(label);
    if (!r.success) throw new RangeError(`"${label}" is not a serial label: ${r.error.issues[0]?.message}`);
  }
  const kinds = counts(wrong);
  if (kinds.length > labels.length) throw new RangeError(`${kinds.length} wrong scans asked for ${labels.length} labels: at most one per label`);
  if (kinds.includes('other') && new Set(labels).size < 2) throw new RangeError('an "other" scan needs at least two different labels');
  const taken = new Set(labels);
  const wrongAt = new Map<number, (typeof WRONG_SCAN_KINDS)[number]>();
  kinds.forEach((kind, k) => wrongAt.set(Math.floor(((k + 0.5) * labels.length) / kinds.length), kind));

  const plan: PlannedScan[] = [];
  labels.forEach((label, i) => {
    const kind = wrongAt.get(i);
    if (kind === 'typo') plan.push({ line: typoOf(label, taken), kind, of: label });
    else if (kind === 'other') {
      const other = labels.slice(i + 1).concat(labels.slice(0, i)).find((l) => l !== label)!;
      plan.push({ line: other, kind, of: label });
    } else {
      if (kind === 'garbled') plan.push({ line: garbledOf(label), kind, of: label });
      plan.push({ line: label, kind: 'label', of: label });
    }
  });
  return plan;
}
