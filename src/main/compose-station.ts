import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import { toLanDeviceView } from './lan-views.js';
import { startAuthority } from '../cloud/authority.js';
import { demoExportSchema, type DemoExport } from '../cloud/demo.js';
import { openBatchStore } from '../batch/batch-records.js';
import { createBatchService, type SetTimer } from '../batch/batch-service.js';
import { openHistoryStore } from '../history/index.js';
import { DEFAULT_BENCH_PASSWORD, DEFAULT_BENCH_SSID } from '../device/bench/index.js';
import { startLanSweep } from '../wired/index.js';
import { BENCH_SCREEN_PATH } from './bench-screen.js';
import { createDemoBench } from './demo-bench.js';
import { createEventHub, type EventHub } from './event-hub.js';
import { startSerialService } from './serial-service.js';
import { createServiceStack } from './service-stack.js';
import type { StationHandlers } from './station-calls.js';
import type { StationConfig } from './station-config.js';
import { createStationCore, NO_BENCH, type StationCore } from './station-core.js';
import { createCaseDesk } from './case-desk.js';
import { createTicketDesk } from './ticket-calls.js';
import { buildStationServer } from './station-server.js';
import { createSessionManager } from './station-session.js';

/**
 * The station's composition root, for both faces (`unbind start` and the Electron main process): builds
 * the services in dependency order — authority, stores, LAN sweep, serial line, core, server, demo bench —
 * each with its stop, and stops them in reverse (also when a start fails midway).
 */
export interface RunningStation {
  handlers: StationHandlers;
  hub: EventHub;
  url: string;
  port: number;
  authorityUrl: string;
  close(): Promise<void>;
}

/**
 * The project's folder (where dist/renderer is built): the nearest one above this module holding its
 * package.json. Not a fixed `../../`: from the sources this file is src/main/, from the built
 * JavaScript (`npm run build:node`) it is a chunk in dist/node/chunks/.
 */
function projectRoot(from: string): string {
  for (let dir = dirname(from); ; dir = dirname(dir)) {
    const manifest = join(dir, 'package.json');
    if (existsSync(manifest) && (JSON.parse(readFileSync(manifest, 'utf8')) as { name?: string }).name === 'unbind-station') return dir;
    if (dirname(dir) === dir) throw new Error(`the Unbind Station folder (its package.json) is not above ${from}`);
  }
}
const ROOT = projectRoot(fileURLToPath(import.meta.url));

/** What a test may give the station instead of the wall clock (the no-report notice's timers). */
export interface StationClock {
  now: () => number;
  setTimer: SetTimer;
}

