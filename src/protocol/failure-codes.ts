import { z } from 'zod';

/** Every failure an unbind attempt can end in (DESIGN §5), with what the operator should do about it. */
export const FAILURE_HINTS = {
  UNAUTHORIZED: 'This account may not unbind this product. Ask the product owner for a partner grant or a space role with the unbind permission.',
  QUOTA_ACCOUNT: "The account's daily unbind quota is used up. Wait for the next day or ask the product owner to approve a quota ticket.",
  QUOTA_PRODUCT: "The product's daily unbind quota is used up. Wait for the next day or ask the product owner to approve a quota ticket.",
  TOKEN_INVALID: 'The code or token is not one the authority issued. Show a fresh code from this station.',
  TOKEN_EXPIRED: 'The code expired before the device used it. Start a new code and reset the device again.',
  TOKEN_EXHAUSTED: 'This code already served its maximum number of devices (30). Use the next code of the batch.',
  TOKEN_REUSED: 'This device already used this code. Reset it and use a new code if it still needs unbinding.',
  REGION_MISMATCH: "The device belongs to another region than the account that issued the code. Use an account of the device's region.",
  DEVICE_UNKNOWN: 'The authority does not know this device. Check the serial label; it may be a counterfeit or from another vendor.',
  DEVICE_AUTH: 'Device rejected: its identity signature is wrong. The device key may be corrupt; send it to the service center.',
  RATE_LIMITED:
    'Refused unchecked: too many failed device authentications (bad signature, replay, unknown device) came from this network address. Wait a minute and retry; if it persists, find what floods the bench network.',
  REPLAY: 'The request was a replay or the device clock is off by more than 5 minutes. Check the bench network time (NTP) and retry.',
  UNSUPPORTED_PRODUCT: 'This product has no unbind mechanism. Send the device to the service center.',
  FIRMWARE_UNSUPPORTED: 'The device firmware is older than the minimum that supports unbinding. Upgrade the firmware, then retry.',
  SERIAL_MISMATCH: 'The serial the device reports differs from its scanned label, or it is not in the batch manifest. Check the label and the device.',
  NOT_WAITING: 'The device is not reset (not in the waiting state). Hold the reset button until the light blinks red fast, then retry.',
  WIFI_AUTH: 'The device could not join the Wi-Fi: wrong password. Check the Wi-Fi password and make a new code.',
  WIFI_NOT_FOUND: 'The device did not find the Wi-Fi network. Check the SSID (2.4 GHz, in range) and make a new code.',
  DHCP_FAILED: 'The device joined the network but got no IP address (0.0.0.0). Check the DHCP server on the bench network.',
  NETWORK_CHANGED: "The device's IP address changed during the operation. Keep the bench network stable and retry.",
  CLOUD_UNREACHABLE: 'The device could not reach the cloud. Check the bench network’s internet access and firewall.',
  NO_REPORT: 'The device never reported before the code expired. Likely a wrong Wi-Fi password, no DHCP, or the device was not reset.',
  TIMEOUT: 'The device did not answer in time. Check that it is powered and connected, then retry.',
  ADMIN_PASSWORD: "The device refused the admin password. Check the password on the device's label or record; after 5 wrong tries the device locks itself for 30 minutes.",
  DEVICE_LOCKED: 'The device refuses local unbinds after 5 wrong admin passwords. Wait until the unlock time shown, or reset the admin password with a reset request.',
  RESET_CODE_INVALID: "The reset code does not match this device's current reset request, or it was used already. Check the code, or export a new reset request and ask for a new code.",
  RESET_CODE_EXPIRED: 'The reset request is older than 48 hours. Export a new reset request from the device and ask for a new code.',
  NOT_VERIFIED:
    'The case was refused: the account that filed it is not (or no longer) a verified installer. Ask the vendor to verify the account, then file the case again.',
} as const;

export type FailureCode = keyof typeof FAILURE_HINTS;
export const FAILURE_CODES = Object.keys(FAILURE_HINTS) as [FailureCode, ...FailureCode[]];
export const failureCodeSchema = z.enum(FAILURE_CODES);

export function hintFor(code: FailureCode): string {
  return FAILURE_HINTS[code];
}

/** The result of one device's unbind attempt. NOT_BOUND is a result, not a failure: it consumes no quota. */
export const UNBIND_RESULTS = ['UNBOUND', 'NOT_BOUND', 'FAILED'] as const;
export const unbindResultSchema = z.enum(UNBIND_RESULTS);
export type UnbindResult = z.infer<typeof unbindResultSchema>;
