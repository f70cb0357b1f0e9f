import { checkLabelPhoto, type CaseState, type CaseView, type FailureCode, type UnbindResult } from '../protocol/index.js';
import type { caseCalls } from '../protocol/station-api/cases.js';
import { StationError } from '../protocol/station-api/refusals.js';
import type { HistoryStore } from '../history/index.js';
import type { EventHub } from './event-hub.js';
import type { SessionManager } from './station-session.js';
import type { StationHandlers } from './station-calls.js';

/**
 * The station's cases desk (DESIGN §4.10): files and reviews cases through the signed-in account's
 * authority client, and follows the cases it knows of. While one of them is still `submitted`, it asks
 * the authority every `pollMs` and pushes a `case` event for each state change (the filer sees the
 * owner's decision live); the outcome of a decided unbind case the account filed goes into the history.
 */
export type CaseCallName = keyof typeof caseCalls;
export type CaseHandlers = Pick<StationHandlers, CaseCallName>;

export interface CaseDesk {
  handlers: CaseHandlers;
  close(): void;
}

export const DEFAULT_CASE_POLL_MS = 2000;

/** A decided unbind case as a history row: an approval is an unbind; a rejection names why (a §5 code). */
function outcomeOf(c: CaseView): { result: UnbindResult; code: FailureCode | null } {
  if (c.state === 'approved') return { result: 'UNBOUND', code: null };
  switch (c.rejectCode) {
    case 'NOT_BOUND':
      return { result: 'NOT_BOUND', code: null };
    case 'SERIAL_MISMATCH':
      return { result: 'FAILED', code: 'SERIAL_MISMATCH' };
    // Not a verified installer is one way of not being allowed to unbind the product.
    default:
      return { result: 'FAILED', code: 'UNAUTHORIZED' };
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
  const recorded = new Set<string>();

  /** The signed-in session, with what the desk knows forgotten when the account changed. */
  function session() {
    const s = sessions.current();
    if (s.account.accountId !== account) {
      account = s.account.accountId;
      known.clear();
    }
    return s;
  }

  function record(c: CaseView, s: ReturnType<typeof session>): void {
    if (c.kind !== 'unbind' || c.state === 'submitted' || c.filer !== s.account.accountId || recorded.has(c.id)) return;
    recorded.add(c.id);
    // Once per case, also across restarts: the history may hold it already.
    const scope = { accountId: s.account.accountId, allPids: [], ownPids: [c.pid] };
    if (history.query(scope, { batchId: c.id, method: 'case', limit: 1 }).items.length > 0) return;
    history.record({
      at: Date.parse(c.decidedAt ?? c.filedAt),
      stationId,
      operator: s.operator,
      accountId: s.account.accountId,
      method: 'case',
      batchId: c.id,
      pid: c.pid,
      devId: c.devId,
      serial: c.serial,
      ...outcomeOf(c),
    });
  }

  /** What the authority answered about some cases: a change of state is pushed, an outcome kept. */
  function observe(items: readonly CaseView[], s: ReturnType<typeof session>): void {
    for (const c of items) {
      const was = known.get(c.id);
      known.set(c.id, c.state);
      if (was !== undefined && was !== c.state) hub.emit({ type: 'case', case: c });
      record(c, s);
    }
  }

  let polling = false;
  async function poll(): Promise<void> {
    if (polling || ![...known.values()].includes('submitted')) return;
    polling = true;
    try {
      const s = session();
      observe((await s.client.cases({ limit: 200 })).items, s);
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
  return { handlers, close: () => clearInterval(timer) };
}
