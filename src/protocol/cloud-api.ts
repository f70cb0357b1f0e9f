import { z } from 'zod';
import { failureCodeSchema, unbindResultSchema } from './failure-codes.js';
import { devIdSchema, pidSchema } from './device-messages.js';
import { serialFormatSchema } from './serial-format.js';
import { MAX_TOKEN_CAPACITY, regionSchema } from './token.js';

/** Station → authority contract (DESIGN §4.4). Requests are validated by these schemas at the authority. */

export const accountIdSchema = z.string().regex(/^[A-Za-z0-9_-]{3,64}$/, 'accountId must be 3–64 URL-safe characters');
export const channelSchema = z.enum(['qr', 'wired', 'serial']);
export type Channel = z.infer<typeof channelSchema>;
/** A day of the calendar as YYYY-MM-DD: one that reads back the same (no 2024-06-31, no 2024-02-30, no month 13). */
const isCalendarDay = (s: string): boolean => {
  const at = Date.parse(`${s}T00:00:00Z`);
  return !Number.isNaN(at) && new Date(at).toISOString().slice(0, 10) === s;
};
export const dayStringSchema = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'date must be YYYY-MM-DD')
  .refine(isCalendarDay, { error: (issue) => `${String(issue.input)} is not a date of the calendar (YYYY-MM-DD, month 01–12, a day the month has)` });
const cursorSchema = z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'cursor is malformed');
const limitSchema = z.coerce.number().int().min(1).max(1000);

export interface Page<T> {
  items: T[];
  nextCursor: string | null;
}

export const ACCOUNT_KINDS = ['developer', 'partner', 'member'] as const;
export interface Me {
  accountId: string;
  name: string;
  clientId: string;
  region: string;
  /** A verified installer files cases (§4.10); answered by `GET /me`. */
  verifiedInstaller?: boolean;
}

export const GRANT_KINDS = ['owner', 'partner', 'space-role', 'oem'] as const;
export type GrantKind = (typeof GRANT_KINDS)[number];
export interface ProductView {
  pid: string;
  name: string;
  category: string;
  owner: { accountId: string; name: string };
  unbindSupported: boolean;
  minFirmware: string | null;
  /** How its serial labels look (src/protocol/serial-format.ts); null when the product has none on record. */
  serialFormat: string | null;
  grant: GrantKind;
  role?: string;
}

export interface QuotaCounter {
  used: number;
  limit: number;
  remaining: number;
}
export interface QuotaView {
  day: string;
  timeZone: string;
  startsAt: string;
  endsAt: string;
  account: QuotaCounter;
  products: Array<{ pid: string } & QuotaCounter>;
}

export const issueTokenRequestSchema = z.strictObject({
  capacity: z.number().int().min(1).max(MAX_TOKEN_CAPACITY),
  channel: channelSchema,
  batchRef: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'batchRef must be 1–64 plain characters').optional(),
  ttlSeconds: z.number().int().min(1).max(24 * 3600).optional(),
});
export type IssueTokenRequest = z.infer<typeof issueTokenRequestSchema>;

/** DESIGN §4.4: `Idempotency-Key` of `POST /unbind-tokens`; a retry with the same key gets the token already issued. */
export const IDEMPOTENCY_KEY_HEADER = 'idempotency-key';
/** Set on an answer that is the token issued before for the same key. */
export const IDEMPOTENT_REPLAYED_HEADER = 'idempotent-replayed';
export const idempotencyKeySchema = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'Idempotency-Key must be 16–64 URL-safe characters');

export const TOKEN_STATUSES = ['active', 'expired', 'exhausted'] as const;
export interface IssuedToken {
  id: string;
  token: string;
  region: string;
  capacity: number;
  channel: Channel;
  batchRef: string | null;
  createdAt: string;
  expiresAt: string;
}

export interface DeviceResult {
  seq: number;
  at: string;
  devId: string;
  serial: string | null;
  pid: string | null;
  result: z.infer<typeof unbindResultSchema>;
  reason: z.infer<typeof failureCodeSchema> | null;
}
export const deviceResultSchema = z.object({
  seq: z.number().int(),
  at: z.string(),
  devId: z.string(),
  serial: z.string().nullable(),
  pid: z.string().nullable(),
  result: unbindResultSchema,
  reason: failureCodeSchema.nullable(),
});

