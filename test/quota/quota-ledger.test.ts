import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Database } from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openAuthorityDb } from '../../src/cloud/authority-database.js';
import { createQuotaLedger, DEFAULT_DAILY_LIMIT, type QuotaLedger } from '../../src/quota/quota-ledger.js';

const at = (iso: string): number => Date.parse(iso);
const NOON = at('2026-11-22T12:00:00Z');

let dir: string;
let dbPath: string;
let db: Database;

function addAccount(id: string): void {
  db.prepare('INSERT INTO accounts (id, name, region, client_id, secret_enc, created_at) VALUES (?, ?, ?, ?, ?, ?)').run(
    id, `Account ${id}`, 'EU', `client-${id}`, 'v1.sealed.not-used.here', 0,
  );
}
function addProduct(pid: string, ownerId: string): void {
  db.prepare('INSERT INTO products (pid, name, category, owner_id, unbind_supported, min_firmware) VALUES (?, ?, ?, ?, 1, NULL)').run(
    pid, `Product ${pid}`, 'camera', ownerId,
  );
}
function addTicket(t: { id: string; requester: string; scope: 'account' | 'product'; pid: string; limit: number; from: string; to: string; status: 'pending' | 'approved' | 'rejected' }): void {
  db.prepare(
    `INSERT INTO quota_tickets (id, requester_id, scope, pid, limit_value, from_day, to_day, reason, status, decided_by, decided_at, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, 'returns peak', ?, NULL, NULL, 0)`,
  ).run(t.id, t.requester, t.scope, t.pid, t.limit, t.from, t.to, t.status);
}

