/**
 * The Electron main process: the same station services as `unbind start`, reached through IPC instead
 * of the browser. Thin on purpose: composition lives in start-command.ts, validation in station-calls.ts.
 * Type-checked here; the Electron binary cannot be downloaded on these machines, so it is not run.
 */
import { createWriteStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { app, BrowserWindow, dialog, ipcMain } from 'electron';
import type { BridgeResult, StationCallName } from '../protocol/station-bridge.js';
import type { StationError } from '../protocol/station-api.js';
import { historyQuerySchema } from '../protocol/index.js';
import { startStation, type RunningStation } from './start-command.js';
import { parseArg, STATION_CALLS } from './station-calls.js';

// Paths as bundled by `npm run build:electron` into dist/electron/, beside dist/renderer/.
const PRELOAD = fileURLToPath(new URL('./electron-preload.cjs', import.meta.url));
const RENDERER = fileURLToPath(new URL('../renderer/index.html', import.meta.url));

function toBridgeError(err: unknown): StationError {
  const e = err as { code?: unknown; message?: unknown; status?: unknown };
  return typeof e.code === 'string' && typeof e.message === 'string' && typeof e.status === 'number'
    ? { code: e.code, message: e.message }
    : { code: 'INTERNAL', message: 'internal error' };
}

async function envelope<T>(work: () => T | Promise<T>): Promise<BridgeResult<T>> {
  try {
    return { ok: true, value: await work() };
  } catch (err) {
    return { ok: false, error: toBridgeError(err) };
  }
}

function registerIpc(station: RunningStation, window: BrowserWindow): void {
  const core = station.core;
  // Only our own window's page may call: a child window, a navigated or a foreign frame gets nothing.
  const fromOurPage = (event: Electron.IpcMainInvokeEvent): boolean => event.sender === window.webContents && event.senderFrame?.url === window.webContents.getURL();
  const refused = (): Promise<BridgeResult<never>> => Promise.resolve({ ok: false, error: { code: 'FORBIDDEN', message: 'unknown caller' } });
  for (const name of Object.keys(STATION_CALLS) as Array<keyof typeof STATION_CALLS>) {
    ipcMain.handle(`station:${name}`, (event, ...args: unknown[]) => (fromOurPage(event) ? envelope(() => STATION_CALLS[name](core, args)) : refused()));
  }
  const exportName: StationCallName = 'exportHistoryCsv';
  ipcMain.handle(`station:${exportName}`, (event, query: unknown) =>
    !fromOurPage(event) ? refused() : envelope(async () => {
      const q = parseArg(historyQuerySchema, query ?? {}, 'query');
      const target = await dialog.showSaveDialog(window, { defaultPath: `unbind-history-${new Date().toISOString().slice(0, 10)}.csv`, filters: [{ name: 'CSV', extensions: ['csv'] }] });
      if (target.canceled || !target.filePath) return { url: null, savedTo: null };
      await pipeline(await core.exportHistoryCsv(q), createWriteStream(target.filePath));
      return { url: null, savedTo: target.filePath };
    }),
  );
  const unsubscribe = core.hub.subscribe((e) => window.webContents.send('station:event', e));
  window.on('closed', unsubscribe);
}

async function main(): Promise<void> {
  await app.whenReady();
  const station = await startStation(process.argv.slice(2).filter((a) => a.startsWith('--')), () => undefined);
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
