/** A refusal with an HTTP status and a stable code; the HTTP layer answers `{code, message}`. */
export class AuthorityError extends Error {
  constructor(
    readonly status: 400 | 401 | 403 | 404 | 409 | 413 | 501,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AuthorityError';
  }
}
