import { MAX_SERIAL_LINE, parseScannedLabel } from '../protocol/index.js';
import { SerialLink, type SerialLinkEvent, type SerialLinkState } from './serial-link.js';
import { parseReconnectPolicy, parseSerialPortSettings, type ReconnectPolicyInput, type SerialPortSettingsInput } from './serial-port-settings.js';

/** A line from the scanner that is not a serial label, and why; reading goes on. */
export interface ScanRejection {
  at: string;
  reason: 'not-a-label' | 'too-long';
  /** The line as read (at most 80 characters of it), for the operator to recognise the scan. */
  line: string;
  detail: string;
}

export interface BarcodeScannerOptions {
  port: SerialPortSettingsInput;
  /** A good label, in the order scanned. Duplicates are passed on: the batch's manifest decides about them. */
  onLabel: (label: string) => void;
  onRejected?: (rejection: ScanRejection) => void;
  /** The port opened, was lost, is being reopened, gave up, was closed. */
  onStatus?: (event: SerialLinkEvent) => void;
  reconnect?: ReconnectPolicyInput;
}

export interface BarcodeScannerStats {
  labels: number;
  rejected: number;
  /** Bytes held for the line in progress now (bounded by MAX_SERIAL_LINE whatever the scanner sends). */
  bufferedBytes: number;
}

export interface BarcodeScanner {
  readonly path: string;
  /** `reconnecting` after the port went away, `gave-up` once the reconnect policy ran out. */
  readonly state: SerialLinkState;
  stats(): BarcodeScannerStats;
  close(): Promise<void>;
}

const SHOWN_CHARS = 80;

/**
 * A barcode scanner on a serial port (DESIGN §3, §4.6: one code per line). Every line passes
 * parseScannedLabel; bad lines are reported and skipped, never stop the reading. Rejects when the
 * port cannot be opened at all (a wrong setting); once open, a lost port is reported and reopened.
 */
export async function openBarcodeScanner(options: BarcodeScannerOptions): Promise<BarcodeScanner> {
  const settings = parseSerialPortSettings(options.port);
  const policy = parseReconnectPolicy(options.reconnect);
  let labels = 0;
  let rejected = 0;
  const reject = (reason: ScanRejection['reason'], line: string, detail: string): void => {
    rejected++;
    options.onRejected?.({ at: new Date().toISOString(), reason, line: line.slice(0, SHOWN_CHARS), detail });
  };
  const link = await SerialLink.open(settings, policy, {
    onLine(line) {
      const label = parseScannedLabel(line);
      if (!label.ok) return reject('not-a-label', line, label.error);
      labels++;
      options.onLabel(label.value);
    },
    onOverflow({ droppedBytes, head }) {
      reject('too-long', head, `line of ${droppedBytes} bytes dropped: longer than ${MAX_SERIAL_LINE} bytes`);
    },
    onEvent: (event) => options.onStatus?.(event),
  });
  return {
    path: settings.path,
    get state() {
      return link.state;
    },
    stats: () => ({ labels, rejected, bufferedBytes: link.bufferedBytes }),
    close: () => link.close(),
  };
}
