import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** Runs `unbind <args>` as a real child process and waits for a line of its output. */
export const REPO = fileURLToPath(new URL('../../', import.meta.url));

export interface RunningProcess {
  child: ChildProcess;
  output: string[];
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  kill(signal?: NodeJS.Signals): Promise<void>;
}

export function runUnbind(args: string[]): RunningProcess {
  const child = spawn(process.execPath, ['bin/unbind.js', ...args], { cwd: REPO, stdio: ['ignore', 'pipe', 'pipe'] });
  const output: string[] = [];
  const waiters = new Set<() => void>();
  const onData = (chunk: Buffer): void => {
    output.push(...chunk.toString().split('\n').filter(Boolean));
    for (const w of [...waiters]) w();
  };
  child.stdout!.on('data', onData);
  child.stderr!.on('data', onData);
  return {
    child,
    output,
    waitFor(pattern, timeoutMs = 30_000) {
      return new Promise((resolve, reject) => {
        const check = (): boolean => {
          for (const line of output) {
            const m = pattern.exec(line);
            if (m) {
              waiters.delete(check);
              clearTimeout(timer);
              resolve(m);
              return true;
            }
          }
          return false;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${pattern}; output:\n${output.join('\n')}`));
        }, timeoutMs);
        child.once('exit', (code) => {
          if (!check()) {
            clearTimeout(timer);
            reject(new Error(`unbind ${args[0]} exited ${code} before ${pattern}; output:\n${output.join('\n')}`));
          }
        });
        if (!check()) waiters.add(check);
      });
    },
    kill(signal = 'SIGTERM') {
      if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
      return new Promise((done) => {
        child.once('exit', () => done());
        child.kill(signal);
      });
    },
  };
}
