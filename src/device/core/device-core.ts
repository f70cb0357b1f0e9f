import {
  LIGHTS,
  canTransition,
  randomUrlSafe,
  computeResetCode,
  redactToken,
  signDeviceRequest,
  type DeviceInfo,
  type FailureCode,
  type Light,
  type UnbindResult,
} from '../../protocol/index.js';
import { isPairingState, type AgentState, type FleetDeviceStatus } from '../../protocol/virtual-bench.js';
import { exchangeUnbindRetrying, type AuthorityExchange, type ExchangeOptions, type RetryPolicy } from './signed-unbind-client.js';
import { BoundedLog } from './bounded-log.js';
import { deviceIdentitySchema, type DeviceIdentity } from './device-identity.js';

/**
 * What every virtual device of src/device shares, whatever way a token reaches it (QR image, local
 * API, serial line): its identity, the DESIGN §6 state machine with its light, a bounded history,
 * the reset epoch that makes an older attempt stop speaking for the device, and the signed unbind
 * request of DESIGN §4.3 through signed-unbind-client.ts. Each device class keeps only how it receives a
 * token and its faults.
 */

export interface DeviceEvent {
  at: string;
  kind: 'state' | 'code' | 'wifi' | 'request' | 'answer' | 'fault' | 'reset' | 'restart' | 'rejected' | 'error';
  detail: string;
  code?: FailureCode | null;
}

/**
 * An input the device refused: NOT_WAITING (it is not waiting for a token), or a reason of the device's own
 * kind of input (a camera's frame that does not decode): the device class names those, the core does not.
 */
export interface RejectedInput<Reason extends string = string> {
  at: string;
  reason: Reason | 'NOT_WAITING';
  detail: string;
}

export interface StateChange {
  at: string;
  devId: string;
  from: AgentState;
  to: AgentState;
  code: FailureCode | null;
  result: UnbindResult | null;
  /** Why, when the code does not say it: "reset", "restarted after power loss". */
  note?: string;
}

/** The options every device class takes (each class's own options extend these by shape). */
export interface DeviceCoreOptions {
  identity: DeviceIdentity;
  /** Authority base URL by region; the token's region picks it (DESIGN §4.2). */
  regionUrls: Readonly<Record<string, string>>;
  /** `waiting` (reset, the default) or `operating` (never reset). */
  initialState?: 'waiting' | 'operating';
  requestTimeoutMs?: number;
  /** How often a lost answer is asked for again (default DEFAULT_RETRY). */
  retry?: RetryPolicy;
  historyLimit?: number;
}

/** What every device's `details()` starts with, in this order. */
export interface DeviceCoreDetails extends FleetDeviceStatus {
  region: string;
  firmware: string;
  bound: boolean;
}

/** What `details()` gives for a device that reports on its own (see ReportingDeviceCore). */
export interface ReportingDeviceDetails<Reason extends string = string> extends DeviceCoreDetails {
  ip: string | null;
  history: DeviceEvent[];
  rejected: RejectedInput<Reason>[];
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
export const DEFAULT_HISTORY_LIMIT = 100;
export const DEFAULT_REJECTED_LIMIT = 20;
const NONCE_LENGTH = 32;

/** The light for a state; null while `operating` (no pairing light). */
export function lightOf(state: AgentState): Light | null {
  return isPairingState(state) ? LIGHTS[state] : null;
}

export abstract class DeviceCore {
  readonly devId: string;
  readonly serial: string;
  readonly pid: string;
  readonly region: string;
  readonly firmware: string;
  readonly #deviceKey: string;
  readonly #regionUrls: Readonly<Record<string, string>>;
  readonly #requestTimeoutMs: number;
  readonly #retry: RetryPolicy | undefined;
  readonly #history: BoundedLog<DeviceEvent>;
  readonly #listeners = new Set<(change: StateChange) => void>();
  #state: AgentState;
  #bound: boolean;
  #lastCode: FailureCode | null = null;
  #lastResult: UnbindResult | null = null;
  /** Bumped by every reset and switch-off: an attempt of an older epoch no longer speaks for the device. */
  #epoch = 0;
  #abort: AbortController | null = null;
  #inFlight: Promise<unknown> | null = null;

  protected constructor(opts: DeviceCoreOptions) {
    const identity = deviceIdentitySchema.parse(opts.identity);
    this.devId = identity.devId;
    this.serial = identity.serial;
    this.pid = identity.pid;
    this.region = identity.region;
    this.firmware = identity.firmware;
    this.#deviceKey = identity.deviceKey;
    this.#bound = identity.bound;
    this.#regionUrls = opts.regionUrls;
    this.#requestTimeoutMs = opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS;
    this.#retry = opts.retry;
    this.#history = new BoundedLog(opts.historyLimit ?? DEFAULT_HISTORY_LIMIT);
    this.#state = opts.initialState ?? 'waiting';
  }

  get state(): AgentState {
    return this.#state;
  }
  /** Whether the device believes it is bound; only an authority answer changes it. */
  get bound(): boolean {
    return this.#bound;
  }

