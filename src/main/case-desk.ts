import { checkLabelPhoto, type CaseState, type CaseView, type FailureCode, type UnbindResult } from '../protocol/index.js';
import type { caseCalls } from '../protocol/station-api/cases.js';
import { StationError } from '../protocol/station-api/refusals.js';
import type { HistoryStore } from '../history/index.js';
import type { EventHub } from './event-hub.js';
import type { SessionManager } from './station-session.js';
import type { StationHandlers } from './station-calls.js';

/**
 * The station's cases desk (DESIGN §4.10): files and reviews cases through the signed-in account's
 * authority client, and follows the cases it knows of. While one of them is still `submitted`, it reads
 * the authority's case list every `pollMs` and pushes a `case` event for each state change (the filer sees
 * the owner's decision live); the outcome of a decided unbind case the account filed goes into the history.
 *
 * The list is newest first; an open case older than one page is reached by paging on, at most
 * `CASE_POLL_MAX_PAGES` pages a tick, the next tick resuming where this one stopped, until every followed
 * case was seen once in the sweep (then it starts again from the newest). A case the sweep does not meet
 * down to the list's end is no longer visible to the account, and is no longer followed.
 */
export type CaseCallName = keyof typeof caseCalls;
export type CaseHandlers = Pick<StationHandlers, CaseCallName>;

export interface CaseDesk {
  handlers: CaseHandlers;
  /** One tick of the poll, as the timer runs it: for a caller that wants it now (tests, a UI refresh). */
  pollNow(): Promise<void>;
  close(): void;
}

export const DEFAULT_CASE_POLL_MS = 2000;
/** Cases asked for per request (the authority's largest page), and requests per tick at most. */
export const CASE_POLL_PAGE = 200;
export const CASE_POLL_MAX_PAGES = 3;

/** A decided unbind case as a history row: an approval is an unbind; a rejection names why (a §5 code). */
function outcomeOf(c: CaseView): { result: UnbindResult; code: FailureCode | null } {
  if (c.state === 'approved') return { result: 'UNBOUND', code: null };
  switch (c.rejectCode) {
    case 'NOT_BOUND':
      return { result: 'NOT_BOUND', code: null };
    case 'SERIAL_MISMATCH':
    case 'NOT_VERIFIED':
    case 'UNAUTHORIZED':
      return { result: 'FAILED', code: c.rejectCode };
    case null:
      // A rejection always carries its code (the authority's schema and CHECK): none is a broken answer.
      throw new Error(`case ${c.id} is rejected without a code`);
  }
}

