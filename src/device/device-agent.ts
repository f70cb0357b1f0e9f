import {
  LIGHTS,
  canTransition,
  parseToken,
  randomUrlSafe,
  redactToken,
  signDeviceRequest,
  type FailureCode,
  type Light,
  type QrPayload,
  type UnbindResult,
} from '../protocol/index.js';
import { isPairingState, type AgentState, type FleetDeviceStatus } from '../protocol/virtual-bench.js';
import { exchangeUnbind, type AuthorityExchange } from './authority-client.js';
import { joinBenchWifi, nextLease, type BenchNetworks } from './bench-network.js';
import { BoundedLog } from './bounded-log.js';
import type { CameraImage } from './camera-frame.js';
import type { DeviceFaults } from './device-faults.js';
import { deviceIdentitySchema, type DeviceIdentity } from './device-identity.js';
import { decodeCameraImage, type FrameDecode, type FrameRejection } from './qr-frame-decoder.js';

/**
 * The reference device agent of the QR method (DESIGN §3, §4.3, §6): a camera that, once reset,
 * decodes a pairing code, joins the bench Wi-Fi and asks the authority of the token's region to
 * unbind it, showing every step on its light. It imports only src/protocol, as firmware would.
 *
 * `unbound` and `failed` are final until the operator resets the device again; a device that is
 * not `waiting` acts on no code. Nothing in the public API throws on bad input.
 */

export interface DeviceAgentOptions {
  identity: DeviceIdentity;
  /** The bench's Wi-Fi networks by SSID. */
  networks: BenchNetworks;
  /** Authority base URL by region; the token's region picks it (DESIGN §4.2). */
  regionUrls: Readonly<Record<string, string>>;
  faults?: DeviceFaults;
  /** `waiting` (reset, the default) or `operating` (never reset: refuses every code). */
  initialState?: 'waiting' | 'operating';
  requestTimeoutMs?: number;
  /** Time to join the Wi-Fi, in ms. */
  wifiJoinMs?: number;
  /** Boot time after a power loss, in ms. */
  restartMs?: number;
  /** Frame decoder; cameras on one screen share one (see createSharedDecoder). */
  decode?: (image: CameraImage) => FrameDecode;
  historyLimit?: number;
  rejectedLimit?: number;
}

export interface DeviceEvent {
  at: string;
  kind: 'state' | 'code' | 'wifi' | 'request' | 'answer' | 'fault' | 'reset' | 'restart' | 'rejected' | 'error';
  detail: string;
  code?: FailureCode | null;
}

export interface RejectedInput {
  at: string;
  reason: FrameRejection | 'NOT_WAITING';
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

export type ScanOutcome =
  /** The device is working on a code: the frame is not even decoded. */
  | { kind: 'busy' }
  | { kind: 'rejected'; reason: RejectedInput['reason']; detail: string }
  /** The attempt ran to its end (or was cut short by a reset: `state` says where the device is). */
  | { kind: 'finished'; state: AgentState; result: UnbindResult | null; code: FailureCode | null };

export interface DeviceDetails extends FleetDeviceStatus {
  region: string;
  firmware: string;
  bound: boolean;
  ip: string | null;
  history: DeviceEvent[];
  rejected: RejectedInput[];
}

const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
const DEFAULT_RESTART_MS = 1_000;
const NONCE_LENGTH = 32;

/** A pause that a reset or a switch-off cuts short (the caller then sees its epoch is stale). */
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

export class DeviceAgent {
  readonly devId: string;
  readonly serial: string;
  readonly pid: string;
  readonly region: string;
  readonly firmware: string;
  readonly #deviceKey: string;
  readonly #opts: DeviceAgentOptions;
  readonly #decode: (image: CameraImage) => FrameDecode;
  readonly #history: BoundedLog<DeviceEvent>;
  readonly #rejected: BoundedLog<RejectedInput>;
  readonly #listeners = new Set<(change: StateChange) => void>();
  #state: AgentState;
  #bound: boolean;
  #lastCode: FailureCode | null = null;
  #lastResult: UnbindResult | null = null;
  #ip: string | null = null;
  /** Bumped by every reset: an attempt from an older epoch no longer speaks for the device. */
  #epoch = 0;
  #abort: AbortController | null = null;
  #inFlight: Promise<unknown> | null = null;
  #pendingNetworkChange: boolean;
  #pendingPowerLoss: boolean;

  constructor(opts: DeviceAgentOptions) {
    const identity = deviceIdentitySchema.parse(opts.identity);
    this.devId = identity.devId;
    this.serial = identity.serial;
    this.pid = identity.pid;
    this.region = identity.region;
    this.firmware = identity.firmware;
    this.#deviceKey = identity.deviceKey;
    this.#bound = identity.bound;
    this.#opts = opts;
    this.#decode = opts.decode ?? decodeCameraImage;
    this.#history = new BoundedLog(opts.historyLimit ?? 100);
    this.#rejected = new BoundedLog(opts.rejectedLimit ?? 20);
    this.#state = opts.initialState ?? 'waiting';
    this.#pendingNetworkChange = opts.faults?.networkChange ?? false;
    this.#pendingPowerLoss = opts.faults?.powerLoss ?? false;
  }

