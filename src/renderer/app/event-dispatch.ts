import type { BatchCodeView, BatchSummary, DeviceResultView, SessionView, StationApi, StationEvent } from '../../protocol/station-api.js';
import type { FleetDeviceStatus } from '../../protocol/virtual-bench.js';

/** The store actions events feed; the stores themselves fit. */
export interface EventTargets {
  session: { applySession(s: SessionView): void };
  batch: { applyBatchEvent(b: BatchSummary & { codes: BatchCodeView[] }): void; applyResult(batchId: string, r: DeviceResultView): void };
  bench: { applyDevices(devices: FleetDeviceStatus[]): void };
}

export function routeEvent(e: StationEvent, to: EventTargets): void {
  switch (e.type) {
    case 'session':
      to.session.applySession(e.session);
      return;
    case 'batch':
      to.batch.applyBatchEvent(e.batch);
      return;
    case 'result':
      to.batch.applyResult(e.batchId, e.result);
      return;
    case 'bench':
      to.bench.applyDevices(e.devices);
      return;
  }
}

/** Subscribes once, for the app's lifetime (started by the app, never by a store); returns the unsubscribe. */
export function startEventDispatch(api: StationApi, to: EventTargets): () => void {
  return api.subscribe((e) => routeEvent(e, to));
}
