import { spawn, type ChildProcess } from 'node:child_process';
import { REPO } from './processes.js';

/** A station driver process (test/support/crash-replay-driver.ts): commands in on stdin, whole lines out. */
export interface Driver {
  child: ChildProcess;
  lines: string[];
  waitFor(test: (lines: string[]) => boolean, what: string): Promise<void>;
  send(line: string): void;
}

/** Starts a driver process (test/support/crash-replay-driver.ts) and its whole output lines. */
export function startDriver(onLine: () => void): Driver {
  const child = spawn(process.execPath, ['--import', 'tsx', 'test/support/crash-replay-driver.ts'], { cwd: REPO, stdio: ['pipe', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const errors: string[] = [];
  const waiters = new Set<() => void>();
  let ended: string | null = null;
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const parts = (partial + chunk.toString()).split('\n');
    partial = parts.pop() ?? '';
    lines.push(...parts.filter(Boolean));
    onLine();
    for (const w of [...waiters]) w();
  });
  child.stderr!.on('data', (chunk: Buffer) => void errors.push(chunk.toString()));
  child.once('close', (code, signal) => {
    ended = signal ? `killed by ${signal}` : `exited ${code}`;
    for (const w of [...waiters]) w();
  });
  return {
    child,
    lines,
    send: (line) => void child.stdin!.write(`${line}\n`),
    waitFor: (test, what) =>
      new Promise((resolve, reject) => {
        const check = (): void => {
          if (test(lines)) {
            waiters.delete(check);
            resolve();
          } else if (ended !== null) {
            waiters.delete(check);
            reject(new Error(`driver ${ended} before ${what}:\n${lines.slice(-5).join('\n')}\n${errors.join('')}`));
          }
        };
        waiters.add(check);
        check();
      }),
  };
}
