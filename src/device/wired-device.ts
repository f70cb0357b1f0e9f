import {
  LIGHTS,
  canTransition,
  parseToken,
  randomUrlSafe,
  redactToken,
  signDeviceRequest,
  type DeviceInfo,
  type DeviceStatus,
  type FailureCode,
  type Light,
  type UnbindResult,
} from '../protocol/index.js';
import { isPairingState, type AgentState, type FleetDeviceStatus } from '../protocol/virtual-bench.js';
import { exchangeUnbind, type AuthorityExchange } from './authority-client.js';
import { NO_ADDRESS } from './bench-network.js';
import { BoundedLog } from './bounded-log.js';
import type { DeviceDetails, DeviceEvent, RejectedInput, StateChange } from './device-agent.js';
import { deviceIdentitySchema, type DeviceIdentity } from './device-identity.js';

/**
 * A wired device (NVR, DVR, gateway) of the wired method (DESIGN §3, §4.5, §6): once reset it is
 * `waiting` on the bench LAN and takes a token over its local API; it then makes the same signed
 * request to the authority as a QR camera (authority-client.ts) and shows the result on its light.
 * A device never reset (`operating`) refuses every token: unbinding always needs physical access.
 *
 * The network around it (its HTTP server, its mDNS and SADP answers) is the bench's (wired-bench.ts);
 * the device only knows its address, and asks the bench for a new one when its IP changes.
 */
export interface WiredFaults {
  /** No DHCP lease: address 0.0.0.0, no local API, no mDNS; SADP shows 0.0.0.0. */
  dhcp?: boolean;
  /** No route to the authority: CLOUD_UNREACHABLE, no request sent. */
  unreachable?: boolean;
  /** The IP changes while the request is in flight (first attempt only): the answer is lost, NETWORK_CHANGED. */
  ipChange?: boolean;
  /** Delay before each request to the authority, ms. */
  latencyMs?: number;
}

export interface WiredDeviceOptions {
  identity: DeviceIdentity;
  regionUrls: Readonly<Record<string, string>>;
  faults?: WiredFaults;
  /** `waiting` (reset, the default) or `operating` (never reset). */
  initialState?: 'waiting' | 'operating';
  /** Model name, reported in /info and by SADP. */
  model?: string;
  requestTimeoutMs?: number;
  /** A new lease from the bench's DHCP, for the IP-change fault. */
  renewLease?: () => string;
  historyLimit?: number;
}

export interface WiredDeviceDetails extends DeviceDetails {
  model: string | null;
  faults: WiredFaults;
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const NONCE_LENGTH = 32;

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  if (ms <= 0 || signal.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal.addEventListener('abort', done, { once: true });
  });
}

export class WiredDevice {
  readonly devId: string;
  readonly serial: string;
  readonly pid: string;
  readonly region: string;
  readonly firmware: string;
  readonly model: string | null;
  readonly faults: WiredFaults;
  readonly #deviceKey: string;
  readonly #opts: WiredDeviceOptions;
  readonly #history: BoundedLog<DeviceEvent>;
  readonly #rejected: BoundedLog<RejectedInput>;
  readonly #stateListeners = new Set<(change: StateChange) => void>();
  readonly #addressListeners = new Set<(from: string | null, to: string) => void>();
  #state: AgentState;
  #bound: boolean;
  #lastCode: FailureCode | null = null;
  #lastResult: UnbindResult | null = null;
  #ip: string | null = null;
  #epoch = 0;
  #abort: AbortController | null = null;
  #inFlight: Promise<void> | null = null;
  #pendingIpChange: boolean;

  constructor(opts: WiredDeviceOptions) {
    const identity = deviceIdentitySchema.parse(opts.identity);
    this.devId = identity.devId;
    this.serial = identity.serial;
    this.pid = identity.pid;
    this.region = identity.region;
    this.firmware = identity.firmware;
    this.model = opts.model ?? null;
    this.faults = { ...opts.faults };
    this.#deviceKey = identity.deviceKey;
    this.#bound = identity.bound;
    this.#opts = opts;
    this.#history = new BoundedLog(opts.historyLimit ?? 100);
    this.#rejected = new BoundedLog(20);
    this.#state = opts.initialState ?? 'waiting';
    this.#pendingIpChange = this.faults.ipChange ?? false;
    // A failed DHCP client is visible on the status port: the device cannot be reached at all.
    if (this.faults.dhcp) {
      this.#ip = NO_ADDRESS;
      this.#lastCode = 'DHCP_FAILED';
    }
  }

