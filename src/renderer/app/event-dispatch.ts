import type { BatchCodeView, BatchSummary, CaseView, TicketView, DeviceProgressView, LanDeviceView, SerialStatusView, SessionView, StationApi, StationEvent } from '../../protocol/station-api.js';
import type { FleetDeviceStatus } from '../../protocol/virtual-bench.js';

/** The store actions events feed; the stores themselves fit. */
export interface EventTargets {
  session: { applySession(s: SessionView): void };
  batch: {
    applyBatchEvent(b: BatchSummary & { codes: BatchCodeView[] }): void;
    applyResult(e: Extract<StationEvent, { type: 'result' }>): void;
    applyLabel(batchId: string | null, label: string): void;
  };
  /** The batch list (summaries of every batch, not only the followed ones). */
  batchList?: { applyBatchEvent(b: BatchSummary): void; applyTally(batchId: string, tally: BatchSummary['tally'], stamp: number): void };
  progress: { applyProgress(p: DeviceProgressView): void };
  bench: { applyDevices(devices: FleetDeviceStatus[]): void };
  lan: { applyDevices(devices: LanDeviceView[]): void };
  serial: { applyStatus(s: SerialStatusView): void; applyLabel(batchId: string | null, label: string): void };
  /** Optional: a station UI without the cases screen ignores these. */
  cases?: { applyCase(c: CaseView): void; applyLabel(batchId: string | null, label: string): void };
  tickets?: { applyTicket(t: TicketView): void };
}

export function routeEvent(e: StationEvent, to: EventTargets): void {
  switch (e.type) {
    case 'session':
      to.session.applySession(e.session);
      return;
    case 'batch':
      to.batch.applyBatchEvent(e.batch);
      to.batchList?.applyBatchEvent(e.batch);
      return;
    case 'result':
      to.batch.applyResult(e);
      to.batchList?.applyTally(e.batchId, e.tally, e.stamp);
      return;
    case 'bench':
      to.bench.applyDevices(e.devices);
      return;
    case 'lan':
      to.lan.applyDevices(e.devices);
      return;
    case 'progress':
      to.progress.applyProgress(e.progress);
      return;
    case 'serial':
      to.serial.applyStatus(e.status);
      return;
    case 'label':
      // The batch lists it among its scanned labels; the serial store shows it, and keeps it for the
      // next QR batch's manifest when no batch took it.
      to.batch.applyLabel(e.batchId, e.label);
      to.serial.applyLabel(e.batchId, e.label);
      to.cases?.applyLabel(e.batchId, e.label);
      return;
    case 'case':
      to.cases?.applyCase(e.case);
      return;
    case 'ticket':
      to.tickets?.applyTicket(e.ticket);
      return;
  }
}

/** Subscribes once, for the app's lifetime (started by the app, never by a store); returns the unsubscribe. */
export function startEventDispatch(api: StationApi, to: EventTargets): () => void {
  return api.subscribe((e) => routeEvent(e, to));
}
