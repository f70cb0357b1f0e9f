/** The public surface of src/device, room by room (each room's index says what it holds). */
export * from './core/index.js';
export * from './bench/index.js';
export * from './qr-camera/index.js';
export * from './lan/index.js';
export * from './uart/index.js';
export * from './fleet-cli/index.js';
