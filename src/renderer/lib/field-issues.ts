import type { z } from 'zod';

/**
 * What is wrong with one form field, from the same zod schema the station checks: a kind the view
 * turns into a sentence of its language (with the limit), never the schema's English message.
 */
export type FieldIssue =
  | { kind: 'required' }
  | { kind: 'too-short'; min: number }
  | { kind: 'too-long'; max: number }
  | { kind: 'too-small'; min: number }
  | { kind: 'too-big'; max: number }
  | { kind: 'whole-number' }
  | { kind: 'format' }
  | { kind: 'date' }
  | { kind: 'date-order' };

function issueOf(i: z.core.$ZodIssue): FieldIssue {
  switch (i.code) {
    case 'too_small':
      if (i.origin === 'string') return Number(i.minimum) <= 1 ? { kind: 'required' } : { kind: 'too-short', min: Number(i.minimum) };
      return { kind: 'too-small', min: Number(i.minimum) };
    case 'too_big':
      return i.origin === 'string' ? { kind: 'too-long', max: Number(i.maximum) } : { kind: 'too-big', max: Number(i.maximum) };
    case 'invalid_type':
      return i.expected === 'int' || i.expected === 'number' ? { kind: 'whole-number' } : { kind: 'required' };
    case 'invalid_format':
      return { kind: 'format' };
    case 'custom':
      return i.path.at(-1) === 'to' && /after/.test(i.message) ? { kind: 'date-order' } : { kind: 'date' };
    default:
      return { kind: 'format' };
  }
}

/** The first issue of each field (by the last key of its path), for the message beside that field. */
export function fieldIssues(error: z.ZodError | null | undefined): Record<string, FieldIssue> {
  const out: Record<string, FieldIssue> = {};
  for (const i of error?.issues ?? []) {
    const key = String(i.path.at(-1) ?? '');
    if (!(key in out)) out[key] = issueOf(i);
  }
  return out;
}