  status(): FleetDeviceStatus {
    return {
      devId: this.devId,
      serial: this.serial,
      pid: this.pid,
      state: this.#state,
      light: lightOf(this.#state),
      lastCode: this.#lastCode,
      result: this.#lastResult,
    };
  }

  onStateChange(listener: (change: StateChange) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Resolves when no attempt is in flight (for shutdown and tests). */
  async idle(): Promise<void> {
    while (this.#inFlight) await this.#inFlight;
  }

  /**
   * The operator holds the reset button: whatever the device was doing, it drops it and enters
   * `waiting`, ready for a token. An answer still on its way is ignored when it arrives.
   */
  reset(): void {
    this.#epoch++;
    this.#abort?.abort();
    this.#abort = null;
    this.record('reset', 'reset by the operator');
    this.#lastCode = this.codeAfterReset();
    this.#lastResult = null;
    this.moveTo('waiting', 'reset');
  }

  /**
   * The device is switched off (its fleet shuts down): an attempt in flight is dropped and its
   * request cancelled, so nothing holds the process open for a timeout. The state is left as it
   * was, `unbinding` included: a switched-off device shows no new result.
   */
  stop(): void {
    if (!this.#abort) return;
    this.#epoch++;
    this.#abort.abort();
    this.#abort = null;
    this.record('fault', 'switched off while working');
  }

  // ---- for the device classes ----

  protected get lastCodeValue(): FailureCode | null {
    return this.#lastCode;
  }
  protected get lastResultValue(): UnbindResult | null {
    return this.#lastResult;
  }
  protected setLastCode(code: FailureCode | null): void {
    this.#lastCode = code;
  }

  /** The code a device shows right after a reset (a device without an address keeps saying so). */
  protected codeAfterReset(): FailureCode | null {
    return null;
  }

  /** A state observer threw; the device goes on either way. */
  protected observerFailed(_err: unknown): void {
    // an observer's bug must not stop the device
  }

  protected record(kind: DeviceEvent['kind'], detail: string, code?: FailureCode | null): void {
    this.#history.push({ at: new Date().toISOString(), kind, detail, ...(code === undefined ? {} : { code }) });
  }

  protected historyList(): DeviceEvent[] {
    return this.#history.list();
  }

  /** What every `details()` starts with. */
  protected coreDetails(): DeviceCoreDetails {
    return { ...this.status(), region: this.region, firmware: this.firmware, bound: this.#bound };
  }

  /** The reset code the authority computes for a reset request of this device (DESIGN §4.9). */
  protected expectedResetCode(challenge: string): string {
    return computeResetCode(this.#deviceKey, this.devId, challenge);
  }

  /** The DESIGN §4.5/§4.6 info block; null while `operating` (no pairing state to report: DESIGN §6). */
  protected pairingInfo(model: string | null | undefined): DeviceInfo | null {
    if (!isPairingState(this.#state)) return null;
    return { devId: this.devId, pid: this.pid, sn: this.serial, fw: this.firmware, rg: this.region, st: this.#state, ...(model ? { model } : {}) };
  }

  protected isStale(epoch: number): boolean {
    return epoch !== this.#epoch;
  }

  protected moveTo(to: AgentState, note?: string): void {
    const from = this.#state;
    // DESIGN §6 for the pairing states.
    // A device in normal operation leaves it through a reset, or a local unbind with its admin password (§4.8).
    const allowed = from === 'operating' ? to === 'waiting' || to === 'unbinding' : isPairingState(to) && (from === to || canTransition(from, to));
    if (!allowed) return this.record('error', `refused transition ${from} → ${to}`);
    if (from === to) return;
    this.#state = to;
    const change: StateChange = { at: new Date().toISOString(), devId: this.devId, from, to, code: this.#lastCode, result: this.#lastResult, ...(note ? { note } : {}) };
    this.record('state', `${from} → ${to}${note ? ` (${note})` : ''}`, this.#lastCode);
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch (err) {
        this.observerFailed(err);
      }
    }
  }

  protected fail(code: FailureCode | null, detail?: string): void {
    this.#lastCode = code;
    this.#lastResult = 'FAILED';
    if (detail) this.record('fault', detail, code);
    this.moveTo('failed');
  }

  /**
   * Starts an attempt: the move to `unbinding` happens before any await, so a second token finds the
   * device busy. `run` gets the attempt's epoch and a signal that a reset or switch-off aborts; if it
   * throws while still current, the attempt fails CLOUD_UNREACHABLE. Resolves when it is over.
   */
  protected startAttempt(codeDetail: string, run: (epoch: number, signal: AbortSignal) => Promise<void>): Promise<void> {
    const epoch = this.#epoch;
    this.#lastCode = null;
    this.#lastResult = null;
    this.moveTo('unbinding');
    this.record('code', codeDetail);
    const abort = new AbortController();
    this.#abort = abort;
    const tracked = run(epoch, abort.signal)
      .catch((err: unknown) => {
        if (epoch !== this.#epoch) return;
        this.record('error', `attempt failed: ${err instanceof Error ? err.message : String(err)}`);
        this.fail('CLOUD_UNREACHABLE');
      })
      .finally(() => {
        if (this.#inFlight === tracked) this.#inFlight = null;
        if (this.#abort === abort) this.#abort = null;
      });
    this.#inFlight = tracked;
    return tracked;
  }

  /** The authority for a region, or the attempt fails CLOUD_UNREACHABLE (null) when the device knows none. */
  protected authorityFor(region: string): string | null {
    const baseUrl = Object.hasOwn(this.#regionUrls, region) ? this.#regionUrls[region] : undefined;
    if (baseUrl) return baseUrl;
    this.fail('CLOUD_UNREACHABLE', `no authority address for region "${region}"`);
    return null;
  }

  /**
   * The signed request of DESIGN §4.3, sent through the shared authority exchange; a lost answer is asked
   * for again with a new nonce and ts, and a replayed answer is the result like any other.
   */
  protected sendUnbind(
    baseUrl: string,
    token: string,
    signal: AbortSignal,
    hooks: Pick<ExchangeOptions, 'onSent' | 'onAnswerArriving'> = {},
    method?: 'local',
  ): Promise<AuthorityExchange> {
    const sign = () => {
      const ts = Date.now();
      const nonce = randomUrlSafe(NONCE_LENGTH);
      return { devId: this.devId, token, ts, nonce, sig: signDeviceRequest(this.#deviceKey, this.devId, token, ts, nonce, method), ...(method ? { method } : {}) };
    };
    this.record('request', `POST ${baseUrl}/device/v1/unbind for token ${redactToken(token)}${method ? ' (local unbind)' : ''}`);
    return exchangeUnbindRetrying(baseUrl, sign, {
      timeoutMs: this.#requestTimeoutMs,
      signal,
      ...hooks,
      ...(this.#retry ? { retry: this.#retry } : {}),
      onRetry: (attempt, lost) =>
        this.record('request', `answer lost (${lost.kind === 'unreachable' || lost.kind === 'timeout' ? lost.detail : lost.kind}): asking again, attempt ${attempt}`),
    });
  }

  /**
   * What the device makes of the exchange: an answer ends in `unbound` or `failed`; a lost request
   * fails with its code; a cancelled one (reset, switch-off) changes nothing. An answer the device
   * chose not to read (`abandoned`) is each device's own story.
   */
  protected conclude(exchange: AuthorityExchange, onAbandoned: () => void | Promise<void>): void | Promise<void> {
    switch (exchange.kind) {
      case 'answer': {
        const { result, reason, replayed } = exchange.response;
        this.record('answer', `${result}${reason ? ` ${reason}` : ''}${replayed ? ' (replayed: decided before)' : ''}`, reason ?? null);
        if (result === 'FAILED') return this.fail(reason ?? null);
        this.#bound = false; // UNBOUND or NOT_BOUND: either way no binding is left in the cloud
        this.#lastResult = result;
        this.#lastCode = null;
        return this.moveTo('unbound');
      }
      case 'abandoned':
        return onAbandoned();
      case 'timeout':
        return this.fail('TIMEOUT', exchange.detail);
      case 'unreachable':
        return this.fail('CLOUD_UNREACHABLE', exchange.detail);
      case 'bad-answer':
        return this.fail('CLOUD_UNREACHABLE', `authority answer unusable: ${exchange.detail}`);
      case 'cancelled':
        return;
    }
  }
}

/**
 * A device that also reports its outcome on its own (`light`, `lastCode`, `lastResult`) and keeps a
 * log of what it refused: the QR camera and the LAN device. (The UART gateway reports only through
 * its serial line and status row.) `Reason`: what else than NOT_WAITING its kind of input can be
 * refused for (the QR camera's frame rejections; `never` for a device that only takes tokens).
 */
export abstract class ReportingDeviceCore<Reason extends string> extends DeviceCore {
  readonly #rejected: BoundedLog<RejectedInput<Reason>>;

  protected constructor(opts: DeviceCoreOptions & { rejectedLimit?: number }) {
    super(opts);
    this.#rejected = new BoundedLog(opts.rejectedLimit ?? DEFAULT_REJECTED_LIMIT);
  }

  /** The indicator light; null while `operating` (no pairing light). */
  get light(): Light | null {
    return lightOf(this.state);
  }
  get lastCode(): FailureCode | null {
    return this.lastCodeValue;
  }
  get lastResult(): UnbindResult | null {
    return this.lastResultValue;
  }

  protected rejectedList(): RejectedInput<Reason>[] {
    return this.#rejected.list();
  }

  /** Refuses an input; a device never reset has no other way to say why nothing happens. */
  protected reject(reason: RejectedInput<Reason>['reason'], detail: string): void {
    this.#rejected.push({ at: new Date().toISOString(), reason, detail });
    this.record('rejected', `${reason}: ${detail}`);
    if (reason === 'NOT_WAITING' && this.state === 'operating') this.setLastCode('NOT_WAITING');
  }
}
