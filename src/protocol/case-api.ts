import { z } from 'zod';
import { devIdSchema, serialSchema } from './device-messages.js';

/**
 * Cases (DESIGN §4.10): a verified installer asks the product's owner to unbind a device that is not on
 * the bench, or to answer a reset code for its admin password, with a photo of the serial label.
 */
export const CASE_KINDS = ['unbind', 'password-reset'] as const;
export type CaseKind = (typeof CASE_KINDS)[number];
export const CASE_STATES = ['submitted', 'approved', 'rejected'] as const;
export type CaseState = (typeof CASE_STATES)[number];
/** The codes an owner rejects a case with (§4.10). */
export const CASE_REJECT_CODES = ['SERIAL_MISMATCH', 'NOT_BOUND', 'NOT_VERIFIED', 'UNAUTHORIZED'] as const;
export type CaseRejectCode = (typeof CASE_REJECT_CODES)[number];

/** The label photo's limit, counted on the decoded bytes. */
export const MAX_LABEL_PHOTO_BYTES = 5 * 1024 * 1024;
/** Its base64 text: 4 characters per 3 bytes, padded. */
export const MAX_LABEL_PHOTO_BASE64 = Math.ceil(MAX_LABEL_PHOTO_BYTES / 3) * 4;
/** The reset request as a file (XML) or QR text: a few hundred bytes; the cap is before any parsing. */
export const MAX_RESET_REQUEST_CHARS = 4096;
export const MAX_CASE_NOTE_CHARS = 500;
/** The body of `POST /api/v1/cases`: the photo's base64 plus room for the rest (the route's bodyLimit). */
export const CASE_BODY_LIMIT = MAX_LABEL_PHOTO_BASE64 + 16 * 1024;
/** A reset request is valid this long after it was issued (§4.9). */
export const RESET_REQUEST_VALID_MS = 48 * 3_600_000;
export const CASE_DUE_MINUTES = 10;

export const caseIdSchema = z.string().regex(/^cs-[A-Za-z0-9_-]{10}$/, 'case id is malformed');
const noteSchema = z.string().max(MAX_CASE_NOTE_CHARS, `a note is at most ${MAX_CASE_NOTE_CHARS} characters`);

export const fileCaseRequestSchema = z
  .strictObject({
    kind: z.enum(CASE_KINDS),
    devId: devIdSchema.optional(),
    /** The serial as read off the label (typed or scanned). */
    serial: serialSchema.optional(),
    // Only the length here: the bytes are checked once decoded (checkLabelPhoto).
    labelPhoto: z.string().min(1, 'labelPhoto is empty').max(MAX_LABEL_PHOTO_BASE64, `labelPhoto is larger than ${MAX_LABEL_PHOTO_BYTES} bytes`),
    resetRequest: z.string().min(1).max(MAX_RESET_REQUEST_CHARS, `resetRequest is longer than ${MAX_RESET_REQUEST_CHARS} characters`).optional(),
    note: noteSchema.optional(),
  })
  .refine((b) => b.devId !== undefined || b.serial !== undefined, { error: 'name the device: devId or serial' })
  .refine((b) => (b.kind === 'password-reset') === (b.resetRequest !== undefined), {
    error: 'a password-reset case carries the reset request (XML or QR text), an unbind case none',
    path: ['resetRequest'],
  });
export type FileCaseRequest = z.infer<typeof fileCaseRequestSchema>;

export const rejectCaseRequestSchema = z.strictObject({ reason: z.enum(CASE_REJECT_CODES), note: noteSchema.optional() });
export type RejectCaseRequest = z.infer<typeof rejectCaseRequestSchema>;
export const approveCaseRequestSchema = z.strictObject({ note: noteSchema.optional() });

export const caseListQuerySchema = z.strictObject({
  state: z.enum(CASE_STATES).optional(),
  cursor: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/, 'cursor is malformed').optional(),
  limit: z.coerce.number().int().min(1).max(200).optional(),
});
export type CaseListQuery = z.infer<typeof caseListQuerySchema>;

export const caseViewSchema = z.object({
  id: caseIdSchema,
  kind: z.enum(CASE_KINDS),
  state: z.enum(CASE_STATES),
  devId: z.string(),
  /** The device's serial, as the authority knows it. */
  serial: z.string(),
  /** The serial the filer typed or scanned from the label, if any. */
  labelSerial: z.string().nullable(),
  pid: z.string(),
  filer: z.string(),
  filedAt: z.string(),
  dueAt: z.string(),
  note: z.string().nullable(),
  photo: z.object({ type: z.enum(['image/jpeg', 'image/png']), bytes: z.number().int() }),
  resetRequest: z.object({ challenge: z.string(), issuedAt: z.string(), expiresAt: z.string() }).nullable(),
  reviewer: z.string().nullable(),
  decidedAt: z.string().nullable(),
  rejectCode: z.enum(CASE_REJECT_CODES).nullable(),
  reviewNote: z.string().nullable(),
  /** For an approved password-reset case, to its filer and its reviewer only: computed, never stored. */
  resetCode: z.string().optional(),
});
export type CaseView = z.infer<typeof caseViewSchema>;

