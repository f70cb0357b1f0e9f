import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { STATION_CALL_NAMES, STATION_CALLS, STATION_EVENTS_PATH } from '../../src/protocol/station-api.js';
import type { StationHandlers } from '../../src/main/station-calls.js';
import { buildStationServer } from '../../src/main/station-server.js';
import { createEventHub } from '../../src/main/event-hub.js';
import { REPO } from '../support/processes.js';

/**
 * DESIGN §4.11: every station call is one entry of the table in src/protocol/station-api/, and every
 * face is derived from it. These fail when a call is declared anywhere else: a route string, an IPC
 * channel or a method list written by hand in the faces, or a preload or server that differs from the table.
 */

const FACES = ['src/main/station-server.ts', 'src/main/station-calls.ts', 'src/main/electron-main.ts', 'src/main/electron-preload.ts', 'src/main/compose-station.ts'];

function sourcesUnder(dir: string): string[] {
  return readdirSync(join(REPO, dir), { recursive: true, encoding: 'utf8' })
    .filter((f) => /\.(ts|vue)$/.test(f))
    .map((f) => join(dir, f));
}

const read = (file: string): string => readFileSync(join(REPO, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');

describe('the station API table is the one place a call is declared', () => {
  it('given src/main and src/renderer, then no station API route is written outside the table', () => {
    const offenders = [...sourcesUnder('src/main'), ...sourcesUnder('src/renderer')].filter((f) => /['"`]\/api\//.test(read(f)));
    expect(offenders).toEqual([]);
  });

  it('given the faces (server, IPC, preload, both transports), then none names a call by hand', () => {
    const faces = [...FACES.filter((f) => !f.endsWith('electron-preload.ts')), ...sourcesUnder('src/renderer/api')];
    const offenders: string[] = [];
    for (const f of faces) {
      const text = read(f);
      for (const name of STATION_CALL_NAMES) {
        // A method of an object literal (`getBatch: …`, `getBatch(…) {`) or a channel (`'station:getBatch'`).
        if (new RegExp(`(^|[\\s{,])${name}\\s*(:|\\([^)]*\\)\\s*\\{)|station:${name}\\b`, 'm').test(text)) offenders.push(`${f}: ${name}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('given the IPC main process, then it registers handlers only by iterating the table', () => {
    const handles = [...sourcesUnder('src/main'), ...sourcesUnder('src/renderer')].flatMap((f) => (read(f).match(/ipcMain\.handle\(/g) ?? []).map(() => f));
    expect(handles).toEqual(['src/main/electron-main.ts']);
    expect(read('src/main/electron-main.ts')).toMatch(/for \(const name of STATION_CALL_NAMES\)[\s\S]*ipcMain\.handle\(stationCallChannel\(name\)/);
  });

  it('when the sandboxed preload runs, then it exposes exactly one function per table entry, each on its own channel', async () => {
    const r = await build({ entryPoints: [join(REPO, 'src/main/electron-preload.ts')], bundle: true, platform: 'node', format: 'cjs', external: ['electron'], write: false, logLevel: 'silent' });
    const exposed: Record<string, Record<string, (...a: unknown[]) => unknown>> = {};
    const invoked: Array<[string, unknown[]]> = [];
    const electron = {
      contextBridge: { exposeInMainWorld: (key: string, api: Record<string, (...a: unknown[]) => unknown>) => void (exposed[key] = api) },
      ipcRenderer: { invoke: (channel: string, ...args: unknown[]) => invoked.push([channel, args]), on: () => undefined, removeListener: () => undefined },
    };
    const module = { exports: {} };
    new Function('require', 'module', 'exports', r.outputFiles[0]!.text)((id: string) => (id === 'electron' ? electron : undefined), module, module.exports);

    const bridge = exposed.unbindStation!;
    expect(Object.keys(bridge).sort()).toEqual([...STATION_CALL_NAMES, 'onEvent'].sort());
    for (const name of STATION_CALL_NAMES) bridge[name]!('x', 1);
    expect(invoked.map(([channel]) => channel)).toEqual(STATION_CALL_NAMES.map((n) => `station:${n}`));
    expect(invoked.every(([, args]) => args.length === 2)).toBe(true);
  });

  it('when the station server is built, then it serves exactly the table routes under /api, plus the event stream', async () => {
    const handlers = Object.fromEntries(STATION_CALL_NAMES.map((n) => [n, () => undefined])) as unknown as StationHandlers;
    const app = buildStationServer({ handlers, hub: createEventHub(), secret: 'k'.repeat(32), rendererDir: join(REPO, 'no-renderer-here'), logLevel: 'silent' });
    await app.ready();
    const fromTable = STATION_CALL_NAMES.map((n) => `${STATION_CALLS[n].http.method} ${STATION_CALLS[n].http.path.replace(/:(\w+)\.\w+/, ':$1')}`);
    for (const route of fromTable) {
      const [method, url] = route.split(' ') as [string, string];
      expect(app.hasRoute({ method: method as 'GET', url }), route).toBe(true);
    }
    expect(app.hasRoute({ method: 'GET', url: STATION_EVENTS_PATH })).toBe(true);
    // Nothing else: the routes registered are the table's, the event stream and the page ("/", 503 unbuilt).
    const methods = [...app.printRoutes({ commonPrefix: false }).matchAll(/\(([A-Z, ]+)\)/g)].flatMap((m) => m[1]!.split(', ')).filter((m) => m !== 'HEAD');
    expect(methods).toHaveLength(STATION_CALL_NAMES.length + 2);
    await app.close();
  });
});
