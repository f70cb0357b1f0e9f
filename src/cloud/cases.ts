import type { Database } from 'better-sqlite3';
import {
  checkLabelPhoto,
  randomUrlSafe,
  RESET_REQUEST_VALID_MS,
  type CaseKind,
  type CaseListQuery,
  type CaseRejectCode,
  type CaseState,
  type CaseView,
  type FileCaseRequest,
  type Page,
  type PhotoType,
  type RejectCaseRequest,
} from '../protocol/index.js';
import type { QuotaLedger } from '../quota/quota-ledger.js';
import type { Accounts } from './accounts.js';
import type { DeviceLogs, LogRow } from './device-logs.js';
import { AuthorityError } from './errors.js';
import { seesAllOperations, type Grant, type GrantResolver } from './grants.js';
import { caseDueAt } from './office-hours.js';
import type { ResetCodes } from './reset-codes.js';
import { parseResetRequest } from './reset-request.js';

/**
 * Cases (DESIGN §4.10): a verified installer who may unbind the product files one; the product's owner
 * approves it (an unbind: binding and shares removed, quota consumed and a device log row written in one
 * transaction, with the rules of the device unbind) or rejects it with a code. Scoped on read like device
 * logs (§7). Every refusal is thrown before anything is written. The checks are functions of this module
 * (below), so the PostgreSQL store (pg/pg-cases.ts) applies the same ones in the same order.
 */
export interface CaseRow {
  seq: number;
  id: string;
  kind: CaseKind;
  filer_id: string;
  dev_id: string;
  pid: string;
  label_serial: string | null;
  photo_type: PhotoType;
  photo_bytes: number;
  reset_challenge: string | null;
  reset_issued_at: number | null;
  note: string | null;
  state: CaseState;
  filed_at: number;
  due_at: number;
  reviewer_id: string | null;
  decided_at: number | null;
  reject_code: CaseRejectCode | null;
  review_note: string | null;
  log_id: number | null;
  serial: string;
  owner_id: string;
}

/** The log's batch_ref of an unbind a case made: the device log names the case (the method is "case"). */
export const caseLogRef = (caseId: string): string => `case:${caseId}`;

const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());

export interface Cases {
  file(accountId: string, req: FileCaseRequest, now: number): CaseView;
  approve(accountId: string, caseId: string, note: string | undefined, now: number): CaseView;
  reject(accountId: string, caseId: string, req: RejectCaseRequest, now: number): CaseView;
  list(accountId: string, q: CaseListQuery): Page<CaseView>;
  /** The label photo, for the case's filer and its reviewer only. */
  photo(accountId: string, caseId: string): { bytes: Buffer; type: PhotoType };
}

