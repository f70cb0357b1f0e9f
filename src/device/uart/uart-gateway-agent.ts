import { parseToken, redactToken, type DeviceInfo, type FailureCode, type ResetRequest } from '../../protocol/index.js';
import { AdminLogin } from '../core/admin-login.js';
import type { FleetDeviceStatus } from '../../protocol/virtual-bench.js';
import { abortableSleep as sleep } from '../core/abortable-sleep.js';
import type { RetryPolicy } from '../core/signed-unbind-client.js';
import { DeviceCore } from '../core/device-core.js';
import type { DeviceEvent } from '../core/device-core.js';
import type { DeviceFaults } from '../core/device-faults.js';
import type { DeviceIdentity } from '../core/device-identity.js';

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
  /** How often a lost answer is asked for again (DEFAULT_RETRY). */
  retry?: RetryPolicy;
  /** Shown in +INFO. */
  model?: string;
  historyLimit?: number;
  /** The clock of the admin login (reset request validity); Date.now by default. */
  clock?: () => number;
}

export interface UartGatewayDetails extends FleetDeviceStatus {
  region: string;
  firmware: string;
  bound: boolean;
  history: DeviceEvent[];
}

export type TokenAcceptance = { accepted: true } | { accepted: false; code: 'NOT_WAITING' | 'TOKEN_INVALID' };

/**
 * The logic of a UART-attached gateway (DESIGN §4.6, §6): once reset it takes one token, makes the
 * signed request of §4.3 through the shared authority exchange, and shows the outcome until it is
 * reset again. It knows nothing of the serial line: uart-gateway.ts turns its state changes into
 * `+STATE` and `+RESULT` lines.
 */
export class UartGatewayAgent extends DeviceCore {
  readonly faults: Readonly<UartGatewayFaults>;
  readonly #model: string | undefined;
  /** The local admin login (DESIGN §4.9: its reset request is read over the line); null without an admin password. */
  readonly #login: AdminLogin | null;

  constructor(opts: UartGatewayAgentOptions) {
    super(opts);
    this.faults = { ...opts.faults };
    this.#model = opts.model;
    this.#login = opts.identity.adminPassword ? new AdminLogin(opts.identity.adminPassword, opts.clock) : null;
  }

  /** `AT+RESETREQ?` (DESIGN §4.9), in any state: a forgotten password is no reason to reset first. Null without a login. */
  resetRequest(): ResetRequest | null {
    return this.#login?.resetRequest(this.devId, this.serial) ?? null;
  }

  /** The +INFO answer; null while `operating` (the pairing console is only active once reset). */
  info(): DeviceInfo | null {
    return this.pairingInfo(this.#model);
  }

  details(): UartGatewayDetails {
    return { ...this.coreDetails(), history: this.historyList() };
  }

  /** Adds an event to the gateway's history (the serial side reports what it saw on the line). */
  override record(kind: DeviceEvent['kind'], detail: string, code?: FailureCode | null): void {
    super.record(kind, detail, code);
  }

  protected override observerFailed(err: unknown): void {
    this.record('error', `state observer failed: ${err instanceof Error ? err.message : String(err)}`);
  }

  /**
   * A token arrives over the line. Accepted only in `waiting`; the move to `unbinding` happens before
   * this returns, so a second token right behind it is refused NOT_WAITING.
   */
  receiveToken(token: string): TokenAcceptance {
    if (this.state !== 'waiting') {
      this.record('rejected', `token refused: device is ${this.state}, not reset`, 'NOT_WAITING');
      return { accepted: false, code: 'NOT_WAITING' };
    }
    const parsed = parseToken(token);
    if (!parsed.ok) {
      this.record('rejected', `not a token: ${parsed.error}`, 'TOKEN_INVALID');
      return { accepted: false, code: 'TOKEN_INVALID' };
    }
    const region = parsed.value.region;
    void this.startAttempt(`token ${redactToken(token)} over UART`, (epoch, signal) => this.#run(token, region, epoch, signal));
    return { accepted: true };
  }

  async #run(token: string, region: string, epoch: number, signal: AbortSignal): Promise<void> {
    const faults = this.faults;
    await sleep(faults.latencyMs ?? 0, signal);
    if (this.isStale(epoch)) return;
    if (faults.dhcp) return this.fail('DHCP_FAILED', 'the uplink got no address (0.0.0.0)');
    const baseUrl = this.authorityFor(region);
    if (!baseUrl) return;
    if (faults.unreachable) return this.fail('CLOUD_UNREACHABLE', 'no route to the authority (fault)');

    const exchange = await this.sendUnbind(baseUrl, token, signal);
    if (this.isStale(epoch)) return;
    // `abandoned` is only asked for by onAnswerArriving, which this device does not use.
    void this.conclude(exchange, () => this.fail('CLOUD_UNREACHABLE', 'answer abandoned'));
  }
}
