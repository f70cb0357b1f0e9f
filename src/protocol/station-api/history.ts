import { z } from 'zod';
import { failureCodeSchema, unbindResultSchema, type FailureCode, type UnbindResult } from '../failure-codes.js';
import { pidSchema } from '../device-messages.js';
import type { Page } from '../cloud-api.js';
import { call, download, json } from './call-spec.js';
import { METHODS } from './batches.js';
import { stationLocaleSchema } from './locales.js';

/** History domain: the station's operation log, filtered, in cursor pages, as charts and as CSV. */

/** How an unbind was made: a batch's method, or a case the product's owner approved (§4.10). */
export const HISTORY_METHODS = [...METHODS, 'case'] as const;
export const historyMethodSchema = z.enum(HISTORY_METHODS);
export type HistoryMethod = z.infer<typeof historyMethodSchema>;

export const historyQuerySchema = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  pid: pidSchema.optional(),
  result: unbindResultSchema.optional(),
  code: failureCodeSchema.optional(),
  operator: z.string().max(64).optional(),
  method: historyMethodSchema.optional(),
  batchId: z.string().max(64).optional(),
  text: z.string().max(64).optional(),
  cursor: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/).optional(),
  limit: z.coerce.number().int().min(1).max(500).optional(),
});
export type HistoryQuery = z.infer<typeof historyQuerySchema>;

export interface HistoryRow {
  id: number;
  at: string;
  stationId: string;
  operator: string;
  accountId: string;
  method: HistoryMethod;
  batchId: string | null;
  pid: string | null;
  devId: string;
  serial: string | null;
  result: UnbindResult;
  code: FailureCode | null;
  /** The authority token the attempt used, when it went through one. */
  tokenId: string | null;
}

export interface HistoryStats {
  byCode: Array<{ code: FailureCode | 'UNBOUND' | 'NOT_BOUND'; count: number }>;
  byDay: Array<{ day: string; unbound: number; notBound: number; failed: number }>;
  total: number;
}

const count = z.number().int().nonnegative();

const historyRowSchema = z.object({
  id: z.number().int(),
  at: z.string(),
  stationId: z.string(),
  operator: z.string(),
  accountId: z.string(),
  method: historyMethodSchema,
  batchId: z.string().nullable(),
  pid: z.string().nullable(),
  devId: z.string(),
  serial: z.string().nullable(),
  result: unbindResultSchema,
  code: failureCodeSchema.nullable(),
  tokenId: z.string().nullable().default(null),
}) satisfies z.ZodType<HistoryRow>;
export const historyPageSchema = z.object({
  items: z.array(historyRowSchema),
  nextCursor: z.string().nullable(),
}) satisfies z.ZodType<Page<HistoryRow>>;

export const historyStatsSchema = z.object({
  byCode: z.array(z.object({ code: z.union([failureCodeSchema, z.enum(['UNBOUND', 'NOT_BOUND'])]), count })),
  byDay: z.array(z.object({ day: z.string(), unbound: count, notBound: count, failed: count })),
  total: count,
}) satisfies z.ZodType<HistoryStats>;

/** Where the CSV went: a link to download (browser), or the file the operator saved it to (Electron). */
export interface CsvExport {
  url: string | null;
  savedTo: string | null;
}
export const csvExportSchema = z.object({ url: z.string().nullable(), savedTo: z.string().nullable() }) satisfies z.ZodType<CsvExport>;

const QUERY_KEYS = Object.keys(historyQuerySchema.shape) as Array<keyof HistoryQuery>;
/** An export is the whole filtered history: paging does not apply. */
const FILTER_KEYS = QUERY_KEYS.filter((k) => k !== 'cursor' && k !== 'limit');
const query = z.tuple([historyQuerySchema.default({})]);
/** The CSV's filters, and the language of its extra hint column (`hint_<locale>`; none for English). */
export const csvQuerySchema = historyQuerySchema.extend({ locale: stationLocaleSchema.optional() });
export type CsvQuery = z.infer<typeof csvQuerySchema>;
const csv = download<CsvExport>(csvExportSchema, { contentType: 'text/csv; charset=utf-8', fileName: 'unbind-history' });

export const historyCalls = {
  queryHistory: call({ args: query, answer: json<Page<HistoryRow>>(historyPageSchema), http: { method: 'GET', path: '/api/history', args: [{ in: 'query', keys: QUERY_KEYS }] } }),
  historyStats: call({ args: query, answer: json<HistoryStats>(historyStatsSchema), http: { method: 'GET', path: '/api/history/stats', args: [{ in: 'query', keys: QUERY_KEYS }] } }),
  /** Where the CSV of the filtered history can be downloaded (browser) or was saved (Electron). */
  exportHistoryCsv: call({ args: z.tuple([csvQuerySchema.default({})]), answer: csv, http: { method: 'GET', path: '/api/history.csv', args: [{ in: 'query', keys: [...FILTER_KEYS, 'locale'] }] } }),
};