export function createCases(deps: {
  db: Database;
  accounts: Accounts;
  grants: GrantResolver;
  quota: QuotaLedger;
  logs: DeviceLogs;
  resetCodes: ResetCodes;
  timeZone: string;
}): Cases {
  const { db, accounts, grants, quota, logs, resetCodes, timeZone } = deps;
  const SELECT = `SELECT c.seq, c.id, c.kind, c.filer_id, c.dev_id, c.pid, c.label_serial, c.photo_type, length(c.photo) AS photo_bytes,
                         c.reset_challenge, c.reset_issued_at, c.note, c.state, c.filed_at, c.due_at, c.reviewer_id, c.decided_at,
                         c.reject_code, c.review_note, c.log_id, d.serial, p.owner_id
                    FROM cases c JOIN devices d ON d.dev_id = c.dev_id JOIN products p ON p.pid = c.pid`;
  const q = {
    deviceById: db.prepare<[string], { dev_id: string; serial: string; pid: string; region: string }>('SELECT dev_id, serial, pid, region FROM devices WHERE dev_id = ?'),
    deviceBySerial: db.prepare<[string], { dev_id: string; serial: string; pid: string; region: string }>('SELECT dev_id, serial, pid, region FROM devices WHERE serial = ?'),
    insert: db.prepare(
      `INSERT INTO cases (id, kind, filer_id, dev_id, pid, label_serial, photo, photo_type, reset_challenge, reset_issued_at, note, state, filed_at, due_at)
       VALUES (@id, @kind, @filer, @devId, @pid, @labelSerial, @photo, @photoType, @challenge, @issuedAt, @note, 'submitted', @filedAt, @dueAt)`,
    ),
    byId: db.prepare<[string], CaseRow>(`${SELECT} WHERE c.id = ?`),
    photo: db.prepare<[string], { photo: Buffer; photo_type: PhotoType }>('SELECT photo, photo_type FROM cases WHERE id = ?'),
    decide: db.prepare(
      `UPDATE cases SET state = @state, reviewer_id = @reviewer, decided_at = @at, reject_code = @code, review_note = @note, log_id = @logId
        WHERE id = @id AND state = 'submitted'`,
    ),
    binding: db.prepare<[string], { consumer_id: string }>('SELECT consumer_id FROM bindings WHERE dev_id = ?'),
    dropShares: db.prepare('DELETE FROM shares WHERE dev_id = ?'),
    dropBinding: db.prepare('DELETE FROM bindings WHERE dev_id = ?'),
    scoped: db.prepare<Record<string, string | number | null>, CaseRow>(`
      ${SELECT}
       WHERE (c.pid IN (SELECT value FROM json_each(@allPids)) OR c.filer_id = @me)
         AND (@before IS NULL OR c.seq < @before) AND (@state IS NULL OR c.state = @state)
       ORDER BY c.seq DESC LIMIT @limit`),
  };

  const toView = (r: CaseRow, viewer: string): CaseView =>
    caseViewOf(r, mayReadResetCode(r, viewer) ? resetCodes.resetCodeFor(r.dev_id, r.reset_challenge!) : undefined);

  /** The case, if this account may see it at all (§7 scoping); otherwise 404, as for a case that does not exist. */
  function visible(accountId: string, caseId: string): CaseRow {
    const r = q.byId.get(caseId);
    return assertCaseVisible(r, caseId, accountId, r ? grants.grantFor(accountId, r.pid) : null);
  }
  /** The case, for its reviewer (the product's owner), still waiting for a decision. */
  function reviewable(accountId: string, caseId: string): CaseRow {
    return assertCaseReviewable(visible(accountId, caseId), accountId);
  }

  const decide = (r: CaseRow, reviewer: string, now: number, d: { state: 'approved' | 'rejected'; code: CaseRejectCode | null; note: string | null; logId: number | null }): void => {
    const changed = q.decide.run({ id: r.id, state: d.state, reviewer, at: now, code: d.code, note: d.note, logId: d.logId }).changes;
    if (changed === 0) throw new AuthorityError(409, 'CASE_DECIDED', `case ${r.id} was decided meanwhile`);
  };

  // Check and write in one immediate transaction: two approvals of one case, or of two cases against the
  // last unit of quota, cannot both pass.
  const approveTx = db.transaction((accountId: string, caseId: string, note: string | undefined, now: number): CaseRow => {
    const r = reviewable(accountId, caseId);
    assertCaseApprovable(r, { verified: accounts.isVerifiedInstaller(r.filer_id), mayUnbind: !!grants.grantFor(r.filer_id, r.pid), bound: !!q.binding.get(r.dev_id) }, now);
    let logId: number | null = null;
    if (r.kind === 'unbind') {
      // The unbind is paid by the filer's account and the product, like a token's (§8).
      const paid = quota.tryConsume(r.filer_id, r.pid, now);
      if (!paid.ok) throw quotaRefusal(paid.reason);
      q.dropShares.run(r.dev_id);
      q.dropBinding.run(r.dev_id);
      const dev = q.deviceById.get(r.dev_id)!;
      const log: LogRow = logs.append({
        at: now,
        dev_id: r.dev_id,
        serial: dev.serial,
        pid: r.pid,
        region: dev.region,
        operator_id: r.filer_id,
        token_id: null,
        channel: null,
        batch_ref: caseLogRef(r.id),
        result: 'UNBOUND',
        reason: null,
        // No admin password was used: the device log's method column knows only token and local (§4.8).
        method: 'token',
      });
      logId = log.id;
    }
    decide(r, accountId, now, { state: 'approved', code: null, note: note ?? null, logId });
    return q.byId.get(caseId)!;
  });

  return {
    file(accountId, req, now) {
      if (!accounts.isVerifiedInstaller(accountId)) throw new AuthorityError(403, 'NOT_VERIFIED', 'only a verified installer files cases');
      const byId = req.devId === undefined ? undefined : q.deviceById.get(req.devId);
      const dev = byId ?? (req.devId === undefined && req.serial !== undefined ? q.deviceBySerial.get(req.serial) : undefined);
      if (!dev) throw new AuthorityError(404, 'DEVICE_UNKNOWN', `no device ${req.devId ?? req.serial}`);
      if (!grants.grantFor(accountId, dev.pid)) throw new AuthorityError(403, 'UNAUTHORIZED', `this account may not unbind ${dev.pid}`);
      const { photo, reset } = checkCaseFiling(req, dev, now);
      const id = `cs-${randomUrlSafe(10)}`;
      q.insert.run({
        id,
        kind: req.kind,
        filer: accountId,
        devId: dev.dev_id,
        pid: dev.pid,
        labelSerial: req.serial ?? null,
        photo: Buffer.from(photo.bytes),
        photoType: photo.type,
        challenge: reset?.challenge ?? null,
        issuedAt: reset?.issuedAt ?? null,
        note: req.note ?? null,
        filedAt: now,
        dueAt: caseDueAt(now, timeZone),
      });
      return toView(q.byId.get(id)!, accountId);
    },
    approve: (accountId, caseId, note, now) => toView(approveTx.immediate(accountId, caseId, note, now), accountId),
    reject(accountId, caseId, req, now) {
      const r = db.transaction(() => {
        const row = reviewable(accountId, caseId);
        decide(row, accountId, now, { state: 'rejected', code: req.reason, note: req.note ?? null, logId: null });
        return q.byId.get(caseId)!;
      }).immediate();
      return toView(r, accountId);
    },
    list(accountId, lq) {
      // Owners and space roles see every case on their products; everyone sees the cases it filed.
      const allPids = grants.unbindableProducts(accountId).filter((p) => seesAllOperations({ kind: p.grant })).map((p) => p.pid);
      const limit = lq.limit ?? 50;
      const rows = q.scoped.all({
        me: accountId,
        allPids: JSON.stringify(allPids),
        before: lq.cursor ? decodeCaseCursor(lq.cursor) : null,
        state: lq.state ?? null,
        limit: limit + 1,
      });
      const page = rows.slice(0, limit);
      return { items: page.map((r) => toView(r, accountId)), nextCursor: rows.length > limit ? encodeCaseCursor(page[page.length - 1]!.seq) : null };
    },
    photo(accountId, caseId) {
      const r = visible(accountId, caseId);
      if (accountId !== r.filer_id && accountId !== r.owner_id) throw new AuthorityError(403, 'NOT_FILER_OR_REVIEWER', 'the label photo is shown only to the case filer and its reviewer');
      const p = q.photo.get(caseId)!;
      return { bytes: p.photo, type: p.photo_type };
    },
  };
}

