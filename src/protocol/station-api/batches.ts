import { z } from 'zod';
import { failureCodeSchema, unbindResultSchema, type FailureCode, type UnbindResult } from '../failure-codes.js';
import { pidSchema, serialSchema } from '../device-messages.js';
import { wifiCredentialsSchema } from '../qr-payload.js';
import { GRANT_KINDS, type GrantKind } from '../cloud-api.js';
import { call, json, text } from './call-spec.js';
import { stationLocaleSchema } from './locales.js';

/** Batches domain: plan, start, follow and end a batch of any method; its codes as images and a sheet. */

export const METHODS = ['qr', 'wired', 'serial'] as const;
export const batchMethodSchema = z.enum(METHODS);
export type BatchMethod = z.infer<typeof batchMethodSchema>;

const manifestSchema = z.array(serialSchema).min(1).max(10_000);
export const planRequestSchema = z
  .strictObject({
    method: batchMethodSchema,
    pid: pidSchema,
    deviceCount: z.number().int().min(1).max(10_000).optional(),
    manifest: manifestSchema.optional(),
  })
  .refine((r) => r.deviceCount !== undefined || r.manifest !== undefined, { message: 'give a device count or a manifest', path: ['deviceCount'] });
export type PlanRequest = z.infer<typeof planRequestSchema>;

export type PlanRefusal = 'UNAUTHORIZED' | 'UNSUPPORTED_PRODUCT' | 'QUOTA_ACCOUNT' | 'QUOTA_PRODUCT';
/**
 * What the signed-in account can do about a refused plan: the product's owner raises a limit itself
 * (a ticket it requests and approves); anyone else requests a ticket from the owner, or a grant.
 */
export const PLAN_NEXT_STEPS = ['raise-as-owner', 'request-ticket', 'ask-grant', 'service-center'] as const;
export type PlanNextStep = (typeof PLAN_NEXT_STEPS)[number];
export interface BatchPlan {
  ok: boolean;
  pid: string;
  devices: number;
  /** Capacity of each code or token, each ≤ 30. */
  codes: number[];
  /** Unbinds left today for this account and product: the lower of the two limits. */
  remaining: number;
  accountRemaining: number;
  productRemaining: number;
  grant: GrantKind | null;
  refusal: { code: PlanRefusal; message: string; nextStep: PlanNextStep; owner: string | null } | null;
}

export const startQrBatchRequestSchema = z.strictObject({
  method: z.literal('qr'),
  pid: pidSchema,
  wifi: wifiCredentialsSchema,
  deviceCount: z.number().int().min(1).max(10_000).optional(),
  manifest: manifestSchema.optional(),
  ttlSeconds: z.number().int().min(30).max(3600).optional(),
});
export type StartQrBatchRequest = z.infer<typeof startQrBatchRequestSchema>;
export const startWiredBatchRequestSchema = z.strictObject({
  method: z.literal('wired'),
  /** Device ids of the mDNS entries of the LAN sweep the operator selected (SADP-only entries cannot be unbound). */
  devIds: z.array(z.string().regex(/^[A-Za-z0-9_-]{4,64}$/)).min(1).max(1000),
  manifest: manifestSchema.optional(),
});
export type StartWiredBatchRequest = z.infer<typeof startWiredBatchRequestSchema>;

export const startSerialBatchRequestSchema = z.strictObject({
  method: z.literal('serial'),
  /** The UART ports (from the serial settings) whose devices this batch unbinds. */
  ports: z.array(z.string().min(1).max(256)).min(1).max(64),
  manifest: manifestSchema.optional(),
});
export type StartSerialBatchRequest = z.infer<typeof startSerialBatchRequestSchema>;

export const startBatchRequestSchema = z.discriminatedUnion('method', [startQrBatchRequestSchema, startWiredBatchRequestSchema, startSerialBatchRequestSchema]);
export type StartBatchRequest = z.infer<typeof startBatchRequestSchema>;

/** Per-device progress of a wired or serial batch, before the result. */
export interface DeviceProgressView {
  batchId: string;
  devId: string;
  stage: 'checking' | 'sending' | 'unbinding' | 'done';
}

