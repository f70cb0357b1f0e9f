import { z } from 'zod';
import { fleetStatusSchema, type FleetDeviceStatus } from '../virtual-bench.js';
import {
  batchCodeViewSchema,
  batchSummarySchema,
  batchTallySchema,
  deviceProgressViewSchema,
  deviceResultViewSchema,
  type BatchCodeView,
  type BatchSummary,
  type BatchTally,
  type DeviceProgressView,
  type DeviceResultView,
} from './batches.js';
import { lanDevicesSchema, type LanDeviceView } from './lan.js';
import { serialStatusViewSchema, type SerialStatusView } from './serial.js';
import { sessionViewSchema, type SessionView } from './session.js';
import { caseViewSchema, type CaseView } from '../case-api.js';
import { ticketViewSchema, type TicketView } from './tickets.js';

/**
 * What the station pushes to its UI (server-sent events on `STATION_EVENTS_PATH`, `station:event` over
 * IPC). `result`: one per device result, with the batch's tally as the station computes it and the code
 * the result used, with its new `used`/`status` (null when it used none). `batch`: only when a batch
 * starts, changes status, or one of its codes changes status — not on every result.
 */
export type StationEvent =
  | { type: 'batch'; batch: BatchSummary & { codes: BatchCodeView[] } }
  /** `stamp`: when the station stored the result (as BatchView.stamp): a view stamped later already holds it. */
  | { type: 'result'; batchId: string; stamp: number; result: DeviceResultView; tally: BatchTally; code: BatchCodeView | null }
  | { type: 'bench'; devices: FleetDeviceStatus[] }
  | { type: 'lan'; devices: LanDeviceView[] }
  | { type: 'progress'; progress: DeviceProgressView }
  | { type: 'serial'; status: SerialStatusView }
  /** `refused`: why the running batch did not take the label (not its product's serial format), else absent. */
  | { type: 'label'; batchId: string | null; label: string; refused?: string }
  | { type: 'session'; session: SessionView }
  /** A case of the signed-in account changed state (the station polls the authority while some are open). */
  | { type: 'case'; case: CaseView }
  /** A quota ticket the station showed this account was decided (at another station, by the product's owner). */
  | { type: 'ticket'; ticket: TicketView };

export const stationEventSchema = z.discriminatedUnion('type', [
  z.object({ type: z.literal('batch'), batch: batchSummarySchema.extend({ codes: z.array(batchCodeViewSchema) }) }),
  z.object({ type: z.literal('result'), batchId: z.string(), stamp: z.number().int().nonnegative(), result: deviceResultViewSchema, tally: batchTallySchema, code: batchCodeViewSchema.nullable() }),
  z.object({ type: z.literal('bench'), devices: fleetStatusSchema }),
  z.object({ type: z.literal('lan'), devices: lanDevicesSchema }),
  z.object({ type: z.literal('progress'), progress: deviceProgressViewSchema }),
  z.object({ type: z.literal('serial'), status: serialStatusViewSchema }),
  z.object({ type: z.literal('label'), batchId: z.string().nullable(), label: z.string(), refused: z.string().optional() }),
  z.object({ type: z.literal('session'), session: sessionViewSchema }),
  z.object({ type: z.literal('case'), case: caseViewSchema }),
  z.object({ type: z.literal('ticket'), ticket: ticketViewSchema }),
]) satisfies z.ZodType<StationEvent>;

/** The event stream of the web transport (the `subscribe` face of the API). */
export const STATION_EVENTS_PATH = '/api/events';

