import { z } from 'zod';
// The authority's own answer schemas: the station passes products and quota through unchanged.
import { productViewSchema, quotaViewSchema, type ProductView, type QuotaView } from '../cloud-api.js';
import { call, json } from './call-spec.js';

/** Session domain: who is signed in at this station, and what that account may do today. */

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
  /** `verifiedInstaller`: this account may file cases (§4.10). */
  account: { accountId: string; name: string; region: string; verifiedInstaller?: boolean } | null;
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

const demoAccountSchema = z.object({ accountId: z.string(), name: z.string(), role: z.string(), region: z.string() });
export const sessionViewSchema = z.object({
  signedIn: z.boolean(),
  demo: z.boolean(),
  stationId: z.string(),
  account: z.object({ accountId: z.string(), name: z.string(), region: z.string(), verifiedInstaller: z.boolean().optional() }).nullable(),
  operator: z.string().nullable(),
  demoAccounts: z.array(demoAccountSchema),
  demoWifi: z.object({ ssid: z.string(), password: z.string() }).nullable().default(null),
}) satisfies z.ZodType<SessionView>;

export const dashboardViewSchema = z.object({
  products: z.array(productViewSchema),
  quota: quotaViewSchema,
}) satisfies z.ZodType<DashboardView>;

export const sessionCalls = {
  getSession: call({ args: z.tuple([]), answer: json<SessionView>(sessionViewSchema), http: { method: 'GET', path: '/api/session', args: [] } }),
  signIn: call({ args: z.tuple([signInRequestSchema]), answer: json<SessionView>(sessionViewSchema), http: { method: 'POST', path: '/api/session', args: [{ in: 'body' }] } }),
  signOut: call({ args: z.tuple([]), answer: json<SessionView>(sessionViewSchema), http: { method: 'DELETE', path: '/api/session', args: [] } }),
  getDashboard: call({ args: z.tuple([]), answer: json<DashboardView>(dashboardViewSchema), http: { method: 'GET', path: '/api/dashboard', args: [] } }),
};