export function createCaseDesk(deps: {
  sessions: SessionManager;
  history: HistoryStore;
  hub: EventHub;
  stationId: string;
  pollMs?: number;
  log?: (msg: string, fields?: Record<string, unknown>) => void;
}): CaseDesk {
  const { sessions, history, hub, stationId } = deps;
  let account: string | null = null;
  const known = new Map<string, CaseState>();
  /** Decided unbind cases of this account whose history row is written (or found written). */
  const recorded = new Set<string>();
  /** Decided unbind cases whose history row is not written yet: retried each tick until it is. */
  const unrecorded = new Map<string, { c: CaseView; operator: string; accountId: string }>();
  /** Where the sweep over the case list stands, and the cases it has met since it started from the newest. */
  let sweep: { cursor: string | null; seen: Set<string>; targets: Set<string> } = { cursor: null, seen: new Set(), targets: new Set() };

  /** The signed-in session, with what the desk knows forgotten when the account changed. */
  function session() {
    const s = sessions.current();
    if (s.account.accountId !== account) {
      account = s.account.accountId;
      known.clear();
      sweep = { cursor: null, seen: new Set(), targets: new Set() };
    }
    return s;
  }

  /** Writes the history row, then marks it written: a failed write leaves it to the next try, a repeat writes nothing. */
  function writeOutcome(c: CaseView, operator: string, accountId: string): void {
    // Once per case, also across restarts and a crash after the write: the history may hold it already.
    const scope = { accountId, allPids: [], ownPids: [c.pid] };
    if (history.query(scope, { batchId: c.id, method: 'case', limit: 1 }).items.length === 0) {
      history.record({
        at: Date.parse(c.decidedAt ?? c.filedAt),
        stationId,
        operator,
        accountId,
        method: 'case',
        batchId: c.id,
        pid: c.pid,
        devId: c.devId,
        serial: c.serial,
        ...outcomeOf(c),
      });
    }
    recorded.add(c.id);
    unrecorded.delete(c.id);
  }

  function flushOutcomes(): void {
    for (const { c, operator, accountId } of [...unrecorded.values()]) {
      try {
        writeOutcome(c, operator, accountId);
      } catch (err) {
        deps.log?.('case outcome not written to the history yet', { caseId: c.id, message: (err as Error).message });
      }
    }
  }

  function record(c: CaseView, s: ReturnType<typeof session>): void {
    if (c.kind !== 'unbind' || c.state === 'submitted' || c.filer !== s.account.accountId || recorded.has(c.id)) return;
    unrecorded.set(c.id, { c, operator: s.operator, accountId: s.account.accountId });
  }

  /** What the authority answered about some cases: a change of state is pushed, an outcome kept. */
  function observe(items: readonly CaseView[], s: ReturnType<typeof session>): void {
    for (const c of items) {
      const was = known.get(c.id);
      // An answer read before a decision the desk already saw (a list slower than a poll): states only move on.
      if (was !== undefined && was !== 'submitted' && c.state === 'submitted') continue;
      known.set(c.id, c.state);
      if (was !== undefined && was !== c.state) hub.emit({ type: 'case', case: c });
      record(c, s);
    }
    flushOutcomes();
  }

  /**
   * The cases this sweep looks for (open when it started from the newest) that it has not met yet. A
   * case filed during a sweep may be newer than the pages it reads: the next sweep looks for it.
   */
  const unmet = (): string[] => [...sweep.targets].filter((id) => known.get(id) === 'submitted' && !sweep.seen.has(id));

  let polling = false;
  async function poll(): Promise<void> {
    if (polling) return;
    polling = true;
    try {
      flushOutcomes();
      if (![...known.values()].includes('submitted')) return;
      const s = session();
      if (sweep.cursor === null) sweep.targets = new Set([...known].filter(([, state]) => state === 'submitted').map(([id]) => id));
      for (let pages = 0; pages < CASE_POLL_MAX_PAGES && unmet().length > 0; pages++) {
        const page = await s.client.cases({ limit: CASE_POLL_PAGE, ...(sweep.cursor ? { cursor: sweep.cursor } : {}) });
        if (session() !== s) return; // signed in anew meanwhile: this answer is of another account
        for (const c of page.items) sweep.seen.add(c.id);
        observe(page.items, s);
        if (page.nextCursor === null) {
          // The list's end: a followed case not met is one this account no longer sees.
          for (const id of unmet()) known.delete(id);
        }
        sweep = page.nextCursor === null || unmet().length === 0 ? { cursor: null, seen: new Set(), targets: new Set() } : { cursor: page.nextCursor, seen: sweep.seen, targets: sweep.targets };
        if (sweep.cursor === null) break;
      }
    } catch (err) {
      // Signed out, or the authority away for a moment: the next tick asks again.
      if (!(err instanceof StationError)) deps.log?.('case poll failed', { message: (err as Error).message });
    } finally {
      polling = false;
    }
  }
  const timer = setInterval(() => void poll(), deps.pollMs ?? DEFAULT_CASE_POLL_MS);
  timer.unref();
  const handlers: CaseHandlers = {
    async fileCase(req) {
      const s = session();
      // Checked here first, so that the operator is told at once, with the station's own hint.
      const photo = checkLabelPhoto(req.labelPhoto);
      if (!photo.ok) throw new StationError(400, photo.code, photo.message);
      const c = await s.client.fileCase(req);
      observe([c], s);
      return c;
    },
    async listCases(q) {
      const s = session();
      const page = await s.client.cases(q);
      observe(page.items, s);
      return page;
    },
    async getCasePhoto(id) {
      const p = await session().client.casePhoto(id);
      return { type: p.type, base64: p.bytes.toString('base64') };
    },
    async approveCase(id, note) {
      const s = session();
      const c = await s.client.approveCase(id, note);
      observe([c], s);
      return c;
    },
    async rejectCase(id, reason, note) {
      const s = session();
      const c = await s.client.rejectCase(id, reason, note);
      observe([c], s);
      return c;
    },
  };
  return { handlers, pollNow: poll, close: () => clearInterval(timer) };
}
