/**
 * The Electron main process: the same station services as `unbind start` (composeStation), reached
 * through IPC instead of the browser. Its config comes from the app's settings file, not from argv.
 * Thin on purpose: the handlers are registered by iterating the API table. Type-checked here; the
 * Electron binary cannot be downloaded on these machines, so it is not run.
 */
import { createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain } from 'electron';
import { STATION_CALL_NAMES, STATION_CALLS, type StationCallName, type StationError } from '../protocol/station-api.js';
import { STATION_EVENT_CHANNEL, stationCallChannel, type BridgeResult } from '../protocol/station-bridge.js';
import { composeStation, type RunningStation } from './compose-station.js';
import { configFromSettingsFile } from './station-config.js';
import { invokeCall, parseCallArgs, toRefusal } from './station-calls.js';

// Paths as bundled by `npm run build:electron` into dist/electron/, beside dist/renderer/.
const PRELOAD = fileURLToPath(new URL('./electron-preload.cjs', import.meta.url));
const RENDERER = fileURLToPath(new URL('../renderer/index.html', import.meta.url));

function toBridgeError(err: unknown): StationError {
  const r = toRefusal(err);
  return r ? { code: r.code, message: r.message } : { code: 'INTERNAL', message: 'internal error' };
}

async function envelope<T>(work: () => T | Promise<T>): Promise<BridgeResult<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (err) {
    return { ok: false, error: toBridgeError(err) };
  }
}

/** The CSV export in Electron: the operator picks a file, the main process writes the CSV there. */
async function saveCsv(station: RunningStation, window: BrowserWindow, name: StationCallName, args: unknown[]): Promise<{ url: null; savedTo: string | null }> {
  const spec = STATION_CALLS[name];
  if (spec.answer.kind !== 'download') throw new Error(`${name} is not a download`);
  const q = parseCallArgs('exportHistoryCsv', args);
  const target = await dialog.showSaveDialog(window, { defaultPath: `${spec.answer.fileName}-${new Date().toISOString().slice(0, 10)}.csv`, filters: [{ name: 'CSV', extensions: ['csv'] }] });
  if (target.canceled || !target.filePath) return { url: null, savedTo: null };
  await pipeline(await station.handlers.exportHistoryCsv(...q), createWriteStream(target.filePath, { mode: 0o600 }));
  return { url: null, savedTo: target.filePath };
}

function registerIpc(station: RunningStation, window: BrowserWindow): void {
  // Only our own window's page may call: a child window, a navigated or a foreign frame gets nothing.
  const fromOurPage = (event: Electron.IpcMainInvokeEvent): boolean => event.sender === window.webContents && event.senderFrame?.url === window.webContents.getURL();
  const refused = (): Promise<BridgeResult<never>> => Promise.resolve({ ok: false, error: { code: 'FORBIDDEN', message: 'unknown caller' } });
  for (const name of STATION_CALL_NAMES) {
    const download = STATION_CALLS[name].answer.kind === 'download';
    ipcMain.handle(stationCallChannel(name), (event, ...args: unknown[]) =>
      !fromOurPage(event) ? refused() : envelope(() => (download ? saveCsv(station, window, name, args) : invokeCall(station.handlers, name, args))),
    );
  }
  const unsubscribe = station.hub.subscribe((e) => window.webContents.send(STATION_EVENT_CHANNEL, e));
  window.on('closed', unsubscribe);
}

async function main(): Promise<void> {
  await app.whenReady();
  const userData = app.getPath('userData');
  const config = configFromSettingsFile(join(userData, 'station-settings.json'), { dataDir: join(userData, 'data') });
  const station = await composeStation(config, () => undefined);
  const window = new BrowserWindow({
    width: 1366,
    height: 860,
    webPreferences: { preload: PRELOAD, contextIsolation: true, sandbox: true, nodeIntegration: false },
  });
  // No navigation away from the app, no new windows but the print sheet (about:blank).
  window.webContents.on('will-navigate', (e) => e.preventDefault());
  // The print sheet opens in about:blank without the preload; it may not navigate anywhere either.
  window.webContents.setWindowOpenHandler(({ url }) =>
    url === 'about:blank' ? { action: 'allow', overrideBrowserWindowOptions: { webPreferences: { contextIsolation: true, sandbox: true, nodeIntegration: false } } } : { action: 'deny' },
  );
  window.webContents.on('did-create-window', (child) => child.webContents.on('will-navigate', (e) => e.preventDefault()));
  registerIpc(station, window);
  await window.loadFile(RENDERER);
  app.on('window-all-closed', () => {
    void station.close().finally(() => app.quit());
  });
}

void main();
