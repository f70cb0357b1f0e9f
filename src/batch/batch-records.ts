import type { BatchMethod, BatchStatus, BatchStop } from '../protocol/index.js';

/** What the store keeps as a batch's status: `paused` is a running batch with a stop not yet resumed. */
export type StoredBatchStatus = Exclude<BatchStatus, 'paused'>;
import { existsSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createSecretBox, loadOrCreateMasterKey, openSqliteWriter } from '../sqlite/index.js';
import { batchSchema } from './migrations/index.js';

/**
 * The station's batches, so that a batch survives a restart: what was planned, the tokens issued for
 * it, and how far each token's result stream was read. Device results themselves live in history.
 * The Wi-Fi password is not stored: after a restart the operator types it again to show the codes,
 * checked against a slow salted verifier kept with the batch. Tokens are sealed at rest under the
 * station key (`station.key` beside the file, 0600): the file alone gives no live token away.
 */
export interface BatchRecord {
  id: string;
  createdAt: number;
  method: BatchMethod;
  pid: string;
  accountId: string;
  operator: string;
  status: StoredBatchStatus;
  ssid: string | null;
  expected: number;
  manifest: string[] | null;
  endedAt: number | null;
  /** The stop rule's verdict, when it fired. */
  stop: BatchStop | null;
}

export interface BatchCodeRecord {
  batchId: string;
  index: number;
  tokenId: string;
  token: string;
  capacity: number;
  expiresAt: number;
  ended: 'expired' | 'exhausted' | 'closed' | null;
}

export interface BatchStore {
  create(b: Omit<BatchRecord, 'status' | 'endedAt' | 'stop'> & { wifiVerifier?: string | null }, codes: Omit<BatchCodeRecord, 'batchId' | 'ended'>[]): void;
  /** The batch's Wi-Fi password verifier (src/batch/wifi-verifier.ts); null for a batch without Wi-Fi or from before verifiers. */
  wifiVerifier(id: string): string | null;
  /** Frozen (kept in memory while unchanged): a change goes through the methods below. */
  get(id: string): BatchRecord | undefined;
  /** Frozen, as get's records: the same list while nothing changed. */
  codes(batchId: string): readonly BatchCodeRecord[];
  list(limit?: number): BatchRecord[];
  /** Batches of the account whose tokens may still bring results: running, or cancelled with open codes. */
  running(accountId: string): BatchRecord[];
  endCode(batchId: string, index: number, ended: BatchCodeRecord['ended']): void;
  finish(id: string, status: Exclude<StoredBatchStatus, 'running'>, at: number): void;
  setStop(id: string, stop: BatchStop): void;
  addLabel(batchId: string, label: string, at: number): void;
  labels(batchId: string): readonly string[];
  /** Counts one more opening of the store and answers it (1 for the first): the stamps' high part. */
  nextBoot(): number;
  close(): void;
}

interface BatchRow {
  id: string;
  created_at: number;
  method: BatchMethod;
  pid: string;
  account_id: string;
  operator: string;
  status: StoredBatchStatus;
  ssid: string | null;
  expected: number;
  manifest: string | null;
  ended_at: number | null;
  stop: string | null;
}

const toRecord = (r: BatchRow): BatchRecord => ({
  id: r.id,
  createdAt: r.created_at,
  method: r.method,
  pid: r.pid,
  accountId: r.account_id,
  operator: r.operator,
  status: r.status,
  ssid: r.ssid,
  expected: r.expected,
  manifest: r.manifest ? (JSON.parse(r.manifest) as string[]) : null,
  endedAt: r.ended_at,
  stop: r.stop ? (JSON.parse(r.stop) as BatchStop) : null,
});

export interface OpenBatchStoreOptions {
  /** The station key (64 hex characters), created 0600 when missing; default `station.key` beside the file. */
  keyFile?: string;
}

