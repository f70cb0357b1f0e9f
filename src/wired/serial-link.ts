import { SerialPortStream } from '@serialport/stream';
import { hangupAwareBinding } from './serial-binding.js';
import { SerialLineSplitter, type LineOverflow } from './serial-line-splitter.js';
import { describeFraming, type ReconnectPolicy, type SerialPortSettings } from './serial-port-settings.js';

/** What happened to the port, for the station's log and the settings screen. */
export type SerialLinkEvent =
  | { kind: 'open'; path: string; framing: string; reconnected: boolean }
  /** The port went away (unplugged, the device end closed, an I/O error). */
  | { kind: 'lost'; path: string; detail: string; partialLineBytes: number }
  | { kind: 'reconnect-failed'; path: string; attempt: number; detail: string; nextDelayMs: number | null }
  | { kind: 'gave-up'; path: string; attempts: number }
  | { kind: 'closed'; path: string };

export type SerialLinkState = 'open' | 'reconnecting' | 'gave-up' | 'closed';

export interface SerialLinkHandlers {
  onLine(line: string): void;
  onOverflow(overflow: LineOverflow): void;
  onEvent(event: SerialLinkEvent): void;
}

/** The first open failed: nothing is listening, the caller should fix the setting. */
export class SerialOpenError extends Error {
  override readonly name = 'SerialOpenError';
  constructor(
    readonly path: string,
    message: string,
  ) {
    super(message);
  }
}

/** Turns the binding's terse errors into what the operator can act on. */
export function explainOpenError(path: string, err: unknown): string {
  const raw = err instanceof Error ? err.message : String(err);
  const code = (err as { code?: string } | null)?.code;
  if (code === 'ENOENT' || /ENOENT|No such file/i.test(raw)) return `${path}: no such port (unplugged, or a wrong path)`;
  if (code === 'EACCES' || /EACCES|Permission denied/i.test(raw)) return `${path}: permission denied (add the station's user to the "dialout" group)`;
  if (/Cannot lock port|Resource temporarily unavailable/i.test(raw)) return `${path}: in use by another program`;
  if (/Not a typewriter|ENOTTY/i.test(raw)) return `${path}: not a serial port`;
  return `${path}: ${raw}`;
}

const binding = hangupAwareBinding();
type Port = SerialPortStream;

function openPort(settings: SerialPortSettings): Promise<Port> {
  return new Promise((resolve, reject) => {
    const port = new SerialPortStream({
      binding,
      path: settings.path,
      baudRate: settings.baudRate,
      dataBits: settings.dataBits,
      parity: settings.parity,
      stopBits: settings.stopBits,
      autoOpen: false,
      // An exclusive lock: two programs reading one scanner would each get half the labels.
      lock: true,
    });
    port.open((err) => (err ? reject(err) : resolve(port)));
  });
}

/**
 * One serial port as a stream of bounded lines that survives the port going away: after a loss it
 * reopens the same path with backoff until it succeeds, gives up, or is closed. A partial line at
 * the moment of loss is dropped (its rest will never come) and counted in the `lost` event.
 */
export class SerialLink {
  readonly settings: SerialPortSettings;
  readonly #policy: ReconnectPolicy;
  readonly #handlers: SerialLinkHandlers;
  readonly #splitter: SerialLineSplitter;
  readonly #openWaiters = new Set<() => void>();
  #port: Port | null = null;
  #state: SerialLinkState = 'reconnecting';
  #timer: NodeJS.Timeout | null = null;
  #lastError = '';

