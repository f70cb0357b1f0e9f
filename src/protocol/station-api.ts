import { z } from 'zod';
import { failureCodeSchema, unbindResultSchema, type FailureCode, type UnbindResult } from './failure-codes.js';
import type { DeviceState } from './device-states.js';
import { pidSchema, serialSchema } from './device-messages.js';
import { wifiCredentialsSchema } from './qr-payload.js';
import type { FleetDeviceStatus } from './virtual-bench.js';
import type { GrantKind, Page, ProductView, QuotaView } from './cloud-api.js';

export type { Page } from './cloud-api.js';

/**
 * The station API: the one contract between the station's services (src/main) and its UI
 * (src/renderer), implemented twice — HTTP + server-sent events for the browser, Electron IPC through
 * the preload. Pure types and schemas: the renderer imports this file, so it must stay browser-safe.
 */

export const METHODS = ['qr', 'wired', 'serial'] as const;
export const batchMethodSchema = z.enum(METHODS);
export type BatchMethod = z.infer<typeof batchMethodSchema>;

export interface DemoAccountView {
  accountId: string;
  name: string;
  role: string;
  region: string;
}

export interface SessionView {
  signedIn: boolean;
  demo: boolean;
  stationId: string;
  account: { accountId: string; name: string; region: string } | null;
  operator: string | null;
  /** In demo mode, the accounts one may sign in as without typing credentials. */
  demoAccounts: DemoAccountView[];
  /** In demo mode, the Wi-Fi the virtual bench's devices can join (a demo has nothing to hide). */
  demoWifi: { ssid: string; password: string } | null;
}

const operatorSchema = z.string().trim().min(1, 'operator name is required').max(64);
export const signInRequestSchema = z.union([
  z.strictObject({ demoAccountId: z.string().regex(/^[A-Za-z0-9_-]{3,64}$/), operator: operatorSchema }),
  z.strictObject({ clientId: z.string().regex(/^[A-Za-z0-9_-]{4,64}$/), secret: z.string().min(8).max(128), operator: operatorSchema }),
]);
export type SignInRequest = z.infer<typeof signInRequestSchema>;

export interface DashboardView {
  products: ProductView[];
  quota: QuotaView;
}

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
  refusal: { code: PlanRefusal; message: string } | null;
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

/** One entry of the LAN sweep (mDNS or SADP), as the wired screen lists it. */
export interface LanDeviceView {
  key: string;
  source: 'mdns' | 'sadp';
  devId: string | null;
  pid: string | null;
  serial: string;
  firmware: string | null;
  state: DeviceState | null;
  address: string;
  port: number | null;
  lastSeen: string;
  /** Why it cannot be unbound as it is (DHCP failed, not reset), with what to do. */
  problem: { code: FailureCode; hint: string } | null;
  /** SADP details of Hikvision-style devices. */
  sadp: { model: string | null; mac: string; dhcp: boolean | null; activated: boolean | null; deviceType: string | null } | null;
}

/** Per-device progress of a wired or serial batch, before the result. */
export interface DeviceProgressView {
  batchId: string;
  devId: string;
  stage: 'checking' | 'sending' | 'unbinding' | 'done';
}

export interface SerialPortView {
  path: string;
  source: 'system' | 'configured';
  present: boolean;
  manufacturer: string | null;
  problem: string | null;
}

export const serialSettingsSchema = z.strictObject({
  scannerPort: z.string().min(1).max(256).nullable(),
  uartPorts: z.array(z.string().min(1).max(256)).max(64),
});
export type SerialSettings = z.infer<typeof serialSettingsSchema>;

export interface SerialStatusView {
  settings: SerialSettings;
  ports: SerialPortView[];
  /** Why the system list is missing (e.g. udevadm not installed); configured ports are still listed. */
  systemListError: string | null;
  scanner: { state: 'off' | 'open' | 'reconnecting' | 'gave-up' | 'closed'; labels: number; rejected: number; lastLabel: string | null; lastRejected: string | null };
}

export const BATCH_STATUSES = ['running', 'completed', 'cancelled'] as const;
export type BatchStatus = (typeof BATCH_STATUSES)[number];

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
}

export type BatchSummary = Omit<BatchView, 'results' | 'codes' | 'manifest' | 'scanned'>;

export const unlockCodesRequestSchema = z.strictObject({ wifi: wifiCredentialsSchema });
export const scanLabelRequestSchema = z.strictObject({ label: z.string().min(1).max(128) });

