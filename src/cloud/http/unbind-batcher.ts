import type { DeviceUnbindRequest } from '../../protocol/index.js';
import type { UnbindOutcome, UnbindService } from '../unbind.js';
import type { Async } from '../store.js';

/**
 * Group commit for the device API: requests that arrive in the same turn of the event loop are decided
 * in one transaction. Under load this multiplies throughput; alone, a request waits one setImmediate.
 */
export const MAX_GROUP = 128;

export interface UnbindBatcher {
  submit(req: DeviceUnbindRequest): Promise<UnbindOutcome>;
}

export function createUnbindBatcher(service: Async<UnbindService>): UnbindBatcher {
  let pending: Array<{ req: DeviceUnbindRequest; resolve: (o: UnbindOutcome) => void; reject: (e: unknown) => void }> = [];
  const flush = (): void => {
    const group = pending.splice(0, MAX_GROUP);
    if (pending.length) setImmediate(flush);
    service.unbindMany(group.map((p) => p.req)).then(
      (outcomes) =>
        group.forEach((p, i) => {
          const o = outcomes[i]!;
          if (o instanceof Error) p.reject(o);
          else p.resolve(o);
        }),
      (err: unknown) => {
        for (const p of group) p.reject(err);
      },
    );
  };
  return {
    submit(req) {
      return new Promise((resolve, reject) => {
        if (pending.push({ req, resolve, reject }) === 1) setImmediate(flush);
      });
    },
  };
}
