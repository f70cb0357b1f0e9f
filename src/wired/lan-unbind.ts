import { failureCodeSchema, type DeviceStatus, type FailureCode, type UnbindResult } from '../protocol/index.js';
import { createDeviceApiClient, type ApiResult, type DeviceApiClient, type DeviceEndpoint } from './device-api-client.js';
import type { LanDevice, LanDeviceChange } from './lan-device.js';

/**
 * The wired unbind of DESIGN §3, station side: per device, check `GET /info` (it must be `waiting`,
 * and be the serial expected), hand it its token (`POST /unbind`), then wait for its end. The device
 * itself asks the authority; the authority's result reaches the station through the token's event
 * stream, and when the caller passes it (`reported`) the device ends on it at once. `GET /status`
 * stays the fallback for what the authority never sees: a device not reset, the wrong device, one
 * that moved to another address (NETWORK_CHANGED), one that stopped answering (TIMEOUT). Every
 * device ends; none hangs.
 */
export interface LanUnbindTarget extends DeviceEndpoint {
  devId: string;
  /** The serial on the label or in the manifest: the device must report it (else SERIAL_MISMATCH). */
  expectedSerial?: string;
}

/**
 * The token a device is to use (tokens serve at most 30 devices: the caller groups them), or null when
 * the caller holds the device back after its check (a batch the stop rule paused): it gets no token and
 * ends `withheld`, as it was.
 */
export type TokenFor = (target: LanUnbindTarget) => string | null | Promise<string | null>;

export interface LanUnbindOutcome {
  devId: string;
  /** The device's own report; absent when the operation ended on the station's side. */
  result?: UnbindResult;
  code?: FailureCode;
  /** What happened, for the operator and the history. */
  detail?: string;
  /** The endpoint the operation started on, and the one the device moved to (NETWORK_CHANGED). */
  address: string;
  movedTo?: string;
  /** The operation ended on the caller's `reported` end (the station holds that result already). */
  reported?: true;
  /** A local unbind refused ADMIN_PASSWORD: the device's wrong proofs left before it locks. */
  attemptsLeft?: number;
  /** A local unbind refused DEVICE_LOCKED: when the device takes proofs again (ISO). */
  unlockAt?: string;
  /** The caller held the device back after its check (TokenFor answered null): no token went out, nothing ended. */
  withheld?: true;
}

/** An end the station learnt from the authority rather than from the device. */
export type ReportedEnd = Pick<LanUnbindOutcome, 'result' | 'code' | 'detail'>;

export type LanUnbindStage = 'checking' | 'sending' | 'unbinding' | 'done';
export interface LanUnbindProgress {
  devId: string;
  stage: LanUnbindStage;
  outcome?: LanUnbindOutcome;
}

export interface LanUnbindOptions {
  /** A client to share (its limiter bounds all requests); else one is made from timeoutMs and concurrency. */
  client?: DeviceApiClient;
  /** Per request, ms (default 3000). */
  timeoutMs?: number;
  /** Requests in flight at once (default 16). */
  concurrency?: number;
  /** Longest a device may take from the first request to its final state, ms (default 45 000). */
  deadlineMs?: number;
  /** Pause between two `GET /status`, ms (default 250). */
  pollMs?: number;
  /**
   * The device's result as the station receives it from elsewhere (the authority's event stream),
   * or null when it will not come (the batch ended). The operation ends on it as soon as it arrives;
   * with it, the first `GET /status` waits one `pollMs`, since the authority normally answers first.
   */
  reported?: (target: LanUnbindTarget, signal: AbortSignal) => Promise<ReportedEnd | null>;
  /**
   * When the caller last received a `reported` end for any device of the operation (epoch ms), or
   * undefined. While reports keep coming the authority is answering, so a device's `GET /status`
   * waits until `pollMs` passed with none (a quiet stream), not merely `pollMs` from its token: in a
   * large batch the polls would otherwise race the reports on their way.
   */
  lastReportAt?: () => number | undefined;
  /**
   * The live sweep (a LanSweep): a device it sees at another address ends NETWORK_CHANGED. With
   * `on`, a move is caught even when the device says goodbye before the next poll.
   */
  sweep?: { device(key: string): LanDevice | undefined; on?(event: 'change', listener: (change: LanDeviceChange) => void): () => void };
  signal?: AbortSignal;
  onProgress?: (progress: LanUnbindProgress) => void;
  /**
   * A local unbind (DESIGN §4.8): each device, reset or not, gets its token with a proof of its admin
   * password over the challenge its `GET /info` gave (`POST /unbind-local`), instead of `POST /unbind`.
   * `proofFor` makes the proof; the password stays with the caller.
   */
  local?: { proofFor(adminSalt: string, challenge: string): Promise<string> };
}

