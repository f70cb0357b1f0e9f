import { z } from 'zod';
import type { Page } from '../cloud-api.js';
import { caseIdSchema, caseListQuerySchema, caseViewSchema, CASE_BODY_LIMIT, CASE_REJECT_CODES, fileCaseRequestSchema, MAX_CASE_NOTE_CHARS, PHOTO_TYPES, type CaseView } from '../case-api.js';

export { CASE_REJECT_CODES, MAX_LABEL_PHOTO_BYTES, type CaseKind, type CaseRejectCode, type CaseState, type FileCaseRequest } from '../case-api.js';
import { call, json } from './call-spec.js';

/**
 * Cases domain (DESIGN §4.10): a verified installer files an unbind or password-reset case for a device
 * that is not on the bench (serial typed or scanned, the label photo, the reset request text); the
 * product's owner sees the cases with their due time, opens the photo and approves or rejects. The
 * station checks the photo's bytes itself before it sends anything, and passes the authority's answer on.
 */
export type { CaseView };
export const casePageSchema = z.object({ items: z.array(caseViewSchema), nextCursor: z.string().nullable() }) satisfies z.ZodType<Page<CaseView>>;

/** The label photo as the UI shows it: a data: URL is allowed by the page's CSP, a foreign image is not. */
export interface CasePhotoView {
  type: (typeof PHOTO_TYPES)[number];
  base64: string;
}
export const casePhotoViewSchema = z.object({ type: z.enum(PHOTO_TYPES), base64: z.string() }) satisfies z.ZodType<CasePhotoView>;

const LIST_KEYS = Object.keys(caseListQuerySchema.shape) as Array<keyof z.infer<typeof caseListQuerySchema>>;
const noteSchema = z.string().max(MAX_CASE_NOTE_CHARS).optional();

export const caseCalls = {
  fileCase: call({
    args: z.tuple([fileCaseRequestSchema]),
    answer: json<CaseView>(caseViewSchema),
    http: { method: 'POST', path: '/api/cases', args: [{ in: 'body' }], status: 201, bodyLimit: CASE_BODY_LIMIT },
  }),
  listCases: call({
    args: z.tuple([caseListQuerySchema.default({})]),
    answer: json<Page<CaseView>>(casePageSchema),
    http: { method: 'GET', path: '/api/cases', args: [{ in: 'query', keys: LIST_KEYS }] },
  }),
  getCasePhoto: call({
    args: z.tuple([caseIdSchema]),
    answer: json<CasePhotoView>(casePhotoViewSchema),
    http: { method: 'GET', path: '/api/cases/:id/photo', args: [{ in: 'param', name: 'id' }] },
  }),
  approveCase: call({
    args: z.tuple([caseIdSchema, noteSchema]),
    answer: json<CaseView>(caseViewSchema),
    http: { method: 'POST', path: '/api/cases/:id/approve', args: [{ in: 'param', name: 'id' }, { in: 'body', key: 'note' }] },
  }),
  rejectCase: call({
    args: z.tuple([caseIdSchema, z.enum(CASE_REJECT_CODES), noteSchema]),
    answer: json<CaseView>(caseViewSchema),
    http: { method: 'POST', path: '/api/cases/:id/reject', args: [{ in: 'param', name: 'id' }, { in: 'body', key: 'reason' }, { in: 'body', key: 'note' }] },
  }),
};