export interface TokenView {
  id: string;
  region: string;
  capacity: number;
  used: number;
  channel: Channel;
  batchRef: string | null;
  createdAt: string;
  expiresAt: string;
  status: (typeof TOKEN_STATUSES)[number];
  results: DeviceResult[];
}

/** Server-sent events of `GET /api/v1/unbind-tokens/:id/events`: `result` per device, `end` once. */
export const tokenEndEventSchema = z.object({ status: z.enum(['expired', 'exhausted']), used: z.number().int() });

export const deviceLogQuerySchema = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  pid: pidSchema.optional(),
  devId: devIdSchema.optional(),
  operator: accountIdSchema.optional(),
  result: unbindResultSchema.optional(),
  reason: failureCodeSchema.optional(),
  tokenId: z.string().regex(/^[A-Za-z0-9_-]{8}$/).optional(),
  cursor: cursorSchema.optional(),
  limit: limitSchema.optional(),
});
export type DeviceLogQuery = z.infer<typeof deviceLogQuerySchema>;

/** DESIGN §4.8: a device unbound with its admin password says so (`method: "local"` in its request). */
export const UNBIND_METHODS = ['token', 'local'] as const;
export const unbindMethodSchema = z.enum(UNBIND_METHODS);
export type UnbindMethod = z.infer<typeof unbindMethodSchema>;

export interface DeviceLogView {
  id: number;
  at: string;
  devId: string;
  serial: string | null;
  pid: string | null;
  region: string | null;
  operator: string | null;
  tokenId: string | null;
  channel: Channel | null;
  batchRef: string | null;
  result: z.infer<typeof unbindResultSchema>;
  reason: z.infer<typeof failureCodeSchema> | null;
  /** Identical failures folded into this row (1 for a single request), from `firstAt` (= `at`) to `lastAt`. */
  count: number;
  firstAt: string;
  lastAt: string;
  /** How the device came to ask: a token handed in (`token`), or a local unbind with its admin password (`local`, §4.8). */
  method: UnbindMethod;
}
export const deviceLogViewSchema = z.object({
  id: z.number().int(),
  at: z.string(),
  devId: z.string(),
  serial: z.string().nullable(),
  pid: z.string().nullable(),
  region: z.string().nullable(),
  operator: z.string().nullable(),
  tokenId: z.string().nullable(),
  channel: channelSchema.nullable(),
  batchRef: z.string().nullable(),
  result: unbindResultSchema,
  reason: failureCodeSchema.nullable(),
  count: z.number().int().min(1),
  firstAt: z.string(),
  lastAt: z.string(),
  method: unbindMethodSchema,
}) satisfies z.ZodType<DeviceLogView>;

export const quotaTicketRequestSchema = z
  .strictObject({
    scope: z.enum(['account', 'product']),
    pid: pidSchema,
    limit: z.number().int().min(1).max(100_000),
    from: dayStringSchema,
    to: dayStringSchema,
    reason: z.string().min(1).max(500),
  })
  .check((ctx) => {
    const t = ctx.value;
    if (t.from > t.to) ctx.issues.push({ code: 'custom', input: t, path: ['to'], message: `from must not be after to (${t.from} is after ${t.to})` });
  });
export type QuotaTicketRequest = z.infer<typeof quotaTicketRequestSchema>;

export interface QuotaTicketView {
  id: string;
  requester: string;
  scope: 'account' | 'product';
  pid: string;
  limit: number;
  from: string;
  to: string;
  reason: string;
  status: 'pending' | 'approved' | 'rejected';
  decidedBy: string | null;
  /** What the owner said with the decision (required to reject). */
  decisionReason: string | null;
  decidedAt: string | null;
  createdAt: string;
  /** Names, so that an owner reads who asks without a directory of accounts. */
  requesterName: string;
  productName: string;
}

