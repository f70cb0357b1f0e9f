import { serialSchema } from '../../protocol/device-messages.js';

/** The manifest textarea, one serial per line, as the batch request wants it. */
export interface ManifestCheck {
  /** Valid serials in order, each once. */
  serials: string[];
  /** Lines that are not serial labels. */
  invalid: string[];
  /** Serials given more than once (kept once in `serials`). */
  duplicates: string[];
}

export function parseManifest(text: string): ManifestCheck {
  const serials: string[] = [];
  const invalid: string[] = [];
  const duplicates: string[] = [];
  const seen = new Set<string>();
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (!line) continue;
    if (!serialSchema.safeParse(line).success) invalid.push(line);
    else if (seen.has(line)) {
      if (!duplicates.includes(line)) duplicates.push(line);
    } else {
      seen.add(line);
      serials.push(line);
    }
  }
  return { serials, invalid, duplicates };
}

/** Appends one scanned label as a new line; a blank scan changes nothing. */
export function appendToManifest(text: string, label: string): string {
  const clean = label.trim();
  if (!clean) return text;
  if (!text.trim()) return `${clean}\n`;
  return `${text.endsWith('\n') ? text : `${text}\n`}${clean}\n`;
}
