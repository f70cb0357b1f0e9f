import { z } from 'zod';
import { failureCodeSchema, unbindResultSchema, type FailureCode, type UnbindResult } from './failure-codes.js';
import { deviceStateSchema, type DeviceState } from './device-states.js';
import { deviceInfoSchema, serialSchema, type DeviceInfo } from './device-messages.js';
import { tokenStringSchema } from './token.js';
import { parseResetRequestXml, resetRequestXmlLine, type ResetRequest } from './admin-password.js';

/** DESIGN §4.6: 115200 8N1, lines end in CRLF. */
export const SERIAL_BAUD_RATE = 115200;
export const SERIAL_EOL = '\r\n';
export const MAX_SERIAL_LINE = 1024;

/** `AT+RESETREQ?` asks for the device's reset request (DESIGN §4.9), answered `+RESETREQ:<ResetRequest> XML on one line`. */
export type StationLine = { kind: 'info-query' } | { kind: 'unbind'; token: string } | { kind: 'reset-request-query' };
export type DeviceLine =
  | { kind: 'info'; info: DeviceInfo }
  | { kind: 'ok' }
  | { kind: 'error'; code: FailureCode }
  | { kind: 'state'; state: DeviceState }
  | { kind: 'result'; result: UnbindResult; code?: FailureCode }
  | { kind: 'reset-request'; request: ResetRequest };

export type LineParse<T> = { ok: true; value: T } | { ok: false; error: string };

export function formatStationLine(l: StationLine): string {
  return (l.kind === 'info-query' ? 'AT+INFO?' : l.kind === 'reset-request-query' ? 'AT+RESETREQ?' : `AT+UNBIND=${tokenStringSchema.parse(l.token)}`) + SERIAL_EOL;
}

export function parseStationLine(line: string): LineParse<StationLine> {
  const s = line.replace(/\r?\n$/, '');
  if (s.length > MAX_SERIAL_LINE) return { ok: false, error: 'line too long' };
  if (s === 'AT+INFO?') return { ok: true, value: { kind: 'info-query' } };
  if (s === 'AT+RESETREQ?') return { ok: true, value: { kind: 'reset-request-query' } };
  if (s.startsWith('AT+UNBIND=')) {
    const t = tokenStringSchema.safeParse(s.slice('AT+UNBIND='.length));
    return t.success ? { ok: true, value: { kind: 'unbind', token: t.data } } : { ok: false, error: `bad token: ${t.error.issues[0]?.message}` };
  }
  return { ok: false, error: `unknown command: ${s.slice(0, 40)}` };
}

export function formatDeviceLine(l: DeviceLine): string {
  switch (l.kind) {
    case 'info':
      return `+INFO:${JSON.stringify(l.info)}${SERIAL_EOL}`;
    case 'ok':
      return `OK${SERIAL_EOL}`;
    case 'error':
      return `ERROR:${l.code}${SERIAL_EOL}`;
    case 'state':
      return `+STATE:${l.state}${SERIAL_EOL}`;
    case 'result':
      return `+RESULT:${l.result}${l.code ? `,${l.code}` : ''}${SERIAL_EOL}`;
    case 'reset-request':
      return `+RESETREQ:${resetRequestXmlLine(l.request)}${SERIAL_EOL}`;
  }
}

export function parseDeviceLine(line: string): LineParse<DeviceLine> {
  const s = line.replace(/\r?\n$/, '');
  if (s.length > MAX_SERIAL_LINE) return { ok: false, error: 'line too long' };
  if (s === 'OK') return { ok: true, value: { kind: 'ok' } };
  if (s.startsWith('ERROR:')) {
    const c = failureCodeSchema.safeParse(s.slice(6));
    return c.success ? { ok: true, value: { kind: 'error', code: c.data } } : { ok: false, error: `unknown error code: ${s.slice(6, 46)}` };
  }
  if (s.startsWith('+STATE:')) {
    const st = deviceStateSchema.safeParse(s.slice(7));
    return st.success ? { ok: true, value: { kind: 'state', state: st.data } } : { ok: false, error: `unknown state: ${s.slice(7, 47)}` };
  }
  if (s.startsWith('+RESULT:')) {
    const [res, code, ...rest] = s.slice(8).split(',');
    const r = unbindResultSchema.safeParse(res);
    if (!r.success || rest.length) return { ok: false, error: `bad result line: ${s.slice(0, 60)}` };
    if (code === undefined) return { ok: true, value: { kind: 'result', result: r.data } };
    const c = failureCodeSchema.safeParse(code);
    return c.success ? { ok: true, value: { kind: 'result', result: r.data, code: c.data } } : { ok: false, error: `unknown result code: ${code.slice(0, 40)}` };
  }
  if (s.startsWith('+RESETREQ:')) {
    const request = parseResetRequestXml(s.slice('+RESETREQ:'.length));
    return request ? { ok: true, value: { kind: 'reset-request', request } } : { ok: false, error: '+RESETREQ is not a <ResetRequest>' };
  }
  if (s.startsWith('+INFO:')) {
    let json: unknown;
    try {
      json = JSON.parse(s.slice(6));
    } catch {
      return { ok: false, error: '+INFO is not JSON' };
    }
    const i = deviceInfoSchema.safeParse(json);
    return i.success ? { ok: true, value: { kind: 'info', info: i.data } } : { ok: false, error: `+INFO ${i.error.issues[0]?.path.join('.')}: ${i.error.issues[0]?.message}` };
  }
  return { ok: false, error: `unknown line: ${s.slice(0, 40)}` };
}

/** A barcode scanner sends one label per line; a label is a device serial. */
export function parseScannedLabel(line: string): LineParse<string> {
  const s = line.replace(/\r?\n$/, '').trim();
  const r = serialSchema.safeParse(s);
  return r.success ? { ok: true, value: r.data } : { ok: false, error: `not a serial label: ${r.error.issues[0]?.message}` };
}
