import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runUnbind, type RunningProcess } from '../support/processes.js';

/**
 * DESIGN §9, issue 9: one process writes a store. A second `unbind authority` on the same --db, or a
 * second `unbind start` on the same --data, refuses to start and says who holds it and what to do; a
 * holder killed with SIGKILL blocks nothing. Real processes, real files.
 */
describe('one writer per store, over real processes', () => {
  const dir = mkdtempSync(join(tmpdir(), 'one-writer-'));
  const procs: RunningProcess[] = [];
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill('SIGKILL')));
    rmSync(dir, { recursive: true, force: true });
  });
  const run = (args: string[]): RunningProcess => {
    const p = runUnbind(args);
    procs.push(p);
    return p;
  };
  const exitOf = (p: RunningProcess): Promise<number | null> =>
    new Promise((resolve) => (p.child.exitCode !== null ? resolve(p.child.exitCode) : p.child.once('close', (code) => resolve(code))));
  const refusal = (store: string, pid: number, what: string): RegExp =>
    new RegExp(`^unbind: store ${store.replace(/[.]/g, '\\.')} is already open for writing by pid ${pid} \\(${what}\\) since \\d{4}-\\d\\d-\\d\\dT[\\d:.]+Z: stop it, or use another --db / data folder$`);

  it('a second authority on the same --db exits 1 naming the first; after kill -9 of the first a new one starts on it', async () => {
    const db = join(dir, 'authority.db');
    const args = ['authority', '--port', '0', '--db', db, '--demo', '--export-demo', join(dir, 'demo.json'), '--log-level', 'warn'];
    const first = run(args);
    await first.waitFor(/demo accounts, products and devices written/);

    const second = run(['authority', '--port', '0', '--db', db, '--log-level', 'warn']);
    expect(await exitOf(second)).toBe(1);
    expect(second.output).toContainEqual(expect.stringMatching(refusal(db, first.child.pid!, 'unbind authority')));
    expect(second.output.some((l) => /listening on/.test(l))).toBe(false);

    await first.kill('SIGKILL');
    const third = run(['authority', '--port', '0', '--db', db, '--log-level', 'warn']);
    await third.waitFor(/listening on http:/);
    await third.kill('SIGTERM');
  }, 60_000);

  it('a second station on the same --data exits 1 naming the first; after kill -9 of the first a new one starts on it', async () => {
    const authority = run(['authority', '--port', '0', '--db', join(dir, 'auth2', 'authority.db'), '--demo', '--export-demo', join(dir, 'auth2', 'demo.json'), '--log-level', 'warn']);
    const authorityUrl = (await authority.waitFor(/listening on (http:\S+)/))[1]!;
    await authority.waitFor(/demo accounts, products and devices written/);
    const data = join(dir, 'station');
    const stationArgs = ['start', '--port', '0', '--authority', authorityUrl, '--demo-export', join(dir, 'auth2', 'demo.json'), '--no-bench', '--no-lan', '--data', data];

    const first = run(stationArgs);
    await first.waitFor(/Unbind Station: http:/);
    const second = run(stationArgs);
    expect(await exitOf(second)).toBe(1);
    // The first store the station opens is its history.
    expect(second.output).toContainEqual(expect.stringMatching(refusal(join(data, 'history.db'), first.child.pid!, 'unbind start')));
    expect(second.output.some((l) => /Unbind Station:/.test(l))).toBe(false);

    await first.kill('SIGKILL');
    const third = run(stationArgs);
    await third.waitFor(/Unbind Station: http:/);
    await third.kill('SIGTERM');
  }, 60_000);

  it('a second station with an embedded authority on the same --data is refused at the authority\'s store', async () => {
    const data = join(dir, 'embedded');
    const args = (port: string) => ['start', '--port', '0', '--authority-port', port, '--no-bench', '--no-lan', '--data', data];
    const first = run(args('0'));
    await first.waitFor(/Unbind Station: http:/);
    const second = run(args('0'));
    expect(await exitOf(second)).toBe(1);
    expect(second.output).toContainEqual(expect.stringMatching(refusal(join(data, 'authority.db'), first.child.pid!, 'unbind start')));
    await first.kill('SIGTERM');
  }, 60_000);
});
