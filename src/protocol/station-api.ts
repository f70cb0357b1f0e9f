/**
 * The station API: the one contract between the station's services (src/main) and its UI
 * (src/renderer), as one table in ./station-api/ (a file per domain) from which every face is derived.
 * Pure types and schemas: the renderer imports this file, so it must stay browser-safe.
 */
export type { Page } from './cloud-api.js';
export * from './station-api/call-spec.js';
export * from './station-api/session.js';
export * from './station-api/batches.js';
export * from './station-api/history.js';
export * from './station-api/lan.js';
export * from './station-api/serial.js';
export * from './station-api/bench.js';
export * from './station-api/cases.js';
export * from './station-api/events.js';
export * from './station-api/locales.js';
export * from './station-api/table.js';
export {
  STATION_REFUSALS,
  StationRefusal,
  TRANSPORT_FAILURES,
  httpFailureCode,
  isSignedOutRefusal,
  needsStationLink,
  type StationRefusalCode,
  type TransportFailureCode,
  type StationErrorCode,
  type StationErrorBody,
} from './station-api/refusals.js';
import type { StationErrorBody } from './station-api/refusals.js';

/** A refusal as it crosses both transports, `{code, message}` (the class of that name is in ./station-api/refusals.ts). */
export type StationError = StationErrorBody;