/** One unbind's worth of quota, in its own write transaction as the authority does it. */
function consume(ledger: QuotaLedger, accountId: string, pid: string, now: number) {
  return db.transaction(() => ledger.tryConsume(accountId, pid, now)).immediate();
}
function consumeMany(ledger: QuotaLedger, n: number, accountId: string, pid: string, now: number): number {
  let ok = 0;
  for (let i = 0; i < n; i++) if (consume(ledger, accountId, pid, now).ok) ok++;
  return ok;
}

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'quota-ledger-'));
  dbPath = join(dir, 'authority.db');
  db = openAuthorityDb(dbPath);
  for (const a of ['owner', 'alice', 'bob', 'carol']) addAccount(a);
  for (const p of ['cam-a', 'cam-b', 'nvr-c']) addProduct(p, 'owner');
});
afterEach(() => {
  db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('quota ledger (DESIGN §8)', () => {
  it('given a fresh day, then the default limits are 100 per account and 100 per product, nothing used', () => {
    const ledger = createQuotaLedger(db, { timeZone: 'UTC' });
    expect(DEFAULT_DAILY_LIMIT).toBe(100);
    expect(ledger.counter('account', 'alice', NOON)).toEqual({ used: 0, limit: 100, remaining: 100 });
    expect(ledger.counter('product', 'cam-a', NOON)).toEqual({ used: 0, limit: 100, remaining: 100 });
  });

  it('given an account that unbound 100 devices of two products today, when it tries a 101st, then QUOTA_ACCOUNT and nothing more is counted', () => {
    const ledger = createQuotaLedger(db, { timeZone: 'UTC' });
    expect(consumeMany(ledger, 50, 'alice', 'cam-a', NOON)).toBe(50);
    expect(consumeMany(ledger, 50, 'alice', 'cam-b', NOON)).toBe(50);
    expect(consume(ledger, 'alice', 'nvr-c', NOON)).toEqual({ ok: false, reason: 'QUOTA_ACCOUNT' });
    expect(ledger.counter('account', 'alice', NOON)).toEqual({ used: 100, limit: 100, remaining: 0 });
    expect(ledger.counter('product', 'nvr-c', NOON)).toEqual({ used: 0, limit: 100, remaining: 100 });
    // Another account is not affected.
    expect(consume(ledger, 'bob', 'nvr-c', NOON)).toEqual({ ok: true });
  });

  it('given two accounts that unbound 100 devices of one product together, when a third account tries it, then QUOTA_PRODUCT and its own account quota is untouched', () => {
    const ledger = createQuotaLedger(db, { timeZone: 'UTC' });
    expect(consumeMany(ledger, 60, 'alice', 'cam-a', NOON)).toBe(60);
    expect(consumeMany(ledger, 40, 'bob', 'cam-a', NOON)).toBe(40);
    expect(consume(ledger, 'carol', 'cam-a', NOON)).toEqual({ ok: false, reason: 'QUOTA_PRODUCT' });
    expect(consume(ledger, 'alice', 'cam-a', NOON)).toEqual({ ok: false, reason: 'QUOTA_PRODUCT' });
    expect(ledger.counter('product', 'cam-a', NOON)).toEqual({ used: 100, limit: 100, remaining: 0 });
    expect(ledger.counter('account', 'carol', NOON).used).toBe(0);
    expect(ledger.counter('account', 'alice', NOON).used).toBe(60);
    expect(consume(ledger, 'carol', 'cam-b', NOON)).toEqual({ ok: true });
  });

  it('given no transaction, when quota is consumed, then it throws (check and consume must be atomic with the unbind)', () => {
    const ledger = createQuotaLedger(db, { timeZone: 'UTC' });
    expect(() => ledger.tryConsume('alice', 'cam-a', NOON)).toThrow(/inside the unbind transaction/);
    expect(ledger.counter('account', 'alice', NOON).used).toBe(0);
  });

  it('given an unbind that fails after consuming quota in its transaction, when the transaction rolls back, then nothing is consumed', () => {
    const ledger = createQuotaLedger(db, { timeZone: 'UTC' });
    const failingUnbind = db.transaction(() => {
      expect(ledger.tryConsume('alice', 'cam-a', NOON)).toEqual({ ok: true });
      throw new Error('device rejected');
    });
    expect(() => failingUnbind.immediate()).toThrow('device rejected');
    expect(ledger.counter('account', 'alice', NOON).used).toBe(0);
    expect(ledger.counter('product', 'cam-a', NOON).used).toBe(0);
  });

  describe('given quota tickets', () => {
    it('when an approved account ticket raises alice to 150 for 2026-11-22..23, then the raise applies on those days only', () => {
      addTicket({ id: 't1', requester: 'alice', scope: 'account', pid: 'cam-a', limit: 150, from: '2026-11-22', to: '2026-11-23', status: 'approved' });
      const ledger = createQuotaLedger(db, { timeZone: 'UTC' });
      expect(ledger.counter('account', 'alice', at('2026-11-21T23:59:59Z')).limit).toBe(100);
      expect(ledger.counter('account', 'alice', at('2026-11-22T00:00:00Z')).limit).toBe(150);
      expect(ledger.counter('account', 'alice', at('2026-11-23T23:59:59Z')).limit).toBe(150);
      expect(ledger.counter('account', 'alice', at('2026-11-24T00:00:00Z')).limit).toBe(100);
      expect(ledger.counter('account', 'bob', NOON).limit).toBe(100);

      expect(consumeMany(ledger, 75, 'alice', 'cam-a', NOON)).toBe(75);
      expect(consumeMany(ledger, 75, 'alice', 'cam-b', NOON)).toBe(75);
      expect(consume(ledger, 'alice', 'nvr-c', NOON)).toEqual({ ok: false, reason: 'QUOTA_ACCOUNT' });
      // The day before the range the ordinary limit holds.
      const before = at('2026-11-21T12:00:00Z');
      expect(consumeMany(ledger, 50, 'alice', 'cam-a', before) + consumeMany(ledger, 50, 'alice', 'cam-b', before)).toBe(100);
      expect(consume(ledger, 'alice', 'nvr-c', before)).toEqual({ ok: false, reason: 'QUOTA_ACCOUNT' });
    });

    it('when an approved product ticket raises cam-a to 120, then every account may share 120 of cam-a that day', () => {
      addTicket({ id: 't2', requester: 'owner', scope: 'product', pid: 'cam-a', limit: 120, from: '2026-11-22', to: '2026-11-22', status: 'approved' });
      const ledger = createQuotaLedger(db, { timeZone: 'UTC' });
      expect(consumeMany(ledger, 70, 'alice', 'cam-a', NOON)).toBe(70);
      expect(consumeMany(ledger, 60, 'bob', 'cam-a', NOON)).toBe(50);
      expect(consume(ledger, 'carol', 'cam-a', NOON)).toEqual({ ok: false, reason: 'QUOTA_PRODUCT' });
      expect(ledger.counter('product', 'cam-b', NOON).limit).toBe(100);
    });

    it('when the ticket is pending or rejected, then the limit stays 100', () => {
      addTicket({ id: 't3', requester: 'alice', scope: 'account', pid: 'cam-a', limit: 500, from: '2026-11-01', to: '2026-11-30', status: 'pending' });
      addTicket({ id: 't4', requester: 'alice', scope: 'account', pid: 'cam-a', limit: 400, from: '2026-11-01', to: '2026-11-30', status: 'rejected' });
      addTicket({ id: 't5', requester: 'owner', scope: 'product', pid: 'cam-a', limit: 500, from: '2026-11-01', to: '2026-11-30', status: 'pending' });
      const ledger = createQuotaLedger(db, { timeZone: 'UTC' });
      expect(ledger.counter('account', 'alice', NOON).limit).toBe(100);
      expect(ledger.counter('product', 'cam-a', NOON).limit).toBe(100);
      expect(consumeMany(ledger, 50, 'alice', 'cam-a', NOON) + consumeMany(ledger, 50, 'alice', 'cam-b', NOON)).toBe(100);
      expect(consume(ledger, 'alice', 'nvr-c', NOON)).toEqual({ ok: false, reason: 'QUOTA_ACCOUNT' });
    });

    it('when an approved ticket asks for less than the default, then it never lowers the limit', () => {
      addTicket({ id: 't6', requester: 'alice', scope: 'account', pid: 'cam-a', limit: 10, from: '2026-11-22', to: '2026-11-22', status: 'approved' });
      expect(createQuotaLedger(db, { timeZone: 'UTC' }).counter('account', 'alice', NOON).limit).toBe(100);
    });
  });

  describe('given the authority time zone Asia/Shanghai', () => {
    it('when an account used its 100 before 16:00Z, then the 101st is refused until 16:00Z (local midnight) and accepted from then on', () => {
      const ledger = createQuotaLedger(db, { timeZone: 'Asia/Shanghai' });
      const late = at('2026-11-21T15:00:00Z');
      expect(consumeMany(ledger, 50, 'alice', 'cam-a', late) + consumeMany(ledger, 50, 'alice', 'cam-b', late)).toBe(100);
      expect(consume(ledger, 'alice', 'nvr-c', at('2026-11-21T15:59:59.999Z'))).toEqual({ ok: false, reason: 'QUOTA_ACCOUNT' });
      const midnight = at('2026-11-21T16:00:00Z');
      expect(ledger.window(midnight).day).toBe('2026-11-22');
      expect(consume(ledger, 'alice', 'nvr-c', midnight)).toEqual({ ok: true });
      expect(ledger.counter('account', 'alice', midnight)).toEqual({ used: 1, limit: 100, remaining: 99 });
      expect(ledger.counter('account', 'alice', late).used).toBe(100);
    });

    it('when the same instants are counted in UTC instead, then they fall on one day and the 101st stays refused', () => {
      const ledger = createQuotaLedger(db, { timeZone: 'UTC' });
      const late = at('2026-11-21T15:00:00Z');
      expect(consumeMany(ledger, 50, 'alice', 'cam-a', late) + consumeMany(ledger, 50, 'alice', 'cam-b', late)).toBe(100);
      expect(consume(ledger, 'alice', 'nvr-c', at('2026-11-21T16:00:00Z'))).toEqual({ ok: false, reason: 'QUOTA_ACCOUNT' });
    });
  });

  it('given configured limits, then they replace the default of 100', () => {
    const ledger = createQuotaLedger(db, { timeZone: 'UTC', accountLimit: 3, productLimit: 2 });
    expect(consumeMany(ledger, 2, 'alice', 'cam-a', NOON)).toBe(2);
    expect(consume(ledger, 'bob', 'cam-a', NOON)).toEqual({ ok: false, reason: 'QUOTA_PRODUCT' });
    expect(consume(ledger, 'alice', 'cam-b', NOON)).toEqual({ ok: true });
    expect(consume(ledger, 'alice', 'nvr-c', NOON)).toEqual({ ok: false, reason: 'QUOTA_ACCOUNT' });
  });

  it('given 4 processes racing on one database file (160 attempts in immediate transactions), then exactly 100 succeed, never one over', async () => {
    const ledgerModule = fileURLToPath(new URL('../../src/quota/quota-ledger.ts', import.meta.url));
    // A start barrier, not a start time: each racer says when its database is open, and all go together
    // once all four are ready (a wall-clock start left a racer that loaded slowly out of the race).
    // The authority opens its store as its one writer (DESIGN §9), so a second openAuthorityDb is refused;
    // the racers open plain connections to the file the test migrated, to prove the ledger's transactions
    // exact even when several processes write it (as the PostgreSQL store's nodes will, issue 10).
    const racer = `
      const { createQuotaLedger } = await import(${JSON.stringify(ledgerModule)});
      const { default: Database } = await import('better-sqlite3');
      const [dbPath, now, pids] = process.argv.slice(1);
      const db = new Database(dbPath);
      db.pragma('busy_timeout = 5000');
      db.pragma('foreign_keys = ON');
      const ledger = createQuotaLedger(db, { timeZone: 'UTC' });
      const pay = db.transaction((pid) => ledger.tryConsume('alice', pid, Number(now)));
      process.stdout.write('ready\\n');
      await new Promise((go) => process.stdin.once('data', go));
      let ok = 0, refused = 0;
      for (let i = 0; i < 40; i++) { const r = pay.immediate(pids.split(',')[i % 3]); if (r.ok) ok++; else refused++; }
      db.close();
      process.stdout.write(JSON.stringify({ ok, refused }));
      process.stdin.destroy();
    `;
    const children = Array.from({ length: 4 }, () =>
      spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', racer, dbPath, String(NOON), 'cam-a,cam-b,nvr-c'], { stdio: ['pipe', 'pipe', 'pipe'] }),
    );
    let ready = 0;
    const runs = children.map(
      (child) =>
        new Promise<{ ok: number; refused: number }>((resolve, reject) => {
          let out = '';
          let err = '';
          child.stdout.on('data', (d) => {
            const wasReady = out.startsWith('ready\n');
            out += d;
            if (!wasReady && out.startsWith('ready\n') && ++ready === children.length) for (const c of children) c.stdin.write('go\n');
          });
          child.stderr.on('data', (d) => (err += d));
          child.on('error', reject);
          child.on('close', (code) => {
            // A racer that ended before the start lets the others go too (their stdin ends), so none is left waiting.
            if (ready < children.length) for (const c of children) c.stdin.end();
            if (code === 0) resolve(JSON.parse(out.slice('ready\n'.length)));
            else reject(new Error(`racer exited ${code}: ${err}`));
          });
        }),
    );
    const results = await Promise.all(runs);
    expect(results.reduce((n, r) => n + r.ok, 0)).toBe(100);
    expect(results.reduce((n, r) => n + r.refused, 0)).toBe(60);
    const ledger = createQuotaLedger(db, { timeZone: 'UTC' });
    expect(ledger.counter('account', 'alice', NOON).used).toBe(100);
    const productTotal = ['cam-a', 'cam-b', 'nvr-c'].reduce((n, p) => n + ledger.counter('product', p, NOON).used, 0);
    expect(productTotal).toBe(100);
  });
});
