import {
  LIGHTS,
  canTransition,
  parseToken,
  randomUrlSafe,
  redactToken,
  signDeviceRequest,
  type DeviceInfo,
  type FailureCode,
  type UnbindResult,
} from '../protocol/index.js';
import { isPairingState, type AgentState, type FleetDeviceStatus } from '../protocol/virtual-bench.js';
import { exchangeUnbind, type AuthorityExchange } from './authority-client.js';
import { BoundedLog } from './bounded-log.js';
import type { DeviceEvent, StateChange } from './device-agent.js';
import type { DeviceFaults } from './device-faults.js';
import { deviceIdentitySchema, type DeviceIdentity } from './device-identity.js';

/**
 * Faults a UART gateway can be given. Its uplink is wired, so the QR camera's Wi-Fi events
 * (address change mid-request, power loss before the answer) are not modelled; `silent` is a dead
 * UART transmit line: the gateway reads every command and answers none.
 */
export type UartGatewayFaults = Pick<DeviceFaults, 'dhcp' | 'unreachable' | 'latencyMs'> & { silent?: boolean };

export interface UartGatewayAgentOptions {
  identity: DeviceIdentity;
  /** Authority base URL by region; the token's region picks it (DESIGN §4.2). */
  regionUrls: Readonly<Record<string, string>>;
  /** `waiting` (reset, the default) or `operating` (never reset: refuses every command but reset). */
  initialState?: 'waiting' | 'operating';
  faults?: UartGatewayFaults;
  requestTimeoutMs?: number;
  /** Shown in +INFO. */
  model?: string;
  historyLimit?: number;
}

export interface UartGatewayDetails extends FleetDeviceStatus {
  region: string;
  firmware: string;
  bound: boolean;
  history: DeviceEvent[];
}

export type TokenAcceptance = { accepted: true } | { accepted: false; code: 'NOT_WAITING' | 'TOKEN_INVALID' };

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

/**
 * The logic of a UART-attached gateway (DESIGN §4.6, §6): once reset it takes one token, makes the
 * signed request of §4.3 through the shared authority exchange, and shows the outcome until it is
 * reset again. It knows nothing of the serial line: uart-gateway.ts turns its state changes into
 * `+STATE` and `+RESULT` lines.
 */
export class UartGatewayAgent {
  readonly devId: string;
  readonly serial: string;
  readonly pid: string;
  readonly region: string;
  readonly firmware: string;
  readonly faults: Readonly<UartGatewayFaults>;
  readonly #deviceKey: string;
  readonly #opts: UartGatewayAgentOptions;
  readonly #history: BoundedLog<DeviceEvent>;
  readonly #listeners = new Set<(change: StateChange) => void>();
  #state: AgentState;
  #bound: boolean;
  #lastCode: FailureCode | null = null;
  #lastResult: UnbindResult | null = null;
  /** Bumped by every reset and switch-off: an attempt of an older epoch no longer speaks for the device. */
  #epoch = 0;
  #abort: AbortController | null = null;
  #inFlight: Promise<void> | null = null;

  constructor(opts: UartGatewayAgentOptions) {
    const identity = deviceIdentitySchema.parse(opts.identity);
    this.devId = identity.devId;
    this.serial = identity.serial;
    this.pid = identity.pid;
    this.region = identity.region;
    this.firmware = identity.firmware;
    this.#deviceKey = identity.deviceKey;
    this.#bound = identity.bound;
    this.faults = { ...opts.faults };
    this.#opts = opts;
    this.#history = new BoundedLog(opts.historyLimit ?? 100);
    this.#state = opts.initialState ?? 'waiting';
  }

  get state(): AgentState {
    return this.#state;
  }
  get bound(): boolean {
    return this.#bound;
  }

