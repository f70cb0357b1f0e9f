import jsqrModule from 'jsqr';

/**
 * jsqr is CommonJS with types that declare an ES default export; under NodeNext the default import
 * is the module object, whose `default` is the decoder (the package sets it for this interop).
 */
export const jsQR = jsqrModule.default;
export type { QRCode as JsQrCode } from 'jsqr';
