import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { SerialPortStream } from '@serialport/stream';
import { startPtyPair, type PtyPair } from '../../src/device/uart/index.js';
import { hangupAwareBinding } from '../../src/wired/serial-binding.js';

/**
 * Real serial pairs for tests (socat ptys, DESIGN §11): a scratch directory for the links, a pair,
 * and a scripted peer on the device end that a test drives line by line.
 */

export interface PtyDir {
  path: string;
  remove(): Promise<void>;
}

export async function makePtyDir(prefix = 'pty-'): Promise<PtyDir> {
  const path = await mkdtemp(join(tmpdir(), prefix));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

export function startTestPair(dir: string, name: string): Promise<PtyPair> {
  return startPtyPair({ dir, name });
}

/** A hand-driven device: everything it receives, split at CRLF/LF, and a way to answer. */
export interface ScriptedPeer {
  /** Lines received so far, without their line ends. */
  lines: string[];
  write(text: string | Buffer): Promise<void>;
  /** Resolves with the first received line (from `from` on) that matches, or rejects after `timeoutMs`. */
  nextLine(pattern: RegExp, opts?: { timeoutMs?: number; from?: number }): Promise<string>;
  /** Calls `reply` for every line received from now on (the peer answering as a device would). */
  answer(reply: (line: string) => string | string[] | null): void;
  close(): Promise<void>;
}

export async function openScriptedPeer(path: string): Promise<ScriptedPeer> {
  const port = await new Promise<SerialPortStream>((resolve, reject) => {
    // Hangup-aware: a test that tears the pair down under the peer must not leave it spinning.
    const p = new SerialPortStream({ binding: hangupAwareBinding(), path, baudRate: 115200, autoOpen: false });
    p.open((err) => (err ? reject(err) : resolve(p)));
  });
  port.on('error', () => undefined); // a test that closes the pair under the peer expects errors here
  const lines: string[] = [];
  const listeners = new Set<() => void>();
  let replier: ((line: string) => string | string[] | null) | null = null;
  let pending = '';
  const write = (text: string | Buffer): Promise<void> =>
    new Promise((resolve, reject) => {
      if (!port.isOpen) return reject(new Error('peer port is closed'));
      port.write(text, (err) => (err ? reject(err) : resolve()));
    });
  port.on('data', (chunk: Buffer) => {
    pending += chunk.toString('utf8');
    const parts = pending.split(/\r?\n/);
    pending = parts.pop() ?? '';
    for (const line of parts) {
      lines.push(line);
      const reply = replier?.(line);
      for (const r of reply === null || reply === undefined ? [] : Array.isArray(reply) ? reply : [reply]) void write(`${r}\r\n`).catch(() => undefined);
    }
    for (const l of [...listeners]) l();
  });
  return {
    lines,
    write,
    nextLine(pattern, { timeoutMs = 5_000, from = 0 } = {}) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          const hit = lines.slice(from).find((l) => pattern.test(l));
          if (hit === undefined) return false;
          listeners.delete(check);
          clearTimeout(timer);
          resolve(hit);
          return true;
        };
        const timer = setTimeout(() => {
          listeners.delete(check);
          reject(new Error(`peer: no line matching ${pattern} within ${timeoutMs} ms; got ${JSON.stringify(lines)}`));
        }, timeoutMs);
        if (!check()) listeners.add(check);
      });
    },
    answer(reply) {
      replier = reply;
    },
    close: () => (port.isOpen ? new Promise<void>((resolve) => port.close(() => resolve())) : Promise.resolve()),
  };
}

/** Polls until `check` is true; the failure message says what was awaited. */
export async function eventually(check: () => boolean, what: string, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
