import { randomBytes } from 'node:crypto';
import {
  ADMIN_LOCKOUT_MS,
  ADMIN_MAX_ATTEMPTS,
  RESET_REQUEST_VALIDITY_MS,
  adminProof,
  deriveAdminKeySync,
  proofsEqual,
  type FailureCode,
  type ResetRequest,
} from '../../protocol/index.js';

/**
 * A device's local admin login (DESIGN §4.8, §4.9): it keeps a salt and the PBKDF2 key derived from the
 * password (a salted verifier), never the password; it hands out one-time challenges, checks proofs, locks
 * itself for 30 minutes after 5 wrong ones, and takes a new password with the reset code of its current
 * reset request. Time comes from `clock`, so a test can move it by 30 minutes or 48 hours.
 */
export type ProofCheck =
  | { ok: true }
  | { ok: false; code: 'ADMIN_PASSWORD'; attemptsLeft: number; why: string }
  | { ok: false; code: 'DEVICE_LOCKED'; unlockAt: number };

export type ResetApplied = { ok: true } | { ok: false; code: Extract<FailureCode, 'RESET_CODE_INVALID' | 'RESET_CODE_EXPIRED'> };

/** A challenge answers one proof, within this long. */
export const CHALLENGE_TTL_MS = 5 * 60_000;
/** Challenges outstanding at once; the oldest goes first. */
const MAX_CHALLENGES = 64;

const newSalt = (): string => randomBytes(16).toString('base64url');

export class AdminLogin {
  readonly #clock: () => number;
  #salt: string;
  #key: Buffer;
  #failures = 0;
  #lockedUntil = 0;
  readonly #challenges = new Map<string, number>();
  #reset: { challenge: string; issuedAt: number } | null = null;

  constructor(password: string, clock: () => number = Date.now) {
    this.#clock = clock;
    this.#salt = newSalt();
    this.#key = deriveAdminKeySync(password, this.#salt);
  }

  get salt(): string {
    return this.#salt;
  }

  /** A fresh one-time challenge for `GET /info`. */
  challenge(): string {
    const now = this.#clock();
    for (const [c, until] of this.#challenges) if (until <= now) this.#challenges.delete(c);
    while (this.#challenges.size >= MAX_CHALLENGES) this.#challenges.delete(this.#challenges.keys().next().value!);
    const c = randomBytes(24).toString('base64url');
    this.#challenges.set(c, now + CHALLENGE_TTL_MS);
    return c;
  }

  /** When the lock ends (epoch ms), or null when the device is not locked. */
  lockedUntil(): number | null {
    return this.#clock() < this.#lockedUntil ? this.#lockedUntil : null;
  }

  checkProof(challenge: string, proof: string): ProofCheck {
    const now = this.#clock();
    if (now < this.#lockedUntil) return { ok: false, code: 'DEVICE_LOCKED', unlockAt: this.#lockedUntil };
    if (this.#lockedUntil !== 0) {
      // The lock is over: a full set of attempts again.
      this.#lockedUntil = 0;
      this.#failures = 0;
    }
    const until = this.#challenges.get(challenge);
    this.#challenges.delete(challenge);
    // A challenge this device never gave (or one used or stale) proves nothing either way: no attempt counted.
    if (until === undefined || until <= now) return { ok: false, code: 'ADMIN_PASSWORD', attemptsLeft: ADMIN_MAX_ATTEMPTS - this.#failures, why: 'unknown or stale challenge' };
    if (proofsEqual(adminProof(this.#key, challenge), proof)) {
      this.#failures = 0;
      return { ok: true };
    }
    this.#failures++;
    if (this.#failures >= ADMIN_MAX_ATTEMPTS) {
      this.#lockedUntil = now + ADMIN_LOCKOUT_MS;
      return { ok: false, code: 'DEVICE_LOCKED', unlockAt: this.#lockedUntil };
    }
    return { ok: false, code: 'ADMIN_PASSWORD', attemptsLeft: ADMIN_MAX_ATTEMPTS - this.#failures, why: 'wrong proof' };
  }

  /** The current reset request: the same one until it is used or 48 hours old, then a new one. */
  resetRequest(devId: string, serial: string): ResetRequest {
    const now = this.#clock();
    if (!this.#reset || now >= this.#reset.issuedAt + RESET_REQUEST_VALIDITY_MS) {
      this.#reset = { challenge: randomBytes(24).toString('base64url'), issuedAt: Math.floor(now / 1000) * 1000 };
    }
    return { devId, serial, challenge: this.#reset.challenge, issuedAt: new Date(this.#reset.issuedAt).toISOString() };
  }

  /**
   * Sets `newPassword` when `code` is the reset code of the current request (`expected` computes it with
   * the device key) and the request is less than 48 hours old; the request is spent either way it succeeds.
   */
  applyResetCode(code: string, newPassword: string, expected: (challenge: string) => string): ResetApplied {
    const r = this.#reset;
    if (!r) return { ok: false, code: 'RESET_CODE_INVALID' };
    if (!proofsEqual(expected(r.challenge), code)) return { ok: false, code: 'RESET_CODE_INVALID' };
    if (this.#clock() >= r.issuedAt + RESET_REQUEST_VALIDITY_MS) return { ok: false, code: 'RESET_CODE_EXPIRED' };
    this.#reset = null;
    this.#key.fill(0);
    this.#salt = newSalt();
    this.#key = deriveAdminKeySync(newPassword, this.#salt);
    this.#failures = 0;
    this.#lockedUntil = 0;
    this.#challenges.clear();
    return { ok: true };
  }
}
