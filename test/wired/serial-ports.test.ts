import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PtyPair } from '../../src/device/uart/index.js';
import { listSerialPorts } from '../../src/wired/serial-ports.js';
import { makePtyDir, startTestPair, type PtyDir } from '../support/pty-pair.js';

/** The settings screen's port list: the system's ports (udev) and the bench config's paths. */
let dir: PtyDir;
let pair: PtyPair;

beforeAll(async () => {
  dir = await makePtyDir('ports-');
  pair = await startTestPair(dir.path, 'listed');
});
afterAll(async () => {
  await pair?.close();
  await dir?.remove();
});

describe('listing serial ports', () => {
  it('given udev on this machine, then the system listing works and every entry is a present system port', async () => {
    const listing = await listSerialPorts();
    expect(listing.systemListError).toBeNull();
    for (const port of listing.ports) expect(port).toMatchObject({ source: 'system', present: true, problem: null });
  });

  it('given a pty link, a missing path and a plain file in the bench config, then each is listed with what is wrong with it', async () => {
    const file = join(dir.path, 'not-a-port');
    await writeFile(file, 'x');
    const missing = join(dir.path, 'gone-station');
    const listing = await listSerialPorts({ extraPaths: [pair.stationPath, missing, file, pair.stationPath] });
    const configured = listing.ports.filter((p) => p.source === 'configured');
    expect(configured.map((p) => p.path)).toEqual([pair.stationPath, missing, file]);
    expect(configured[0]).toMatchObject({ present: true, problem: null, realPath: expect.stringMatching(/^\/dev\/pts\/\d+$/) });
    expect(configured[1]).toMatchObject({ present: false, realPath: null, problem: expect.stringMatching(/does not exist/) });
    expect(configured[2]).toMatchObject({ present: false, problem: expect.stringMatching(/not a serial device/) });
  });

  it('given udevadm is missing, then the listing says to install udev and still lists the configured ports (no crash)', async () => {
    const path = process.env.PATH;
    process.env.PATH = dir.path; // no udevadm here
    try {
      const listing = await listSerialPorts({ extraPaths: [pair.stationPath] });
      expect(listing.systemListError).toMatch(/udevadm is missing \(install the Debian package "udev"\)/);
      expect(listing.ports).toEqual([expect.objectContaining({ path: pair.stationPath, source: 'configured', present: true })]);
    } finally {
      process.env.PATH = path;
    }
  });
});
