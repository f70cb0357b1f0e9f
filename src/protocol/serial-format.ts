import { z } from 'zod';
import { serialSchema } from './device-messages.js';

/**
 * A product's serial format, as its labels are printed: a template, not a regular expression, so that a
 * format from the authority can never be slow to match (no nesting, no repetition operators) and reads
 * as a clerk reads a label. `#` a digit, `A` an upper-case letter, `*` a letter or digit; every other
 * character stands for itself (`QC1-####-######` matches `QC1-2611-000042`).
 */
export const serialFormatSchema = z
  .string()
  .regex(/^[A-Za-z0-9_.\-/#*]{4,64}$/, 'a serial format is 4–64 label characters, # (digit), A (letter) or * (letter or digit)');
export type SerialFormat = z.infer<typeof serialFormatSchema>;

function matchesChar(pattern: string, c: string): boolean {
  if (pattern === '#') return c >= '0' && c <= '9';
  if (pattern === 'A') return c >= 'A' && c <= 'Z';
  if (pattern === '*') return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
  return pattern === c;
}

/** Why a label is not a serial of a product: null when it is one. */
export type SerialLabelProblem =
  /** Not label characters at all (spaces, emoji, control characters) or longer than 64. */
  | { kind: 'not-a-serial' }
  /** A serial, but not this product's: the format it should have, and the first position that differs (0-based). */
  | { kind: 'wrong-format'; format: string; at: number };

export function checkSerialLabel(label: string, format: string | null): SerialLabelProblem | null {
  if (!serialSchema.safeParse(label).success) return { kind: 'not-a-serial' };
  if (format === null) return null;
  const n = Math.min(label.length, format.length);
  for (let i = 0; i < n; i++) if (!matchesChar(format[i]!, label[i]!)) return { kind: 'wrong-format', format, at: i };
  return label.length === format.length ? null : { kind: 'wrong-format', format, at: n };
}

/** An example serial of a format (for a field's placeholder and a refusal): `QC1-####` → `QC1-0000`. */
export function exampleSerial(format: string): string {
  return [...format].map((c) => (c === '#' ? '0' : c === 'A' ? 'X' : c === '*' ? '0' : c)).join('');
}

/** The refusal text of a label (English, for the station's own refusals and logs; the UI translates by kind). */
export function describeLabelProblem(label: string, p: SerialLabelProblem): string {
  const shown = label.length > 40 ? `${label.slice(0, 40)}…` : label;
  return p.kind === 'not-a-serial'
    ? `"${shown}" is not a serial label: 4–64 letters, digits and . _ - / only`
    : `"${shown}" is not a serial of this product: it should look like ${exampleSerial(p.format)} (${p.format}), and differs at character ${p.at + 1}`;
}
