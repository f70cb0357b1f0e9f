import { SerialPort } from 'serialport';
import { SERIAL_BAUD_RATE, SERIAL_EOL } from '../../protocol/index.js';
import { startPtyPair } from './uart-pty-pair.js';
import { planScans, type PlannedScan, type WrongScans } from './virtual-scanner-plan.js';

export interface VirtualScannerOptions {
  /** The labels on the bench's devices, in the order the operator scans them. */
  labels: readonly string[];
  /** How many scans go wrong: a count (typo, garbled, other in turn) or per kind (see virtual-scanner-plan.ts). */
  wrong?: number | WrongScans;
  ptyDir: string;
  /** Time between two scans (default 200 ms). */
  intervalMs?: number;
  /** Link base name (default `scanner`): the station opens `<ptyDir>/<name>-station`. */
  name?: string;
  baudRate?: number;
  /** Start scanning at once (default); false waits for start(), so the station can open its end first. */
  autoStart?: boolean;
}

export interface VirtualScanner {
  readonly stationPath: string;
  /** Every line the scanner will send, with what it stands for. */
  readonly plan: readonly PlannedScan[];
  /** The lines written so far, without their CRLF. */
  readonly sent: string[];
  /** Resolves once every line is written, or the scanner is closed. */
  readonly done: Promise<void>;
  start(): void;
  /** Stops mid-stream if need be; kills socat and removes the links (the station sees its port vanish). */
  close(): Promise<void>;
}

const DEFAULT_INTERVAL_MS = 200;

/** A barcode scanner on its own pty pair: one label per line, CRLF, at a steady pace. */
export async function startVirtualScanner(options: VirtualScannerOptions): Promise<VirtualScanner> {
  const plan = planScans(options.labels, options.wrong ?? 0);
  const intervalMs = options.intervalMs ?? DEFAULT_INTERVAL_MS;
  if (!Number.isFinite(intervalMs) || intervalMs < 0) throw new RangeError(`intervalMs must be 0 or more, got ${intervalMs}`);
  const pair = await startPtyPair({ dir: options.ptyDir, name: options.name ?? 'scanner' });
  let port: SerialPort;
  try {
    port = await new Promise<SerialPort>((resolve, reject) => {
      const p = new SerialPort({ path: pair.devicePath, baudRate: options.baudRate ?? SERIAL_BAUD_RATE, autoOpen: false });
      p.open((err) => (err ? reject(err) : resolve(p)));
    });
  } catch (err) {
    await pair.close();
    throw new Error(`virtual scanner: cannot open ${pair.devicePath}: ${err instanceof Error ? err.message : String(err)}`);
  }
  port.on('error', () => undefined); // the scanner's own end: a write error after close() is expected and harmless

  const sent: string[] = [];
  let next = 0;
  let timer: NodeJS.Timeout | null = null;
  let started = false;
  let closed = false;
  let finish: () => void = () => undefined;
  const done = new Promise<void>((resolve) => {
    finish = resolve;
  });

  const scanNext = (): void => {
    timer = null;
    if (closed) return;
    const scan = plan[next++];
    if (!scan) return finish();
    port.write(`${scan.line}${SERIAL_EOL}`, (err) => {
      if (err || closed) return finish();
      sent.push(scan.line);
      if (next >= plan.length) return finish();
      timer = setTimeout(scanNext, intervalMs);
    });
  };
  void pair.exited.then(() => {
    // The cable is gone: stop writing into a dead pty (its end would read end-of-file forever).
    if (closed) return;
    closed = true;
    if (timer) clearTimeout(timer);
    finish();
    if (port.isOpen) port.close(() => undefined);
  });
  const start = (): void => {
    if (started || closed) return;
    started = true;
    if (plan.length === 0) return finish();
    timer = setTimeout(scanNext, intervalMs);
  };
  if (options.autoStart ?? true) start();

  return {
    stationPath: pair.stationPath,
    plan,
    sent,
    done,
    start,
    async close() {
      if (closed) return;
      closed = true;
      if (timer) clearTimeout(timer);
      finish();
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
      await pair.close();
    },
  };
}
