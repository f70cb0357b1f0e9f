import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { ticketDecisionSchema, ticketRequestSchema, type StationError, type TicketDecision, type TicketRequest, type TicketsView, type TicketView } from '../../protocol/station-api.js';
import { useStationApi } from '../app/station-context.js';
import { fieldIssues, type FieldIssue } from '../lib/field-issues.js';
import { runStationCall } from './run-station-call.js';
import { useDashboardStore } from './use-dashboard-store.js';

/** The request form as typed: numbers may still be text, dates empty. */
export interface TicketDraft {
  scope: 'account' | 'product';
  pid: string;
  limit: number | string | null;
  from: string;
  to: string;
  reason: string;
}

/** Checks a draft with the station's own schema: the request, or each field's issue. */
export function checkTicketDraft(d: TicketDraft): { ok: true; request: TicketRequest } | { ok: false; issues: Record<string, FieldIssue> } {
  const limit = typeof d.limit === 'string' ? (d.limit.trim() === '' ? undefined : Number(d.limit)) : (d.limit ?? undefined);
  const r = ticketRequestSchema.safeParse({ scope: d.scope, pid: d.pid, limit, from: d.from, to: d.to, reason: d.reason.trim() });
  if (r.success) return { ok: true, request: r.data };
  const issues = fieldIssues(r.error);
  // The schema compares the dates only once every field is right; the form says it at once.
  if (!issues.from && !issues.to && d.from > d.to) issues.to = { kind: 'date-order' };
  return { ok: false, issues };
}

/** A decision as typed: a reject needs its reason. */
export function checkDecision(decision: 'approve' | 'reject', reason: string): { ok: true; value: TicketDecision } | { ok: false; issues: Record<string, FieldIssue> } {
  const trimmed = reason.trim();
  const r = ticketDecisionSchema.safeParse(decision === 'approve' ? { decision, ...(trimmed ? { reason: trimmed } : {}) } : { decision, reason: trimmed });
  return r.success ? { ok: true, value: r.data } : { ok: false, issues: fieldIssues(r.error) };
}

/**
 * Quota tickets: the signed-in account's own requests and, for an owner, the pending tickets it decides.
 * A request or a decision reloads the dashboard, so that the quota and the planner count with the new
 * limit at once.
 */
export const useTicketsStore = defineStore('tickets', () => {
  const api = useStationApi();
  const dashboard = useDashboardStore();

  const view = ref<TicketsView | null>(null);
  const loading = ref(false);
  const sending = ref(false);
  const error = ref<StationError | null>(null);
  /** The refusal of the last request or decision (shown beside the form that sent it). */
  const sendError = ref<StationError | null>(null);

  const tickets = computed<TicketView[]>(() => view.value?.tickets ?? []);
  const products = computed(() => view.value?.products ?? []);
  const toDecide = computed(() => tickets.value.filter((t) => t.canDecide));
  const mine = computed(() => tickets.value.filter((t) => t.mine));
  /** An owner may ask too (and approve its own ticket), but its screen leads with what it decides. */
  const ownsAny = computed(() => products.value.some((p) => p.ownedByMe));

  async function load(): Promise<void> {
    const r = await runStationCall(() => api.listTickets(), { busy: loading, error });
    if (r.ok) view.value = r.value;
  }

  async function request(req: TicketRequest): Promise<TicketView | null> {
    const r = await runStationCall(() => api.requestTicket(req), { busy: sending, error: sendError });
    if (!r.ok) return null;
    await Promise.all([load(), dashboard.load()]);
    return r.value;
  }

  async function decide(id: string, decision: TicketDecision): Promise<TicketView | null> {
    const r = await runStationCall(() => api.decideTicket(id, decision), { busy: sending, error: sendError });
    // Refused (decided meanwhile, say) or not: the list shows what the authority has now.
    await Promise.all([load(), ...(r.ok ? [dashboard.load()] : [])]);
    return r.ok ? r.value : null;
  }

  /**
   * A `ticket` event: a ticket shown here was decided elsewhere. Its row changes at once; an approval
   * raises a limit, so the dashboard (quota and planner) is read again.
   */
  function applyTicket(t: TicketView): void {
    if (view.value) {
      const at = view.value.tickets.findIndex((x) => x.id === t.id);
      const list = at < 0 ? [t, ...view.value.tickets] : view.value.tickets.map((x, i) => (i === at ? t : x));
      view.value = { ...view.value, tickets: list };
    }
    if (t.status === 'approved') void dashboard.load();
  }

  function clear(): void {
    view.value = null;
    error.value = null;
    sendError.value = null;
  }

  return { view, loading, sending, error, sendError, tickets, products, toDecide, mine, ownsAny, load, request, decide, applyTicket, clear };
});
