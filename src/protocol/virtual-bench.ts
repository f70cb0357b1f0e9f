import { z } from 'zod';
import { failureCodeSchema, unbindResultSchema } from './failure-codes.js';
import { DEVICE_STATES, type DeviceState, type Light } from './device-states.js';
import { devIdSchema, pidSchema, serialSchema } from './device-messages.js';
import { MAX_TOKEN_CAPACITY } from './token.js';

/**
 * The virtual bench contract between the station and the virtual fleet (src/device): what the
 * station's "screen" serves to the fleet's cameras, and what the fleet's status port answers.
 * Both sides import it; the fleet cannot import the station, nor the station the fleet.
 */

/**
 * A device that was never reset is in normal operation: not one of the pairing states of DESIGN §6,
 * its indicator shows no pairing light, and it refuses every code (NOT_WAITING).
 */
export const AGENT_STATES = ['operating', ...DEVICE_STATES] as const;
export const agentStateSchema = z.enum(AGENT_STATES);
export type AgentState = z.infer<typeof agentStateSchema>;
export function isPairingState(s: AgentState): s is DeviceState {
  return s !== 'operating';
}

export const lightSchema = z.object({
  color: z.enum(['red', 'blue', 'green']),
  pattern: z.enum(['fast-blink', 'slow-blink', 'solid']),
}) satisfies z.ZodType<Light>;

/**
 * A screen's JSON form (`GET <qr source>` answering JSON instead of a PNG): several codes at once.
 * `png` is a base64 PNG, a `data:image/png;base64,` URL, or a URL (absolute, or relative to the
 * source's URL; for a file source, a path relative to the file). `capacity` is how many cameras the
 * code is held before (default MAX_TOKEN_CAPACITY); `pid`, when given, the product whose devices it is
 * held before (two batches for two products on one screen: each code before its own devices).
 */
export const screenCodeSchema = z.strictObject({
  id: z.string().regex(/^[A-Za-z0-9_.:-]{1,64}$/, 'code id must be 1–64 plain characters'),
  png: z.string().min(1).max(4_000_000),
  capacity: z.number().int().min(1).max(MAX_TOKEN_CAPACITY).optional(),
  pid: z.string().regex(/^[A-Za-z0-9_-]{1,64}$/).optional(),
});
export const screenSchema = z.strictObject({ codes: z.array(screenCodeSchema).max(1000) });
export type ScreenCode = z.infer<typeof screenCodeSchema>;
export type Screen = z.infer<typeof screenSchema>;

/** One row of the fleet's `GET /status`. `light` is null while the device is `operating`. */
export const fleetDeviceStatusSchema = z.object({
  devId: devIdSchema,
  serial: serialSchema,
  pid: pidSchema,
  state: agentStateSchema,
  light: lightSchema.nullable(),
  lastCode: failureCodeSchema.nullable(),
  result: unbindResultSchema.nullable(),
});
export type FleetDeviceStatus = z.infer<typeof fleetDeviceStatusSchema>;
export const fleetStatusSchema = z.array(fleetDeviceStatusSchema);
