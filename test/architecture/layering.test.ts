import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { posix } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * DESIGN §2 layering, enforced by reading every import in src/ (VS Code's idea, as a test):
 * protocol is pure, device speaks protocol only, the renderer sees only the protocol contract,
 * only src/main/electron* touches electron, and only src/sqlite opens a SQLite file or runs migrations.
 * Inside src/device, the rooms import one way and the shared device core reaches nothing of the QR camera
 * (real firmware of a LAN device has no QR decoder).
 */

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const PARTS = ['protocol', 'sqlite', 'cloud', 'quota', 'qr', 'wired', 'batch', 'history', 'main', 'renderer', 'device'] as const;
type Part = (typeof PARTS)[number];

interface SourceFile {
  /** Repository-relative, with forward slashes: `src/protocol/token.ts`. */
  path: string;
  text: string;
}

type Target =
  | { kind: 'src'; part: Part | null; path: string }
  | { kind: 'outside-src'; path: string }
  | { kind: 'builtin'; name: string }
  | { kind: 'package'; name: string };

interface ImportRef {
  file: string;
  line: number;
  specifier: string;
  target: Target;
}

/** Modules that do I/O; named so a violation says why, though protocol's rule is an allow-list anyway. */
const IO_MODULES = [
  'fs', 'fs/promises', 'net', 'http', 'https', 'http2', 'dgram', 'child_process', 'os', 'tls', 'dns', 'cluster',
  'worker_threads', 'readline', 'process', 'inspector', 'v8', 'vm', 'sqlite',
  'better-sqlite3', 'fastify', 'serialport', 'bonjour-service', 'undici', 'electron', 'ws', 'pg', 'node-fetch', 'axios',
  'express', 'qrcode', 'pngjs', 'jsqr', 'fast-xml-parser',
];
const PROTOCOL_ALLOWED_EXTERNAL = new Set(['zod', 'crypto']);

const BUILTINS = new Set(builtinModules.map((m) => m.replace(/^node:/, '')));

function stripComments(text: string): string {
  return text.replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' ')).replace(/(^|[^:'"`\\])\/\/.*$/gm, '$1');
}

const IMPORT_PATTERNS = [
  // import x from '…', import { a,\n b } from '…', import type …, import '…', export … from '…'
  /(?:^|[\n;{}])\s*(?:import|export)(?:\s+type)?\s*(?:[\w*${}\s,]+?\s*from\s*)?['"]([^'"\n]+)['"]/g,
  /\bimport\s*\(\s*['"`]([^'"`\n]+)['"`]\s*\)/g,
  /\brequire\s*\(\s*['"`]([^'"`\n]+)['"`]\s*\)/g,
];

function packageName(specifier: string): string {
  const parts = specifier.split('/');
  return specifier.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0]!;
}

function classify(fromFile: string, specifier: string): Target {
  if (specifier.startsWith('.') || specifier.startsWith('/')) {
    const path = posix.normalize(specifier.startsWith('/') ? specifier.slice(1) : posix.join(posix.dirname(fromFile), specifier));
    if (!path.startsWith('src/')) return { kind: 'outside-src', path };
    const folder = path.split('/')[1] ?? '';
    return { kind: 'src', part: (PARTS as readonly string[]).includes(folder) ? (folder as Part) : null, path };
  }
  const bare = specifier.replace(/^node:/, '');
  if (specifier.startsWith('node:') || BUILTINS.has(bare.split('/')[0]!)) return { kind: 'builtin', name: bare };
  return { kind: 'package', name: packageName(specifier) };
}

function importsOf(file: SourceFile): ImportRef[] {
  const text = stripComments(file.text);
  const refs: ImportRef[] = [];
  for (const pattern of IMPORT_PATTERNS) {
    for (const m of text.matchAll(pattern)) {
      const specifier = m[1]!;
      const at = m.index + m[0].lastIndexOf(specifier);
      refs.push({ file: file.path, line: text.slice(0, at).split('\n').length, specifier, target: classify(file.path, specifier) });
    }
  }
  return refs;
}

function partOf(path: string): Part | null {
  const folder = path.split('/')[1] ?? '';
  return path.startsWith('src/') && (PARTS as readonly string[]).includes(folder) ? (folder as Part) : null;
}

const isElectron = (t: Target): boolean => t.kind === 'package' && t.name === 'electron';

/** Every rule of the layering; returns one readable line per violation. */
function layeringViolations(files: SourceFile[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    const part = partOf(file.path);
    for (const ref of importsOf(file)) {
      const where = `${ref.file}:${ref.line} imports '${ref.specifier}'`;
      const t = ref.target;

      if (isElectron(t) && !file.path.startsWith('src/main/electron')) out.push(`${where}: only src/main/electron* may import electron`);

      if (part === 'protocol') {
        const external = t.kind === 'builtin' ? t.name : t.kind === 'package' ? t.name : null;
        if (t.kind === 'src' && t.part !== 'protocol') out.push(`${where}: src/protocol may not import outside src/protocol`);
        if (t.kind === 'outside-src') out.push(`${where}: src/protocol may not import outside src/protocol`);
        if (external !== null && !PROTOCOL_ALLOWED_EXTERNAL.has(external) && !external.startsWith('zod/')) {
          const io = IO_MODULES.includes(external) || IO_MODULES.includes(external.split('/')[0]!);
          out.push(`${where}: src/protocol is pure${io ? ' (this module does I/O)' : ''}; it may import only zod and node:crypto`);
        }
      }

      if (part === 'device' && (t.kind === 'outside-src' || (t.kind === 'src' && t.part !== 'protocol' && t.part !== 'device'))) {
        out.push(`${where}: src/device may import only src/protocol and npm packages (real firmware cannot reach the authority or station)`);
      }

      if (part === 'renderer' && (t.kind === 'outside-src' || (t.kind === 'src' && t.part !== 'protocol' && t.part !== 'renderer'))) {
        out.push(`${where}: src/renderer may import only src/protocol (the station API contract)`);
      }

      if (t.kind === 'src' && t.part === 'sqlite' && part !== 'sqlite' && !SQLITE_USERS.includes(part as Part)) {
        out.push(`${where}: src/sqlite is imported only by ${SQLITE_USERS.map((p) => `src/${p}`).join(', ')}`);
      }
    }
  }
  return out;
}

/** The stores that open their SQLite files through src/sqlite (DESIGN §2: sqlite ← cloud, history, batch). */
const SQLITE_USERS: readonly Part[] = ['cloud', 'history', 'batch'];

/** DESIGN §2 "dependencies point one way", for the parts the brief rules above do not cover. */
const MAY_IMPORT: Partial<Record<Part, readonly Part[]>> = {
  sqlite: ['protocol'],
  quota: ['protocol'],
  cloud: ['protocol', 'sqlite', 'quota'],
  qr: ['protocol'],
  wired: ['protocol'],
  history: ['protocol', 'sqlite'],
  batch: ['protocol', 'sqlite', 'qr', 'wired', 'history', 'quota'],
};
function directionViolations(files: SourceFile[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    const part = partOf(file.path);
    const allowed = part ? MAY_IMPORT[part] : undefined;
    if (!part || !allowed) continue;
    for (const ref of importsOf(file)) {
      const t = ref.target;
      if (t.kind === 'src' && t.part !== part && (t.part === null || !allowed.includes(t.part))) {
        out.push(`${ref.file}:${ref.line} imports '${ref.specifier}': src/${part} may import only ${allowed.map((p) => `src/${p}`).join(', ')}`);
      }
    }
  }
  return out;
}

/**
 * The rooms of src/device, and the other rooms each may import. The shared core (identity, faults, the
 * state machine and its light, the signed unbind request) imports no other room, so it cannot reach
 * the QR decoder; each kind of device stands on the core and the bench; the fleet CLI puts them together.
 */
const DEVICE_ROOM_MAY_IMPORT = {
  core: [],
  bench: ['core'],
  'qr-camera': ['core', 'bench'],
  lan: ['core', 'bench'],
  uart: ['core', 'bench'],
  'fleet-cli': ['core', 'bench', 'qr-camera', 'lan', 'uart'],
} as const satisfies Record<string, readonly string[]>;
type DeviceRoom = keyof typeof DEVICE_ROOM_MAY_IMPORT;
const DEVICE_ROOMS = Object.keys(DEVICE_ROOM_MAY_IMPORT) as DeviceRoom[];
/** A package of one kind of device stays in its room: the QR decoder's (jsQR, PNG frames) in the camera's. */
const DEVICE_ROOM_PACKAGES: Readonly<Record<string, DeviceRoom>> = {
  jsqr: 'qr-camera',
  pngjs: 'qr-camera',
  'bonjour-service': 'lan',
  'fast-xml-parser': 'lan',
  serialport: 'uart',
};
/** The public surface: it re-exports every room, and sits alone at the top of src/device. */
const DEVICE_INDEX = 'src/device/index.ts';

function deviceRoomOf(path: string): DeviceRoom | 'top' | 'unknown' | null {
  if (!path.startsWith('src/device/')) return null;
  const rest = path.slice('src/device/'.length).split('/');
  if (rest.length === 1) return 'top';
  return Object.hasOwn(DEVICE_ROOM_MAY_IMPORT, rest[0]!) ? (rest[0] as DeviceRoom) : 'unknown';
}

/** Within src/device: every file in a room, rooms importing one way, each device kind's packages at home. */
function deviceRoomViolations(files: SourceFile[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    const room = deviceRoomOf(file.path);
    if (room === null || file.path === DEVICE_INDEX) continue;
    if (room === 'top' || room === 'unknown') {
      out.push(`${file.path}: every file of src/device lives in one of its rooms (${DEVICE_ROOMS.join(', ')}); a new room needs its line in DEVICE_ROOM_MAY_IMPORT`);
      continue;
    }
    const allowed: readonly DeviceRoom[] = DEVICE_ROOM_MAY_IMPORT[room];
    for (const ref of importsOf(file)) {
      const where = `${ref.file}:${ref.line} imports '${ref.specifier}'`;
      const t = ref.target;
      if (t.kind === 'package') {
        const home = DEVICE_ROOM_PACKAGES[t.name];
        if (home && home !== room) out.push(`${where}: ${t.name} belongs to src/device/${home}, not src/device/${room}`);
        continue;
      }
      if (t.kind !== 'src') continue;
      const target = deviceRoomOf(t.path);
      if (target === null || target === room) continue;
      if (target === 'top') out.push(`${where}: inside src/device, import the file of a room, not the public index`);
      else if (target === 'unknown' || !allowed.includes(target)) {
        const may = allowed.length ? `only ${allowed.map((r) => `src/device/${r}`).join(', ')}` : 'no other room';
        out.push(`${where}: src/device/${room} may import ${may}`);
      }
    }
  }
  return out;
}

/** A value import of the driver (a type import is fine) or a write of `user_version` is a second opener or runner. */
const DRIVER_VALUE_IMPORT = /(?:^|[\n;{}])\s*import\s+(?!type\b)[^'"]*?from\s*['"]better-sqlite3['"]|\brequire\s*\(\s*['"`]better-sqlite3['"`]\s*\)|\bimport\s*\(\s*['"`]better-sqlite3['"`]\s*\)/g;
const USER_VERSION_WRITE = /user_version\s*=/g;
function sqliteViolations(files: SourceFile[]): string[] {
  const out: string[] = [];
  for (const file of files) {
    if (partOf(file.path) === 'sqlite') continue;
    const text = stripComments(file.text);
    const lineAt = (at: number): number => text.slice(0, at).split('\n').length;
    for (const m of text.matchAll(DRIVER_VALUE_IMPORT)) {
      out.push(`${file.path}:${lineAt(m.index + m[0].search(/\S/))} opens better-sqlite3 itself: open SQLite files through src/sqlite (WAL, pragmas, one writer)`);
    }
    for (const m of text.matchAll(USER_VERSION_WRITE)) {
      out.push(`${file.path}:${lineAt(m.index)} sets user_version: migrations run only through src/sqlite's runner`);
    }
  }
  return out;
}

function readSources(): SourceFile[] {
  const files: SourceFile[] = [];
  const walk = (dir: string): void => {
    for (const entry of readdirSync(posix.join(REPO, dir), { withFileTypes: true })) {
      const path = `${dir}/${entry.name}`;
      if (entry.isDirectory()) walk(path);
      else if (/\.(ts|tsx|mts|cts|js|mjs|cjs|vue)$/.test(entry.name) && !entry.name.endsWith('.d.ts')) {
        files.push({ path, text: readFileSync(posix.join(REPO, path), 'utf8') });
      }
    }
  };
  walk('src');
  return files;
}

describe('architecture: layering of src/ (DESIGN §2)', () => {
  const sources = readSources();

  it('given the repository, then the checker really reads the sources (protocol files and their imports are found)', () => {
    const protocolFiles = sources.filter((f) => f.path.startsWith('src/protocol/'));
    expect(protocolFiles.length).toBeGreaterThanOrEqual(9);
    const specifiers = protocolFiles.flatMap(importsOf).map((r) => r.specifier);
    expect(specifiers).toContain('zod');
    expect(specifiers).toContain('node:crypto');
    expect(specifiers).toContain('./token.js');
  });

  it('given src/, then protocol is pure, device speaks protocol only, the renderer sees only protocol, and only src/main/electron* imports electron', () => {
    expect(layeringViolations(sources)).toEqual([]);
  });

  it('given src/, then dependencies point one way (sqlite ← cloud, history, batch; quota ← cloud; qr, wired, history ← batch)', () => {
    expect(directionViolations(sources)).toEqual([]);
  });

  it('given src/, then src/sqlite exists and is the one place that opens a SQLite file and runs migrations', () => {
    expect(sources.filter((f) => f.path.startsWith('src/sqlite/')).length).toBeGreaterThanOrEqual(1);
    const users = new Set(sources.flatMap(importsOf).filter((r) => r.target.kind === 'src' && r.target.part === 'sqlite').map((r) => partOf(r.file)));
    users.delete('sqlite');
    expect([...users].sort()).toEqual([...SQLITE_USERS].sort());
    expect(sqliteViolations(sources)).toEqual([]);
  });

  describe('self-check: given in-memory sources with forbidden imports, then the checker flags each of them', () => {
    const file = (path: string, text: string): SourceFile => ({ path, text });

    it('flags I/O and outside imports in src/protocol, in every import form', () => {
      const v = layeringViolations([
        file('src/protocol/a.ts', "import { readFileSync } from 'node:fs';"),
        file('src/protocol/b.ts', "import {\n  openAuthorityDb,\n  latestVersion,\n} from '../cloud/database.js';"),
        file('src/protocol/c.ts', "export async function f() { return import('node:net'); }"),
        file('src/protocol/d.ts', "const sp = require('serialport');"),
        file('src/protocol/e.ts', "export { dayWindow } from '../quota/day-window.js';"),
        file('src/protocol/f.ts', "import type { Database } from 'better-sqlite3';"),
        file('src/protocol/g.ts', "import 'fs';"),
        file('src/protocol/h.ts', "import * as os from 'os';\nimport Bonjour from 'bonjour-service';"),
        file('src/protocol/i.ts', "import { fetch } from 'undici'; import pkg from '../../package.json';"),
      ]);
      expect(v.map((x) => x.split(':')[0])).toEqual([
        'src/protocol/a.ts', 'src/protocol/b.ts', 'src/protocol/c.ts', 'src/protocol/d.ts', 'src/protocol/e.ts',
        'src/protocol/f.ts', 'src/protocol/g.ts', 'src/protocol/h.ts', 'src/protocol/h.ts', 'src/protocol/i.ts', 'src/protocol/i.ts',
      ]);
      expect(v[0]).toBe("src/protocol/a.ts:1 imports 'node:fs': src/protocol is pure (this module does I/O); it may import only zod and node:crypto");
      expect(v[1]).toMatch(/^src\/protocol\/b\.ts:4 imports '\.\.\/cloud\/database\.js'/);
    });

    it('lets src/protocol import zod, node:crypto and itself, and ignores commented-out imports', () => {
      expect(
        layeringViolations([
          file(
            'src/protocol/ok.ts',
            [
              "import { z } from 'zod';",
              "import { createHash } from 'node:crypto';",
              "export * from './token.js';",
              "import type { X } from './sub/x.js';",
              "// import { readFileSync } from 'node:fs';",
              "/* import net from 'node:net'; */",
              "const url = 'http://example.invalid/'; // not an import",
            ].join('\n'),
          ),
        ]),
      ).toEqual([]);
    });

    it('flags src/device importing the authority, the quota or the station, but not protocol, node or npm', () => {
      const forbidden = ['cloud/tokens.js', 'quota/quota-ledger.js', 'batch/run.js', 'history/store.js', 'main/config.js', 'qr/sheet.js', 'wired/sweep.js', 'renderer/api.js'];
      const v = layeringViolations([
        file('src/device/agent.ts', forbidden.map((f, i) => `import { x${i} } from '../${f}';`).join('\n')),
        file('src/device/fleet/camera.ts', "import { parseToken } from '../../protocol/index.js';\nimport http from 'node:http';\nimport { Bonjour } from 'bonjour-service';\nimport { a } from '../agent.js';"),
      ]);
      expect(v).toHaveLength(forbidden.length);
      expect(v.every((x) => x.startsWith('src/device/agent.ts:'))).toBe(true);
    });

    it('flags electron anywhere but src/main/electron*, even as a type import', () => {
      const v = layeringViolations([
        file('src/wired/sweep.ts', "import type { BrowserWindow } from 'electron';"),
        file('src/main/server.ts', "const { app } = require('electron');"),
        file('src/main/electron-main.ts', "import { app, BrowserWindow } from 'electron';"),
        file('src/main/electron-preload.ts', "import { contextBridge } from 'electron/renderer';"),
      ]);
      expect(v.map((x) => x.split(':')[0])).toEqual(['src/wired/sweep.ts', 'src/main/server.ts']);
    });

    it('flags src/renderer importing main or any other part, but not protocol or npm', () => {
      const v = layeringViolations([
        file('src/renderer/stores/quota.ts', "import { createStationApi } from '../../main/station-api.js';\nimport { defineStore } from 'pinia';"),
        file('src/renderer/App.vue', "<script setup lang=\"ts\">\nimport type { QuotaView } from '../protocol/index.js';\nimport { plan } from '../batch/plan.js';\n</script>"),
      ]);
      expect(v).toEqual([
        "src/renderer/stores/quota.ts:1 imports '../../main/station-api.js': src/renderer may import only src/protocol (the station API contract)",
        "src/renderer/App.vue:3 imports '../batch/plan.js': src/renderer may import only src/protocol (the station API contract)",
      ]);
    });

    it('flags a dependency that points the wrong way (quota → cloud, wired → batch)', () => {
      const v = directionViolations([
        file('src/quota/x.ts', "import { openAuthorityDb } from '../cloud/database.js';"),
        file('src/wired/y.ts', "import type { Job } from '../batch/job.js';"),
        file('src/cloud/z.ts', "import { createQuotaLedger } from '../quota/quota-ledger.js';"),
      ]);
      expect(v.map((x) => x.split(':')[0])).toEqual(['src/quota/x.ts', 'src/wired/y.ts']);
    });

    it('flags src/sqlite imported by any part but cloud, history and batch, and src/sqlite importing any part but protocol', () => {
      const layering = layeringViolations([
        file('src/main/a.ts', "import { openSqliteWriter } from '../sqlite/index.js';"),
        file('src/quota/b.ts', "import type { Migration } from '../sqlite/migrations.js';"),
        file('src/cloud/c.ts', "import { openSqliteWriter } from '../sqlite/index.js';"),
        file('src/history/d.ts', "import { openSqliteReader } from '../sqlite/index.js';"),
        file('src/batch/e.ts', "import { openSqliteWriter } from '../sqlite/index.js';"),
        file('src/sqlite/f.ts', "import { migrateTo } from './migrations.js';"),
      ]);
      expect(layering).toEqual([
        "src/main/a.ts:1 imports '../sqlite/index.js': src/sqlite is imported only by src/cloud, src/history, src/batch",
        "src/quota/b.ts:1 imports '../sqlite/migrations.js': src/sqlite is imported only by src/cloud, src/history, src/batch",
      ]);
      const direction = directionViolations([
        file('src/sqlite/g.ts', "import { openHistoryDb } from '../history/operation-log-database.js';\nimport { FAILURE_CODES } from '../protocol/index.js';"),
        file('src/sqlite/h.ts', "import BetterSqlite3 from 'better-sqlite3';"),
      ]);
      expect(direction).toEqual(["src/sqlite/g.ts:1 imports '../history/operation-log-database.js': src/sqlite may import only src/protocol"]);
    });

    it('flags a second opener or migration runner outside src/sqlite, but not type imports of the driver', () => {
      const v = sqliteViolations([
        file('src/batch/a.ts', "import BetterSqlite3, { type Database } from 'better-sqlite3';"),
        file('src/cloud/b.ts', "import type { Database } from 'better-sqlite3';\nconst D = require('better-sqlite3');"),
        file('src/history/c.ts', "import type { Database } from 'better-sqlite3';\nexport const up = (db: Database) => db.pragma(`user_version = ${2}`);"),
        file('src/sqlite/d.ts', "import BetterSqlite3 from 'better-sqlite3';\ndb.pragma('user_version = 1');"),
        file('src/quota/e.ts', "import type { Database, Statement } from 'better-sqlite3';\n// db.pragma('user_version = 3')"),
      ]);
      expect(v.map((x) => x.split(' ')[0])).toEqual(['src/batch/a.ts:1', 'src/cloud/b.ts:2', 'src/history/c.ts:2']);
    });
  });

  describe('src/device by room: core ← bench ← qr-camera, lan, uart ← fleet-cli', () => {
    const file = (path: string, text: string): SourceFile => ({ path, text });

    it('given the repository, then every room has its files and src/device holds nothing but the rooms and index.ts', () => {
      for (const room of DEVICE_ROOMS) expect(sources.some((f) => f.path.startsWith(`src/device/${room}/`)), room).toBe(true);
      expect(sources.filter((f) => deviceRoomOf(f.path) === 'top').map((f) => f.path)).toEqual([DEVICE_INDEX]);
      const coreSpecifiers = sources.filter((f) => deviceRoomOf(f.path) === 'core').flatMap(importsOf).map((r) => r.specifier);
      expect(coreSpecifiers).toContain('../../protocol/index.js');
      expect(coreSpecifiers).toContain('./signed-unbind-client.js');
    });

    it('given src/device, then the rooms import one way, the core nothing from the QR camera, and jsQR stays in the QR camera', () => {
      expect(deviceRoomViolations(sources)).toEqual([]);
    });

    it('self-check: flags the core importing the QR decoder, directly or through jsQR or the public index', () => {
      const v = deviceRoomViolations([
        file('src/device/core/device-core.ts', "import type { FrameRejection } from '../qr-camera/qr-frame-decoder.js';"),
        file('src/device/core/b.ts', "import jsqrModule from 'jsqr';\nimport { PNG } from 'pngjs';"),
        file('src/device/core/c.ts', "import { QrCamera } from '../index.js';"),
        file('src/device/core/d.ts', "import { z } from 'zod';\nimport { parseToken } from '../../protocol/index.js';\nimport { BoundedLog } from './bounded-log.js';"),
      ]);
      expect(v).toEqual([
        "src/device/core/device-core.ts:1 imports '../qr-camera/qr-frame-decoder.js': src/device/core may import no other room",
        "src/device/core/b.ts:1 imports 'jsqr': jsqr belongs to src/device/qr-camera, not src/device/core",
        "src/device/core/b.ts:2 imports 'pngjs': pngjs belongs to src/device/qr-camera, not src/device/core",
        "src/device/core/c.ts:1 imports '../index.js': inside src/device, import the file of a room, not the public index",
      ]);
    });

    it('self-check: flags a device kind importing another, the bench importing a device kind, and a file outside any room', () => {
      const v = deviceRoomViolations([
        file('src/device/lan/wired-device.ts', "import type { QrCameraDetails } from '../qr-camera/qr-camera.js';"),
        file('src/device/uart/u.ts', "import { Bonjour } from 'bonjour-service';"),
        file('src/device/bench/fleet-status-server.ts', "import type { WiredDevice } from '../lan/wired-device.js';"),
        file('src/device/fleet-cli/f.ts', "import { startFleet } from '../qr-camera/camera-fleet.js';\nimport { startWiredBench } from '../lan/wired-bench.js';"),
        file('src/device/qr-camera/q.ts', "import { jsQR } from './jsqr.js';\nimport jsqrModule from 'jsqr';\nimport { DeviceCore } from '../core/device-core.js';\nimport { nextLease } from '../bench/bench-network.js';"),
        file('src/device/loose.ts', "export const x = 1;"),
        file('src/device/kitchen/sink.ts', "export const y = 2;"),
        file(DEVICE_INDEX, "export * from './core/index.js';"),
      ]);
      expect(v.map((x) => x.split(':')[0])).toEqual([
        'src/device/lan/wired-device.ts',
        'src/device/uart/u.ts',
        'src/device/bench/fleet-status-server.ts',
        'src/device/loose.ts',
        'src/device/kitchen/sink.ts',
      ]);
      expect(v[0]).toBe("src/device/lan/wired-device.ts:1 imports '../qr-camera/qr-camera.js': src/device/lan may import only src/device/core, src/device/bench");
    });
  });
});
