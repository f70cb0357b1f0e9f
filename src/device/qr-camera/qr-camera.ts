import { parseToken, redactToken, type FailureCode, type QrPayload, type UnbindResult } from '../../protocol/index.js';
import type { AgentState } from '../../protocol/virtual-bench.js';
import { abortableSleep as sleep } from '../core/abortable-sleep.js';
import type { RetryPolicy } from '../core/signed-unbind-client.js';
import { joinBenchWifi, nextLease, type BenchNetworks } from '../bench/bench-network.js';
import type { CameraImage } from './camera-frame.js';
import { ReportingDeviceCore, type RejectedInput, type ReportingDeviceDetails } from '../core/device-core.js';
import type { DeviceFaults } from '../core/device-faults.js';
import type { DeviceIdentity } from '../core/device-identity.js';
import { decodeCameraImage, type FrameDecode, type FrameRejection } from './qr-frame-decoder.js';

/**
 * The virtual QR camera of the QR method (DESIGN §3, §4.3, §6): a camera that, once reset,
 * decodes a pairing code, joins the bench Wi-Fi and asks the authority of the token's region to
 * unbind it, showing every step on its light. It imports only src/protocol, as firmware would.
 *
 * `unbound` and `failed` are final until the operator resets the device again; a device that is
 * not `waiting` acts on no code. Nothing in the public API throws on bad input.
 */

export interface QrCameraOptions {
  identity: DeviceIdentity;
  /** The bench's Wi-Fi networks by SSID. */
  networks: BenchNetworks;
  /** Authority base URL by region; the token's region picks it (DESIGN §4.2). */
  regionUrls: Readonly<Record<string, string>>;
  faults?: DeviceFaults;
  /** `waiting` (reset, the default) or `operating` (never reset: refuses every code). */
  initialState?: 'waiting' | 'operating';
  requestTimeoutMs?: number;
  /** How often a lost answer is asked for again (DEFAULT_RETRY). */
  retry?: RetryPolicy;
  /** Time to join the Wi-Fi, in ms. */
  wifiJoinMs?: number;
  /** Boot time after a power loss, in ms. */
  restartMs?: number;
  /** Frame decoder; cameras on one screen share one (see createSharedDecoder). */
  decode?: (image: CameraImage) => FrameDecode;
  historyLimit?: number;
  rejectedLimit?: number;
}

export type ScanOutcome =
  /** The device is working on a code: the frame is not even decoded. */
  | { kind: 'busy' }
  | { kind: 'rejected'; reason: RejectedInput<FrameRejection>['reason']; detail: string }
  /** The attempt ran to its end (or was cut short by a reset: `state` says where the device is). */
  | { kind: 'finished'; state: AgentState; result: UnbindResult | null; code: FailureCode | null };

/** The camera refuses frames for the decoder's reasons, and codes while not reset (NOT_WAITING). */
export type QrCameraDetails = ReportingDeviceDetails<FrameRejection>;

const DEFAULT_RESTART_MS = 1_000;

export class QrCamera extends ReportingDeviceCore<FrameRejection> {
  readonly #opts: QrCameraOptions;
  readonly #decode: (image: CameraImage) => FrameDecode;
  #ip: string | null = null;
  #pendingNetworkChange: boolean;
  #pendingPowerLoss: boolean;

  constructor(opts: QrCameraOptions) {
    super(opts);
    this.#opts = opts;
    this.#decode = opts.decode ?? decodeCameraImage;
    this.#pendingNetworkChange = opts.faults?.networkChange ?? false;
    this.#pendingPowerLoss = opts.faults?.powerLoss ?? false;
  }

  get ip(): string | null {
    return this.#ip;
  }