/** `paused`: the batch stopped itself on a repeated failure (the stop rule); it is still followed, and resumes or is cancelled. */
export const BATCH_STATUSES = ['running', 'paused', 'completed', 'cancelled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

/**
 * Why a batch stopped itself: `count` of the first `window` devices' results failed with the same
 * `code` (at least `threshold`). Kept on the batch after it resumes or ends, as its record.
 */
export interface BatchStop {
  code: FailureCode;
  count: number;
  threshold: number;
  window: number;
  at: string;
  /** Set once the operator resumed the batch: the rule does not fire again for it. */
  resumedAt: string | null;
}

/** Likely causes of a QR batch no device reported on, in the order to check them (each a failure code with its hint). */
export const NO_REPORT_CAUSES = ['WIFI_AUTH', 'NOT_WAITING', 'WIFI_NOT_FOUND'] as const satisfies readonly FailureCode[];

/** No device has reported `seconds` after the batch's codes were shown: the code screen says so, with the likely causes. */
export interface BatchNotice {
  kind: 'no-report';
  seconds: number;
  since: string;
  causes: Array<{ code: FailureCode; hint: string }>;
}

export interface BatchCodeView {
  index: number;
  tokenId: string;
  capacity: number;
  used: number;
  expiresAt: string;
  status: 'active' | 'expired' | 'exhausted' | 'closed';
}

export interface DeviceResultView {
  devId: string;
  serial: string | null;
  pid: string | null;
  result: UnbindResult;
  code: FailureCode | null;
  hint: string | null;
  at: string;
  tokenId: string | null;
}

export interface BatchTally {
  unbound: number;
  notBound: number;
  failed: number;
  /** Devices expected but not reported yet. */
  pending: number;
}

export interface BatchView {
  /** When the station read this state (batch-views.ts nextStamp): of two states of a batch, the greater stamp is the later. */
  stamp: number;
  id: string;
  createdAt: string;
  method: BatchMethod;
  pid: string;
  accountId: string;
  operator: string;
  status: BatchStatus;
  ssid: string | null;
  expected: number;
  manifest: string[] | null;
  scanned: string[];
  codes: BatchCodeView[];
  tally: BatchTally;
  results: DeviceResultView[];
  /** The stop rule's verdict, when it fired (absent from stations before it). */
  stop?: BatchStop | null;
  /** A notice on the running batch (no report yet), or null. */
  notice?: BatchNotice | null;
}

export type BatchSummary = Omit<BatchView, 'results' | 'codes' | 'manifest' | 'scanned'>;

export const unlockCodesRequestSchema = z.strictObject({ wifi: wifiCredentialsSchema });
export const scanLabelRequestSchema = z.strictObject({ label: z.string().min(1).max(128) });

export const batchIdSchema = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'batch id is malformed');
const codeIndexSchema = z.coerce.number().int().min(0).max(1000);
const labelSchema = z.string().min(1).max(128);

const count = z.number().int().nonnegative();

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
    .object({
      code: z.enum(['UNAUTHORIZED', 'UNSUPPORTED_PRODUCT', 'QUOTA_ACCOUNT', 'QUOTA_PRODUCT']),
      message: z.string(),
      nextStep: z.enum(PLAN_NEXT_STEPS),
      owner: z.string().nullable(),
    })
    .nullable(),
}) satisfies z.ZodType<BatchPlan>;

export const batchCodeViewSchema = z.object({
  index: count,
  tokenId: z.string(),
  capacity: count,
  used: count,
  expiresAt: z.string(),
  status: z.enum(['active', 'expired', 'exhausted', 'closed']),
}) satisfies z.ZodType<BatchCodeView>;

export const deviceResultViewSchema = z.object({
  devId: z.string(),
  serial: z.string().nullable(),
  pid: z.string().nullable(),
  result: unbindResultSchema,
  code: failureCodeSchema.nullable(),
  hint: z.string().nullable(),
  at: z.string(),
  tokenId: z.string().nullable(),
}) satisfies z.ZodType<DeviceResultView>;

export const batchTallySchema = z.object({ unbound: count, notBound: count, failed: count, pending: count }) satisfies z.ZodType<BatchTally>;

export const batchStopSchema = z.object({
  code: failureCodeSchema,
  count,
  threshold: count,
  window: count,
  at: z.string(),
  resumedAt: z.string().nullable(),
}) satisfies z.ZodType<BatchStop>;

export const batchNoticeSchema = z.object({
  kind: z.literal('no-report'),
  seconds: count,
  since: z.string(),
  causes: z.array(z.object({ code: failureCodeSchema, hint: z.string() })),
}) satisfies z.ZodType<BatchNotice>;

