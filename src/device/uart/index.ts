/** Devices on a serial line (DESIGN §4.6): the UART gateway and its bench, the barcode scanner, and the pty pairs they sit on. */
export * from './uart-gateway.js';
export * from './uart-gateway-agent.js';
export * from './uart-gateway-bench.js';
export * from './virtual-scanner.js';
export * from './uart-pty-pair.js';
