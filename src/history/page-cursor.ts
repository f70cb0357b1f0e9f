import { HistoryInputError } from './errors.js';

/** The position after the last row of a page: pages are ordered by (at, id) descending. */
export interface PagePosition {
  at: number;
  id: number;
}

/**
 * Opaque to callers (base64url, fits historyQuerySchema's cursor pattern). A keyset position rather
 * than an offset: rows inserted between two page requests neither shift a row into the next page
 * twice nor push one out of sight.
 */
export function encodeCursor(p: PagePosition): string {
  return Buffer.from(`${p.at}.${p.id}`, 'utf8').toString('base64url');
}

export function decodeCursor(cursor: string): PagePosition {
  const m = /^(\d{1,16})\.(\d{1,16})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  const at = m ? Number(m[1]) : NaN;
  const id = m ? Number(m[2]) : NaN;
  if (!Number.isSafeInteger(at) || !Number.isSafeInteger(id)) {
    throw new HistoryInputError('INVALID_QUERY', 'history query rejected: cursor is not one this store issued');
  }
  return { at, id };
}
