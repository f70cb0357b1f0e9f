import type { z } from 'zod';
import type { StationApi } from '../../protocol/station-api.js';
import type { BridgeResult, StationBridge } from '../../protocol/station-bridge.js';
import { StationApiError } from './station-api-error.js';
import {
  batchPlanSchema,
  batchSummariesSchema,
  batchViewSchema,
  benchSchema,
  csvExportSchema,
  dashboardViewSchema,
  historyPageSchema,
  historyStatsSchema,
  lanDevicesSchema,
  parseStationEvent,
  parseView,
  serialStatusViewSchema,
  sessionViewSchema,
} from './station-views.js';

/**
 * The Electron transport: StationApi over the preload's `window.unbindStation` bridge. What crosses the
 * process boundary is checked with the same view schemas as the web transport's answers.
 */
export function createIpcStationApi(bridge: StationBridge, warn: (message: string) => void = (m) => console.warn(m)): StationApi {
  function unwrap<T>(r: BridgeResult<T>): T {
    if (r.ok) return r.value;
    throw new StationApiError(r.error.code, r.error.message);
  }
  async function checked<T>(what: string, schema: z.ZodType<T>, pending: Promise<BridgeResult<unknown>>): Promise<T> {
    return parseView(schema, unwrap(await pending), what);
  }
  async function text(what: string, pending: Promise<BridgeResult<string>>): Promise<string> {
    const value: unknown = unwrap(await pending);
    if (typeof value !== 'string') throw new StationApiError('BAD_ANSWER', `The station's answer to ${what} is not text.`);
    return value;
  }

  return {
    getSession: () => checked('getSession', sessionViewSchema, bridge.getSession()),
    signIn: (req) => checked('signIn', sessionViewSchema, bridge.signIn(req)),
    signOut: () => checked('signOut', sessionViewSchema, bridge.signOut()),
    getDashboard: () => checked('getDashboard', dashboardViewSchema, bridge.getDashboard()),
    planBatch: (req) => checked('planBatch', batchPlanSchema, bridge.planBatch(req)),
    startBatch: (req) => checked('startBatch', batchViewSchema, bridge.startBatch(req)),
    listBatches: () => checked('listBatches', batchSummariesSchema, bridge.listBatches()),
    getBatch: (id) => checked('getBatch', batchViewSchema, bridge.getBatch(id)),
    cancelBatch: (id) => checked('cancelBatch', batchViewSchema, bridge.cancelBatch(id)),
    scanLabel: (id, label) => checked('scanLabel', batchViewSchema, bridge.scanLabel(id, label)),
    unlockCodes: (id, wifi) => checked('unlockCodes', batchViewSchema, bridge.unlockCodes(id, wifi)),
    getCodeSvg: (id, n) => text('getCodeSvg', bridge.getCodeSvg(id, n)),
    getPrintSheet: (id) => text('getPrintSheet', bridge.getPrintSheet(id)),
    showCodes: async (batchId, codeIndexes) => {
      unwrap(await bridge.showCodes(batchId, codeIndexes));
    },
    queryHistory: (q) => checked('queryHistory', historyPageSchema, bridge.queryHistory(q)),
    historyStats: (q) => checked('historyStats', historyStatsSchema, bridge.historyStats(q)),
    exportHistoryCsv: (q) => checked('exportHistoryCsv', csvExportSchema, bridge.exportHistoryCsv(q)),
    getLanDevices: () => checked('getLanDevices', lanDevicesSchema, bridge.getLanDevices()),
    refreshLan: () => checked('refreshLan', lanDevicesSchema, bridge.refreshLan()),
    getSerialStatus: () => checked('getSerialStatus', serialStatusViewSchema, bridge.getSerialStatus()),
    setSerialSettings: (settings) => checked('setSerialSettings', serialStatusViewSchema, bridge.setSerialSettings(settings)),
    getBench: () => checked('getBench', benchSchema, bridge.getBench()),
    resetBenchDevice: async (id) => {
      unwrap(await bridge.resetBenchDevice(id));
    },
    subscribe: (onEvent) =>
      bridge.onEvent((raw) => {
        const parsed = parseStationEvent(raw);
        if (parsed.ok) onEvent(parsed.event);
        else warn(`station event ignored: ${parsed.reason}`);
      }),
  };
}
