import { z } from 'zod';
import { fleetStatusSchema, type FleetDeviceStatus } from '../virtual-bench.js';
import { call, json, none } from './call-spec.js';

/**
 * Bench domain: the virtual bench of the demo (src/main/demo-bench.ts answers these). `showCodes` is
 * here because only a bench looks at the station's screen; a production station answers it as a no-op.
 */

export const showCodesRequestSchema = z.strictObject({
  batchId: z.string().max(64).nullable(),
  codeIndexes: z.array(z.number().int().min(0).max(1000)).max(100),
});

const devIdSchema = z.string().regex(/^[A-Za-z0-9_-]{4,64}$/, 'device id is malformed');

export const benchSchema = fleetStatusSchema.nullable();

export const benchCalls = {
  /** The UI tells the station which codes are on screen: the virtual bench's cameras look at those. */
  showCodes: call({
    args: z.tuple([showCodesRequestSchema.shape.batchId, showCodesRequestSchema.shape.codeIndexes]),
    answer: none,
    http: { method: 'PUT', path: '/api/screen', args: [{ in: 'body', key: 'batchId' }, { in: 'body', key: 'codeIndexes' }] },
  }),
  getBench: call({ args: z.tuple([]), answer: json<FleetDeviceStatus[] | null>(benchSchema), http: { method: 'GET', path: '/api/bench', args: [] } }),
  resetBenchDevice: call({ args: z.tuple([devIdSchema]), answer: none, http: { method: 'POST', path: '/api/bench/:id/reset', args: [{ in: 'param', name: 'id' }] } }),
};
