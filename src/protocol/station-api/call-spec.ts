import type { z } from 'zod';

/**
 * The shape of one entry of the station API table (DESIGN §4.11): a call's arguments (a zod tuple,
 * checked at the station's boundary), its answer (checked where it crosses into the renderer) and its
 * HTTP route. Every face of the API — the `StationApi` type, the station server's routes, the Electron
 * IPC handlers and preload, both renderer transports — is derived from these entries.
 */

export type HttpMethod = 'GET' | 'POST' | 'PUT' | 'DELETE';

/** Where one positional argument of a call travels in an HTTP request. */
export type HttpArg =
  /** The whole JSON body. */
  | { in: 'body' }
  /** One field of a JSON body object. */
  | { in: 'body'; key: string }
  /** A path parameter `:name` of the route. */
  | { in: 'param'; name: string }
  /** The query string as one object; `keys` fixes the order (the same filters always give the same URL). */
  | { in: 'query'; keys: readonly string[] };

/**
 * What a call answers. `json`: checked against its schema in the renderer. `text`: a typed passthrough
 * (SVG, HTML), only checked to be a string: these are the QR images the code screen fetches, large and
 * often. `none`: 204. `download`: the CSV export, which differs per transport — a link in the browser (no
 * request), a file the Electron main process saves — and answers where it went.
 */
export type AnswerSpec<T> =
  | { kind: 'json'; schema: z.ZodType<T> }
  | { kind: 'text'; contentType: string; noStore?: boolean }
  | { kind: 'none' }
  | { kind: 'download'; contentType: string; fileName: string; schema: z.ZodType<T> };

export interface CallSpec<Args extends z.ZodTuple = z.ZodTuple, A extends AnswerSpec<unknown> = AnswerSpec<unknown>> {
  args: Args;
  answer: A;
  /** `bodyLimit`: bytes, for the one call whose body is large (a case's label photo); the server's default otherwise. */
  http: { method: HttpMethod; path: string; args: readonly HttpArg[]; status?: 200 | 201; bodyLimit?: number };
}

export const json = <T>(schema: z.ZodType<T>): { kind: 'json'; schema: z.ZodType<T> } => ({ kind: 'json', schema });
export const text = (contentType: string, opts: { noStore?: boolean } = {}): { kind: 'text'; contentType: string; noStore?: boolean } => ({ kind: 'text', contentType, ...opts });
export const none: { kind: 'none' } = { kind: 'none' };

/** Declares one call; the identity, there for inference (each entry keeps its own argument and answer types). */
export function call<Args extends z.ZodTuple, A extends AnswerSpec<unknown>>(spec: CallSpec<Args, A>): CallSpec<Args, A> {
  return spec;
}

export const download = <T>(schema: z.ZodType<T>, o: { contentType: string; fileName: string }): { kind: 'download'; contentType: string; fileName: string; schema: z.ZodType<T> } => ({
  kind: 'download',
  ...o,
  schema,
});

export type ArgsOf<S> = S extends { args: infer A extends z.ZodTuple } ? z.output<A> : never;
export type AnswerOf<S> = S extends { answer: { kind: 'json' | 'download'; schema: z.ZodType<infer T> } }
  ? T
  : S extends { answer: { kind: 'text' } }
    ? string
    : S extends { answer: { kind: 'none' } }
      ? void
      : never;
