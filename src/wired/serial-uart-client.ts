import {
  formatStationLine,
  parseDeviceLine,
  redactToken,
  tokenStringSchema,
  MAX_SERIAL_LINE,
  type DeviceInfo,
  type DeviceLine,
  type DeviceState,
  type FailureCode,
  type ResetRequest,
  type UnbindResult,
} from '../protocol/index.js';
import { SerialLink, type SerialLinkEvent, type SerialLinkState } from './serial-link.js';
import { parseReconnectPolicy, parseSerialPortSettings, type ReconnectPolicyInput, type SerialPortSettingsInput } from './serial-port-settings.js';

/** Per-step limits: each step that waits for the device has its own, so no step can hang. */
export interface UartTimeouts {
  /** AT+INFO? → +INFO (default 2 s). */
  infoMs: number;
  /** AT+UNBIND → OK or ERROR (default 2 s). */
  ackMs: number;
  /** OK → +RESULT: the device's whole authority round trip (default 30 s; the device's own request gives up after 10 s). */
  resultMs: number;
}
export const DEFAULT_UART_TIMEOUTS: UartTimeouts = { infoMs: 2_000, ackMs: 2_000, resultMs: 30_000 };

export type UartClientEvent =
  /** A line that is not §4.6, one that came when nothing waited for it, or one past MAX_SERIAL_LINE: reported, then ignored. */
  | { kind: 'line-ignored'; at: string; reason: 'garbage' | 'unexpected' | 'too-long'; line: string; detail: string }
  | { kind: 'sent'; at: string; command: string }
  | { kind: 'state'; at: string; state: DeviceState }
  | { kind: 'port'; at: string; event: SerialLinkEvent };

export type UartInfoOutcome = { ok: true; info: DeviceInfo } | { ok: false; code: FailureCode; detail: string };

export interface UartUnbindOutcome {
  /** FAILED for every failure, with `code` saying which (null only when the device said FAILED without one). */
  result: UnbindResult;
  code: FailureCode | null;
  detail: string;
  /** What the device reported before the token was sent; null when it did not answer. */
  info: DeviceInfo | null;
  /**
   * Whether the token went on the line. False: the token's capacity is untouched. True with TIMEOUT:
   * the device may still finish at the authority, so the token's results there have the last word.
   */
  tokenSent: boolean;
  /** Every +STATE the device reported, in order. */
  states: DeviceState[];
  /** The caller held the device back after its check (`mayHandOver` said no): no token went out, nothing ended. */
  withheld?: true;
}

export interface UartUnbindOptions {
  /** The serial on the device's scanned label: a device reporting another fails SERIAL_MISMATCH before the token is sent. */
  expectedSerial?: string;
  onState?: (state: DeviceState) => void;
  /**
   * Asked once the device passed its check, right before the token goes on the line: false holds the
   * device back (a batch paused or cancelled meanwhile), and the outcome says `withheld`.
   */
  mayHandOver?: () => boolean;
}

export interface UartClientOptions {
  port: SerialPortSettingsInput;
  timeouts?: Partial<UartTimeouts>;
  onEvent?: (event: UartClientEvent) => void;
  reconnect?: ReconnectPolicyInput;
}

export type UartResetRequestOutcome = { ok: true; request: ResetRequest } | { ok: false; code: FailureCode; detail: string };

export interface UartDeviceClient {
  readonly path: string;
  readonly state: SerialLinkState;
  /** AT+INFO?; a device that was never reset answers ERROR:NOT_WAITING (see src/device/uart/uart-gateway.ts). */
  info(): Promise<UartInfoOutcome>;
  /** +INFO (and the label check), then AT+UNBIND=<token> and its answers up to +RESULT. Never throws. */
  unbind(token: string, options?: UartUnbindOptions): Promise<UartUnbindOutcome>;
  /** AT+RESETREQ? → `+RESETREQ:<ResetRequest>` (DESIGN §4.9). Never throws. */
  resetRequest(): Promise<UartResetRequestOutcome>;
  /** Fails the command at work and every queued one (TIMEOUT, "closed"), then closes the port. */
  close(): Promise<void>;
}

type Wait<T> = { ok: true; value: T } | { ok: false; detail: string };

/** A parsed line with its text, kept for a report if no step takes it. */
interface Received {
  line: DeviceLine;
  text: string;
}

const SHOWN_CHARS = 80;
/** A command gets a handful of lines; a device that floods one is cut off here, not in memory. */
const MAX_INBOX = 64;
const now = (): string => new Date().toISOString();

/**
 * The station side of a UART device (DESIGN §4.6). One command at a time per port: calls queue,
 * as two interleaved exchanges on one line could not tell their answers apart. Lines that belong to
 * no step are reported and ignored; the port going away fails the step at once and is reopened
 * in the background for the next command. Rejects with SerialOpenError when the port cannot be
 * opened at all, and with SerialSettingsError for bad settings.
 */