/** Sealed tokens kept opened: far more than the codes of the batches a station follows at once. */
const MAX_OPENED = 1024;
/** Batches whose record, codes and labels are kept read: far more than a station follows at once. */
const MAX_CACHED = 256;

export function openBatchStore(path: string, opts: OpenBatchStoreOptions = {}): BatchStore {
  const keyFile = opts.keyFile ?? join(dirname(path), 'station.key');
  const hadKey = existsSync(keyFile);
  const box = createSecretBox(loadOrCreateMasterKey(keyFile));
  // secure_delete: the bytes a sealed token replaces are zeroed, not left in the page's free space.
  // synchronous NORMAL (as history and the authority): in WAL it survives a process crash without an
  // fsync per commit; an OS crash may lose the last batch written, whose tokens the authority still holds.
  const db = openSqliteWriter(path, { schema: batchSchema(box), pragmas: ['foreign_keys = ON', 'secure_delete = ON', 'synchronous = NORMAL'] });
  // Tokens sealed under another key (station.key lost, or batches.db copied from another station) would
  // fail at every sign-in with a bare crypto error: refuse here, saying what to do, and leave no new key.
  const sample = db.prepare<[], { token: string }>("SELECT token FROM batch_codes WHERE token LIKE 'v1.%' LIMIT 1").get();
  if (sample) {
    try {
      box.open(sample.token);
    } catch {
      db.close();
      if (!hadKey) rmSync(keyFile, { force: true });
      throw new Error(
        `${path} holds tokens sealed under another station key than ${keyFile}: put back the station.key that was beside it, ` +
          'or move batches.db away to start with no batches (the authority keeps every result, and history is not affected)',
      );
    }
  }
  // Clear tokens sealed by the migration may still sit in the WAL: write them out now and empty it.
  db.pragma('wal_checkpoint(TRUNCATE)');
  const q = {
    insert: db.prepare(
      `INSERT INTO batches (id, created_at, method, pid, account_id, operator, status, ssid, expected, manifest, wifi_verifier)
       VALUES (@id, @createdAt, @method, @pid, @accountId, @operator, 'running', @ssid, @expected, @manifest, @wifiVerifier)`,
    ),
    verifier: db.prepare<[string], { wifi_verifier: string | null }>('SELECT wifi_verifier FROM batches WHERE id = ?'),
    insertCode: db.prepare(
      'INSERT INTO batch_codes (batch_id, idx, token_id, token, capacity, expires_at) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    get: db.prepare<[string], BatchRow>('SELECT * FROM batches WHERE id = ?'),
    codes: db.prepare<[string], { batch_id: string; idx: number; token_id: string; token: string; capacity: number; expires_at: number; ended: BatchCodeRecord['ended'] }>(
      'SELECT * FROM batch_codes WHERE batch_id = ? ORDER BY idx',
    ),
    list: db.prepare<[number], BatchRow>('SELECT * FROM batches ORDER BY created_at DESC, id LIMIT ?'),
    // A cancelled batch's tokens stay valid until they end: results that still come are collected too.
    running: db.prepare<[string], BatchRow>(
      `SELECT * FROM batches b WHERE account_id = ?
         AND (status = 'running' OR (status = 'cancelled' AND EXISTS (SELECT 1 FROM batch_codes c WHERE c.batch_id = b.id AND c.ended IS NULL)))
       ORDER BY created_at`,
    ),
    endCode: db.prepare('UPDATE batch_codes SET ended = ? WHERE batch_id = ? AND idx = ? AND ended IS NULL'),
    finish: db.prepare("UPDATE batches SET status = ?, ended_at = ? WHERE id = ? AND status = 'running'"),
    setStop: db.prepare('UPDATE batches SET stop = ? WHERE id = ?'),
    addLabel: db.prepare('INSERT INTO batch_labels (batch_id, seq, label, at) VALUES (?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM batch_labels WHERE batch_id = ?), ?, ?)'),
    labels: db.prepare<[string], { label: string }>('SELECT label FROM batch_labels WHERE batch_id = ? ORDER BY seq'),
  };
  // The batch service reads a batch's codes for every result it stores: each sealed token is opened once
  // per process (AES-GCM per read was a tenth of a millisecond per result); the clear token stays in memory only.
  const opened = new Map<string, string>();
  const open = (sealed: string): string => {
    let token = opened.get(sealed);
    if (token === undefined) {
      if (opened.size >= MAX_OPENED) opened.clear();
      token = box.open(sealed);
      opened.set(sealed, token);
    }
    return token;
  };
  // Read again and again while a batch runs (the batch service reads its record and codes for every
  // result, the wired runner its status for every device): kept in memory once read. This process is the
  // only writer of the file (the lock), and every write below drops what it changes, so a read after a
  // write reads the file again. Frozen: what one caller gets, no caller can change under another.
  const records = new Map<string, BatchRecord>();
  const codeLists = new Map<string, readonly BatchCodeRecord[]>();
  const labelLists = new Map<string, readonly string[]>();
  const remember = <V>(m: Map<string, V>, id: string, v: V): V => {
    if (m.size >= MAX_CACHED) m.clear();
    m.set(id, v);
    return v;
  };
  const frozenRecord = (r: BatchRecord): BatchRecord => {
    if (r.manifest) Object.freeze(r.manifest);
    if (r.stop) Object.freeze(r.stop);
    return Object.freeze(r);
  };
  const forget = (id: string): void => {
    records.delete(id);
    codeLists.delete(id);
    labelLists.delete(id);
  };
  return {
    create(b, codes) {
      forget(b.id);
      db.transaction(() => {
        const { wifiVerifier = null, ...batch } = b;
        q.insert.run({ ...batch, manifest: b.manifest ? JSON.stringify(b.manifest) : null, wifiVerifier });
        for (const c of codes) q.insertCode.run(b.id, c.index, c.tokenId, box.seal(c.token), c.capacity, c.expiresAt);
      })();
    },
    wifiVerifier: (id) => q.verifier.get(id)?.wifi_verifier ?? null,
    get: (id) => {
      const known = records.get(id);
      if (known) return known;
      const r = q.get.get(id);
      return r && remember(records, id, frozenRecord(toRecord(r)));
    },
    codes: (batchId) =>
      (codeLists.get(batchId) ??
        remember(
          codeLists,
          batchId,
          Object.freeze(
            q.codes
              .all(batchId)
              .map((c) => Object.freeze({ batchId: c.batch_id, index: c.idx, tokenId: c.token_id, token: open(c.token), capacity: c.capacity, expiresAt: c.expires_at, ended: c.ended })),
          ),
        )),
    list: (limit = 200) => q.list.all(limit).map(toRecord),
    running: (accountId) => q.running.all(accountId).map(toRecord),
    endCode: (batchId, index, ended) => {
      codeLists.delete(batchId);
      q.endCode.run(ended, batchId, index);
    },
    finish: (id, status, at) => {
      records.delete(id);
      q.finish.run(status, at, id);
    },
    setStop: (id, stop) => {
      records.delete(id);
      q.setStop.run(JSON.stringify(stop), id);
    },
    addLabel: (batchId, label, at) => {
      labelLists.delete(batchId);
      q.addLabel.run(batchId, batchId, label, at);
    },
    labels: (batchId) => (labelLists.get(batchId) ?? remember(labelLists, batchId, Object.freeze(q.labels.all(batchId).map((l) => l.label)))),
    nextBoot: () =>
      db.prepare<[], { boots: number }>('INSERT INTO station_boots (id, boots) VALUES (1, 1) ON CONFLICT (id) DO UPDATE SET boots = boots + 1 RETURNING boots').get()!.boots,
    close: () => {
      // Closed means closed: no read answers from memory afterwards, and the clear tokens leave memory.
      records.clear();
      codeLists.clear();
      labelLists.clear();
      opened.clear();
      db.close();
    },
  };
}
