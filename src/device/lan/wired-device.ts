import { parseToken, redactToken, type AdminUnbindRequest, type AdminUnbindResponse, type ApplyResetCodeResponse, type DeviceInfo, type DeviceStatus, type FailureCode, type ResetRequest } from '../../protocol/index.js';
import { AdminLogin } from '../core/admin-login.js';
import { isPairingState } from '../../protocol/virtual-bench.js';
import { abortableSleep as sleep } from '../core/abortable-sleep.js';
import type { RetryPolicy } from '../core/signed-unbind-client.js';
import { NO_ADDRESS } from '../bench/bench-network.js';
import { ReportingDeviceCore, type ReportingDeviceDetails } from '../core/device-core.js';
import type { DeviceIdentity } from '../core/device-identity.js';

/**
 * A wired device (NVR, DVR, gateway) of the wired method (DESIGN §3, §4.5, §6): once reset it is
 * `waiting` on the bench LAN and takes a token over its local API; it then makes the same signed
 * request to the authority as a QR camera (core/signed-unbind-client.ts) and shows the result on its light.
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
  /** How often a lost answer is asked for again (DEFAULT_RETRY). */
  retry?: RetryPolicy;
  /** A new lease from the bench's DHCP, for the IP-change fault. */
  renewLease?: () => string;
  historyLimit?: number;
  /** The clock of the admin login (lockout, reset request validity); Date.now by default. */
  clock?: () => number;
}

/** A LAN device takes only tokens: it refuses nothing but NOT_WAITING. */
export interface WiredDeviceDetails extends ReportingDeviceDetails<never> {
  model: string | null;
  faults: WiredFaults;
}

export class WiredDevice extends ReportingDeviceCore<never> {
  readonly model: string | null;
  readonly faults: WiredFaults;
  readonly #opts: WiredDeviceOptions;
  readonly #addressListeners = new Set<(from: string | null, to: string) => void>();
  #ip: string | null = null;
  #pendingIpChange: boolean;
  /** The local admin login (DESIGN §4.8); null for a device made without an admin password. */
  readonly #login: AdminLogin | null;