const endpoint = (e: DeviceEndpoint): string => `${e.address}:${e.port}`;

/** Wakes a device's wait early: a move seen by the sweep, the authority's report. */
type Wake = () => void;
/**
 * The reason of the aborts that only wake or release a wait: a plain value, since abort() without
 * one builds a DOMException with its stack for each of hundreds of devices, and no one reads it.
 */
const WOKEN = 'woken';

/** A thrown error's failure code, when it carries one (the station's token source may refuse). */
function codeOf(err: unknown): FailureCode | undefined {
  const parsed = failureCodeSchema.safeParse((err as { code?: unknown } | null)?.code);
  return parsed.success ? parsed.data : undefined;
}

async function unbindOne(
  target: LanUnbindTarget,
  tokenFor: TokenFor,
  client: DeviceApiClient,
  opts: LanUnbindOptions,
  movesSeen: ReadonlyMap<string, string>,
  wakers: Map<string, Wake>,
): Promise<LanUnbindOutcome> {
  const started = Date.now();
  const deadline = started + (opts.deadlineMs ?? 45_000);
  const pollMs = opts.pollMs ?? 250;
  const signal = opts.signal;
  const at: DeviceEndpoint = { address: target.address, port: target.port };
  const end = (o: Omit<LanUnbindOutcome, 'devId' | 'address'>): LanUnbindOutcome => ({ devId: target.devId, address: endpoint(at), ...o });
  const stage = (s: LanUnbindStage): void => opts.onProgress?.({ devId: target.devId, stage: s });

  /** Where the sweep sees the device now, if that is not where the operation started. */
  const moved = (): string | null => {
    const announced = movesSeen.get(target.devId);
    if (announced && announced !== endpoint(at)) return announced;
    const seen = opts.sweep?.device(target.devId);
    if (!seen || seen.source !== 'mdns') return null;
    return seen.address !== at.address || seen.port !== at.port ? endpoint(seen) : null;
  };
  const networkChanged = (to: string, why: string): LanUnbindOutcome => end({ code: 'NETWORK_CHANGED', detail: `${why}: ${endpoint(at)} → ${to}`, movedTo: to });
  /** A request that got no usable answer: the device moved, or it does not answer. */
  const unanswered = (r: Extract<ApiResult<unknown>, { ok: false }>): LanUnbindOutcome => {
    const to = moved();
    if (to) return networkChanged(to, 'the device moved to another address');
    if (r.kind === 'refused' && r.code) return end({ result: 'FAILED', code: r.code, detail: r.detail });
    return end({ code: 'TIMEOUT', detail: r.kind === 'cancelled' ? 'cancelled by the station' : r.detail });
  };

  stage('checking');
  const info = await client.info(at, signal);
  if (!info.ok) return unanswered(info);
  if (info.value.devId !== target.devId) {
    return end({ code: 'NETWORK_CHANGED', detail: `another device (${info.value.devId}) answers at ${endpoint(at)}: ${target.devId} is no longer there` });
  }
  const local = opts.local;
  if (local) {
    if (info.value.st !== 'operating' && info.value.st !== 'waiting') return end({ result: 'FAILED', code: 'NOT_WAITING', detail: `device is ${info.value.st}: it is busy or done` });
    if (!info.value.adminSalt || !info.value.challenge) return end({ result: 'FAILED', code: 'ADMIN_PASSWORD', detail: 'the device offers no admin login (no adminSalt in /info)' });
  } else if (info.value.st !== 'waiting') return end({ result: 'FAILED', code: 'NOT_WAITING', detail: `device is ${info.value.st}, not waiting: reset it` });
  if (target.expectedSerial !== undefined && info.value.sn !== target.expectedSerial) {
    return end({ result: 'FAILED', code: 'SERIAL_MISMATCH', detail: `device reports serial ${info.value.sn}, expected ${target.expectedSerial}` });
  }

  let token: string | null;
  let gaveUp: NodeJS.Timeout | undefined;
  try {
    const given = tokenFor(target);
    // The station's token source is the one await here that is not ours: it too must end by the deadline
    // (a token given at once needs no timer).
    if (typeof given === 'string' || given === null) token = given;
    else {
      const late = new Promise<never>((_, reject) => {
        gaveUp = setTimeout(() => reject(Object.assign(new Error('no token before the deadline'), { code: 'TIMEOUT' })), Math.max(0, deadline - Date.now()));
      });
      token = await Promise.race([given, late]);
    }
  } catch (err) {
    return end({ code: codeOf(err) ?? 'TOKEN_INVALID', detail: `no token for the device: ${err instanceof Error ? err.message : String(err)}` });
  } finally {
    clearTimeout(gaveUp);
  }
  if (token === null) return end({ withheld: true, detail: 'held back by the station: no token was handed out' });
  stage('sending');
  let sent: ApiResult<{ accepted: boolean; code?: FailureCode }>;
  if (local) {
    const { adminSalt, challenge } = info.value as { adminSalt: string; challenge: string };
    const answer = await client.unbindLocal(at, { token, challenge, proof: await local.proofFor(adminSalt, challenge) }, signal);
    if (answer.ok && !answer.value.accepted) {
      const { code = 'ADMIN_PASSWORD', attemptsLeft, unlockAt } = answer.value;
      const detail =
        code === 'DEVICE_LOCKED' && unlockAt ? `the device is locked until ${unlockAt}` : attemptsLeft !== undefined ? `wrong admin password: ${attemptsLeft} attempts left` : 'the device refused the local unbind';
      return end({ result: 'FAILED', code, detail, ...(attemptsLeft === undefined ? {} : { attemptsLeft }), ...(unlockAt ? { unlockAt } : {}) });
    }
    sent = answer;
  } else sent = await client.unbind(at, token, signal);
  if (sent.ok && !sent.value.accepted) return end({ result: 'FAILED', code: sent.value.code ?? 'NOT_WAITING', detail: 'the device refused the token' });
  if (!sent.ok && (sent.kind === 'refused' || sent.kind === 'cancelled')) return unanswered(sent);
  // Accepted, or unknown (the answer was lost): the authority's report or the device's state says which.
  let lastProblem = sent.ok ? null : sent;

  stage('unbinding');
  // Each wait below ends early on a wake: the authority's report, or a move the sweep saw. A flag and
  // the current wait's end, not an AbortController per device: each abort dispatches a DOM event, and
  // every one of hundreds of devices is woken once, by its report. A `GET /status` gets a signal of its own.
  let woken = false;
  let endWait: (() => void) | null = null;
  const wakeUp: Wake = () => {
    woken = true;
    endWait?.();
  };
  wakers.set(target.devId, wakeUp);
  const stopReport = new AbortController();
  let report: ReportedEnd | null = null;
  let reportSettled = false;
  opts.reported?.(target, stopReport.signal).then(
    (r) => {
      reportSettled = true;
      report = r;
      if (r) wakeUp();
    },
    () => {
      reportSettled = true;
    },
  );
  /** Waits `ms`, or less: until a wake, or the caller's cancel. */
  const wait = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (woken || signal?.aborted) return resolve();
      const done = (): void => {
        clearTimeout(timer);
        endWait = null;
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      endWait = done;
      signal?.addEventListener('abort', done, { once: true });
    });
  /** The device's `GET /status`, cut short (cancelled) by a wake or the caller's cancel. */
  const askStatus = async (): Promise<ApiResult<DeviceStatus>> => {
    const ac = new AbortController();
    if (woken) ac.abort(WOKEN);
    else endWait = () => ac.abort(WOKEN);
    try {
      return await client.status(at, signal ? AbortSignal.any([signal, ac.signal]) : ac.signal);
    } finally {
      endWait = null;
    }
  };
  try {
    let first = true;
    for (;;) {
      if (report) return end({ ...(report as ReportedEnd), reported: true });
      if (signal?.aborted) return end({ code: 'TIMEOUT', detail: 'cancelled by the station' });
      woken = false;
      const to = moved();
      if (to) return networkChanged(to, 'the device moved to another address');
      if (Date.now() >= deadline) {
        const why = lastProblem ? `it stopped answering (${lastProblem.detail})` : 'it was still working';
        return end({ code: 'TIMEOUT', detail: `no final state within ${Math.round((deadline - started) / 1000)} s: ${why}` });
      }
      if (first && opts.reported) await wait(Math.min(pollMs, Math.max(0, deadline - Date.now())));
      first = false;
      if (report || woken) continue;
      // Reports still arriving: the device's is likely on its way too; ask it once they pause.
      const quietIn = opts.reported && opts.lastReportAt ? (opts.lastReportAt() ?? 0) + pollMs - Date.now() : 0;
      if (quietIn > 0 && Date.now() < deadline) {
        await wait(Math.min(quietIn, Math.max(0, deadline - Date.now())));
        continue;
      }
      const status = await askStatus();
      if (report) continue;
      if (!status.ok && status.kind === 'cancelled' && !signal?.aborted) continue; // woken, not cancelled
      if (!status.ok) {
        if (status.kind === 'refused' || status.kind === 'cancelled') return unanswered(status);
        lastProblem = status; // not answering now; it may be back before the deadline
      } else {
        lastProblem = null;
        const s = status.value;
        if (s.ip !== undefined && s.ip !== at.address) return networkChanged(s.ip, 'the device reports another address');
        if (s.st === 'unbound') return end({ result: s.result ?? 'UNBOUND', ...(s.result === 'NOT_BOUND' ? { detail: 'the device was not bound' } : {}) });
        if (s.st === 'failed') return end({ result: 'FAILED', ...(s.code ? { code: s.code } : {}), detail: 'the device reports the failure' });
        if (s.st === 'waiting') {
          // Back in waiting: a token that never arrived, or a device that restarted and dropped it.
          if (!sent.ok) return end({ code: 'TIMEOUT', detail: `the token did not reach the device: ${sent.detail}` });
          return end({ code: 'NETWORK_CHANGED', detail: 'the device went back to waiting during the operation (restarted or reset): it dropped the token' });
        }
      }
      await wait(Math.min(pollMs, Math.max(0, deadline - Date.now())));
    }
  } finally {
    wakers.delete(target.devId);
    // A report that came has nothing left to stop (nor does one that failed).
    if (!reportSettled) stopReport.abort(WOKEN);
  }
}