/** The case, if this account may see it at all (§7 scoping); otherwise 404, as for a case that does not exist. */
export function assertCaseVisible<R extends CaseRow>(r: R | undefined, caseId: string, accountId: string, grant: Grant | null): R {
  if (!r || !(r.filer_id === accountId || (grant && seesAllOperations(grant)))) {
    throw new AuthorityError(404, 'CASE_UNKNOWN', `no case ${caseId} for this account`);
  }
  return r;
}

/** The case, for its reviewer (the product's owner), still waiting for a decision; else what was decided. */
export function assertCaseReviewable<R extends CaseRow>(r: R, accountId: string): R {
  if (r.owner_id !== accountId) throw new AuthorityError(403, 'NOT_OWNER', `only the owner of ${r.pid} reviews this case`);
  if (r.state !== 'submitted') throw new AuthorityError(409, 'CASE_DECIDED', `case ${r.id} is already ${r.state}`);
  return r;
}

/**
 * What an approval needs beyond the reviewer, in this order (both stores). The filer's right is evaluated
 * now, not at filing: a revoked grant or flag stops cases already filed.
 */
export function assertCaseApprovable(r: CaseRow, now: { verified: boolean; mayUnbind: boolean; bound: boolean }, at: number): void {
  if (!now.verified) throw new AuthorityError(409, 'NOT_VERIFIED', `${r.filer_id} is no longer a verified installer: reject the case`);
  if (!now.mayUnbind) throw new AuthorityError(409, 'UNAUTHORIZED', `${r.filer_id} may no longer unbind ${r.pid}: reject the case`);
  if (r.kind === 'password-reset') {
    if (at >= r.reset_issued_at! + RESET_REQUEST_VALID_MS) throw new AuthorityError(409, 'RESET_CODE_EXPIRED', `the reset request of case ${r.id} is older than 48 hours: reject it and ask for a new one`);
  } else if (!now.bound) throw new AuthorityError(409, 'NOT_BOUND', `${r.dev_id} is bound to nobody: reject the case with NOT_BOUND`);
}

