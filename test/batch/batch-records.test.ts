import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { openBatchStore, type BatchStore } from '../../src/batch/batch-records.js';

describe('batch store', () => {
  const dir = mkdtempSync(join(tmpdir(), 'batch-store-'));
  let store: BatchStore | undefined;
  afterEach(() => {
    store?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('follows after a restart the running batches and the cancelled ones whose codes are still open, nothing else', () => {
    store = openBatchStore(join(dir, 'batches.db'));
    const make = (id: string, tokenId: string) =>
      store!.create({ id, createdAt: Date.parse('2026-11-22T10:00:00Z') + Number(id.slice(-1)), method: 'qr', pid: 'pqr1cam', accountId: 'acc', operator: 'Ana', ssid: 'lab', expected: 3, manifest: null }, [
        { index: 0, tokenId, token: `EU${tokenId}secret`, capacity: 3, expiresAt: Date.now() + 60_000 },
      ]);
    make('b-1', 'tok00001');
    make('b-2', 'tok00002');
    make('b-3', 'tok00003');
    make('b-4', 'tok00004');
    store.finish('b-2', 'cancelled', Date.now()); // cancelled, code still open: late results may come
    store.finish('b-3', 'cancelled', Date.now());
    store.endCode('b-3', 0, 'expired'); // cancelled and over
    store.endCode('b-4', 0, 'exhausted');
    store.finish('b-4', 'completed', Date.now());
    expect(store.running('acc').map((b) => b.id)).toEqual(['b-1', 'b-2']);
    expect(store.running('someone-else')).toEqual([]);
  });

  it('given a batch read once (kept in memory), when its status, stop, codes or labels change, then the next read has the change, as the file has it after a reopen; what a read gives cannot be changed by its caller', () => {
    const path = join(dir, 'batches.db');
    store = openBatchStore(path);
    store.create({ id: 'b-1', createdAt: 1, method: 'qr', pid: 'pqr1cam', accountId: 'acc', operator: 'Ana', ssid: 'lab', expected: 2, manifest: ['QC1-1', 'QC1-2'] }, [
      { index: 0, tokenId: 'tok00001', token: 'EUtok00001secret', capacity: 2, expiresAt: Date.now() + 60_000 },
    ]);
    const before = { batch: store.get('b-1')!, codes: store.codes('b-1'), labels: store.labels('b-1') };
    expect(store.get('b-1')).toBe(before.batch);
    expect(() => (before.batch as { status: string }).status = 'completed').toThrow(TypeError);
    expect(() => (before.batch.manifest as string[]).push('QC1-3')).toThrow(TypeError);
    expect(() => (before.codes[0] as { ended: string | null }).ended = 'closed').toThrow(TypeError);
    const stop = { code: 'TIMEOUT' as const, count: 5, threshold: 5, window: 10, at: '2026-11-22T10:00:00.000Z', resumedAt: null };
    store.setStop('b-1', stop);
    expect(store.get('b-1')!.stop).toEqual(stop);
    store.endCode('b-1', 0, 'exhausted');
    expect(store.codes('b-1').map((c) => c.ended)).toEqual(['exhausted']);
    store.addLabel('b-1', 'QC1-1', 2);
    expect(store.labels('b-1')).toEqual(['QC1-1']);
    store.finish('b-1', 'completed', 3);
    const after = { batch: store.get('b-1'), codes: store.codes('b-1'), labels: store.labels('b-1') };
    expect(after.batch).toMatchObject({ status: 'completed', endedAt: 3, stop });
    expect(before.batch.status).toBe('running');
    store.close();
    store = openBatchStore(path);
    expect({ batch: store.get('b-1'), codes: store.codes('b-1'), labels: store.labels('b-1') }).toEqual(after);
  });

  it('given a batch read once (kept in memory), when the store is closed, then no read answers from memory any more: each throws as the closed file does', () => {
    store = openBatchStore(join(dir, 'batches.db'));
    store.create({ id: 'b-1', createdAt: 1, method: 'qr', pid: 'pqr1cam', accountId: 'acc', operator: 'Ana', ssid: 'lab', expected: 1, manifest: null }, [
      { index: 0, tokenId: 'tok00001', token: 'EUtok00001secret', capacity: 1, expiresAt: Date.now() + 60_000 },
    ]);
    store.addLabel('b-1', 'QC1-1', 2);
    expect(store.get('b-1')).toMatchObject({ id: 'b-1' });
    expect(store.codes('b-1')[0]).toMatchObject({ token: 'EUtok00001secret' });
    expect(store.labels('b-1')).toEqual(['QC1-1']);
    store.close();
    expect(() => store!.get('b-1')).toThrow(/not open/);
    expect(() => store!.codes('b-1')).toThrow(/not open/);
    expect(() => store!.labels('b-1')).toThrow(/not open/);
  });

  it('given batches.db whose station.key is gone (a backup restored without it), then it refuses to open, says what to do, and makes no new key', () => {
    const path = join(dir, 'batches.db');
    store = openBatchStore(path);
    store.create({ id: 'b-1', createdAt: Date.now(), method: 'qr', pid: 'pqr1cam', accountId: 'acc', operator: 'Ana', ssid: 'lab', expected: 3, manifest: null }, [
      { index: 0, tokenId: 'tok00001', token: 'EUtok00001secret', capacity: 3, expiresAt: Date.now() + 60_000 },
    ]);
    store.close();
    store = undefined;
    rmSync(join(dir, 'station.key'));
    expect(() => openBatchStore(path)).toThrow(/sealed under another station key .*put back the station\.key/);
    expect(existsSync(join(dir, 'station.key'))).toBe(false);
  });
});
