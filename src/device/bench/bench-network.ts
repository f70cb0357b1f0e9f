import type { FailureCode } from '../../protocol/index.js';

/** A Wi-Fi network of the virtual bench: its password, and whether its DHCP server hands out addresses. */
export interface BenchNetwork {
  password: string;
  dhcp: boolean;
}
/** The bench's networks by SSID. */
export type BenchNetworks = Readonly<Record<string, BenchNetwork>>;

export const DEFAULT_BENCH_SSID = 'bench-lab';
export const DEFAULT_BENCH_PASSWORD = 'bench-pass-2024';
export const DEFAULT_BENCH_NETWORKS: BenchNetworks = { [DEFAULT_BENCH_SSID]: { password: DEFAULT_BENCH_PASSWORD, dhcp: true } };

export const NO_ADDRESS = '0.0.0.0';

export type WifiJoin = { ok: true; ip: string } | { ok: false; code: Extract<FailureCode, 'WIFI_NOT_FOUND' | 'WIFI_AUTH' | 'DHCP_FAILED'>; ip: string | null; detail: string };

let leaseCounter = 0;
/**
 * A DHCP lease on the bench's own virtual subnet. The address is a label the device shows; no
 * traffic goes to it (the device reaches the authority through the host's loopback).
 */
export function nextLease(): string {
  leaseCounter = (leaseCounter + 1) % (250 * 250);
  return `10.77.${1 + Math.floor(leaseCounter / 250)}.${1 + (leaseCounter % 250)}`;
}

/** What joining a network gives a device; `dhcpBroken` is the device's own fault (its DHCP client fails). */
export function joinBenchWifi(networks: BenchNetworks, ssid: string, password: string, dhcpBroken: boolean): WifiJoin {
  const net = Object.hasOwn(networks, ssid) ? networks[ssid] : undefined;
  if (!net) return { ok: false, code: 'WIFI_NOT_FOUND', ip: null, detail: `no network "${ssid}" in range` };
  if (net.password !== password) return { ok: false, code: 'WIFI_AUTH', ip: null, detail: `"${ssid}" refused the password` };
  if (!net.dhcp || dhcpBroken) return { ok: false, code: 'DHCP_FAILED', ip: NO_ADDRESS, detail: `joined "${ssid}" but got no address` };
  return { ok: true, ip: nextLease() };
}
