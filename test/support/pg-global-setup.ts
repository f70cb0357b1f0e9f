import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { pgDevUrl, startPgDev, stopPgDev } from '../../src/cloud/pg/pg-dev.js';

/**
 * The `pg` project's one throwaway PostgreSQL for the whole run (initdb takes seconds: once, not per file),
 * on 127.0.0.1 of the run's netns, fsync off (its data is thrown away). Each authority of the suite gets a
 * database of its own (authority-store.ts), so test files running in parallel share nothing but the server.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const dir = mkdtempSync(join(tmpdir(), 'unbind-pg-suite-'));
  await startPgDev({ dir, unsafeFast: true });
  project.provide('pgAdminUrl', pgDevUrl(dir, 'postgres'));
  return async () => {
    await stopPgDev({ dir });
    rmSync(dir, { recursive: true, force: true });
  };
}
