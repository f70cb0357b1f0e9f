import type { FailureCode } from '../failure-codes.js';

/**
 * Every refusal the station answers (DESIGN §4.11), with its HTTP status and what the operator should do,
 * as DESIGN §5's failure codes are. Over HTTP a refusal is `status {code, message}`; over IPC the same
 * `{code, message}` in an envelope. A device's own failure code (e.g. a UART device answering
 * `ERROR:TIMEOUT`) may also refuse a call: it travels as 409 with its §5 hint.
 */
export const STATION_REFUSALS = {
  BAD_REQUEST: { status: 400, hint: 'The request is malformed; the message names the field.' },
  PORT_NOT_CONFIGURED: { status: 400, hint: 'Add the port to the UART ports in Settings first.' },
  PHOTO_NOT_BASE64: { status: 400, hint: 'The label photo did not arrive whole: choose the file again.' },
  PHOTO_NOT_IMAGE: { status: 400, hint: 'The label photo must be a JPEG or PNG picture: take a photo of the label and choose that file.' },
  PHOTO_TOO_LARGE: { status: 400, hint: 'The label photo is larger than 5 MB: take it at a lower resolution.' },
  PORT_TWICE: { status: 400, hint: 'The scanner port cannot also be a UART port: pick another.' },
  SSID_MISMATCH: { status: 400, hint: 'Type the Wi-Fi this batch was started for.' },
  WIFI_PASSWORD_MISMATCH: { status: 400, hint: 'That is not the Wi-Fi password this batch was started with: type it again exactly.' },
  BAD_KEY: { status: 401, hint: 'Open the station with the URL it printed at start.' },
  NO_STATION_KEY: { status: 401, hint: 'Open the station with the URL it printed at start.' },
  SIGNED_OUT: { status: 401, hint: 'Sign in first.' },
  SIGN_IN_REFUSED: { status: 401, hint: 'Check the client id and secret of the account.' },
  FORBIDDEN_HOST: { status: 403, hint: 'Open the station on 127.0.0.1.' },
  FORBIDDEN_ORIGIN: { status: 403, hint: 'Only the station’s own page may change anything.' },
  FORBIDDEN: { status: 403, hint: 'Only the station’s own window may call it.' },
  ACCOUNT_UNKNOWN: { status: 404, hint: 'Pick one of the demo accounts listed.' },
  BATCH_UNKNOWN: { status: 404, hint: 'The batch is not this account’s: sign in as the account that started it.' },
  CODE_UNKNOWN: { status: 404, hint: 'The batch has no such code.' },
  DEVICE_UNKNOWN: { status: 404, hint: 'No such device on the bench.' },
  NO_BENCH: { status: 404, hint: 'This station runs without a virtual bench.' },
  NO_SERIAL: { status: 404, hint: 'This station runs without serial ports.' },
  BATCH_ENDED: { status: 409, hint: 'The batch is over: start a new one.' },
  BATCH_NOT_FOLLOWED: { status: 409, hint: 'Sign in as the account that started this batch first.' },
  BATCH_PAUSED: { status: 409, hint: 'The batch stopped itself on a repeated failure: resume it or cancel it.' },
  BATCH_NOT_PAUSED: { status: 409, hint: 'Only a paused batch can be resumed.' },
  CODES_LOCKED: { status: 409, hint: 'The Wi-Fi password is not kept across restarts: enter it again to show the codes.' },
  DEVICE_GONE: { status: 409, hint: 'The device left the LAN: refresh the sweep.' },
  NOT_WAITING: { status: 409, hint: 'Reset the device (light blinking red fast), then retry.' },
  NO_CODES: { status: 409, hint: 'This batch has no codes to print.' },
  NO_LAN: { status: 409, hint: 'This station runs without a LAN sweep.' },
  PORT_UNAVAILABLE: { status: 409, hint: 'The port cannot be opened: check the cable and that no other program holds it.' },
  INTERNAL: { status: 500, hint: 'The station failed; its log says why.' },
  CLOUD_UNREACHABLE: { status: 502, hint: 'The station could not reach the authority: check the network.' },
} as const satisfies Record<string, { status: 400 | 401 | 403 | 404 | 409 | 500 | 502; hint: string }>;

export type StationRefusalCode = keyof typeof STATION_REFUSALS;

/** The codes as named constants, so that no caller matches a refusal by a string literal. */
export const StationRefusal = Object.fromEntries(Object.keys(STATION_REFUSALS).map((k) => [k, k])) as { readonly [K in StationRefusalCode]: K };

/** Failures the renderer's transports raise themselves (nothing the station sends). */
export const TRANSPORT_FAILURES = {
  STATION_UNREACHABLE: 'The station did not answer.',
  BAD_ANSWER: 'The station’s answer does not match the contract.',
  UNEXPECTED: 'Something failed in the page.',
} as const;
export type TransportFailureCode = keyof typeof TRANSPORT_FAILURES;

/** The code of an HTTP answer that carried no `{code, message}` (a proxy, a crash): `HTTP_<status>`. */
export function httpFailureCode(status: number): `HTTP_${number}` {
  return `HTTP_${status}`;
}

/** The code of a refusal of the station, a device's failure code, or an upstream authority code (502). */
export type StationErrorCode = StationRefusalCode | FailureCode;

type StatusOf<C extends StationErrorCode> = C extends StationRefusalCode ? (typeof STATION_REFUSALS)[C]['status'] : 409;

/** What a refusal looks like on the wire, over both transports. */
export interface StationErrorBody {
  code: string;
  message: string;
}

/**
 * A refusal of a station call. Its status must be the one the enum gives its code (checked by the
 * compiler: the argument stays so call sites read as the HTTP answer they produce).
 */
export class StationError<C extends StationErrorCode = StationErrorCode> extends Error {
  constructor(
    readonly status: StatusOf<C>,
    readonly code: C,
    message: string,
  ) {
    super(message);
    this.name = 'StationError';
  }
}

/** True when the session is gone (the station answers 401), whichever way it was said. */
export function isSignedOutRefusal(e: { code: string; status?: number | null }): boolean {
  return e.status === 401 || e.code === StationRefusal.SIGNED_OUT;
}

/** True when the page has no station key: it must be opened from the link the station printed. */
export function needsStationLink(e: { code: string }): boolean {
  return e.code === httpFailureCode(401) || e.code === StationRefusal.SIGNED_OUT;
}
