import { SerialPort } from 'serialport';
import { formatDeviceLine, parseStationLine, SERIAL_BAUD_RATE, type DeviceLine } from '../../protocol/index.js';
import type { FleetDeviceStatus } from '../../protocol/virtual-bench.js';
import type { StateChange } from '../core/device-core.js';
import type { DeviceIdentity } from '../core/device-identity.js';
import { UartGatewayAgent, type UartGatewayDetails, type UartGatewayFaults } from './uart-gateway-agent.js';
import { UartLineReader } from './uart-line-reader.js';
import { startPtyPair } from './uart-pty-pair.js';

export interface UartGatewayOptions {
  identity: DeviceIdentity;
  /** Authority base URL by region. */
  regionUrls: Readonly<Record<string, string>>;
  /** Where the pty links go: `<ptyDir>/<name>-dev` and `<ptyDir>/<name>-station`. */
  ptyDir: string;
  /** Link base name (default `gw-<devId>`); the bench uses gw-1, gw-2, ... */
  name?: string;
  initialState?: 'waiting' | 'operating';
  faults?: UartGatewayFaults;
  requestTimeoutMs?: number;
  model?: string;
  /** One line per state change and per ignored input (default: none). */
  log?: (line: string) => void;
}

export interface UartGateway {
  readonly devId: string;
  readonly serial: string;
  /** The end the station opens. */
  readonly stationPath: string;
  readonly devicePath: string;
  readonly agent: UartGatewayAgent;
  status(): FleetDeviceStatus;
  details(): UartGatewayDetails;
  /** The operator holds the reset button; the line shows `+STATE:waiting`. */
  reset(): void;
  /** Resolves when no attempt is in flight. */
  idle(): Promise<void>;
  /** Cancels an attempt in flight, closes the port, kills socat and removes the links. */
  close(): Promise<void>;
}

function openDeviceEnd(path: string): Promise<SerialPort> {
  return new Promise((resolve, reject) => {
    const port = new SerialPort({ path, baudRate: SERIAL_BAUD_RATE, autoOpen: false });
    port.open((err) => (err ? reject(err) : resolve(port)));
  });
}

/** The line(s) a state change puts on the wire: every state, and the result once the attempt ends. */
function linesFor(change: StateChange): DeviceLine[] {
  if (change.to === 'operating') return [];
  const lines: DeviceLine[] = [{ kind: 'state', state: change.to }];
  if (change.to === 'unbound' && change.result) lines.push({ kind: 'result', result: change.result });
  if (change.to === 'failed') lines.push({ kind: 'result', result: 'FAILED', ...(change.code ? { code: change.code } : {}) });
  return lines;
}

/**
 * A virtual UART gateway (DESIGN §4.6, device side) on its own pty pair. Answers:
 * - `AT+INFO?` → `+INFO:<json>` once reset; a gateway never reset (`operating`) answers
 *   `ERROR:NOT_WAITING`: its pairing console is off, and that is the hint the operator needs.
 * - `AT+UNBIND=<token>` in `waiting` → `OK`, `+STATE:unbinding`, the signed request, then
 *   `+STATE:unbound|failed` and `+RESULT:UNBOUND|NOT_BOUND|FAILED[,CODE]`; in any other state →
 *   `ERROR:NOT_WAITING` (a gateway at work or done takes no second token until reset).
 * - `AT+UNBIND=` with something that is not a token → `ERROR:TOKEN_INVALID`.
 * - Anything else gets no answer (§5 has no code for "unknown command", and a bare `ERROR` would be
 *   garbage to the station): it is logged, and the station's step timeout ends its wait.
 */
