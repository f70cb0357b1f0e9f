import { z } from 'zod';
import { call, json } from './call-spec.js';
import { resetRequestViewSchema, type ResetRequestView } from './lan.js';

/** Serial domain: the barcode scanner port and the UART ports, and their live status. */

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

const count = z.number().int().nonnegative();
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

const status = json<SerialStatusView>(serialStatusViewSchema);
export const serialCalls = {
  getSerialStatus: call({ args: z.tuple([]), answer: status, http: { method: 'GET', path: '/api/serial', args: [] } }),
  setSerialSettings: call({ args: z.tuple([serialSettingsSchema]), answer: status, http: { method: 'PUT', path: '/api/serial', args: [{ in: 'body' }] } }),
  /** Reads the reset request of the device on a UART port (`AT+RESETREQ?`, DESIGN §4.9). */
  getSerialResetRequest: call({
    args: z.tuple([z.strictObject({ port: z.string().min(1).max(256) })]),
    answer: json<ResetRequestView>(resetRequestViewSchema),
    http: { method: 'POST', path: '/api/serial/reset-request', args: [{ in: 'body' }] },
  }),
};
