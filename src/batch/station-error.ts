/** A refusal the station API answers as `{code, message}` with an HTTP status. */
export class StationError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 502,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'StationError';
  }
}
