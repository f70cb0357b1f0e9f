import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';
import { runUnbind, type RunningProcess } from '../support/processes.js';
import { stationClient } from './station-client.js';

/**
 * For one describe: a real authority process with the demo world (its export read back) and a station
 * process on it (no bench, no LAN), both over real HTTP on 127.0.0.1; stopped and removed after.
 */
export function useAuthorityAndStation<Demo>(prefix: string, authorityLogLevel = 'warn'): { station(): ReturnType<typeof stationClient>; authorityUrl(): string; demo(): Demo } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  const procs: RunningProcess[] = [];
  let s: ReturnType<typeof stationClient> | undefined;
  let authorityUrl = '';
  let demo: Demo | undefined;
  beforeAll(async () => {
    const demoFile = join(dir, 'demo.json');
    const authority = runUnbind(['authority', '--port', '0', '--db', join(dir, 'authority.db'), '--demo', '--export-demo', demoFile, '--log-level', authorityLogLevel]);
    procs.push(authority);
    authorityUrl = (await authority.waitFor(/listening on (http:\S+)/))[1]!;
    await authority.waitFor(/demo accounts, products and devices written/);
    demo = JSON.parse(readFileSync(demoFile, 'utf8')) as Demo;
    const station = runUnbind(['start', '--port', '0', '--authority', authorityUrl, '--demo-export', demoFile, '--no-bench', '--no-lan', '--data', join(dir, 'station')]);
    procs.push(station);
    s = stationClient((await station.waitFor(/Unbind Station: (http:\S+)/))[1]!);
  }, 90_000);
  afterAll(async () => {
    await Promise.all(procs.map((p) => p.kill()));
    rmSync(dir, { recursive: true, force: true });
  });
  return { station: () => s!, authorityUrl: () => authorityUrl, demo: () => demo! };
}
