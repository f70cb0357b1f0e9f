import { z } from 'zod';
import { deviceStateSchema } from '../../protocol/device-states.js';
import { failureCodeSchema, unbindResultSchema } from '../../protocol/failure-codes.js';
// The authority's own answer schemas: the station passes products and quota through unchanged.
import { GRANT_KINDS, productViewSchema, quotaViewSchema } from '../../protocol/cloud-api.js';
import { fleetStatusSchema } from '../../protocol/virtual-bench.js';
import {
  BATCH_STATUSES,
  batchMethodSchema,
  type BatchCodeView,
  type BatchPlan,
  type BatchSummary,
  type BatchView,
  type DashboardView,
  type DeviceProgressView,
  type DeviceResultView,
  type HistoryRow,
  type HistoryStats,
  type LanDeviceView,
  type Page,
  type SerialPortView,
  type SerialStatusView,
  type SessionView,
  type StationEvent,
} from '../../protocol/station-api.js';
import { StationApiError } from './station-api-error.js';

/**
 * What the station answers, checked at the renderer's boundary (both transports) instead of cast:
 * the contract declares these views as interfaces, and each schema here must produce exactly that type
 * (`satisfies`), so a drift between contract and schema is a compile error. Unknown keys are dropped.
 */

const count = z.number().int().nonnegative();

const demoAccountSchema = z.object({ accountId: z.string(), name: z.string(), role: z.string(), region: z.string() });
export const sessionViewSchema = z.object({
  signedIn: z.boolean(),
  demo: z.boolean(),
  stationId: z.string(),
  account: z.object({ accountId: z.string(), name: z.string(), region: z.string() }).nullable(),
  operator: z.string().nullable(),
  demoAccounts: z.array(demoAccountSchema),
  demoWifi: z.object({ ssid: z.string(), password: z.string() }).nullable().default(null),
}) satisfies z.ZodType<SessionView>;

export const dashboardViewSchema = z.object({
  products: z.array(productViewSchema),
  quota: quotaViewSchema,
}) satisfies z.ZodType<DashboardView>;

export const batchPlanSchema = z.object({
  ok: z.boolean(),
  pid: z.string(),
  devices: count,
  codes: z.array(count),
  remaining: z.number().int(),
  accountRemaining: z.number().int(),
  productRemaining: z.number().int(),
  grant: z.enum(GRANT_KINDS).nullable(),
  refusal: z
    .object({ code: z.enum(['UNAUTHORIZED', 'UNSUPPORTED_PRODUCT', 'QUOTA_ACCOUNT', 'QUOTA_PRODUCT']), message: z.string() })
    .nullable(),
}) satisfies z.ZodType<BatchPlan>;

const batchCodeViewSchema = z.object({
  index: count,
  tokenId: z.string(),
  capacity: count,
  used: count,
  expiresAt: z.string(),
  status: z.enum(['active', 'expired', 'exhausted', 'closed']),
}) satisfies z.ZodType<BatchCodeView>;

const deviceResultViewSchema = z.object({
  devId: z.string(),
  serial: z.string().nullable(),
  pid: z.string().nullable(),
  result: unbindResultSchema,
  code: failureCodeSchema.nullable(),
  hint: z.string().nullable(),
  at: z.string(),
  tokenId: z.string().nullable(),
}) satisfies z.ZodType<DeviceResultView>;

const batchSummarySchema = z.object({
  id: z.string(),
  createdAt: z.string(),
  method: batchMethodSchema,
  pid: z.string(),
  accountId: z.string(),
  operator: z.string(),
  status: z.enum(BATCH_STATUSES),
  ssid: z.string().nullable(),
  expected: count,
  tally: z.object({ unbound: count, notBound: count, failed: count, pending: count }),
}) satisfies z.ZodType<BatchSummary>;
export const batchSummariesSchema = z.array(batchSummarySchema);

export const batchViewSchema = batchSummarySchema.extend({
  manifest: z.array(z.string()).nullable(),
  scanned: z.array(z.string()),
  codes: z.array(batchCodeViewSchema),
  results: z.array(deviceResultViewSchema),
}) satisfies z.ZodType<BatchView>;

