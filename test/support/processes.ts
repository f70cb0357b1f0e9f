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
  // Whole lines only, per stream: a pipe may cut a line (a URL) in two chunks, and half a line must never match.
  const lineReader = (): { onData(chunk: Buffer): void; flush(): void } => {
    let partial = '';
    const add = (lines: string[]): void => {
      output.push(...lines.filter(Boolean));
      for (const w of [...waiters]) w();
    };
    return {
      onData(chunk) {
        const parts = (partial + chunk.toString()).split('\n');
        partial = parts.pop() ?? '';
        add(parts);
      },
      flush() {
        add([partial]);
        partial = '';
      },
    };
  };
  const out = lineReader();
  const err = lineReader();
  child.stdout!.on('data', out.onData);
  child.stderr!.on('data', err.onData);
  // 'close', not 'exit': 'exit' can come before the last output was read, and a line the child did
  // print would be reported missing. Kept as state, so a wait that starts after the end sees it too.
  let ended: string | null = null;
  child.once('close', (code, signal) => {
    out.flush();
    err.flush();
    ended = signal ? `was killed by ${signal}` : `exited ${code}`;
    for (const w of [...waiters]) w();
  });
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
          if (ended === null) return false;
          waiters.delete(check);
          clearTimeout(timer);
          reject(new Error(`unbind ${args[0]} ${ended} before ${pattern}; output:\n${output.join('\n')}`));
          return true;
        };
        const timer = setTimeout(() => {
          waiters.delete(check);
          reject(new Error(`timed out waiting for ${pattern}; output:\n${output.join('\n')}`));
        }, timeoutMs);
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
