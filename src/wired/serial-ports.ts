import { constants } from 'node:fs';
import { access, realpath, stat } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import { SerialPort } from 'serialport';

export interface SerialPortEntry {
  /** The path to open: as the system lists it, or as the bench config names it. */
  path: string;
  /** `system`: listed by the OS (udev on Linux); `configured`: named explicitly (a pty, a socat link, a by-id symlink). */
  source: 'system' | 'configured';
  /** The device node behind a symlink; null when the path resolves to nothing. */
  realPath: string | null;
  manufacturer: string | null;
  serialNumber: string | null;
  vendorId: string | null;
  productId: string | null;
  /** Whether the path is a character device now (a system port is, by being listed). */
  present: boolean;
  /** Why a configured path cannot be opened as it is; null when it can be tried. */
  problem: string | null;
}

export interface SerialPortListing {
  ports: SerialPortEntry[];
  /**
   * Why the system listing is missing, when it is: on Linux it needs `udevadm` (Debian package
   * `udev`). Without it the configured paths are still listed and can still be opened: only the
   * discovery of USB adapters is lost, so this is a warning for the settings screen, not an error.
   */
  systemListError: string | null;
}

export interface ListSerialPortsOptions {
  /** Paths from the bench config (/dev/pts/N, a socat link, /dev/serial/by-id/...), listed even when the system does not. */
  extraPaths?: readonly string[];
  /** The system listing runs a child process; it must not hold the settings screen (default 5 s). */
  timeoutMs?: number;
}

const DEFAULT_LIST_TIMEOUT_MS = 5_000;

async function onPath(command: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    try {
      await access(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // not in this directory: look in the next
    }
  }
  return false;
}

async function systemPorts(timeoutMs: number): Promise<{ ports: SerialPortEntry[]; error: string | null }> {
  // serialport spawns `udevadm info -e` on Linux; checked first so a missing udev gets a plain answer, not ENOENT.
  if (process.platform === 'linux' && !(await onPath('udevadm'))) {
    return { ports: [], error: 'udevadm is missing (install the Debian package "udev"): USB serial adapters are not discovered, only configured paths are listed' };
  }
  const listing = SerialPort.list();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), timeoutMs);
  });
  try {
    const found = await Promise.race([listing, timeout]);
    if (found === 'timeout') {
      listing.catch(() => undefined); // it may still fail later; nobody is waiting for it any more
      return { ports: [], error: `the system port listing took longer than ${timeoutMs} ms` };
    }
    const ports = await Promise.all(
      found.map(async (p): Promise<SerialPortEntry> => ({
        path: p.path,
        source: 'system',
        realPath: await realpath(p.path).catch(() => null),
        manufacturer: p.manufacturer ?? null,
        serialNumber: p.serialNumber ?? null,
        vendorId: p.vendorId ?? null,
        productId: p.productId ?? null,
        present: true,
        problem: null,
      })),
    );
    return { ports, error: null };
  } catch (err) {
    return { ports: [], error: `the system port listing failed: ${err instanceof Error ? err.message : String(err)}` };
  } finally {
    clearTimeout(timer);
  }
}

async function configuredPort(path: string): Promise<SerialPortEntry> {
  const entry: SerialPortEntry = { path, source: 'configured', realPath: null, manufacturer: null, serialNumber: null, vendorId: null, productId: null, present: false, problem: null };
  try {
    entry.realPath = await realpath(path);
  } catch {
    return { ...entry, problem: `${path} does not exist (or is a link to nothing)` };
  }
  try {
    const s = await stat(entry.realPath);
    if (!s.isCharacterDevice()) return { ...entry, problem: `${path} is not a serial device (${entry.realPath} is not a character device)` };
  } catch (err) {
    return { ...entry, problem: `${path}: ${err instanceof Error ? err.message : String(err)}` };
  }
  return { ...entry, present: true };
}

/**
 * The serial ports a setting may name: the system's (with USB vendor, product and serial when known)
 * and the configured paths. A configured path that is a system port under another name (a by-id
 * link, say) is listed once, under the configured name, with the system's details. Never throws.
 */
export async function listSerialPorts(options: ListSerialPortsOptions = {}): Promise<SerialPortListing> {
  const extra = [...new Set(options.extraPaths ?? [])];
  const [system, configured] = await Promise.all([systemPorts(options.timeoutMs ?? DEFAULT_LIST_TIMEOUT_MS), Promise.all(extra.map(configuredPort))]);
  const configuredDevices = new Set(configured.map((c) => c.realPath).filter((p): p is string => p !== null));
  const merged = configured.map((c) => {
    const same = system.ports.find((s) => s.realPath !== null && s.realPath === c.realPath);
    return same ? { ...same, path: c.path, source: 'configured' as const } : c;
  });
  const systemOnly = system.ports.filter((s) => !(s.realPath && configuredDevices.has(s.realPath)) && !extra.includes(s.path));
  return { ports: [...systemOnly, ...merged], systemListError: system.error };
}