const historyRowSchema = z.object({
  id: z.number().int(),
  at: z.string(),
  stationId: z.string(),
  operator: z.string(),
  accountId: z.string(),
  method: batchMethodSchema,
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

export const csvExportSchema = z.object({ url: z.string().nullable(), savedTo: z.string().nullable() });

export const benchSchema = fleetStatusSchema.nullable();

export const lanDeviceViewSchema = z.object({
  key: z.string(),
  source: z.enum(['mdns', 'sadp']),
  devId: z.string().nullable(),
  pid: z.string().nullable(),
  serial: z.string(),
  firmware: z.string().nullable(),
  state: deviceStateSchema.nullable(),
  address: z.string(),
  port: z.number().int().min(0).max(65_535).nullable(),
  lastSeen: z.string(),
  problem: z.object({ code: failureCodeSchema, hint: z.string() }).nullable(),
  sadp: z
    .object({
      model: z.string().nullable(),
      mac: z.string(),
      dhcp: z.boolean().nullable(),
      activated: z.boolean().nullable(),
      deviceType: z.string().nullable(),
    })
    .nullable(),
}) satisfies z.ZodType<LanDeviceView>;
export const lanDevicesSchema = z.array(lanDeviceViewSchema);

export const deviceProgressViewSchema = z.object({
  batchId: z.string(),
  devId: z.string(),
  stage: z.enum(['checking', 'sending', 'unbinding', 'done']),
}) satisfies z.ZodType<DeviceProgressView>;

const serialPortViewSchema = z.object({
  path: z.string(),
  source: z.enum(['system', 'configured']),
  present: z.boolean(),
  manufacturer: z.string().nullable(),
  problem: z.string().nullable(),
}) satisfies z.ZodType<SerialPortView>;

export const serialStatusViewSchema = z.object({
  settings: z.object({ scannerPort: z.string().nullable(), uartPorts: z.array(z.string()) }),
  ports: z.array(serialPortViewSchema),
  systemListError: z.string().nullable(),
  scanner: z.object({
    state: z.enum(['off', 'open', 'reconnecting', 'gave-up', 'closed']),
    labels: count,
    rejected: count,
    lastLabel: z.string().nullable(),
    lastRejected: z.string().nullable(),
  }),
}) satisfies z.ZodType<SerialStatusView>;

export const stationEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('batch'), batch: batchSummarySchema.extend({ codes: z.array(batchCodeViewSchema) }) }),
  z.object({ type: z.literal('result'), batchId: z.string(), result: deviceResultViewSchema, tally: batchSummarySchema.shape.tally, code: batchCodeViewSchema.nullable() }),
  z.object({ type: z.literal('bench'), devices: fleetStatusSchema }),
  z.object({ type: z.literal('lan'), devices: lanDevicesSchema }),
  z.object({ type: z.literal('progress'), progress: deviceProgressViewSchema }),
  z.object({ type: z.literal('serial'), status: serialStatusViewSchema }),
  z.object({ type: z.literal('label'), batchId: z.string().nullable(), label: z.string() }),
  z.object({ type: z.literal('session'), session: sessionViewSchema }),
]) satisfies z.ZodType<StationEvent>;

/** Checks an answer against its view schema; a mismatch is the station breaking the contract. */
export function parseView<T>(schema: z.ZodType<T>, data: unknown, what: string): T {
  const r = schema.safeParse(data);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const where = issue?.path.length ? issue.path.join('.') : 'answer';
  throw new StationApiError('BAD_ANSWER', `The station's answer to ${what} does not match the contract (${where}: ${issue?.message ?? 'invalid'}).`);
}

export type EventParse = { ok: true; event: StationEvent } | { ok: false; reason: string };

/** A pushed event, checked: its `type` must be known and its payload well-formed. */
export function parseStationEvent(data: unknown): EventParse {
  const r = stationEventSchema.safeParse(data);
  if (r.success) return { ok: true, event: r.data };
  const issue = r.error.issues[0];
  return { ok: false, reason: `${issue?.path.join('.') || 'event'}: ${issue?.message ?? 'invalid'}` };
}