/**
 * Unbinds the devices over their local API, all at once (requests bounded by the client's
 * limiter). Resolves with one outcome per target, in the targets' order.
 */
export async function unbindOverLan(targets: readonly LanUnbindTarget[], tokenFor: TokenFor, opts: LanUnbindOptions = {}): Promise<LanUnbindOutcome[]> {
  const seen = new Set<string>();
  for (const t of targets) {
    if (seen.has(t.devId)) throw new Error(`device ${t.devId} is in the list twice`);
    seen.add(t.devId);
  }
  const client =
    opts.client ??
    createDeviceApiClient({ ...(opts.timeoutMs === undefined ? {} : { timeoutMs: opts.timeoutMs }), ...(opts.concurrency === undefined ? {} : { concurrency: opts.concurrency }) });
  /** Where the sweep saw each target move to while the batch ran. */
  const movesSeen = new Map<string, string>();
  const wakers = new Map<string, Wake>();
  const unsubscribe = opts.sweep?.on?.('change', (c) => {
    if (c.kind !== 'updated' || c.device.source !== 'mdns' || !seen.has(c.device.devId)) return;
    if (c.device.address !== c.previous.address || c.device.port !== c.previous.port) {
      movesSeen.set(c.device.devId, endpoint(c.device));
      wakers.get(c.device.devId)?.();
    }
  });
  try {
    return await Promise.all(
      targets.map(async (t) => {
        let outcome: LanUnbindOutcome;
        try {
          outcome = await unbindOne(t, tokenFor, client, opts, movesSeen, wakers);
        } catch (err) {
          // A bug must end this device, not the batch.
          outcome = { devId: t.devId, address: endpoint(t), code: 'TIMEOUT', detail: `internal error: ${err instanceof Error ? err.message : String(err)}` };
        }
        opts.onProgress?.({ devId: t.devId, stage: 'done', outcome });
        return outcome;
      }),
    );
  } finally {
    unsubscribe?.();
  }
}