  constructor(opts: WiredDeviceOptions) {
    super(opts);
    this.model = opts.model ?? null;
    this.faults = { ...opts.faults };
    this.#opts = opts;
    this.#pendingIpChange = this.faults.ipChange ?? false;
    this.#login = opts.identity.adminPassword ? new AdminLogin(opts.identity.adminPassword, opts.clock) : null;
    // A failed DHCP client is visible on the status port: the device cannot be reached at all.
    if (this.faults.dhcp) {
      this.#ip = NO_ADDRESS;
      this.setLastCode('DHCP_FAILED');
    }
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
    if (from !== null) this.record('fault', `address changed from ${from} to ${ip}`);
    for (const l of this.#addressListeners) l(from, ip);
  }

  onAddressChange(listener: (from: string | null, to: string) => void): () => void {
    this.#addressListeners.add(listener);
    return () => this.#addressListeners.delete(listener);
  }

  /**
   * `GET /info`: the pairing info, with the admin salt and a fresh challenge when the device has a local
   * login (DESIGN §4.8); in normal operation only for that login (null without one).
   */
  info(): DeviceInfo | null {
    const login = this.#login;
    const base: DeviceInfo | null =
      this.pairingInfo(this.model) ??
      (login ? { devId: this.devId, pid: this.pid, sn: this.serial, fw: this.firmware, rg: this.region, st: 'operating', ...(this.model ? { model: this.model } : {}) } : null);
    return base && login ? { ...base, adminSalt: login.salt, challenge: login.challenge() } : base;
  }

  /**
   * `POST /unbind-local {token, challenge, proof}` (DESIGN §4.8): a right proof makes the device send the
   * signed request with `method: "local"`, from normal operation or waiting; a wrong one is refused with the
   * attempts left, and after 5 the device refuses every local unbind for 30 minutes.
   */
  acceptLocalUnbind(req: AdminUnbindRequest): AdminUnbindResponse {
    if (!this.#login) {
      this.record('rejected', 'ADMIN_PASSWORD: local unbind, but this device has no admin login');
      return { accepted: false, code: 'ADMIN_PASSWORD', attemptsLeft: 0 };
    }
    if (this.state !== 'operating' && this.state !== 'waiting') {
      this.record('rejected', `NOT_WAITING: local unbind while ${this.state}`);
      return { accepted: false, code: 'NOT_WAITING' };
    }
    const check = this.#login.checkProof(req.challenge, req.proof);
    if (!check.ok) {
      if (check.code === 'DEVICE_LOCKED') {
        this.record('rejected', `DEVICE_LOCKED: local unbind refused until ${new Date(check.unlockAt).toISOString()}`);
        return { accepted: false, code: 'DEVICE_LOCKED', unlockAt: new Date(check.unlockAt).toISOString() };
      }
      this.record('rejected', `ADMIN_PASSWORD: ${check.why}, ${check.attemptsLeft} attempts left`);
      return { accepted: false, code: 'ADMIN_PASSWORD', attemptsLeft: check.attemptsLeft };
    }
    const token = req.token;
    void this.startAttempt(`token ${redactToken(token)} with the admin password (local unbind)`, (epoch, signal) => this.#run(token, epoch, signal, 'local'));
    return { accepted: true };
  }

  /** `GET /reset-request` (DESIGN §4.9); null for a device without an admin login. */
  resetRequest(): ResetRequest | null {
    return this.#login?.resetRequest(this.devId, this.serial) ?? null;
  }

  /** `POST /reset-code {code, newPassword}` (DESIGN §4.9). */
  applyResetCode(code: string, newPassword: string): ApplyResetCodeResponse {
    if (!this.#login) return { accepted: false, code: 'RESET_CODE_INVALID' };
    const applied = this.#login.applyResetCode(code, newPassword, (challenge) => this.expectedResetCode(challenge));
    this.record(applied.ok ? 'reset' : 'rejected', applied.ok ? 'admin password set with a reset code' : `${applied.code}: reset code refused`);
    return applied.ok ? { accepted: true } : { accepted: false, code: applied.code };
  }

  /** `GET /status`; null while in normal operation. */
  statusBody(): DeviceStatus | null {
    const state = this.state;
    if (!isPairingState(state)) return null;
    return {
      st: state,
      ...(this.lastCode ? { code: this.lastCode } : {}),
      ...(this.lastResult ? { result: this.lastResult } : {}),
      ...(this.#ip ? { ip: this.#ip } : {}),
    };
  }

  details(): WiredDeviceDetails {
    return {
      ...this.coreDetails(),
      ip: this.#ip,
      model: this.model,
      faults: { ...this.faults },
      history: this.historyList(),
      rejected: this.rejectedList(),
    };
  }

  /** After a reset a device without a DHCP lease still says so. */
  protected override codeAfterReset(): FailureCode | null {
    return this.faults.dhcp ? 'DHCP_FAILED' : null;
  }

  /**
   * `POST /unbind {token}` (the token is already checked for shape). Accepted only in `waiting`;
   * the move to `unbinding` happens before any await, so a second token finds the device busy.
   */
  acceptToken(token: string): { accepted: true } | { accepted: false; code: FailureCode } {
    if (this.state !== 'waiting') {
      this.reject('NOT_WAITING', `token ${redactToken(token)} while ${this.state}`);
      return { accepted: false, code: 'NOT_WAITING' };
    }
    void this.startAttempt(`token ${redactToken(token)} over the local API`, (epoch, signal) => this.#run(token, epoch, signal));
    return { accepted: true };
  }

  async #run(token: string, epoch: number, signal: AbortSignal, method?: 'local'): Promise<void> {
    await sleep(this.faults.latencyMs ?? 0, signal);
    if (this.isStale(epoch)) return;
    if (this.faults.unreachable) return this.fail('CLOUD_UNREACHABLE', 'no route to the authority (fault)');
    const parsed = parseToken(token);
    const baseUrl = this.authorityFor(parsed.ok ? parsed.value.region : '');
    if (!baseUrl) return;

    const ipChange = this.#pendingIpChange && this.#opts.renewLease !== undefined;
    this.#pendingIpChange = false;
    const ipAtSend = this.#ip;
    const exchange = await this.sendUnbind(baseUrl, token, signal, {
      onSent: () => {
        if (ipChange) this.assignAddress(this.#opts.renewLease!());
      },
      // The connection was opened from the old address: its answer cannot reach the new one.
      onAnswerArriving: () => (this.#ip !== ipAtSend ? 'abandon' : 'read'),
    }, method);
    if (this.isStale(epoch)) return;
    void this.conclude(exchange, () => this.fail('NETWORK_CHANGED', 'answer lost: the address changed while the request was in flight'));
  }
}
