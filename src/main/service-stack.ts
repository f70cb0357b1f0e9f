/**
 * Services started in dependency order and stopped in the reverse one (Zettlr's boot/shutdown): each
 * start registers its stop, so a start that fails midway stops exactly what had started.
 */
export interface ServiceStack {
  /** Starts one service; its stop runs when the stack stops. */
  start<T>(name: string, start: () => T | Promise<T>, stop: (service: T) => unknown): Promise<T>;
  /** Stops every started service, last started first; a failing stop does not keep the others running. */
  stop(): Promise<void>;
}

export function createServiceStack(onStopError: (name: string, err: unknown) => void = () => undefined): ServiceStack {
  const started: Array<{ name: string; stop: () => unknown }> = [];
  let stopping: Promise<void> | null = null;
  return {
    async start(name, start, stop) {
      const service = await start();
      // Stopped while this one was starting: it stops at once instead of outliving the stack.
      if (stopping) {
        await stop(service);
        throw new Error(`${name} started after the station was told to stop`);
      }
      started.push({ name, stop: () => stop(service) });
      return service;
    },
    stop() {
      stopping ??= (async () => {
        for (const s of [...started].reverse()) {
          try {
            await s.stop();
          } catch (err) {
            onStopError(s.name, err);
          }
        }
      })();
      return stopping;
    },
  };
}
