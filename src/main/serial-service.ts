import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { serialSettingsSchema, type SerialSettings, type SerialStatusView } from '../protocol/index.js';
import { listSerialPorts } from '../wired/serial-ports.js';
import { openBarcodeScanner, type BarcodeScanner } from '../wired/serial-scanner.js';
import { StationError } from '../protocol/station-api/refusals.js';

/**
 * The station's serial settings (which port is the barcode scanner, which carry UART devices), kept in
 * a file of the data folder, and the open scanner. Labels go to `onLabel`; status changes to `onStatus`.
 */
export interface SerialService {
  settings(): SerialSettings;
  status(): Promise<SerialStatusView>;
  update(settings: SerialSettings): Promise<SerialStatusView>;
  close(): Promise<void>;
}

export async function startSerialService(opts: {
  file: string;
  /** Settings to use when the file does not exist yet (the demo bench's ptys). */
  defaults?: SerialSettings;
  onLabel: (label: string) => void;
  onStatus: (status: SerialStatusView) => void;
}): Promise<SerialService> {
  let settings: SerialSettings = opts.defaults ?? { scannerPort: null, uartPorts: [] };
  if (existsSync(opts.file)) {
    let json: unknown = null;
    try {
      json = JSON.parse(readFileSync(opts.file, 'utf8'));
    } catch {
      // a torn or hand-broken file: the defaults stand until the next save replaces it
    }
    const parsed = serialSettingsSchema.safeParse(json);
    if (parsed.success) settings = parsed.data;
  }
  let scanner: BarcodeScanner | null = null;
  let scannerError: string | null = null;
  let lastLabel: string | null = null;
  let lastRejected: string | null = null;

  async function status(): Promise<SerialStatusView> {
    const listing = await listSerialPorts({ extraPaths: [...(settings.scannerPort ? [settings.scannerPort] : []), ...settings.uartPorts] });
    const stats = scanner?.stats();
    return {
      settings,
      ports: listing.ports.map((p) => ({ path: p.path, source: p.source, present: p.present, manufacturer: p.manufacturer, problem: p.problem })),
      systemListError: listing.systemListError,
      scanner: {
        state: scanner ? scanner.state : 'off',
        labels: stats?.labels ?? 0,
        rejected: stats?.rejected ?? 0,
        lastLabel,
        lastRejected: lastRejected ?? scannerError,
      },
    };
  }
  const announce = (): void => void status().then(opts.onStatus, () => undefined);

  async function openScanner(): Promise<void> {
    await scanner?.close();
    scanner = null;
    scannerError = null;
    if (!settings.scannerPort) return;
    try {
      scanner = await openBarcodeScanner({
        port: { path: settings.scannerPort },
        onLabel: (label) => {
          lastLabel = label;
          opts.onLabel(label);
          announce();
        },
        onRejected: (r) => {
          lastRejected = `${r.line} (${r.detail})`;
          announce();
        },
        onStatus: () => announce(),
      });
    } catch (err) {
      scannerError = `scanner ${settings.scannerPort}: ${(err as Error).message}`;
    }
  }
  await openScanner();

  return {
    settings: () => settings,
    status,
    async update(next) {
      const parsed = serialSettingsSchema.safeParse(next);
      if (!parsed.success) throw new StationError(400, 'BAD_REQUEST', parsed.error.issues[0]?.message ?? 'bad serial settings');
      if (parsed.data.scannerPort && parsed.data.uartPorts.includes(parsed.data.scannerPort)) {
        throw new StationError(400, 'PORT_TWICE', 'the scanner port cannot also be a UART port');
      }
      const scannerChanged = parsed.data.scannerPort !== settings.scannerPort;
      settings = parsed.data;
      // Written aside and renamed over: a crash mid-save leaves the old file or the new, never half.
      writeFileSync(`${opts.file}.tmp`, JSON.stringify(settings, null, 2), { mode: 0o600 });
      renameSync(`${opts.file}.tmp`, opts.file);
      if (scannerChanged) await openScanner();
      const s = await status();
      opts.onStatus(s);
      return s;
    },
    async close() {
      await scanner?.close();
    },
  };
}