  get state(): AgentState {
    return this.#state;
  }
  /** The indicator light; null while `operating` (no pairing light). */
  get light(): Light | null {
    return isPairingState(this.#state) ? LIGHTS[this.#state] : null;
  }
  /** Whether the device believes it is bound; only an authority answer changes it. */
  get bound(): boolean {
    return this.#bound;
  }
  get lastCode(): FailureCode | null {
    return this.#lastCode;
  }
  get lastResult(): UnbindResult | null {
    return this.#lastResult;
  }
  get ip(): string | null {
    return this.#ip;
  }

  status(): FleetDeviceStatus {
    return {
      devId: this.devId,
      serial: this.serial,
      pid: this.pid,
      state: this.#state,
      light: this.light,
      lastCode: this.#lastCode,
      result: this.#lastResult,
    };
  }

  details(): DeviceDetails {
    return {
      ...this.status(),
      region: this.region,
      firmware: this.firmware,
      bound: this.#bound,
      ip: this.#ip,
      history: this.#history.list(),
      rejected: this.#rejected.list(),
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
   * `waiting`, ready for a code. An answer still on its way is ignored when it arrives.
   */
  reset(): void {
    this.#epoch++;
    this.#abort?.abort();
    this.#abort = null;
    this.#ip = null;
    this.#record('reset', 'reset by the operator');
    this.#lastCode = null;
    this.#lastResult = null;
    this.#moveTo('waiting', 'reset');
  }

  /**
   * The device is switched off (the fleet shuts down): an attempt in flight is dropped and its
   * request cancelled, so nothing holds the process open for a timeout. The state is left as it
   * was, `unbinding` included: a switched-off device shows no new result.
   */
  stop(): void {
    if (!this.#abort) return;
    this.#epoch++;
    this.#abort.abort();
    this.#abort = null;
    this.#record('fault', 'switched off while working');
  }

  /** The camera sees an image. Decodes it if the device is `waiting`, then runs the unbind. */
  async scanImage(image: CameraImage): Promise<ScanOutcome> {
    try {
      if (this.#state === 'unbinding') return { kind: 'busy' }; // the code stays in view while it works
      if (this.#state !== 'waiting') return this.#reject('NOT_WAITING', `device is ${this.#state}, not reset`);
      let decoded: FrameDecode;
      try {
        decoded = this.#decode(image);
      } catch (err) {
        decoded = { ok: false, reason: 'BAD_IMAGE', detail: `decoder error: ${err instanceof Error ? err.message : String(err)}` };
      }
      if (!decoded.ok) return this.#reject(decoded.reason, decoded.detail);
      return await this.#attempt(decoded.payload);
    } catch (err) {
      this.#record('error', `scan failed: ${err instanceof Error ? err.message : String(err)}`);
      return { kind: 'rejected', reason: 'BAD_IMAGE', detail: 'internal error while scanning' };
    }
  }

  #reject(reason: RejectedInput['reason'], detail: string): ScanOutcome {
    this.#rejected.push({ at: new Date().toISOString(), reason, detail });
    this.#record('rejected', `${reason}: ${detail}`);
    // A device that was never reset has no other way to say why nothing happens.
    if (reason === 'NOT_WAITING' && this.#state === 'operating') this.#lastCode = 'NOT_WAITING';
    return { kind: 'rejected', reason, detail };
  }

  #record(kind: DeviceEvent['kind'], detail: string, code?: FailureCode | null): void {
    this.#history.push({ at: new Date().toISOString(), kind, detail, ...(code === undefined ? {} : { code }) });
  }

  #moveTo(to: AgentState, note?: string): boolean {
    const from = this.#state;
    // DESIGN §6 for the pairing states; a device in normal operation only leaves it through a reset.
    const allowed = from === 'operating' ? to === 'waiting' : isPairingState(to) && (from === to || canTransition(from, to));
    if (!allowed) {
      this.#record('error', `refused transition ${from} → ${to}`);
      return false;
    }
    if (from === to) return true;
    this.#state = to;
    const change: StateChange = {
      at: new Date().toISOString(),
      devId: this.devId,
      from,
      to,
      code: this.#lastCode,
      result: this.#lastResult,
      ...(note ? { note } : {}),
    };
    this.#record('state', `${from} → ${to}${note ? ` (${note})` : ''}`, this.#lastCode);
    for (const listener of this.#listeners) {
      try {
        listener(change);
      } catch {
        // an observer's bug must not stop the device
      }
    }
    return true;
  }

  /** Starts an attempt: the move to `unbinding` happens before any await, so a second frame sees `busy`. */
  #attempt(payload: QrPayload): Promise<ScanOutcome> {
    const epoch = this.#epoch;
    this.#lastCode = null;
    this.#lastResult = null;
    this.#moveTo('unbinding');
    this.#record('code', `code for Wi-Fi "${payload.s}", token ${redactToken(payload.t)}`);
    const abort = new AbortController();
    this.#abort = abort;
    const run = this.#run(payload, epoch, abort.signal).catch((err: unknown) => {
      if (epoch === this.#epoch) {
        this.#record('error', `attempt failed: ${err instanceof Error ? err.message : String(err)}`);
        this.#fail('CLOUD_UNREACHABLE');
      }
    });
    const tracked = run.finally(() => {
      if (this.#inFlight === tracked) this.#inFlight = null;
      if (this.#abort === abort) this.#abort = null;
    });
    this.#inFlight = tracked;
    return tracked.then(() => ({ kind: 'finished', state: this.#state, result: this.#lastResult, code: this.#lastCode }));
  }

  #fail(code: FailureCode | null, detail?: string): void {
    this.#lastCode = code;
    this.#lastResult = 'FAILED';
    if (detail) this.#record('fault', detail, code);
    this.#moveTo('failed');
  }

  async #run(payload: QrPayload, epoch: number, signal: AbortSignal): Promise<void> {
    const stale = (): boolean => epoch !== this.#epoch;
    const faults = this.#opts.faults ?? {};

    await sleep(this.#opts.wifiJoinMs ?? 0, signal);
    if (stale()) return;
    const join = joinBenchWifi(this.#opts.networks, payload.s, payload.p, faults.dhcp ?? false);
    this.#ip = join.ip;
    if (!join.ok) return this.#fail(join.code, join.detail); // never reaches the authority
    this.#record('wifi', `joined "${payload.s}" as ${join.ip}`);

    await sleep(faults.latencyMs ?? 0, signal);
    if (stale()) return;
    const token = parseToken(payload.t);
    const region = token.ok ? token.value.region : '';
    const baseUrl = Object.hasOwn(this.#opts.regionUrls, region) ? this.#opts.regionUrls[region] : undefined;
    if (!baseUrl) return this.#fail('CLOUD_UNREACHABLE', `no authority address for region "${region}"`);
    if (faults.unreachable) return this.#fail('CLOUD_UNREACHABLE', 'no route to the authority (fault)');

    const ts = Date.now();
    const nonce = randomUrlSafe(NONCE_LENGTH);
    const request = { devId: this.devId, token: payload.t, ts, nonce, sig: signDeviceRequest(this.#deviceKey, this.devId, payload.t, ts, nonce) };
    const powerLoss = this.#pendingPowerLoss;
    const networkChange = this.#pendingNetworkChange;
    this.#pendingPowerLoss = false;
    this.#pendingNetworkChange = false;
    const ipAtSend = this.#ip;
    this.#record('request', `POST ${baseUrl}/device/v1/unbind for token ${redactToken(payload.t)}`);

    const exchange = await exchangeUnbind(baseUrl, request, {
      timeoutMs: this.#opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      signal,
      onSent: () => {
        if (!networkChange) return;
        this.#ip = nextLease();
        this.#record('fault', `address changed from ${ipAtSend} to ${this.#ip} while the request was in flight`);
      },
      onAnswerArriving: () => (powerLoss || this.#ip !== ipAtSend ? 'abandon' : 'read'),
    });
    if (stale()) return;
    await this.#conclude(exchange, powerLoss, epoch, signal);
  }

  async #conclude(exchange: AuthorityExchange, powerLoss: boolean, epoch: number, signal: AbortSignal): Promise<void> {
    switch (exchange.kind) {
      case 'answer': {
        const { result, reason } = exchange.response;
        this.#record('answer', `${result}${reason ? ` ${reason}` : ''}`, reason ?? null);
        if (result === 'FAILED') return this.#fail(reason ?? null);
        this.#bound = false; // UNBOUND or NOT_BOUND: either way no binding is left in the cloud
        this.#lastResult = result;
        this.#lastCode = null;
        this.#moveTo('unbound');
        return;
      }
      case 'abandoned':
        if (powerLoss) return this.#restartAfterPowerLoss(epoch, signal);
        return this.#fail('NETWORK_CHANGED', 'answer discarded: it came to an address the device no longer has');
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

  /** Power came back: the device boots into pairing mode (it was reset and still is), knowing nothing of the answer. */
  async #restartAfterPowerLoss(epoch: number, signal: AbortSignal): Promise<void> {
    this.#ip = null;
    this.#record('fault', 'power lost before the answer was read; restarting');
    await sleep(this.#opts.restartMs ?? DEFAULT_RESTART_MS, signal);
    if (epoch !== this.#epoch) return;
    this.#record('restart', 'booted after power loss');
    this.#moveTo('waiting', 'restarted after power loss');
  }
}