/** `POST /quota-tickets/:id/approve|reject`: a reject says why; an approve may. */
export const quotaTicketDecisionSchema = z.strictObject({ reason: z.string().trim().min(1).max(500).optional() });
export type QuotaTicketDecision = z.infer<typeof quotaTicketDecisionSchema>;

export const QUOTA_TICKET_STATUSES = ['pending', 'approved', 'rejected'] as const;
export const quotaTicketViewSchema = z.object({
  id: z.string(),
  requester: z.string(),
  scope: z.enum(['account', 'product']),
  pid: z.string(),
  limit: z.number().int(),
  from: z.string(),
  to: z.string(),
  reason: z.string(),
  status: z.enum(QUOTA_TICKET_STATUSES),
  decidedBy: z.string().nullable(),
  decisionReason: z.string().nullable(),
  decidedAt: z.string().nullable(),
  createdAt: z.string(),
  requesterName: z.string(),
  productName: z.string(),
}) satisfies z.ZodType<QuotaTicketView>;

export const partnerGrantRequestSchema = z.strictObject({ pid: pidSchema, accountId: accountIdSchema });
export const roleRequestSchema = z
  .strictObject({
    name: z.string().min(1).max(64),
    canUnbind: z.boolean(),
    allProducts: z.boolean().default(false),
    pids: z.array(pidSchema).max(1000).default([]),
  });
export const memberGrantRequestSchema = z.strictObject({
  accountId: accountIdSchema,
  roleId: z.string().regex(/^[A-Za-z0-9_-]{3,64}$/),
});

export interface RoleView {
  roleId: string;
  name: string;
  kind: 'after-sale' | 'administrator' | 'custom';
  canUnbind: boolean;
  allProducts: boolean;
  pids: string[];
}
export interface AuthorizationsView {
  partners: Array<{ pid: string; accountId: string; grantedAt: string }>;
  roles: RoleView[];
  members: Array<{ accountId: string; roleId: string; since: string }>;
}

export const idParamSchema = z.strictObject({ id: z.string().regex(/^[A-Za-z0-9_-]{3,64}$/, 'id is malformed') });

/** Response schemas: the station validates what the authority answers before it trusts it. */
export const meSchema = z.object({ accountId: z.string(), name: z.string(), clientId: z.string(), region: regionSchema, verifiedInstaller: z.boolean().optional() }) satisfies z.ZodType<Me>;
export const productViewSchema = z.object({
  pid: z.string(),
  name: z.string(),
  category: z.string(),
  owner: z.object({ accountId: z.string(), name: z.string() }),
  unbindSupported: z.boolean(),
  minFirmware: z.string().nullable(),
  // An authority from before serial formats answers none: the station then checks labels as labels only.
  serialFormat: serialFormatSchema.nullable().catch(null),
  grant: z.enum(GRANT_KINDS),
  role: z.string().optional(),
}) satisfies z.ZodType<ProductView>;
const quotaCounterSchema = z.object({ used: z.number().int(), limit: z.number().int(), remaining: z.number().int() });
export const quotaViewSchema = z.object({
  day: z.string(),
  timeZone: z.string(),
  startsAt: z.string(),
  endsAt: z.string(),
  account: quotaCounterSchema,
  products: z.array(quotaCounterSchema.extend({ pid: z.string() })),
}) satisfies z.ZodType<QuotaView>;
export const issuedTokenSchema = z.object({
  id: z.string(),
  token: z.string(),
  region: z.string(),
  capacity: z.number().int(),
  channel: channelSchema,
  batchRef: z.string().nullable(),
  createdAt: z.string(),
  expiresAt: z.string(),
}) satisfies z.ZodType<IssuedToken>;
export const tokenViewSchema = z.object({
  id: z.string(),
  region: z.string(),
  capacity: z.number().int(),
  used: z.number().int(),
  channel: channelSchema,
  batchRef: z.string().nullable(),
  createdAt: z.string(),
  expiresAt: z.string(),
  status: z.enum(TOKEN_STATUSES),
  results: z.array(deviceResultSchema),
}) satisfies z.ZodType<TokenView>;
export const pageSchema = <T extends z.ZodType>(item: T) => z.object({ items: z.array(item), nextCursor: z.string().nullable() });
