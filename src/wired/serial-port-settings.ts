import { z } from 'zod';
import { SERIAL_BAUD_RATE } from '../protocol/index.js';

/**
 * How to open one serial port: DESIGN §4.6 fixes 115200 8N1, but barcode scanners ship with other
 * defaults (9600 is common), so every field but the path is a setting. Validated here because it
 * comes from the settings screen or a bench config file.
 */
export const serialPortSettingsSchema = z.strictObject({
  /** A device node (/dev/ttyUSB0, /dev/pts/3) or a symlink to one (/dev/serial/by-id/…, a socat link). */
  path: z.string().min(1).max(4096),
  baudRate: z.number().int().min(50).max(4_000_000).default(SERIAL_BAUD_RATE),
  dataBits: z.union([z.literal(5), z.literal(6), z.literal(7), z.literal(8)]).default(8),
  // What the Linux and macOS bindings support (mark and space are Windows-only there).
  parity: z.enum(['none', 'even', 'odd']).default('none'),
  stopBits: z.union([z.literal(1), z.literal(1.5), z.literal(2)]).default(1),
});
/** What a caller passes: only `path` is required. */
export type SerialPortSettingsInput = z.input<typeof serialPortSettingsSchema>;
export type SerialPortSettings = z.output<typeof serialPortSettingsSchema>;

/** When a port that was open goes away: wait `initialDelayMs`, doubling up to `maxDelayMs`, at most `maxAttempts` times. */
export const reconnectPolicySchema = z.strictObject({
  initialDelayMs: z.number().int().min(10).max(60_000).default(250),
  maxDelayMs: z.number().int().min(10).max(600_000).default(5_000),
  /** 0: never reconnect. Default: keep trying until closed (a scanner replugged an hour later still works). */
  maxAttempts: z.number().int().min(0).default(Number.MAX_SAFE_INTEGER),
});
export type ReconnectPolicyInput = z.input<typeof reconnectPolicySchema>;
export type ReconnectPolicy = z.output<typeof reconnectPolicySchema>;

/** Parses settings from outside; the error names the first bad field. */
export function parseSerialPortSettings(input: unknown): SerialPortSettings {
  const r = serialPortSettingsSchema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new SerialSettingsError(`serial port settings: ${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}`);
}

export function parseReconnectPolicy(input: unknown): ReconnectPolicy {
  const r = reconnectPolicySchema.safeParse(input ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  throw new SerialSettingsError(`reconnect policy: ${issue?.path.join('.') || 'value'}: ${issue?.message ?? 'invalid'}`);
}

export class SerialSettingsError extends Error {
  override readonly name = 'SerialSettingsError';
}

/** "8N1" style, for logs and the settings screen. */
export function describeFraming(s: SerialPortSettings): string {
  return `${s.baudRate} ${s.dataBits}${s.parity[0]!.toUpperCase()}${s.stopBits}`;
}