export async function openUartDevice(options: UartClientOptions): Promise<UartDeviceClient> {
  const settings = parseSerialPortSettings(options.port);
  const timeouts = { ...DEFAULT_UART_TIMEOUTS, ...options.timeouts };
  const emit = (event: UartClientEvent): void => options.onEvent?.(event);
  /**
   * Lines of the command at work that no step has taken yet. Answers often come in one burst (OK,
   * +STATE, +RESULT in one read) faster than the next step starts waiting, so they wait here.
   */
  const inbox: Received[] = [];
  let wake: (() => void) | null = null;
  /** Set when the port is lost or the client closed during the command at work: every step ends at once. */
  let interrupted: string | null = null;
  let working = false;
  let closed = false;

  const reportUnexpected = (r: Received, detail: string): void =>
    emit({ kind: 'line-ignored', at: now(), reason: 'unexpected', line: r.text.slice(0, SHOWN_CHARS), detail });

  const link = await SerialLink.open(settings, parseReconnectPolicy(options.reconnect), {
    onLine(text) {
      const parsed = parseDeviceLine(text);
      if (!parsed.ok) return emit({ kind: 'line-ignored', at: now(), reason: 'garbage', line: text.slice(0, SHOWN_CHARS), detail: parsed.error });
      const received = { line: parsed.value, text };
      if (!working) return reportUnexpected(received, 'no command at work');
      if (inbox.length >= MAX_INBOX) reportUnexpected(inbox.shift()!, 'too many lines for the command at work');
      inbox.push(received);
      wake?.();
    },
    onOverflow({ droppedBytes, head }) {
      emit({ kind: 'line-ignored', at: now(), reason: 'too-long', line: head, detail: `line of ${droppedBytes} bytes dropped: longer than ${MAX_SERIAL_LINE} bytes` });
    },
    onEvent(event) {
      emit({ kind: 'port', at: now(), event });
      if (!working || (event.kind !== 'lost' && event.kind !== 'closed')) return;
      interrupted = event.kind === 'lost' ? `port lost: ${event.detail}` : 'client closed';
      wake?.();
    },
  });

  /**
   * Takes lines in order until `pick` takes one, up to `timeoutMs`. A line it does not take is
   * reported and dropped: a step never looks back, so a stale answer cannot be taken for a later one.
   */
  async function awaitLine<T>(timeoutMs: number, pick: (line: DeviceLine) => T | undefined, what: string): Promise<Wait<T>> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      if (interrupted) return { ok: false, detail: interrupted };
      const next = inbox.shift();
      if (next) {
        const value = pick(next.line);
        if (value !== undefined) return { ok: true, value };
        reportUnexpected(next, `not ${what}`);
        continue;
      }
      const left = deadline - Date.now();
      if (left <= 0) return { ok: false, detail: `no ${what}` };
      await new Promise<void>((resolve) => {
        const timer = setTimeout(() => {
          wake = null;
          resolve();
        }, left);
        wake = () => {
          clearTimeout(timer);
          wake = null;
          resolve();
        };
      });
    }
  }

  /**
   * Sends one line once the port is open; null when sent. A write that failed or stalled midway may
   * still have put bytes on the line, hence `mayHaveSent`. The wait for the port and the write share
   * the step's limit: a device that stops reading (a full pty or UART buffer) cannot hang the step.
   */
  async function send(line: string, shown: string, withinMs: number): Promise<{ detail: string; mayHaveSent: boolean } | null> {
    if (closed) return { detail: 'client closed', mayHaveSent: false };
    const deadline = Date.now() + withinMs;
    if (!(await link.waitOpen(withinMs))) return { detail: `port not open: ${link.lastError || link.state}`, mayHaveSent: false };
    let timer: NodeJS.Timeout | undefined;
    const stalled = new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve(`the write did not complete within ${withinMs} ms`), Math.max(0, deadline - Date.now()));
    });
    const written = link.write(line).then(
      () => null,
      (err: unknown) => (err instanceof Error ? err.message : String(err)),
    );
    const failed = await Promise.race([written, stalled]).finally(() => clearTimeout(timer));
    if (failed !== null) return { detail: failed, mayHaveSent: true };
    emit({ kind: 'sent', at: now(), command: shown });
    return null;
  }

  async function queryInfo(): Promise<UartInfoOutcome> {
    const failed = await send(formatStationLine({ kind: 'info-query' }), 'AT+INFO?', timeouts.infoMs);
    if (failed) return { ok: false, code: 'TIMEOUT', detail: failed.detail };
    const answer = await awaitLine(
      timeouts.infoMs,
      (l) => (l.kind === 'info' ? ({ ok: true, info: l.info } as const) : l.kind === 'error' ? ({ ok: false, code: l.code, detail: `device answered ERROR:${l.code}` } as const) : undefined),
      `+INFO within ${timeouts.infoMs} ms`,
    );
    return answer.ok ? answer.value : { ok: false, code: 'TIMEOUT', detail: answer.detail };
  }

  async function queryResetRequest(): Promise<UartResetRequestOutcome> {
    const failed = await send(formatStationLine({ kind: 'reset-request-query' }), 'AT+RESETREQ?', timeouts.infoMs);
    if (failed) return { ok: false, code: 'TIMEOUT', detail: failed.detail };
    const answer = await awaitLine(
      timeouts.infoMs,
      (l) =>
        l.kind === 'reset-request'
          ? ({ ok: true, request: l.request } as const)
          : l.kind === 'error'
            ? ({ ok: false, code: l.code, detail: `device answered ERROR:${l.code}` } as const)
            : undefined,
      `+RESETREQ within ${timeouts.infoMs} ms`,
    );
    return answer.ok ? answer.value : { ok: false, code: 'TIMEOUT', detail: answer.detail };
  }

  async function runUnbind(token: string, opts: UartUnbindOptions): Promise<UartUnbindOutcome> {
    const states: DeviceState[] = [];
    const fail = (code: FailureCode | null, detail: string, info: DeviceInfo | null, tokenSent: boolean): UartUnbindOutcome => ({ result: 'FAILED', code, detail, info, tokenSent, states });
    if (!tokenStringSchema.safeParse(token).success) return fail('TOKEN_INVALID', 'not an unbind token: nothing was sent', null, false);

    const asked = await queryInfo();
    if (!asked.ok) return fail(asked.code, asked.detail, null, false);
    const info = asked.info;
    if (opts.expectedSerial !== undefined && info.sn !== opts.expectedSerial) {
      return fail('SERIAL_MISMATCH', `the device reports serial ${info.sn}, its label says ${opts.expectedSerial}: no token sent`, info, false);
    }
    if (opts.mayHandOver && !opts.mayHandOver()) return { ...fail(null, 'held back by the station: no token was sent', info, false), withheld: true };

    const noted = (state: DeviceState): void => {
      states.push(state);
      emit({ kind: 'state', at: now(), state });
      opts.onState?.(state);
    };
    const unsent = await send(formatStationLine({ kind: 'unbind', token }), `AT+UNBIND=${redactToken(token)}`, timeouts.ackMs);
    if (unsent) return fail('TIMEOUT', unsent.detail, info, unsent.mayHaveSent);

    // A +STATE before OK means the device took the token all the same.
    const ack = await awaitLine(timeouts.ackMs, (l) => (l.kind === 'ok' || l.kind === 'error' || l.kind === 'state' ? l : undefined), `OK or ERROR within ${timeouts.ackMs} ms`);
    if (!ack.ok) return fail('TIMEOUT', ack.detail, info, true);
    if (ack.value.kind === 'error') return fail(ack.value.code, `device refused the token: ERROR:${ack.value.code}`, info, true);
    if (ack.value.kind === 'state') noted(ack.value.state);

    // Each +STATE ends one wait and starts the next, all within the one result deadline.
    const deadline = Date.now() + timeouts.resultMs;
    let final: Extract<DeviceLine, { kind: 'result' }> | null = null;
    while (!final) {
      const next = await awaitLine(
        Math.max(0, deadline - Date.now()),
        (l) => (l.kind === 'state' || l.kind === 'result' ? l : undefined),
        `+RESULT within ${timeouts.resultMs} ms of OK`,
      );
      if (!next.ok) {
        const last = states.at(-1);
        return fail('TIMEOUT', `${next.detail}${last ? ` (last state: ${last})` : ''}; the device may still finish: check the token's results`, info, true);
      }
      if (next.value.kind === 'state') noted(next.value.state);
      else final = next.value;
    }
    if (final.result === 'FAILED') return fail(final.code ?? null, `device reported FAILED${final.code ? `,${final.code}` : ' without a code'}`, info, true);
    return { result: final.result, code: null, detail: `device reported ${final.result}`, info, tokenSent: true, states };
  }

  let queue: Promise<unknown> = Promise.resolve();
  /** One command at a time; lines it left untaken are reported when it ends. */
  function enqueue<T>(job: () => Promise<T>): Promise<T> {
    const run = queue.then(async () => {
      working = true;
      interrupted = closed ? 'client closed' : null;
      try {
        return await job();
      } finally {
        working = false;
        for (const r of inbox.splice(0)) reportUnexpected(r, 'not taken by its command');
      }
    });
    queue = run.catch(() => undefined);
    return run;
  }

  return {
    path: settings.path,
    get state() {
      return link.state;
    },
    info: () => enqueue(queryInfo),
    resetRequest: () => enqueue(queryResetRequest),
    unbind: (token, opts = {}) => enqueue(() => runUnbind(token, opts)),
    async close() {
      closed = true;
      await link.close(); // interrupts the step at work; queued ones find `closed` and fail at once
      await queue;
    },
  };
}
