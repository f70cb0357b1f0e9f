/** The bench around the devices, shared by every kind: its Wi-Fi, the demo export it is built from, the fault grammar, the status port. */
export * from './bench-network.js';
export * from './demo-export.js';
export * from './fault-spec.js';
export * from './fleet-status-server.js';
