import type { FastifyInstance } from 'fastify';
import type { Screen } from '../protocol/index.js';
import { renderQrPng } from '../qr/index.js';
import type { BatchService } from '../batch/batch-service.js';
import type { EventHub } from './event-hub.js';
import type { StationCore } from './station-core.js';

/**
 * The codes the station's page shows, as a camera of the bench sees them (`GET /bench/screen`, the
 * fleet's QR source). Demo only: a real bench has real cameras and a real screen. The UI says what it
 * shows with the `showCodes` call; a new session never keeps showing the previous account's codes.
 */
export interface BenchScreen {
  show(batchId: string | null, indexes: number[]): void;
  render(): Promise<Screen>;
  /** Serves the screen at `/bench/screen` (behind the station's key, like every route but the page). */
  route(app: FastifyInstance): void;
  close(): void;
}

export const BENCH_SCREEN_PATH = '/bench/screen';

export function createBenchScreen(deps: { core: Pick<StationCore, 'ownBatch'>; batches: BatchService; hub: EventHub }): BenchScreen {
  let shown: { batchId: string; indexes: number[] } | null = null;
  /**
   * A code's picture, by `<batch>:<index>`: its payload never changes while it is active, and cameras
   * poll the screen several times a second (rendering ten codes on every look cost the station more
   * than recording their results). Kept for the codes shown now only.
   */
  let pictures = new Map<string, Promise<string>>();
  const stop = deps.hub.subscribe((e) => {
    if (e.type === 'session') {
      shown = null;
      pictures.clear();
    }
    if (e.type === 'batch' && e.batch.id === shown?.batchId && e.batch.status !== 'running') shown = null;
  });

  async function render(): Promise<Screen> {
    if (!shown) return { codes: [] };
    const b = deps.batches.get(shown.batchId);
    if (b.status !== 'running') return { codes: [] };
    const codes = [];
    for (const index of shown.indexes) {
      const code = b.codes.find((c) => c.index === index);
      if (!code || code.status !== 'active') continue;
      let p;
      try {
        p = deps.batches.codePayload(b.id, index);
      } catch {
        continue; // codes locked after a restart: the screen shows nothing to scan
      }
      const id = `${b.id}:${index}`;
      let png = pictures.get(id);
      if (!png) {
        png = renderQrPng({ s: p.wifi.ssid, p: p.wifi.password, t: p.token }, { scale: 4 }).then((r) => r.png.toString('base64'));
        pictures.set(id, png);
        png.catch(() => pictures.delete(id)); // a failed render is tried again on the next look
      }
      codes.push({ id, png: await png, capacity: code.capacity });
    }
    const keep = new Set(codes.map((c) => c.id));
    if (keep.size !== pictures.size) pictures = new Map([...pictures].filter(([id]) => keep.has(id)));
    return { codes };
  }

  return {
    show(batchId, indexes) {
      if (batchId === null) {
        shown = null;
        pictures.clear();
        return;
      }
      deps.core.ownBatch(batchId);
      shown = { batchId, indexes: [...new Set(indexes)].sort((a, b) => a - b) };
    },
    render,
    route(app) {
      app.get(BENCH_SCREEN_PATH, async () => render());
    },
    close: stop,
  };
}
