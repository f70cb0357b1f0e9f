import { z } from 'zod';
import {
  historyQuerySchema,
  planRequestSchema,
  serialSettingsSchema,
  showCodesRequestSchema,
  signInRequestSchema,
  startBatchRequestSchema,
  wifiCredentialsSchema,
} from '../protocol/index.js';
import { StationError } from '../batch/station-error.js';
import type { StationCore } from './station-core.js';
import type { StationCallName } from '../protocol/station-bridge.js';

/**
 * Every station call with its arguments validated at the boundary, for both transports: the HTTP
 * server turns a request into these arguments, the Electron main process receives them over IPC.
 * (The CSV export differs per transport and is not here.)
 */
export function parseArg<S extends z.ZodType>(schema: S, value: unknown, what: string): z.output<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const i = r.error.issues[0];
  throw new StationError(400, 'BAD_REQUEST', `${i?.path.length ? `${what}.${i.path.join('.')}` : what}: ${i?.message ?? 'invalid'}`);
}

const batchId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, 'batch id is malformed');
const codeIndex = z.coerce.number().int().min(0).max(1000);
const devId = z.string().regex(/^[A-Za-z0-9_-]{4,64}$/, 'device id is malformed');
const label = z.string().min(1).max(128);

type Call = (core: StationCore, args: unknown[]) => unknown;

export const STATION_CALLS: Record<Exclude<StationCallName, 'exportHistoryCsv'>, Call> = {
  getSession: (c) => c.getSession(),
  signIn: (c, [req]) => c.signIn(parseArg(signInRequestSchema, req, 'body')),
  signOut: (c) => c.signOut(),
  getDashboard: (c) => c.getDashboard(),
  planBatch: (c, [req]) => c.planBatch(parseArg(planRequestSchema, req, 'body')),
  startBatch: (c, [req]) => c.startBatch(parseArg(startBatchRequestSchema, req, 'body')),
  listBatches: (c) => c.listBatches(),
  getBatch: (c, [id]) => c.getBatch(parseArg(batchId, id, 'batchId')),
  cancelBatch: (c, [id]) => c.cancelBatch(parseArg(batchId, id, 'batchId')),
  scanLabel: (c, [id, l]) => c.scanLabel(parseArg(batchId, id, 'batchId'), parseArg(label, l, 'label')),
  unlockCodes: (c, [id, wifi]) => c.unlockCodes(parseArg(batchId, id, 'batchId'), parseArg(wifiCredentialsSchema, wifi, 'wifi')),
  getCodeSvg: (c, [id, n]) => c.getCodeSvg(parseArg(batchId, id, 'batchId'), parseArg(codeIndex, n, 'codeIndex')),
  getPrintSheet: (c, [id]) => c.getPrintSheet(parseArg(batchId, id, 'batchId')),
  showCodes: (c, [id, indexes]) => {
    const r = parseArg(showCodesRequestSchema, { batchId: id, codeIndexes: indexes }, 'body');
    c.showCodes(r.batchId, r.codeIndexes);
  },
  queryHistory: (c, [q]) => c.queryHistory(parseArg(historyQuerySchema, q ?? {}, 'query')),
  historyStats: (c, [q]) => c.historyStats(parseArg(historyQuerySchema, q ?? {}, 'query')),
  getLanDevices: (c) => c.getLanDevices(),
  refreshLan: (c) => c.refreshLan(),
  getSerialStatus: (c) => c.getSerialStatus(),
  setSerialSettings: (c, [settings]) => c.setSerialSettings(parseArg(serialSettingsSchema, settings, 'body')),
  getBench: (c) => c.getBench(),
  resetBenchDevice: (c, [id]) => c.resetBenchDevice(parseArg(devId, id, 'devId')),
};
