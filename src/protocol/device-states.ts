import { z } from 'zod';

/** Device states and their indicator light (DESIGN §6). */
export const DEVICE_STATES = ['waiting', 'unbinding', 'unbound', 'failed'] as const;
export const deviceStateSchema = z.enum(DEVICE_STATES);
export type DeviceState = z.infer<typeof deviceStateSchema>;

export interface Light {
  color: 'red' | 'blue' | 'green';
  pattern: 'fast-blink' | 'slow-blink' | 'solid';
}

export const LIGHTS: Record<DeviceState, Light> = {
  waiting: { color: 'red', pattern: 'fast-blink' },
  unbinding: { color: 'blue', pattern: 'slow-blink' },
  unbound: { color: 'green', pattern: 'solid' },
  failed: { color: 'red', pattern: 'solid' },
};

/** The legend the station shows beside every QR code. */
export const LIGHT_LEGEND: ReadonlyArray<{ state: DeviceState; light: Light; meaning: string }> = [
  { state: 'waiting', light: LIGHTS.waiting, meaning: 'Reset and ready: show it the code' },
  { state: 'unbinding', light: LIGHTS.unbinding, meaning: 'Code received, working' },
  { state: 'unbound', light: LIGHTS.unbound, meaning: 'Unbound, resetting, ready to pair again' },
  { state: 'failed', light: LIGHTS.failed, meaning: 'Failed: see the reason on the station' },
];

/** Allowed transitions; anything else is a bug in the device logic. */
export const DEVICE_TRANSITIONS: Record<DeviceState, readonly DeviceState[]> = {
  waiting: ['unbinding', 'failed'],
  unbinding: ['unbound', 'failed', 'waiting'],
  unbound: ['waiting'],
  failed: ['waiting'],
};

export function canTransition(from: DeviceState, to: DeviceState): boolean {
  return DEVICE_TRANSITIONS[from].includes(to);
}
