/**
 * Faults one virtual device can be given. `dhcp`, `unreachable` and `latencyMs` are conditions that
 * hold for every attempt; `networkChange` and `powerLoss` are events that strike the device's first
 * request only, so that a retry shows what really happened at the authority.
 *
 * Old firmware is not a fault: the device reports its firmware and the authority refuses with
 * FIRMWARE_UNSUPPORTED from its own device record, so it is a property of the fleet's device data.
 */
export interface DeviceFaults {
  /** The device's DHCP client gets no address (IP 0.0.0.0): DHCP_FAILED, no request sent. */
  dhcp?: boolean;
  /** No route from the device to the authority: the request never leaves, CLOUD_UNREACHABLE. */
  unreachable?: boolean;
  /** The device's address changes while the request is in flight; it discards the answer: NETWORK_CHANGED. */
  networkChange?: boolean;
  /** Power is lost once the authority has answered, before the device reads it; it restarts in `waiting`. */
  powerLoss?: boolean;
  /** Delay before each request, in ms (a slow uplink). */
  latencyMs?: number;
}
