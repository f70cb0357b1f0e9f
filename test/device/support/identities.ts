import { generateToken, randomUrlSafe, type QrPayload } from '../../../src/protocol/index.js';
import type { DeviceIdentity } from '../../../src/device/index.js';

export function makeIdentity(n: number, overrides: Partial<DeviceIdentity> = {}): DeviceIdentity {
  const num = String(n).padStart(4, '0');
  return {
    devId: `tcam-${num}`,
    serial: `TC1-0000-00${num}`,
    pid: 'ptestcam',
    region: 'EU',
    firmware: '3.2.0',
    deviceKey: randomUrlSafe(32),
    bound: true,
    ...overrides,
  };
}

export const BENCH = { 'bench-lab-01': { password: 'pass-1234567', dhcp: true }, 'no-dhcp-net': { password: 'pass-1234567', dhcp: false } };

export function benchPayload(over: Partial<QrPayload> = {}): QrPayload {
  return { s: 'bench-lab-01', p: 'pass-1234567', t: generateToken('EU').token, ...over };
}
