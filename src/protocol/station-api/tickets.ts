import { z } from 'zod';
import { quotaTicketRequestSchema, quotaTicketViewSchema, type QuotaTicketView } from '../cloud-api.js';
import { call, json } from './call-spec.js';

/**
 * Quota tickets domain (DESIGN §8): a partner or member asks the product's owner for a raised daily limit
 * (the product's or its own account's, for a date range); the owner approves, or rejects saying why. The
 * station passes the authority's tickets through, marked with what the signed-in account may do.
 */

export interface TicketView extends QuotaTicketView {
  /** The signed-in account asked for it. */
  mine: boolean;
  /** The signed-in account owns the product and the ticket is pending: it may approve or reject it. */
  canDecide: boolean;
}

export interface TicketsView {
  /** Newest first. */
  tickets: TicketView[];
  /** Products the signed-in account may ask a raise for (those it may unbind), with their owner. */
  products: Array<{ pid: string; name: string; owner: string; ownedByMe: boolean }>;
}

export const ticketRequestSchema = quotaTicketRequestSchema;
export type TicketRequest = z.infer<typeof ticketRequestSchema>;

const reasonSchema = z.string().trim().min(1, 'say why').max(500);
/** A reject must say why: the requester reads it. */
export const ticketDecisionSchema = z.discriminatedUnion('decision', [
  z.strictObject({ decision: z.literal('approve'), reason: reasonSchema.optional() }),
  z.strictObject({ decision: z.literal('reject'), reason: reasonSchema }),
]);
export type TicketDecision = z.infer<typeof ticketDecisionSchema>;

export const ticketIdSchema = z.string().regex(/^[A-Za-z0-9_-]{3,64}$/, 'ticket id is malformed');

export const ticketViewSchema = quotaTicketViewSchema.extend({ mine: z.boolean(), canDecide: z.boolean() }) satisfies z.ZodType<TicketView>;
export const ticketsViewSchema = z.object({
  tickets: z.array(ticketViewSchema),
  products: z.array(z.object({ pid: z.string(), name: z.string(), owner: z.string(), ownedByMe: z.boolean() })),
}) satisfies z.ZodType<TicketsView>;

const ticket = json<TicketView>(ticketViewSchema);

export const ticketCalls = {
  listTickets: call({ args: z.tuple([]), answer: json<TicketsView>(ticketsViewSchema), http: { method: 'GET', path: '/api/tickets', args: [] } }),
  requestTicket: call({ args: z.tuple([ticketRequestSchema]), answer: ticket, http: { method: 'POST', path: '/api/tickets', args: [{ in: 'body' }], status: 201 } }),
  decideTicket: call({
    args: z.tuple([ticketIdSchema, ticketDecisionSchema]),
    answer: ticket,
    http: { method: 'POST', path: '/api/tickets/:id/decision', args: [{ in: 'param', name: 'id' }, { in: 'body' }] },
  }),
};
