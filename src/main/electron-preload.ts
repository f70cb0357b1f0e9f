/**
 * The preload: exposes `window.unbindStation`, one named function per station call (contextIsolation
 * and sandbox on; no generic channel passthrough). Imports nothing at run time but `electron`, so it
 * can be bundled as the single CommonJS file a sandboxed preload must be.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { StationBridge, StationCallName } from '../protocol/station-bridge.js';
import type { StationEvent } from '../protocol/station-api.js';

// One channel per named call; `satisfies` makes the compiler list any call the bridge lacks.
const call = <K extends StationCallName>(name: K): StationBridge[K] =>
  ((...args: unknown[]) => ipcRenderer.invoke(`station:${name}`, ...args)) as StationBridge[K];

const bridge = {
  getSession: call('getSession'),
  signIn: call('signIn'),
  signOut: call('signOut'),
  getDashboard: call('getDashboard'),
  planBatch: call('planBatch'),
  startBatch: call('startBatch'),
  listBatches: call('listBatches'),
  getBatch: call('getBatch'),
  cancelBatch: call('cancelBatch'),
  scanLabel: call('scanLabel'),
  unlockCodes: call('unlockCodes'),
  getCodeSvg: call('getCodeSvg'),
  getPrintSheet: call('getPrintSheet'),
  showCodes: call('showCodes'),
  queryHistory: call('queryHistory'),
  historyStats: call('historyStats'),
  exportHistoryCsv: call('exportHistoryCsv'),
  getLanDevices: call('getLanDevices'),
  refreshLan: call('refreshLan'),
  getSerialStatus: call('getSerialStatus'),
  setSerialSettings: call('setSerialSettings'),
  getBench: call('getBench'),
  resetBenchDevice: call('resetBenchDevice'),
  onEvent(listener: (event: StationEvent) => void) {
    const handler = (_e: IpcRendererEvent, event: StationEvent): void => listener(event);
    ipcRenderer.on('station:event', handler);
    return () => void ipcRenderer.removeListener('station:event', handler);
  },
} satisfies StationBridge;

contextBridge.exposeInMainWorld('unbindStation', bridge);