export const quotaRefusal = (reason: 'QUOTA_ACCOUNT' | 'QUOTA_PRODUCT'): AuthorityError =>
  new AuthorityError(409, reason, `the daily quota refuses this unbind (${reason}); nothing was changed`);

/** A case as its API answers it (both stores); `resetCode` only when `mayReadResetCode` allowed it. */
export function caseViewOf(r: CaseRow, resetCode?: string): CaseView {
  const view: CaseView = {
    id: r.id,
    kind: r.kind,
    state: r.state,
    devId: r.dev_id,
    serial: r.serial,
    labelSerial: r.label_serial,
    pid: r.pid,
    filer: r.filer_id,
    filedAt: iso(r.filed_at)!,
    dueAt: iso(r.due_at)!,
    note: r.note,
    photo: { type: r.photo_type, bytes: r.photo_bytes },
    resetRequest:
      r.reset_challenge === null || r.reset_issued_at === null
        ? null
        : { challenge: r.reset_challenge, issuedAt: iso(r.reset_issued_at)!, expiresAt: iso(r.reset_issued_at + RESET_REQUEST_VALID_MS)! },
    reviewer: r.reviewer_id,
    decidedAt: iso(r.decided_at),
    rejectCode: r.reject_code,
    reviewNote: r.review_note,
  };
  if (resetCode) view.resetCode = resetCode;
  return view;
}

/** The code unlocks the device: only the one who applies it and the one who granted it see it. */
export const mayReadResetCode = (r: CaseRow, viewer: string): boolean =>
  r.kind === 'password-reset' && r.state === 'approved' && !!r.reset_challenge && (viewer === r.filer_id || viewer === r.owner_id);

/** The checks of a filing that need no store (both stores): the label photo by its bytes, the reset request. */
export function checkCaseFiling(
  req: FileCaseRequest,
  dev: { dev_id: string; serial: string },
  now: number,
): { photo: { bytes: Uint8Array; type: PhotoType }; reset: { challenge: string; issuedAt: number } | null } {
  const photo = checkLabelPhoto(req.labelPhoto);
  if (!photo.ok) throw new AuthorityError(photo.code === 'PHOTO_TOO_LARGE' ? 413 : 400, photo.code, photo.message);
  let reset: { challenge: string; issuedAt: number } | null = null;
  if (req.kind === 'password-reset') {
    const parsed = parseResetRequest(req.resetRequest!);
    if (!parsed.ok) throw new AuthorityError(400, 'RESET_REQUEST_INVALID', parsed.message);
    if (parsed.value.device !== dev.dev_id && parsed.value.device !== dev.serial) {
      throw new AuthorityError(400, 'RESET_REQUEST_INVALID', `the reset request is of ${parsed.value.device}, not of ${dev.dev_id}`);
    }
    if (now >= parsed.value.issuedAt + RESET_REQUEST_VALID_MS) throw new AuthorityError(400, 'RESET_CODE_EXPIRED', 'the reset request is older than 48 hours: read a new one from the device');
    if (parsed.value.issuedAt > now + 5 * 60_000) throw new AuthorityError(400, 'RESET_REQUEST_INVALID', 'the reset request is issued in the future');
    reset = { challenge: parsed.value.challenge, issuedAt: parsed.value.issuedAt };
  }
  return { photo: { bytes: photo.bytes, type: photo.type }, reset };
}

export const encodeCaseCursor = (seq: number): string => Buffer.from(`C${seq}`).toString('base64url');
export function decodeCaseCursor(c: string): number {
  const s = /^C(\d{1,15})$/.exec(Buffer.from(c, 'base64url').toString())?.[1];
  if (!s) throw new AuthorityError(400, 'BAD_CURSOR', 'cursor is not one this authority gave');
  return Number(s);
}
