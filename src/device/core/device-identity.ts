import { z } from 'zod';
import { devIdSchema, firmwareSchema, pidSchema, regionSchema, serialSchema } from '../../protocol/index.js';

/**
 * What a device carries from the factory, plus whether it believes it is bound. The firmware is
 * only reported: the authority decides FIRMWARE_UNSUPPORTED from its own device record.
 */
export const deviceIdentitySchema = z.object({
  devId: devIdSchema,
  serial: serialSchema,
  pid: pidSchema,
  region: regionSchema,
  firmware: firmwareSchema,
  deviceKey: z.string().min(1).max(256),
  bound: z.boolean(),
  /**
   * The admin password of the device's local login (DESIGN §4.8), as the demo export gives it: the device
   * keeps only a salted verifier derived from it, never the password.
   */
  adminPassword: z.string().min(1).max(128).optional(),
});
export type DeviceIdentity = z.infer<typeof deviceIdentitySchema>;
