/**
 * The shared device core: what every virtual device is, whatever way a token reaches it — its
 * identity, its faults, the DESIGN §6 state machine with its light, and the signed unbind request of
 * §4.3. It imports nothing from the other rooms (the QR decoder least of all).
 */
export * from './device-identity.js';
export * from './device-faults.js';
export type { DeviceCoreDetails, DeviceCoreOptions, DeviceEvent, RejectedInput, ReportingDeviceDetails, StateChange } from './device-core.js';
export * from './signed-unbind-client.js';