export async function composeStation(config: StationConfig, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`), clock?: StationClock): Promise<RunningStation> {
  const stack = createServiceStack((name, err) => process.stderr.write(`stopping ${name} failed: ${(err as Error).message}\n`));
  try {
    return await compose(config, stack, out, clock);
  } catch (err) {
    await stack.stop();
    throw err;
  }
}

async function compose(config: StationConfig, stack: ReturnType<typeof createServiceStack>, out: (line: string) => void, clock?: StationClock): Promise<RunningStation> {
  const dataDir = resolve(config.dataDir);
  // Owner-only: it holds the stores, the station key and demo secrets.
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });

  let authorityUrl: string;
  let demo: DemoExport | null = null;
  let embedded = false;
  if (config.authorityUrl) {
    authorityUrl = config.authorityUrl;
    if (config.demoExport) demo = demoExportSchema.parse(JSON.parse(readFileSync(config.demoExport, 'utf8')));
  } else {
    const authority = await stack.start(
      'embedded authority',
      () => startAuthority({ dbPath: join(dataDir, 'authority.db'), port: config.authorityPort, demo: true, timeZone: config.timeZone, logLevel: config.logLevel }),
      (a) => a.close(),
    );
    embedded = true;
    authorityUrl = authority.url;
    demo = authority.exportDemo();
    // For `unbind fleet` and scripts run beside the demo; it holds demo secrets, so owner-only.
    writeFileSync(join(dataDir, 'demo-export.json'), JSON.stringify(demo, null, 2), { mode: 0o600 });
  }

  const stationId = `${hostname()}-station`;
  const hub = createEventHub();
  // History days follow the same zone as the quota day, so the charts and the quota agree.
  const history = await stack.start('history', () => openHistoryStore(join(dataDir, 'history.db'), { timeZone: config.timeZone }), (h) => h.close());
  const store = await stack.start('batch store', () => openBatchStore(join(dataDir, 'batches.db')), (s) => s.close());
  const batches = await stack.start(
    'batches',
    () =>
      createBatchService({
        store,
        history,
        stationId,
        emit: hub.emit,
        stopRule: config.stopFailures > 0 ? { failures: config.stopFailures, window: config.stopWindow } : null,
        noReportMs: config.noReportSeconds * 1000,
        ...(clock ? { clock: clock.now, setTimer: clock.setTimer } : {}),
      }),
    (b) => b.close(),
  );
  const bench = demo ? createDemoBench({ ...config, dataDir }, demo, authorityUrl) : null;
  const sessions = createSessionManager({
    authorityUrl,
    stationId,
    demoAccounts: demo ? demo.accounts.map((a) => ({ accountId: a.accountId, name: a.name, role: a.role, region: a.region, clientId: a.clientId, secret: a.secret })) : [],
    demoWifi: bench && config.bench ? { ssid: DEFAULT_BENCH_SSID, password: DEFAULT_BENCH_PASSWORD } : null,
  });

  const lan = config.lan
    ? await stack.start('LAN sweep', () => startLanSweep({ interface: config.lanInterface, mdnsPort: config.mdnsPort, sadpPort: config.sadpPort }), (l) => l.close())
    : null;

  // The demo bench's UART gateways exist before the serial settings that name their ports.
  const benchPorts = bench ? await bench.startSerialDevices(stack, out) : { uartPorts: [], scannerPort: null };
  let core: StationCore | null = null;
  const serial = await stack.start(
    'serial line',
    () =>
      startSerialService({
        file: join(dataDir, 'serial-settings.json'),
        defaults: benchPorts,
        onLabel: (label) => core?.routeLabel(label),
        onStatus: (status) => hub.emit({ type: 'serial', status }),
      }),
    (s) => s.close(),
  );

  const log = (msg: string, f?: Record<string, unknown>): void => void process.stderr.write(`${msg} ${JSON.stringify(f ?? {})}\n`);
  const cases = await stack.start('cases desk', () => createCaseDesk({ sessions, history, hub, stationId, log }), (d) => d.close());
  const tickets = await stack.start('tickets desk', () => createTicketDesk({ sessions, hub, log }), (d) => d.close());
  core = createStationCore({ sessions, batches, history, hub, lan, serial, cases: cases.handlers, tickets: tickets.handlers, timeZone: config.timeZone, log });
  if (lan) {
    await stack.start(
      'LAN events',
      () => {
        let pending: NodeJS.Timeout | null = null;
        // A sweep changes in bursts (a bench powering up): one list per burst is enough for the screen.
        const onChange = (): void => {
          pending ??= setTimeout(() => {
            pending = null;
            hub.emit({ type: 'lan', devices: lan.devices().map(toLanDeviceView) });
          }, 100);
        };
        const off = lan.on('change', onChange);
        return () => {
          off();
          if (pending) clearTimeout(pending);
        };
      },
      (stop) => stop(),
    );
  }
  const attached = bench ? await bench.attach({ core, batches, hub, stack }) : null;
  const handlers: StationHandlers = { ...core, ...(attached?.handlers ?? NO_BENCH) };

  const secret = randomBytes(24).toString('base64url');
  const app = await stack.start(
    'station server',
    async () => {
      const server = buildStationServer({ handlers, hub, secret, rendererDir: join(ROOT, 'dist/renderer'), logLevel: config.logLevel, ...(attached ? { routes: (a: FastifyInstance) => attached.screen.route(a) } : {}) });
      await server.listen({ port: config.port, host: '127.0.0.1' });
      return server;
    },
    (server) => server.close(),
  );
  const addr = app.server.address();
  const stationPort = typeof addr === 'object' && addr ? addr.port : config.port;
  const base = `http://127.0.0.1:${stationPort}`;
  if (bench) await bench.startDevices(stack, `${base}${BENCH_SCREEN_PATH}?key=${secret}`);

  const url = `${base}/?key=${secret}`;
  out(`Unbind Station: ${url}`);
  out(`  authority ${authorityUrl}${embedded ? ` (embedded, demo world; accounts and devices in ${join(dataDir, 'demo-export.json')})` : ''}; data in ${dataDir}`);
  const benchLine = bench?.summary(DEFAULT_BENCH_SSID, DEFAULT_BENCH_PASSWORD);
  if (benchLine) out(benchLine);
  if (lan) out(`  LAN sweep on ${config.lanInterface} (mDNS ${config.mdnsPort}, SADP ${config.sadpPort})`);
  return { handlers, hub, url, port: stationPort, authorityUrl, close: () => stack.stop() };
}