  details(): QrCameraDetails {
    return { ...this.coreDetails(), ip: this.#ip, history: this.historyList(), rejected: this.rejectedList() };
  }

  /** Reset (see DeviceCore.reset): the device also drops its Wi-Fi address. */
  override reset(): void {
    this.#ip = null;
    super.reset();
  }

  /** The camera sees an image. Decodes it if the device is `waiting`, then runs the unbind. */
  async scanImage(image: CameraImage): Promise<ScanOutcome> {
    try {
      if (this.state === 'unbinding') return { kind: 'busy' }; // the code stays in view while it works
      if (this.state !== 'waiting') return this.#reject('NOT_WAITING', `device is ${this.state}, not reset`);
      let decoded: FrameDecode;
      try {
        decoded = this.#decode(image);
      } catch (err) {
        decoded = { ok: false, reason: 'BAD_IMAGE', detail: `decoder error: ${err instanceof Error ? err.message : String(err)}` };
      }
      if (!decoded.ok) return this.#reject(decoded.reason, decoded.detail);
      return await this.#attempt(decoded.payload);
    } catch (err) {
      this.record('error', `scan failed: ${err instanceof Error ? err.message : String(err)}`);
      return { kind: 'rejected', reason: 'BAD_IMAGE', detail: 'internal error while scanning' };
    }
  }

  #reject(reason: RejectedInput<FrameRejection>['reason'], detail: string): ScanOutcome {
    this.reject(reason, detail);
    return { kind: 'rejected', reason, detail };
  }

  /** Starts an attempt: the move to `unbinding` happens before any await, so a second frame sees `busy`. */
  #attempt(payload: QrPayload): Promise<ScanOutcome> {
    const code = `code for Wi-Fi "${payload.s}", token ${redactToken(payload.t)}`;
    return this.startAttempt(code, (epoch, signal) => this.#run(payload, epoch, signal)).then(() => ({
      kind: 'finished',
      state: this.state,
      result: this.lastResult,
      code: this.lastCode,
    }));
  }

  async #run(payload: QrPayload, epoch: number, signal: AbortSignal): Promise<void> {
    const faults = this.#opts.faults ?? {};

    await sleep(this.#opts.wifiJoinMs ?? 0, signal);
    if (this.isStale(epoch)) return;
    const join = joinBenchWifi(this.#opts.networks, payload.s, payload.p, faults.dhcp ?? false);
    this.#ip = join.ip;
    if (!join.ok) return this.fail(join.code, join.detail); // never reaches the authority
    this.record('wifi', `joined "${payload.s}" as ${join.ip}`);

    await sleep(faults.latencyMs ?? 0, signal);
    if (this.isStale(epoch)) return;
    const token = parseToken(payload.t);
    const baseUrl = this.authorityFor(token.ok ? token.value.region : '');
    if (!baseUrl) return;
    if (faults.unreachable) return this.fail('CLOUD_UNREACHABLE', 'no route to the authority (fault)');

    const powerLoss = this.#pendingPowerLoss;
    const networkChange = this.#pendingNetworkChange;
    this.#pendingPowerLoss = false;
    this.#pendingNetworkChange = false;
    const ipAtSend = this.#ip;
    const exchange = await this.sendUnbind(baseUrl, payload.t, signal, {
      onSent: () => {
        if (!networkChange) return;
        this.#ip = nextLease();
        this.record('fault', `address changed from ${ipAtSend} to ${this.#ip} while the request was in flight`);
      },
      onAnswerArriving: () => (powerLoss || this.#ip !== ipAtSend ? 'abandon' : 'read'),
    });
    if (this.isStale(epoch)) return;
    await this.conclude(exchange, () =>
      powerLoss ? this.#restartAfterPowerLoss(epoch, signal) : this.fail('NETWORK_CHANGED', 'answer discarded: it came to an address the device no longer has'),
    );
  }

  /** Power came back: the device boots into pairing mode (it was reset and still is), knowing nothing of the answer. */
  async #restartAfterPowerLoss(epoch: number, signal: AbortSignal): Promise<void> {
    this.#ip = null;
    this.record('fault', 'power lost before the answer was read; restarting');
    await sleep(this.#opts.restartMs ?? DEFAULT_RESTART_MS, signal);
    if (this.isStale(epoch)) return;
    this.record('restart', 'booted after power loss');
    this.moveTo('waiting', 'restarted after power loss');
  }
}