  private constructor(settings: SerialPortSettings, policy: ReconnectPolicy, handlers: SerialLinkHandlers) {
    this.settings = settings;
    this.#policy = policy;
    this.#handlers = handlers;
    this.#splitter = new SerialLineSplitter(
      (line) => this.#safely(() => handlers.onLine(line)),
      (overflow) => this.#safely(() => handlers.onOverflow(overflow)),
    );
  }

  /** Opens the port now; rejects with SerialOpenError when it cannot (no reconnect loop is left behind). */
  static async open(settings: SerialPortSettings, policy: ReconnectPolicy, handlers: SerialLinkHandlers): Promise<SerialLink> {
    const link = new SerialLink(settings, policy, handlers);
    try {
      link.#attach(await openPort(settings), false);
    } catch (err) {
      throw new SerialOpenError(settings.path, `cannot open ${explainOpenError(settings.path, err)}`);
    }
    return link;
  }

  get path(): string {
    return this.settings.path;
  }
  get state(): SerialLinkState {
    return this.#state;
  }
  /** Why the port is not open, when it is not. */
  get lastError(): string {
    return this.#lastError;
  }
  /** Bytes held for the line in progress (bounded by MAX_SERIAL_LINE). */
  get bufferedBytes(): number {
    return this.#splitter.bufferedBytes;
  }

  /** Writes and waits until the OS took the bytes; rejects when the port is not open. */
  write(text: string): Promise<void> {
    const port = this.#port;
    if (this.#state !== 'open' || !port) return Promise.reject(new Error(`${this.path} is not open${this.#lastError ? ` (${this.#lastError})` : ''}`));
    return new Promise((resolve, reject) => {
      port.write(Buffer.from(text, 'utf8'), (err) => (err ? reject(new Error(`${this.path}: write failed: ${err.message}`)) : resolve()));
    });
  }

  /** Resolves true once the port is open (at once if it is), false after `timeoutMs` or when it can no longer open. */
  waitOpen(timeoutMs: number): Promise<boolean> {
    if (this.#state === 'open') return Promise.resolve(true);
    if (this.#state !== 'reconnecting') return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.#openWaiters.delete(done);
        resolve(this.#state === 'open');
      };
      const timer = setTimeout(done, timeoutMs);
      this.#openWaiters.add(done);
    });
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#state = 'closed';
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const port = this.#port;
    this.#port = null;
    this.#wakeWaiters();
    if (port?.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
    this.#splitter.discardPartial();
    this.#safely(() => this.#handlers.onEvent({ kind: 'closed', path: this.path }));
  }

  #attach(port: Port, reconnected: boolean): void {
    this.#port = port;
    this.#state = 'open';
    this.#lastError = '';
    let gone = false;
    const lose = (detail: string): void => {
      if (gone || this.#port !== port) return; // one loss per port; events after close() are ours
      gone = true;
      this.#port = null;
      this.#lastError = detail;
      const partialLineBytes = this.#splitter.discardPartial();
      this.#state = 'reconnecting';
      this.#safely(() => this.#handlers.onEvent({ kind: 'lost', path: this.path, detail, partialLineBytes }));
      if (port.isOpen) port.close(() => undefined);
      this.#scheduleReconnect(1);
    };
    port.on('data', (chunk: Buffer) => {
      if (this.#port === port) this.#splitter.push(chunk);
    });
    // serialport reports a vanished device as `close` with a DisconnectedError, other failures as `error`.
    port.on('close', (err: Error | null) => lose(err ? err.message : 'port closed by the system'));
    port.on('error', (err: Error) => lose(err.message));
    this.#safely(() => this.#handlers.onEvent({ kind: 'open', path: this.path, framing: describeFraming(this.settings), reconnected }));
    this.#wakeWaiters();
  }

  #scheduleReconnect(attempt: number): void {
    if (this.#state !== 'reconnecting') return;
    if (attempt > this.#policy.maxAttempts) {
      this.#state = 'gave-up';
      this.#wakeWaiters();
      this.#safely(() => this.#handlers.onEvent({ kind: 'gave-up', path: this.path, attempts: attempt - 1 }));
      return;
    }
    const delay = this.#delayBefore(attempt);
    this.#timer = setTimeout(() => {
      this.#timer = null;
      void this.#reconnect(attempt);
    }, delay);
  }

  async #reconnect(attempt: number): Promise<void> {
    if (this.#state !== 'reconnecting') return;
    let port: Port;
    try {
      port = await openPort(this.settings);
    } catch (err) {
      if (this.#state !== 'reconnecting') return;
      this.#lastError = explainOpenError(this.path, err);
      const nextDelayMs = attempt >= this.#policy.maxAttempts ? null : this.#delayBefore(attempt + 1);
      this.#safely(() => this.#handlers.onEvent({ kind: 'reconnect-failed', path: this.path, attempt, detail: this.#lastError, nextDelayMs }));
      this.#scheduleReconnect(attempt + 1);
      return;
    }
    if (this.#state !== 'reconnecting') {
      port.close(() => undefined); // closed while the open was under way
      return;
    }
    this.#attach(port, true);
  }

  #wakeWaiters(): void {
    for (const wake of [...this.#openWaiters]) wake();
  }

  #delayBefore(attempt: number): number {
    return Math.min(this.#policy.initialDelayMs * 2 ** Math.min(attempt - 1, 20), this.#policy.maxDelayMs);
  }

  /** A consumer's bug must not break the port's read loop; it is still said, not swallowed. */
  #safely(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      process.emitWarning(`serial ${this.path}: a handler threw: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    }
  }
}
