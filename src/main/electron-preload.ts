/**
 * The preload: exposes `window.unbindStation`, one named function per entry of the station API table
 * (contextIsolation and sandbox on; no generic channel passthrough). Imports nothing at run time but
 * `electron`, so it bundles as the single CommonJS file a sandboxed preload must be: the call names are
 * listed here, and the compiler checks the list against the table both ways (none missing, none extra).
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { StationBridge, StationCallName, StationIpcChannel } from '../protocol/station-bridge.js';
import type { StationEvent } from '../protocol/station-api.js';

const CALLS = [
  'getSession', 'signIn', 'signOut', 'getDashboard',
  'planBatch', 'startBatch', 'listBatches', 'getBatch', 'resumeBatch', 'cancelBatch', 'scanLabel', 'unlockCodes', 'getCodeSvg', 'getPrintSheet',
  'queryHistory', 'historyStats', 'exportHistoryCsv',
  'getLanDevices', 'refreshLan', 'startLocalUnbind', 'getLocalUnbind', 'getResetRequest', 'applyResetCode',
  'getSerialStatus', 'setSerialSettings', 'getSerialResetRequest',
  'showCodes', 'getBench', 'resetBenchDevice',
  'listTickets', 'requestTicket', 'decideTicket',
  'fileCase', 'listCases', 'getCasePhoto', 'approveCase', 'rejectCase',
] as const satisfies readonly StationCallName[];
// A table entry missing above fails to compile here.
const everyCallListed: [Exclude<StationCallName, (typeof CALLS)[number]>] extends [never] ? true : false = true;
void everyCallListed;

const EVENT_CHANNEL = 'station:event' satisfies StationIpcChannel;

const calls = Object.fromEntries(
  CALLS.map((name) => [name, (...args: unknown[]) => ipcRenderer.invoke(`station:${name}` satisfies StationIpcChannel, ...args)]),
) as unknown as Omit<StationBridge, 'onEvent'>;

const bridge: StationBridge = {
  ...calls,
  onEvent(listener: (event: StationEvent) => void) {
    const handler = (_e: IpcRendererEvent, event: StationEvent): void => listener(event);
    ipcRenderer.on(EVENT_CHANNEL, handler);
    return () => void ipcRenderer.removeListener(EVENT_CHANNEL, handler);
  },
};

contextBridge.exposeInMainWorld('unbindStation', bridge);
