import type { FastifyInstance } from 'fastify';
import type { Screen } from '../protocol/index.js';
import { renderQrPng } from '../qr/index.js';
import type { BatchService } from '../batch/batch-service.js';
import type { EventHub } from './event-hub.js';
import type { StationCore } from './station-core.js';

/**
 * The codes the station's page shows, as a camera of the bench sees them (`GET /bench/screen`, the
 * fleet's QR source). Demo only: a real bench has real cameras and a real screen. The UI says what it
 * shows with the `showCodes` call, per batch (`showCodes(id, [])` takes one batch's codes off, `null`
 * clears the screen); a new session never keeps showing the previous account's codes.
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
  /**
   * The codes on screen, per batch: a station runs several batches at once (two QR batches for two
   * products, a wired one beside them), and showing one batch's codes never hides another's.
   */
  const shown = new Map<string, number[]>();
  /**
   * A code's picture, by `<batch>:<index>`: its payload never changes while it is active, and cameras
   * poll the screen several times a second (rendering ten codes on every look cost the station more
   * than recording their results). Kept for the codes shown now only.
   */
  let pictures = new Map<string, Promise<string>>();
  const stop = deps.hub.subscribe((e) => {
    if (e.type === 'session') {
      shown.clear();
      pictures.clear();
    }
    if (e.type === 'batch' && (e.batch.status === 'completed' || e.batch.status === 'cancelled')) shown.delete(e.batch.id);
  });

  async function render(): Promise<Screen> {
    const codes = [];
    for (const [batchId, indexes] of shown) {
      let b;
      try {
        b = deps.batches.get(batchId);
      } catch {
        continue;
      }
      // A paused batch's codes are hidden until the operator resumes it.
      if (b.status !== 'running' || b.method !== 'qr') continue;
      for (const index of indexes) {
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
        codes.push({ id, png: await png, capacity: code.capacity, ...(b.pid !== 'mixed' ? { pid: b.pid } : {}) });
      }
    }
    const keep = new Set(codes.map((c) => c.id));
    if (keep.size !== pictures.size) pictures = new Map([...pictures].filter(([id]) => keep.has(id)));
    return { codes };
  }

  return {
    show(batchId, indexes) {
      // No batch: the screen goes blank (a new session).
      if (batchId === null) {
        shown.clear();
        pictures.clear();
        return;
      }
      deps.core.ownBatch(batchId);
      const unique = [...new Set(indexes)].sort((a, b) => a - b);
      if (unique.length) shown.set(batchId, unique);
      else shown.delete(batchId);
    },
    render,
    route(app) {
      app.get(BENCH_SCREEN_PATH, async () => render());
    },
    close: stop,
  };
}
