import type { z } from 'zod';

/**
 * Input the history refuses before touching the store: a malformed attempt, query, scope or cursor.
 * The station API answers it as `{code, message}` (a 400 over HTTP).
 */
export class HistoryInputError extends Error {
  constructor(
    readonly code: 'INVALID_ATTEMPT' | 'INVALID_QUERY',
    message: string,
    readonly issues: readonly z.core.$ZodIssue[] = [],
  ) {
    super(message);
    this.name = 'HistoryInputError';
  }
}

/** One line per issue, `path: message`, so a log line says which field of which row was wrong. */
export function describeIssues(issues: readonly z.core.$ZodIssue[], prefix = ''): string {
  return issues
    .map((i) => {
      const path = i.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('');
      const where = `${prefix}${path}`.replace(/^\./, '');
      return `${where || '(input)'}: ${i.message}`;
    })
    .join('; ');
}
