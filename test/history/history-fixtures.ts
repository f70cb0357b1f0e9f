import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { parse } from 'csv-parse/sync';
import type { HistoryQuery, HistoryRow } from '../../src/protocol/station-api.js';
import { openHistoryStore, type HistoryScope, type HistoryStore, type HistoryStoreOptions, type NewAttempt } from '../../src/history/index.js';

/** A real history file in a fresh temp dir; `cleanup` closes the store (if open) and removes the dir. */
export interface TempHistory {
  dir: string;
  path: string;
  store: HistoryStore;
  reopen(opts?: HistoryStoreOptions): HistoryStore;
  cleanup(): void;
}

export function openTempHistory(opts?: HistoryStoreOptions): TempHistory {
  const dir = mkdtempSync(join(tmpdir(), 'history-test-'));
  const path = join(dir, 'history.db');
  const t: TempHistory = {
    dir,
    path,
    store: openHistoryStore(path, opts),
    reopen(o) {
      t.store.close();
      t.store = openHistoryStore(path, o ?? opts);
      return t.store;
    },
    cleanup() {
      t.store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
  return t;
}

export const T0 = Date.UTC(2025, 2, 10, 9, 0, 0); // Monday 10 March 2025, 09:00 UTC

let n = 0;
/** A plausible attempt; every call gets a new device, serial and (tokenId, seq). */
export function attempt(over: Partial<NewAttempt> = {}): NewAttempt {
  n++;
  return {
    at: T0 + n * 1000,
    stationId: 'bench-1-station',
    operator: 'Ana Ruiz',
    accountId: 'acc-owner',
    method: 'qr',
    batchId: 'b-20250310-aaaaaa',
    pid: 'cam-c6n',
    devId: `dev-${String(n).padStart(6, '0')}`,
    serial: `C6N-${(n * 2654435761 >>> 0).toString(16).toUpperCase().padStart(8, '0').slice(0, 6)}-${String(n).padStart(5, '0')}`,
    result: 'UNBOUND',
    code: null,
    tokenId: `Tk${String(n).padStart(6, '0')}`,
    seq: n,
    ...over,
  };
}

/** The owner of every product used in the tests. */
export const OWNER: HistoryScope = { accountId: 'acc-owner', allPids: ['cam-c6n', 'cam-h6c', 'nvr-n8w'], ownPids: [] };

/** Every row of a query, following cursors to the end. */
export function allPages(store: HistoryStore, scope: HistoryScope, q: HistoryQuery = {}): HistoryRow[] {
  const rows: HistoryRow[] = [];
  let cursor: string | undefined;
  for (let guard = 0; guard < 10_000; guard++) {
    const page = store.query(scope, { ...q, ...(cursor ? { cursor } : {}) });
    rows.push(...page.items);
    if (!page.nextCursor) return rows;
    cursor = page.nextCursor;
  }
  throw new Error('paging did not end');
}

export async function readAll(stream: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks);
}

/** Parses an export back the way a spreadsheet would read it: BOM stripped, first line as header. */
export function parseCsv(bytes: Buffer): { header: string[]; records: Array<Record<string, string>> } {
  const rows = parse(bytes, { bom: true }) as string[][];
  const [header = [], ...body] = rows;
  return { header, records: body.map((r) => Object.fromEntries(header.map((h, i) => [h, r[i] ?? '']))) };
}

/** Newest first, ties broken by id: the order the store promises. */
export function newestFirst(a: HistoryRow, b: HistoryRow): number {
  return b.at.localeCompare(a.at) || b.id - a.id;
}
