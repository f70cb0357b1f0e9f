import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { z } from 'zod';

/**
 * The station's configuration, checked once: from `unbind start`'s flags, or from the Electron app's
 * settings file. Everything composeStation needs and nothing it could guess.
 */
const port = z.number().int().min(0).max(65535);
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;

export const stationConfigSchema = z.strictObject({
  /** Station port on 127.0.0.1 (0: any free port). */
  port: port.default(8790),
  /** Where the station and the embedded authority keep their files. */
  dataDir: z.string().min(1).default('.data'),
  /** An external authority; null starts the embedded one with its demo world. */
  authorityUrl: z.url().nullable().default(null),
  /** With an external authority: demo accounts and bench devices from this export. */
  demoExport: z.string().min(1).nullable().default(null),
  authorityPort: port.default(8787),
  /** The virtual bench (demo only). */
  bench: z.boolean().default(true),
  benchDevices: z.number().int().min(1).max(10_000).default(64),
  benchWired: z.number().int().min(0).max(1000).default(24),
  /** Wired bench devices never reset (bound, in normal operation: for a local unbind with the admin password, §4.8). */
  benchNotReset: z.number().int().min(0).max(1000).default(1),
  benchUart: z.number().int().min(0).max(64).default(3),
  benchScanner: z.boolean().default(false),
  /** The LAN sweep (wired method); its interface, name or IPv4 (loopback by default: nothing leaves the machine). */
  lan: z.boolean().default(true),
  lanInterface: z.string().min(1).default('127.0.0.1'),
  mdnsPort: port.min(1).default(5353),
  sadpPort: port.min(1).default(37020),
  /** Quota day time zone of the embedded authority, and of the history's days. */
  timeZone: z
    .string()
    .refine((tz) => {
      try {
        new Intl.DateTimeFormat('en', { timeZone: tz });
        return true;
      } catch {
        return false;
      }
    }, 'not a known time zone')
    .default('UTC'),
  logLevel: z.enum(LOG_LEVELS).default('warn'),
  /** The stop rule: a batch pauses when `stopFailures` of its first `stopWindow` results fail with one code (0: never). */
  stopFailures: z.number().int().min(0).max(1000).default(5),
  stopWindow: z.number().int().min(1).max(1000).default(10),
  /** A QR batch no device reported on this many seconds after its codes were shown gets a notice (0: none). */
  noReportSeconds: z.number().int().min(0).max(3600).default(60),
  /** Faults of the bench's wired devices (fleet grammar: `unreachable=6,notreset=1`); null: one never reset, one without DHCP. */
  benchWiredFaults: z.string().max(500).nullable().default(null),
  /** Faults of the bench's QR cameras (fleet grammar: `notreset=11`); null: none. */
  benchQrFaults: z.string().max(500).nullable().default(null),
  /** The products of the bench's QR cameras, shared evenly (default the QR camera C1 only). */
  benchQrProducts: z.array(z.string().regex(/^[A-Za-z0-9_-]{1,64}$/)).min(1).max(16).default(['pqr1cam']),
}).refine((c) => c.stopFailures <= c.stopWindow, { message: 'the stop rule needs at most as many failures as results judged', path: ['stopFailures'] });
export type StationConfig = z.output<typeof stationConfigSchema>;
export type StationConfigInput = z.input<typeof stationConfigSchema>;

export class StartUsageError extends Error {}

export const START_USAGE = `usage: unbind start [options]
  --port P              station port on 127.0.0.1 (default 8790; 0: any free port)
  --data DIR            where the station and the embedded authority keep their files (default .data)
  --authority URL       use this authority instead of starting one
  --demo-export FILE    with --authority: demo accounts and bench devices from this export
  --authority-port P    port of the embedded authority (default 8787; 0: any)
  --no-bench            no virtual bench
  --bench-devices N     virtual cameras on the bench (default 64)
  --bench-wired N       virtual wired devices (NVRs, DVRs, gateways) on the bench LAN (default 24)
  --bench-not-reset N   of those, never reset (for a local unbind with the admin password; default 1)
  --bench-uart N        virtual UART gateways on ptys (default 3; needs socat)
  --bench-scanner       a virtual barcode scanner on a pty, set as the scanner port
  --lan-interface IF    interface of the LAN sweep, name or IPv4 (default 127.0.0.1: loopback)
  --no-lan              no LAN sweep (no wired method)
  --mdns-port P         mDNS port of the sweep and the bench (default 5353)
  --sadp-port P         SADP port of the sweep and the bench (default 37020)
  --tz ZONE             quota day time zone of the embedded authority (default UTC)
  --log-level L         fatal|error|warn|info|debug (default warn)
  --stop-failures N     a batch pauses when N of its first results fail with the same code (default 5; 0: never)
  --stop-window N       how many first results the stop rule judges (default 10)
  --no-report-seconds S a QR batch no device reported on after S seconds says so (default 60; 0: never)
  --bench-wired-faults  faults of the bench's wired devices, e.g. unreachable=6 (default notreset=1,dhcp=1)
  --bench-qr-faults     faults of the bench's QR cameras, e.g. notreset=11 (default none)
  --bench-qr-products   products of the bench's QR cameras, comma-separated (default pqr1cam)`;

