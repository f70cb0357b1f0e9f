export * from './failure-codes.js';
export * from './device-states.js';
export * from './token.js';
export * from './qr-payload.js';
export * from './signing.js';
export * from './device-messages.js';
export * from './serial-format.js';
export * from './serial-line.js';
export * from './sadp.js';
export * from './cloud-api.js';
export * from './station-api.js';
export * from './virtual-bench.js';
export * from './station-bridge.js';
// The class, not the wire type of the same name that station-api.ts gives the renderer.
export { StationError } from './station-api/refusals.js';
export * from './sse.js';
export * from './admin-password.js';
export * from './case-api.js';
