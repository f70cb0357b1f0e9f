export * from './qr-render.js';
export * from './code-plan.js';
export * from './print-sheet.js';
export * from './html-escape.js';
