import { isSignedOutRefusal, type StationError } from '../../protocol/station-api.js';

/** A refusal or failure of a station call, carrying the `{code, message}` both transports send. */
export class StationApiError extends Error implements StationError {
  constructor(
    readonly code: string,
    message: string,
    /** The HTTP status when the web transport got one; null over IPC or when the station was unreachable. */
    readonly status: number | null = null,
  ) {
    super(message);
    this.name = 'StationApiError';
  }
}

/** Any thrown value as `{code, message}`, for a store to keep and a view to show. */
export function toStationError(err: unknown): StationError {
  if (err instanceof StationApiError) return { code: err.code, message: err.message };
  if (err instanceof Error) return { code: 'UNEXPECTED', message: err.message };
  return { code: 'UNEXPECTED', message: String(err) };
}

/** The station answers 401 SIGNED_OUT (or another 401) when the session is gone. */
export function isSignedOutError(err: unknown): boolean {
  return err instanceof StationApiError && isSignedOutRefusal(err);
}