export async function startUartGateway(options: UartGatewayOptions): Promise<UartGateway> {
  const agent = new UartGatewayAgent({
    identity: options.identity,
    regionUrls: options.regionUrls,
    ...(options.initialState ? { initialState: options.initialState } : {}),
    ...(options.faults ? { faults: options.faults } : {}),
    ...(options.requestTimeoutMs === undefined ? {} : { requestTimeoutMs: options.requestTimeoutMs }),
    ...(options.model ? { model: options.model } : {}),
  });
  const log = options.log ?? (() => undefined);
  const pair = await startPtyPair({ dir: options.ptyDir, name: options.name ?? `gw-${agent.devId}` });
  let port: SerialPort;
  try {
    port = await openDeviceEnd(pair.devicePath);
  } catch (err) {
    await pair.close();
    throw new Error(`gateway ${agent.devId}: cannot open ${pair.devicePath}: ${err instanceof Error ? err.message : String(err)}`);
  }
  let closed = false;

  const say = (line: DeviceLine): void => {
    if (closed || agent.faults.silent || !port.isOpen) return;
    // Writes queue in order inside serialport: OK is on the wire before the +STATE that follows it.
    port.write(formatDeviceLine(line), (err) => {
      if (err && !closed) agent.record('error', `UART write failed: ${err.message}`);
    });
  };
  const ignore = (detail: string): void => {
    agent.record('rejected', detail);
    log(`${new Date().toISOString()} ${agent.devId} uart: ${detail}`);
  };

  const onCommand = (text: string): void => {
    if (agent.faults.silent) return ignore(`silent (fault): "${text.slice(0, 40)}" not answered`);
    const parsed = parseStationLine(text);
    if (!parsed.ok) {
      if (text.startsWith('AT+UNBIND=')) {
        agent.record('rejected', `AT+UNBIND with ${parsed.error}`, 'TOKEN_INVALID');
        return say({ kind: 'error', code: 'TOKEN_INVALID' });
      }
      return ignore(`${parsed.error}: not answered`);
    }
    if (parsed.value.kind === 'info-query') {
      const info = agent.info();
      return say(info ? { kind: 'info', info } : { kind: 'error', code: 'NOT_WAITING' });
    }
    if (parsed.value.kind === 'reset-request-query') {
      const request = agent.resetRequest();
      return say(request ? { kind: 'reset-request', request } : { kind: 'error', code: 'RESET_CODE_INVALID' });
    }
    if (agent.state !== 'waiting') {
      agent.receiveToken(parsed.value.token); // records the refusal in the gateway's history
      return say({ kind: 'error', code: 'NOT_WAITING' });
    }
    say({ kind: 'ok' });
    // Same tick as the check above: the state cannot have changed in between.
    const accepted = agent.receiveToken(parsed.value.token);
    if (!accepted.accepted) say({ kind: 'error', code: accepted.code });
  };

  const reader = new UartLineReader(onCommand, (dropped) => ignore(`line of ${dropped} bytes dropped: longer than the receive buffer`));
  port.on('data', (chunk: Buffer) => reader.push(chunk));
  port.on('error', (err) => agent.record('error', `UART error: ${err.message}`));
  port.on('close', (err: Error | null) => {
    if (!closed) agent.record('error', `UART closed${err ? `: ${err.message}` : ''}`);
  });
  void pair.exited.then(() => {
    if (closed) return;
    agent.record('fault', 'the serial cable is gone (socat exited): the UART is closed');
    if (port.isOpen) port.close(() => undefined);
  });
  agent.onStateChange((change) => {
    const why = change.code ?? change.result ?? change.note ?? '';
    log(`${change.at} ${change.devId} ${change.from}→${change.to}${why ? ` ${why}` : ''}`);
    for (const line of linesFor(change)) say(line);
  });

  return {
    devId: agent.devId,
    serial: agent.serial,
    stationPath: pair.stationPath,
    devicePath: pair.devicePath,
    agent,
    status: () => agent.status(),
    details: () => agent.details(),
    reset: () => agent.reset(),
    idle: () => agent.idle(),
    async close() {
      if (closed) return;
      closed = true;
      agent.stop();
      await agent.idle();
      if (port.isOpen) await new Promise<void>((resolve) => port.close(() => resolve()));
      await pair.close();
    },
  };
}