export const historyQuerySchema = z.strictObject({
  from: z.iso.datetime({ offset: true }).optional(),
  to: z.iso.datetime({ offset: true }).optional(),
  pid: pidSchema.optional(),
  result: unbindResultSchema.optional(),
  code: failureCodeSchema.optional(),
  operator: z.string().max(64).optional(),
  method: batchMethodSchema.optional(),
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
  method: BatchMethod;
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

/** What the station pushes to its UI. */
export type StationEvent =
  /** A batch started, changed status, or one of its codes did: not sent for every result. */
  | { type: 'batch'; batch: BatchSummary & { codes: BatchCodeView[] } }
  /** One per device result, with the batch's tally as the station computes it and the code the result used (null: none). */
  | { type: 'result'; batchId: string; result: DeviceResultView; tally: BatchTally; code: BatchCodeView | null }
  | { type: 'bench'; devices: FleetDeviceStatus[] }
  | { type: 'lan'; devices: LanDeviceView[] }
  | { type: 'progress'; progress: DeviceProgressView }
  | { type: 'serial'; status: SerialStatusView }
  | { type: 'label'; batchId: string | null; label: string }
  | { type: 'session'; session: SessionView };

export interface StationApi {
  getSession(): Promise<SessionView>;
  signIn(req: SignInRequest): Promise<SessionView>;
  signOut(): Promise<SessionView>;
  getDashboard(): Promise<DashboardView>;
  planBatch(req: PlanRequest): Promise<BatchPlan>;
  startBatch(req: StartBatchRequest): Promise<BatchView>;
  listBatches(): Promise<BatchSummary[]>;
  getBatch(batchId: string): Promise<BatchView>;
  cancelBatch(batchId: string): Promise<BatchView>;
  scanLabel(batchId: string, label: string): Promise<BatchView>;
  /** After a restart the Wi-Fi password is gone (it is never stored): the operator types it again. */
  unlockCodes(batchId: string, wifi: { ssid: string; password: string }): Promise<BatchView>;
  /** The pairing code as SVG markup (the UI shows it large). */
  getCodeSvg(batchId: string, codeIndex: number): Promise<string>;
  /** A printable HTML sheet of the batch's codes (no Wi-Fi password in clear). */
  getPrintSheet(batchId: string): Promise<string>;
  /** The UI tells the station which codes are on screen: the virtual bench's cameras look at those. */
  showCodes(batchId: string | null, codeIndexes: number[]): Promise<void>;
  queryHistory(q: HistoryQuery): Promise<Page<HistoryRow>>;
  historyStats(q: HistoryQuery): Promise<HistoryStats>;
  /** Where the CSV of the filtered history can be downloaded (browser) or was saved (Electron). */
  exportHistoryCsv(q: HistoryQuery): Promise<{ url: string | null; savedTo: string | null }>;
  /** The LAN sweep's live list (mDNS and SADP). */
  getLanDevices(): Promise<LanDeviceView[]>;
  /** Queries mDNS and probes SADP now. */
  refreshLan(): Promise<LanDeviceView[]>;
  getSerialStatus(): Promise<SerialStatusView>;
  setSerialSettings(settings: SerialSettings): Promise<SerialStatusView>;
  getBench(): Promise<FleetDeviceStatus[] | null>;
  resetBenchDevice(devId: string): Promise<void>;
  subscribe(onEvent: (e: StationEvent) => void): () => void;
}

/** Errors cross both transports as `{code, message}`. */
export interface StationError {
  code: string;
  message: string;
}

/** HTTP routes of the web transport: one table both sides use. `:id` and `:n` are path parameters. */
export const STATION_HTTP = {
  getSession: ['GET', '/api/session'],
  signIn: ['POST', '/api/session'],
  signOut: ['DELETE', '/api/session'],
  getDashboard: ['GET', '/api/dashboard'],
  planBatch: ['POST', '/api/batches/plan'],
  startBatch: ['POST', '/api/batches'],
  listBatches: ['GET', '/api/batches'],
  getBatch: ['GET', '/api/batches/:id'],
  cancelBatch: ['POST', '/api/batches/:id/cancel'],
  scanLabel: ['POST', '/api/batches/:id/labels'],
  unlockCodes: ['POST', '/api/batches/:id/unlock'],
  getCodeSvg: ['GET', '/api/batches/:id/codes/:n.svg'],
  getPrintSheet: ['GET', '/api/batches/:id/sheet'],
  showCodes: ['PUT', '/api/screen'],
  queryHistory: ['GET', '/api/history'],
  historyStats: ['GET', '/api/history/stats'],
  exportHistoryCsv: ['GET', '/api/history.csv'],
  getLanDevices: ['GET', '/api/lan'],
  refreshLan: ['POST', '/api/lan/refresh'],
  getSerialStatus: ['GET', '/api/serial'],
  setSerialSettings: ['PUT', '/api/serial'],
  getBench: ['GET', '/api/bench'],
  resetBenchDevice: ['POST', '/api/bench/:id/reset'],
  subscribe: ['GET', '/api/events'],
} as const satisfies Record<keyof StationApi, readonly [string, string]>;

export const showCodesRequestSchema = z.strictObject({
  batchId: z.string().max(64).nullable(),
  codeIndexes: z.array(z.number().int().min(0).max(1000)).max(100),
});