export const batchSummarySchema = z.object({
  stamp: z.number().int().nonnegative(),
  id: z.string(),
  createdAt: z.string(),
  method: batchMethodSchema,
  pid: z.string(),
  accountId: z.string(),
  operator: z.string(),
  status: z.enum(BATCH_STATUSES),
  ssid: z.string().nullable(),
  expected: count,
  tally: batchTallySchema,
  stop: batchStopSchema.nullable().optional(),
  notice: batchNoticeSchema.nullable().optional(),
}) satisfies z.ZodType<BatchSummary>;
export const batchSummariesSchema = z.array(batchSummarySchema);

export const batchViewSchema = batchSummarySchema.extend({
  manifest: z.array(z.string()).nullable(),
  scanned: z.array(z.string()),
  codes: z.array(batchCodeViewSchema),
  results: z.array(deviceResultViewSchema),
}) satisfies z.ZodType<BatchView>;

export const deviceProgressViewSchema = z.object({
  batchId: z.string(),
  devId: z.string(),
  stage: z.enum(['checking', 'sending', 'unbinding', 'done']),
}) satisfies z.ZodType<DeviceProgressView>;

/** The paper a print sheet is laid out for: A4 sheets of tiles, or a 62 mm label roll (one code per label). */
export const PRINT_PAPERS = ['a4', 'roll62'] as const;
export type PrintPaper = (typeof PRINT_PAPERS)[number];

const batch = json<BatchView>(batchViewSchema);
const id = { in: 'param', name: 'id' } as const;
/** The print sheet's language (default English); its dates are written in it too. */
export const printSheetOptionsSchema = z.strictObject({ locale: stationLocaleSchema.optional(), paper: z.enum(PRINT_PAPERS).optional() });
export type PrintSheetOptions = z.infer<typeof printSheetOptionsSchema>;

export const batchCalls = {
  planBatch: call({ args: z.tuple([planRequestSchema]), answer: json<BatchPlan>(batchPlanSchema), http: { method: 'POST', path: '/api/batches/plan', args: [{ in: 'body' }] } }),
  startBatch: call({ args: z.tuple([startBatchRequestSchema]), answer: batch, http: { method: 'POST', path: '/api/batches', args: [{ in: 'body' }], status: 201 } }),
  listBatches: call({ args: z.tuple([]), answer: json<BatchSummary[]>(batchSummariesSchema), http: { method: 'GET', path: '/api/batches', args: [] } }),
  getBatch: call({ args: z.tuple([batchIdSchema]), answer: batch, http: { method: 'GET', path: '/api/batches/:id', args: [id] } }),
  /** A batch the stop rule paused goes on: tokens are handed out again (wired, serial), codes shown again (QR). */
  resumeBatch: call({ args: z.tuple([batchIdSchema]), answer: batch, http: { method: 'POST', path: '/api/batches/:id/resume', args: [id] } }),
  cancelBatch: call({ args: z.tuple([batchIdSchema]), answer: batch, http: { method: 'POST', path: '/api/batches/:id/cancel', args: [id] } }),
  scanLabel: call({ args: z.tuple([batchIdSchema, labelSchema]), answer: batch, http: { method: 'POST', path: '/api/batches/:id/labels', args: [id, { in: 'body', key: 'label' }] } }),
  /** After a restart the Wi-Fi password is gone (it is never stored): the operator types it again. */
  unlockCodes: call({ args: z.tuple([batchIdSchema, wifiCredentialsSchema]), answer: batch, http: { method: 'POST', path: '/api/batches/:id/unlock', args: [id, { in: 'body', key: 'wifi' }] } }),
  /** The pairing code as SVG markup (the UI shows it large). */
  getCodeSvg: call({
    args: z.tuple([batchIdSchema, codeIndexSchema]),
    answer: text('image/svg+xml', { noStore: true }),
    http: { method: 'GET', path: '/api/batches/:id/codes/:n.svg', args: [id, { in: 'param', name: 'n' }] },
  }),
  /** A printable HTML sheet of the batch's codes (no Wi-Fi password in clear). */
  getPrintSheet: call({
    args: z.tuple([batchIdSchema, printSheetOptionsSchema.default({})]),
    answer: text('text/html; charset=utf-8'),
    http: { method: 'GET', path: '/api/batches/:id/sheet', args: [id, { in: 'query', keys: ['locale', 'paper'] }] },
  }),
};