  /** The +INFO answer; null while `operating` (the pairing console is only active once reset). */
  info(): DeviceInfo | null {
    if (!isPairingState(this.#state)) return null;
    return { devId: this.devId, pid: this.pid, sn: this.serial, fw: this.firmware, rg: this.region, st: this.#state, ...(this.#opts.model ? { model: this.#opts.model } : {}) };
  }

  status(): FleetDeviceStatus {
    return {
      devId: this.devId,
      serial: this.serial,
      pid: this.pid,
      state: this.#state,
      light: isPairingState(this.#state) ? LIGHTS[this.#state] : null,
      lastCode: this.#lastCode,
      result: this.#lastResult,
    };
  }

  details(): UartGatewayDetails {
    return { ...this.status(), region: this.region, firmware: this.firmware, bound: this.#bound, history: this.#history.list() };
  }

  onStateChange(listener: (change: StateChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  record(kind: DeviceEvent['kind'], detail: string, code?: FailureCode | null): void {
    this.#history.push({ at: new Date().toISOString(), kind, detail, ...(code === undefined ? {} : { code }) });
  }

  /** Resolves when no attempt is in flight. */
  async idle(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
  }

  /** The operator holds the reset button: any attempt is dropped (its answer ignored) and the gateway waits for a token. */
  reset(): void {
    this.#epoch++;
    this.#abort?.abort();
    this.#abort = null;
    this.record('reset', 'reset by the operator');
    this.#lastCode = null;
    this.#lastResult = null;
    this.#moveTo('waiting', 'reset');
  }

  /** Switched off: the request in flight is cancelled so nothing waits for its timeout; the state stays. */
  stop(): void {
    if (!this.#abort) return;
    this.#epoch++;
    this.#abort.abort();
    this.#abort = null;
    this.record('fault', 'switched off while working');
  }

  /**
   * A token arrives over the line. Accepted only in `waiting`; the move to `unbinding` happens before
   * this returns, so a second token right behind it is refused NOT_WAITING.
   */
  receiveToken(token: string): TokenAcceptance {
    if (this.#state !== 'waiting') {
      this.record('rejected', `token refused: device is ${this.#state}, not reset`, 'NOT_WAITING');
      return { accepted: false, code: 'NOT_WAITING' };
    }
    const parsed = parseToken(token);
    if (!parsed.ok) {
      this.record('rejected', `not a token: ${parsed.error}`, 'TOKEN_INVALID');
      return { accepted: false, code: 'TOKEN_INVALID' };
    }
    const epoch = this.#epoch;
    this.#lastCode = null;
    this.#lastResult = null;
    this.#moveTo('unbinding');
    this.record('code', `token ${redactToken(token)} over UART`);
    const abort = new AbortController();
    this.#abort = abort;
    const run = this.#run(token, parsed.value.region, epoch, abort.signal)
      .catch((err: unknown) => {
        if (epoch !== this.#epoch) return;
        this.record('error', `attempt failed: ${err instanceof Error ? err.message : String(err)}`);
        this.#fail('CLOUD_UNREACHABLE');
      })
      .finally(() => {
        if (this.#inFlight === run) this.#inFlight = null;
        if (this.#abort === abort) this.#abort = null;
      });
    this.#inFlight = run;
    return { accepted: true };
  }

  async #run(token: string, region: string, epoch: number, signal: AbortSignal): Promise<void> {
    const faults = this.faults;
    await sleep(faults.latencyMs ?? 0, signal);
    if (epoch !== this.#epoch) return;
    if (faults.dhcp) return this.#fail('DHCP_FAILED', 'the uplink got no address (0.0.0.0)');
    const baseUrl = Object.hasOwn(this.#opts.regionUrls, region) ? this.#opts.regionUrls[region] : undefined;
    if (!baseUrl) return this.#fail('CLOUD_UNREACHABLE', `no authority address for region "${region}"`);
    if (faults.unreachable) return this.#fail('CLOUD_UNREACHABLE', 'no route to the authority (fault)');

    const ts = Date.now();
    const nonce = randomUrlSafe(NONCE_LENGTH);
    const request = { devId: this.devId, token, ts, nonce, sig: signDeviceRequest(this.#deviceKey, this.devId, token, ts, nonce) };
    this.record('request', `POST ${baseUrl}/device/v1/unbind for token ${redactToken(token)}`);
    const exchange = await exchangeUnbind(baseUrl, request, { timeoutMs: this.#opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS, signal });
    if (epoch !== this.#epoch) return;
    this.#conclude(exchange);
  }

  #conclude(exchange: AuthorityExchange): void {
    switch (exchange.kind) {
      case 'answer': {
        const { result, reason } = exchange.response;
        this.record('answer', `${result}${reason ? ` ${reason}` : ''}`, reason ?? null);
        if (result === 'FAILED') return this.#fail(reason ?? null);
        this.#bound = false; // UNBOUND or NOT_BOUND: no binding is left in the cloud either way
        this.#lastResult = result;
        this.#moveTo('unbound');
        return;
      }
      case 'timeout':
        return this.#fail('TIMEOUT', exchange.detail);
      case 'unreachable':
        return this.#fail('CLOUD_UNREACHABLE', exchange.detail);
      case 'bad-answer':
        return this.#fail('CLOUD_UNREACHABLE', `authority answer unusable: ${exchange.detail}`);
      case 'abandoned': // only asked for by onAnswerArriving, which this device does not use
        return this.#fail('CLOUD_UNREACHABLE', 'answer abandoned');
      case 'cancelled':
        return;
    }
  }

  #fail(code: FailureCode | null, detail?: string): void {
    this.#lastCode = code;
    this.#lastResult = 'FAILED';
    if (detail) this.record('fault', detail, code);
    this.#moveTo('failed');
  }

  #moveTo(to: AgentState, note?: string): void {
    const from = this.#state;
    if (from === to) return;
    // DESIGN §6 for the pairing states; normal operation is left only through a reset.
    const allowed = from === 'operating' ? to === 'waiting' : isPairingState(to) && canTransition(from, to);
    if (!allowed) {
      this.record('error', `refused transition ${from} → ${to}`);
      return;
    }
    this.#state = to;
    const change: StateChange = { at: new Date().toISOString(), devId: this.devId, from, to, code: this.#lastCode, result: this.#lastResult, ...(note ? { note } : {}) };
    this.record('state', `${from} → ${to}${note ? ` (${note})` : ''}`, this.#lastCode);
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (err) {
        this.record('error', `state observer failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
  }
}