export const PHOTO_TYPES = ['image/jpeg', 'image/png'] as const;
export type PhotoType = (typeof PHOTO_TYPES)[number];
const JPEG_MAGIC = [0xff, 0xd8, 0xff];
const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
const startsWith = (b: Uint8Array, magic: number[]): boolean => b.length >= magic.length && magic.every((x, i) => b[i] === x);

export type PhotoCheck =
  | { ok: true; bytes: Uint8Array; type: PhotoType }
  | { ok: false; code: 'PHOTO_NOT_BASE64' | 'PHOTO_TOO_LARGE' | 'PHOTO_NOT_IMAGE'; message: string };

const BASE64_VALUES = new Int16Array(128).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'.split('').forEach((ch, i) => (BASE64_VALUES[ch.charCodeAt(0)] = i));
const valueOf = (s: string, i: number): number => {
  const c = s.charCodeAt(i);
  return c < 128 ? BASE64_VALUES[c]! : -1;
};

/**
 * Strict base64 (padded, no whitespace, zero pad bits) to bytes; null for anything else. A loop, not a
 * regular expression: a 7 MB text would overflow a backtracking regex's stack. Pure, for the protocol layer.
 */
function decodeStrictBase64(s: string): Uint8Array | null {
  if (s.length % 4 !== 0) return null;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  let o = 0;
  for (let i = 0; i < s.length; i += 4) {
    const lastQuad = i + 4 === s.length;
    const a = valueOf(s, i);
    const b = valueOf(s, i + 1);
    const c = lastQuad && pad === 2 ? 0 : valueOf(s, i + 2);
    const d = lastQuad && pad >= 1 ? 0 : valueOf(s, i + 3);
    if (a < 0 || b < 0 || c < 0 || d < 0) return null;
    // Non-zero bits under the padding: another text would decode to the same bytes; not canonical.
    if (lastQuad && ((pad === 2 && (b & 0x0f) !== 0) || (pad === 1 && (c & 0x03) !== 0))) return null;
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = (n >> 16) & 0xff;
    if (o < out.length) out[o++] = (n >> 8) & 0xff;
    if (o < out.length) out[o++] = n & 0xff;
  }
  return out;
}

/** The label photo: strict base64 of a JPEG or PNG (by its magic bytes) of at most 5 MB. */
export function checkLabelPhoto(base64: string): PhotoCheck {
  const bytes = decodeStrictBase64(base64);
  if (!bytes) return { ok: false, code: 'PHOTO_NOT_BASE64', message: 'labelPhoto is not strict base64 (A–Z a–z 0–9 + /, padded with =, no spaces)' };
  if (bytes.length > MAX_LABEL_PHOTO_BYTES) return { ok: false, code: 'PHOTO_TOO_LARGE', message: `the label photo is ${bytes.length} bytes; at most ${MAX_LABEL_PHOTO_BYTES}` };
  if (startsWith(bytes, JPEG_MAGIC)) return { ok: true, bytes, type: 'image/jpeg' };
  if (startsWith(bytes, PNG_MAGIC)) return { ok: true, bytes, type: 'image/png' };
  return { ok: false, code: 'PHOTO_NOT_IMAGE', message: 'the label photo is not a JPEG or PNG image (its first bytes are neither)' };
}

/** A reset request as the device gave it (§4.9), once parsed: the XML file and the QR text say the same. */
export interface ParsedResetRequest {
  /** DeviceSN of the XML (a serial, or the devId), the devId of the QR text. */
  device: string;
  challenge: string;
  issuedAt: number;
}
export const resetChallengeSchema = z.string().regex(/^[A-Za-z0-9_-]{8,128}$/, 'Challenge must be 8–128 URL-safe characters');
/** IssuedAt: Unix milliseconds, or an ISO 8601 time with its offset (XML only: the QR text is split on colons). */
export const resetIssuedAtSchema = z.union([
  z.string().regex(/^\d{10,15}$/, 'IssuedAt must be Unix milliseconds').transform(Number),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
]);
export const resetRequestFieldsSchema = z.strictObject({
  DeviceSN: z.union([serialSchema, devIdSchema]),
  // The devices' own file (admin-password.ts resetRequestXml) carries the devId too; the case reads DeviceSN.
  DeviceID: devIdSchema.optional(),
  Challenge: resetChallengeSchema,
  IssuedAt: resetIssuedAtSchema,
});
const QR_TEXT = /^RST1:([^:]{1,64}):([^:]{1,128}):(\d{10,15})$/;

/** The QR text form, `RST1:<devId>:<challenge>:<issuedAt>`; null when it is not that form. */
export function parseResetQrText(text: string): { ok: true; value: ParsedResetRequest } | { ok: false; message: string } | null {
  const m = QR_TEXT.exec(text.trim());
  if (!m) return text.trim().startsWith('RST1:') ? { ok: false, message: 'reset QR text must be RST1:<devId>:<challenge>:<issuedAt ms>' } : null;
  const r = z.strictObject({ device: devIdSchema, challenge: resetChallengeSchema, issuedAt: resetIssuedAtSchema }).safeParse({ device: m[1], challenge: m[2], issuedAt: m[3] });
  return r.success ? { ok: true, value: r.data } : { ok: false, message: r.error.issues[0]?.message ?? 'reset request is malformed' };
}
