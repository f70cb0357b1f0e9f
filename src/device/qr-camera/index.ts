/** The virtual QR camera (DESIGN §3 QR method): the camera, its frame decoder, the screens it looks at, and the fleet of cameras. */
export * from './qr-camera.js';
export * from './camera-frame.js';
export * from './qr-frame-decoder.js';
export * from './camera-view.js';
export * from './qr-source.js';
export * from './camera-fleet.js';