  get state(): AgentState {
    return this.#state;
  }
  get light(): Light | null {
    return isPairingState(this.#state) ? LIGHTS[this.#state] : null;
  }
  get bound(): boolean {
    return this.#bound;
  }
  get lastCode(): FailureCode | null {
    return this.#lastCode;
  }
  get lastResult(): UnbindResult | null {
    return this.#lastResult;
  }
  /** The device's IPv4 address; 0.0.0.0 when its DHCP failed; null before the bench gave it one. */
  get ip(): string | null {
    return this.#ip;
  }
  get reachable(): boolean {
    return this.#ip !== null && this.#ip !== NO_ADDRESS;
  }

  /** The bench's DHCP gave the device an address (at start, or a new lease). */
  assignAddress(ip: string): void {
    const from = this.#ip;
    if (from === ip) return;
    this.#ip = ip;
    if (from !== null) this.#record('fault', `address changed from ${from} to ${ip}`);
    for (const l of this.#addressListeners) l(from, ip);
  }

  onAddressChange(listener: (from: string | null, to: string) => void): () => void {
    this.#addressListeners.add(listener);
    return () => this.#addressListeners.delete(listener);
  }
  onStateChange(listener: (change: StateChange) => void): () => void {
    this.#stateListeners.add(listener);
    return () => this.#stateListeners.delete(listener);
  }

  /** `GET /info`; null while in normal operation (no pairing state to report: DESIGN §6). */
  info(): DeviceInfo | null {
    if (!isPairingState(this.#state)) return null;
    return { devId: this.devId, pid: this.pid, sn: this.serial, fw: this.firmware, rg: this.region, st: this.#state, ...(this.model ? { model: this.model } : {}) };
  }

  /** `GET /status`; null while in normal operation. */
  statusBody(): DeviceStatus | null {
    if (!isPairingState(this.#state)) return null;
    return {
      st: this.#state,
      ...(this.#lastCode ? { code: this.#lastCode } : {}),
      ...(this.#lastResult ? { result: this.#lastResult } : {}),
      ...(this.#ip ? { ip: this.#ip } : {}),
    };
  }

  status(): FleetDeviceStatus {
    return { devId: this.devId, serial: this.serial, pid: this.pid, state: this.#state, light: this.light, lastCode: this.#lastCode, result: this.#lastResult };
  }

  details(): WiredDeviceDetails {
    return {
      ...this.status(),
      region: this.region,
      firmware: this.firmware,
      bound: this.#bound,
      ip: this.#ip,
      model: this.model,
      faults: { ...this.faults },
      history: this.#history.list(),
      rejected: this.#rejected.list(),
    };
  }

  async idle(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
  }

  /** The operator holds the reset button: back to `waiting`, whatever the device was doing. */
  reset(): void {
    this.#epoch++;
    this.#abort?.abort();
    this.#abort = null;
    this.#record('reset', 'reset by the operator');
    this.#lastCode = this.faults.dhcp ? 'DHCP_FAILED' : null;
    this.#lastResult = null;
    this.#moveTo('waiting', 'reset');
  }

  /** Switched off: an attempt in flight is dropped, so nothing holds the process open. */
  stop(): void {
    if (!this.#abort) return;
    this.#epoch++;
    this.#abort.abort();
    this.#abort = null;
    this.#record('fault', 'switched off while working');
  }

  /**
   * `POST /unbind {token}` (the token is already checked for shape). Accepted only in `waiting`;
   * the move to `unbinding` happens before any await, so a second token finds the device busy.
   */
  acceptToken(token: string): { accepted: true } | { accepted: false; code: FailureCode } {
    if (this.#state !== 'waiting') {
      this.#rejected.push({ at: new Date().toISOString(), reason: 'NOT_WAITING', detail: `token ${redactToken(token)} while ${this.#state}` });
      this.#record('rejected', `NOT_WAITING: token ${redactToken(token)} while ${this.#state}`);
      if (this.#state === 'operating') this.#lastCode = 'NOT_WAITING';
      return { accepted: false, code: 'NOT_WAITING' };
    }
    const epoch = this.#epoch;
    this.#lastCode = null;
    this.#lastResult = null;
    this.#moveTo('unbinding');
    this.#record('code', `token ${redactToken(token)} over the local API`);
    const abort = new AbortController();
    this.#abort = abort;
    const run = this.#run(token, epoch, abort.signal)
      .catch((err: unknown) => {
        if (epoch !== this.#epoch) return;
        this.#record('error', `attempt failed: ${err instanceof Error ? err.message : String(err)}`);
        this.#fail('CLOUD_UNREACHABLE');
      })
      .finally(() => {
        if (this.#inFlight === run) this.#inFlight = null;
        if (this.#abort === abort) this.#abort = null;
      });
    this.#inFlight = run;
    return { accepted: true };
  }

  #record(kind: DeviceEvent['kind'], detail: string, code?: FailureCode | null): void {
    this.#history.push({ at: new Date().toISOString(), kind, detail, ...(code === undefined ? {} : { code }) });
  }

  #moveTo(to: AgentState, note?: string): void {
    const from = this.#state;
    const allowed = from === 'operating' ? to === 'waiting' : isPairingState(to) && (from === to || canTransition(from, to));
    if (!allowed) return this.#record('error', `refused transition ${from} → ${to}`);
    if (from === to) return;
    this.#state = to;
    const change: StateChange = { at: new Date().toISOString(), devId: this.devId, from, to, code: this.#lastCode, result: this.#lastResult, ...(note ? { note } : {}) };
    this.#record('state', `${from} → ${to}${note ? ` (${note})` : ''}`, this.#lastCode);
    for (const l of this.#stateListeners) {
      try {
        l(change);
      } catch {
        // an observer's bug must not stop the device
      }
    }
  }

  #fail(code: FailureCode | null, detail?: string): void {
    this.#lastCode = code;
    this.#lastResult = 'FAILED';
    if (detail) this.#record('fault', detail, code);
    this.#moveTo('failed');
  }

  async #run(token: string, epoch: number, signal: AbortSignal): Promise<void> {
    const stale = (): boolean => epoch !== this.#epoch;
    await sleep(this.faults.latencyMs ?? 0, signal);
    if (stale()) return;
    if (this.faults.unreachable) return this.#fail('CLOUD_UNREACHABLE', 'no route to the authority (fault)');
    const parsed = parseToken(token);
    const region = parsed.ok ? parsed.value.region : '';
    const baseUrl = Object.hasOwn(this.#opts.regionUrls, region) ? this.#opts.regionUrls[region] : undefined;
    if (!baseUrl) return this.#fail('CLOUD_UNREACHABLE', `no authority address for region "${region}"`);

    const ts = Date.now();
    const nonce = randomUrlSafe(NONCE_LENGTH);
    const request = { devId: this.devId, token, ts, nonce, sig: signDeviceRequest(this.#deviceKey, this.devId, token, ts, nonce) };
    const ipChange = this.#pendingIpChange && this.#opts.renewLease !== undefined;
    this.#pendingIpChange = false;
    const ipAtSend = this.#ip;
    this.#record('request', `POST ${baseUrl}/device/v1/unbind for token ${redactToken(token)}`);
    const exchange = await exchangeUnbind(baseUrl, request, {
      timeoutMs: this.#opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      signal,
      onSent: () => {
        if (ipChange) this.assignAddress(this.#opts.renewLease!());
      },
      // The connection was opened from the old address: its answer cannot reach the new one.
      onAnswerArriving: () => (this.#ip !== ipAtSend ? 'abandon' : 'read'),
    });
    if (stale()) return;
    this.#conclude(exchange);
  }

  #conclude(exchange: AuthorityExchange): void {
    switch (exchange.kind) {
      case 'answer': {
        const { result, reason } = exchange.response;
        this.#record('answer', `${result}${reason ? ` ${reason}` : ''}`, reason ?? null);
        if (result === 'FAILED') return this.#fail(reason ?? null);
        this.#bound = false; // UNBOUND or NOT_BOUND: no binding is left in the cloud
        this.#lastResult = result;
        this.#lastCode = null;
        return this.#moveTo('unbound');
      }
      case 'abandoned':
        return this.#fail('NETWORK_CHANGED', 'answer lost: the address changed while the request was in flight');
      case 'timeout':
        return this.#fail('TIMEOUT', exchange.detail);
      case 'unreachable':
        return this.#fail('CLOUD_UNREACHABLE', exchange.detail);
      case 'bad-answer':
        return this.#fail('CLOUD_UNREACHABLE', `authority answer unusable: ${exchange.detail}`);
      case 'cancelled':
        return;
    }
  }
}
