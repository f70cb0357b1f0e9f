/**
 * At most `max` tasks at once, the rest queued in order: a sweep of hundreds of devices must not
 * open hundreds of connections at the same moment (small devices' HTTP servers drop them).
 * A task queued `ahead` (the next step of an operation already under way) starts before every task
 * queued without it: a device that answered its check gets its token before the other devices are
 * checked, so the first devices work while the rest are still being asked.
 */
export type Limiter = <T>(task: () => Promise<T>, opts?: { ahead?: boolean }) => Promise<T>;

export function createLimiter(max: number): Limiter {
  if (!Number.isInteger(max) || max < 1) throw new RangeError(`concurrency must be a positive integer, got ${max}`);
  let running = 0;
  const ahead: Array<() => void> = [];
  const queue: Array<() => void> = [];
  const waiting = (): boolean => ahead.length > 0 || queue.length > 0;
  const pump = (): void => {
    while (running < max) {
      const run = ahead.shift() ?? queue.shift();
      if (!run) return;
      run();
    }
  };
  // A freed place is given out once the turn's promise callbacks ran: the operation whose task just
  // ended queues its next step (ahead) in them, and takes the place before a waiting task does.
  const done = (): void => {
    running--;
    if (waiting()) setImmediate(pump);
  };
  return <T>(task: () => Promise<T>, opts?: { ahead?: boolean }): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const run = (): void => {
        running++;
        let pending: Promise<T>;
        try {
          pending = task();
        } catch (err) {
          pending = Promise.reject(err);
        }
        pending.then(resolve, reject).finally(done);
      };
      if (running < max && !waiting()) run();
      else (opts?.ahead ? ahead : queue).push(run);
    });
}