/** Config keys and the flags that set them, so a refusal names the flag the operator typed. */
const FLAG_OF: Record<keyof StationConfig, string> = {
  port: 'port',
  dataDir: 'data',
  authorityUrl: 'authority',
  demoExport: 'demo-export',
  authorityPort: 'authority-port',
  bench: 'no-bench',
  benchDevices: 'bench-devices',
  benchWired: 'bench-wired',
  benchNotReset: 'bench-not-reset',
  benchUart: 'bench-uart',
  benchScanner: 'bench-scanner',
  lan: 'no-lan',
  lanInterface: 'lan-interface',
  mdnsPort: 'mdns-port',
  sadpPort: 'sadp-port',
  timeZone: 'tz',
  logLevel: 'log-level',
  stopFailures: 'stop-failures',
  stopWindow: 'stop-window',
  noReportSeconds: 'no-report-seconds',
  benchWiredFaults: 'bench-wired-faults',
  benchQrProducts: 'bench-qr-products',
  benchQrFaults: 'bench-qr-faults',
};

function parseConfig(input: unknown, nameOf: (key: string) => string): StationConfig {
  const r = stationConfigSchema.safeParse(input);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  const key = String(issue.path[0] ?? '');
  throw new StartUsageError(`${nameOf(key)}: ${issue.message}`);
}

/** `unbind start`'s flags as a config; a malformed flag is a usage error naming it. */
export function configFromArgv(argv: string[]): StationConfig {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      port: { type: 'string' },
      data: { type: 'string' },
      authority: { type: 'string' },
      'demo-export': { type: 'string' },
      'authority-port': { type: 'string' },
      'no-bench': { type: 'boolean', default: false },
      'bench-devices': { type: 'string' },
      'bench-wired': { type: 'string' },
      'bench-not-reset': { type: 'string' },
      'bench-uart': { type: 'string' },
      'bench-scanner': { type: 'boolean', default: false },
      'lan-interface': { type: 'string' },
      'no-lan': { type: 'boolean', default: false },
      'mdns-port': { type: 'string' },
      'sadp-port': { type: 'string' },
      tz: { type: 'string' },
      'log-level': { type: 'string' },
      'stop-failures': { type: 'string' },
      'stop-window': { type: 'string' },
      'no-report-seconds': { type: 'string' },
      'bench-wired-faults': { type: 'string' },
      'bench-qr-products': { type: 'string' },
      'bench-qr-faults': { type: 'string' },
    },
  });
  const int = (flag: string, v: string | undefined): number | undefined => {
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v)) throw new StartUsageError(`--${flag} must be a whole number`);
    return Number(v);
  };
  const input = {
    port: int('port', values.port),
    dataDir: values.data,
    authorityUrl: values.authority?.replace(/\/$/, ''),
    demoExport: values['demo-export'],
    authorityPort: int('authority-port', values['authority-port']),
    bench: !values['no-bench'],
    benchDevices: int('bench-devices', values['bench-devices']),
    benchWired: int('bench-wired', values['bench-wired']),
    benchNotReset: int('bench-not-reset', values['bench-not-reset']),
    benchUart: int('bench-uart', values['bench-uart']),
    benchScanner: values['bench-scanner'],
    lan: !values['no-lan'],
    lanInterface: values['lan-interface'],
    mdnsPort: int('mdns-port', values['mdns-port']),
    sadpPort: int('sadp-port', values['sadp-port']),
    timeZone: values.tz,
    logLevel: values['log-level'],
    stopFailures: int('stop-failures', values['stop-failures']),
    stopWindow: int('stop-window', values['stop-window']),
    noReportSeconds: int('no-report-seconds', values['no-report-seconds']),
    benchWiredFaults: values['bench-wired-faults'],
    benchQrFaults: values['bench-qr-faults'],
    benchQrProducts: values['bench-qr-products']?.split(',').map((p) => p.trim()).filter(Boolean),
  };
  const defined = Object.fromEntries(Object.entries(input).filter(([, v]) => v !== undefined));
  return parseConfig(defined, (key) => `--${FLAG_OF[key as keyof StationConfig] ?? key}`);
}

/**
 * The Electron app's settings file (JSON, the config's own keys) over `defaults` (the app's own, e.g. its
 * data folder); a missing file means the defaults.
 */
export function configFromSettingsFile(file: string, defaults: StationConfigInput = {}): StationConfig {
  let stored: unknown = {};
  try {
    stored = JSON.parse(readFileSync(file, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw new StartUsageError(`${file}: ${(err as Error).message}`);
  }
  if (typeof stored !== 'object' || stored === null || Array.isArray(stored)) throw new StartUsageError(`${file}: not a JSON object`);
  return parseConfig({ ...defaults, ...stored }, (key) => `${file}: ${key}`);
}
