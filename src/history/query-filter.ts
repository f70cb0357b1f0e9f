import { historyQuerySchema, type HistoryQuery } from '../protocol/station-api.js';
import { describeIssues, HistoryInputError } from './errors.js';
import { scopeCondition, type HistoryScope, type SqlCondition } from './history-scope.js';
import { textCondition, type TextPlanner } from './text-search.js';

export function parseQuery(input: unknown): HistoryQuery {
  const r = historyQuerySchema.safeParse(input);
  if (!r.success) throw new HistoryInputError('INVALID_QUERY', `history query rejected: ${describeIssues(r.error.issues)}`, r.error.issues);
  return r.data;
}

/**
 * The WHERE clause of a history query: the account's scope and every filter, AND-ed. Paging
 * (cursor, limit) is not part of it. Returns null when the scope admits nothing.
 */
export function filterCondition(scope: HistoryScope, q: HistoryQuery, planText: TextPlanner): SqlCondition | null {
  const scoped = scopeCondition(scope, q.pid);
  if (scoped === null) return null;
  const parts: string[] = [scoped.sql];
  const params: Array<string | number> = [...scoped.params];
  const add = (sql: string, ...values: Array<string | number>): void => {
    parts.push(sql);
    params.push(...values);
  };

  if (q.from !== undefined) add('at >= ?', Date.parse(q.from));
  if (q.to !== undefined) add('at < ?', Date.parse(q.to));
  if (q.pid !== undefined) add('pid = ?', q.pid);
  if (q.result !== undefined) add('result = ?', q.result);
  if (q.code !== undefined) add('code = ?', q.code);
  if (q.operator !== undefined) add('operator = ?', q.operator);
  if (q.method !== undefined) add('method = ?', q.method);
  if (q.batchId !== undefined) add('batch_id = ?', q.batchId);
  const text = q.text?.trim() ?? '';
  if (text !== '') {
    const t = textCondition(text, planText(text));
    add(t.sql, ...t.params);
  }
  return { sql: parts.filter((p) => p !== '1').join(' AND ') || '1', params };
}

