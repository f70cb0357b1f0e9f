import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Pool } from 'pg';
import { createAuthorityClient, sendSignedRequest } from '../../../src/batch/station-authority-client.js';
import { startAuthority, type RunningAuthority } from '../../../src/cloud/authority.js';
import type { DemoExport } from '../../../src/cloud/demo.js';
import { computeResetCode, randomUrlSafe, signDeviceRequest, type CaseView } from '../../../src/protocol/index.js';
import { useTestPg } from '../../support/pg-server.js';

/**
 * Cases on one PostgreSQL served by two authority nodes (issues 10 and 12, DESIGN §4.10, §8, §9): two
 * nodes deciding the same case make one decision, and the other is told what was decided; the quota an
 * approval spends is exact across nodes, also against device unbinds of the same account racing it.
 */
const testPg = useTestPg();
const AT = Date.parse('2026-12-02T10:00:00Z');
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('IHDR label')]);

interface Cluster {
  nodes: [RunningAuthority, RunningAuthority];
  demo: DemoExport;
  pool: Pool;
  close(): Promise<void>;
}

let cluster: Cluster | null = null;
afterEach(async () => {
  await cluster?.close();
  cluster = null;
});

/** Two nodes on one fresh database (the first seeds the demo world, the second finds it), one clock. */
async function startCluster(o: { accountLimit?: number; productLimit?: number } = {}): Promise<Cluster> {
  const url = await testPg().freshDatabase(0);
  const dir = mkdtempSync(join(tmpdir(), 'pg-cases-'));
  const common = { dbPath: url, keyFile: join(dir, 'authority.key'), demo: true, clock: () => AT, logLevel: 'warn', ...o };
  const a = await startAuthority(common);
  const b = await startAuthority(common);
  const pool = testPg().pool(url, 2, 'pg-cases-test');
  return {
    nodes: [a, b],
    demo: a.exportDemo(),
    pool,
    async close() {
      await a.close();
      await b.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

type Role = DemoExport['accounts'][number]['role'];
async function call(c: Cluster, node: 0 | 1, role: Role, method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const acc = c.demo.accounts.find((x) => x.role === role && x.region === 'EU')!;
  const res = await sendSignedRequest({ url: c.nodes[node].url, clientId: acc.clientId, secret: acc.secret }, method, path, {
    body: body === undefined ? '' : JSON.stringify(body),
    clock: () => AT,
  });
  return { status: res.status, body: await res.json() };
}

/** Bound devices of a product the partner may unbind, with firmware the product takes. */
function boundDevices(c: Cluster, pid: string): DemoExport['devices'] {
  const minFw = c.demo.products.find((p) => p.pid === pid)?.minFirmware;
  return c.demo.devices.filter((d) => d.pid === pid && d.bound && (!minFw || d.firmware >= minFw));
}

async function fileCase(c: Cluster, node: 0 | 1, devId: string): Promise<CaseView> {
  const r = await call(c, node, 'partner', 'POST', '/api/v1/cases', { kind: 'unbind', devId, labelPhoto: PNG.toString('base64') });
  expect(r.status, JSON.stringify(r.body)).toBe(201);
  return r.body;
}

const num = async (c: Cluster, sql: string, ...args: unknown[]): Promise<number> => Number(((await c.pool.query({ text: sql, values: args, rowMode: 'array' })).rows[0] as unknown[])[0]);
const caseUnbinds = (c: Cluster) => num(c, "SELECT COUNT(*) FROM device_logs WHERE batch_ref LIKE 'case:%' AND result = 'UNBOUND'");
const quotaUsed = (c: Cluster, scope: string, key: string) => num(c, 'SELECT COALESCE(SUM(used), 0) FROM quota_usage WHERE scope = $1 AND key = $2', scope, key);
const bound = (c: Cluster, devId: string) => num(c, 'SELECT COUNT(*) FROM bindings WHERE dev_id = $1', devId);

/** Resolves once `n` backends of this database wait for a row lock (the event itself, read from PostgreSQL). */
async function lockWaiters(c: Cluster, n: number): Promise<void> {
  for (;;) {
    const waiting = await num(c, "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'");
    if (waiting >= n) return;
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe('cases on two authority nodes of one PostgreSQL', () => {
  it('given node A holding a case decision in its transaction, when node B decides the same case meanwhile, then B waits, is told what A decided, and nothing is unbound twice', async () => {
    cluster = await startCluster();
    const c = cluster;
    const [d1, d2] = boundDevices(c, 'pnvr8ch');
    for (const [dev, second] of [[d1!, 'approve'], [d2!, 'reject']] as const) {
      const filed = await fileCase(c, 0, dev.devId);
      // A third party holds the device's binding: node A's approval, inside its transaction with the case
      // row locked, waits on it; node B's decision then waits on the case row.
      const blocker = await c.pool.connect();
      try {
        await blocker.query('BEGIN');
        await blocker.query('SELECT 1 FROM bindings WHERE dev_id = $1 FOR UPDATE', [dev.devId]);
        const first = call(c, 0, 'owner', 'POST', `/api/v1/cases/${filed.id}/approve`);
        await lockWaiters(c, 1);
        const other = call(c, 1, 'owner', 'POST', `/api/v1/cases/${filed.id}/${second}`, second === 'reject' ? { reason: 'SERIAL_MISMATCH' } : undefined);
        await lockWaiters(c, 2);
        await blocker.query('COMMIT');
        const [a, b] = await Promise.all([first, other]);
        expect(a.status, JSON.stringify(a.body)).toBe(200);
        expect(a.body).toMatchObject({ id: filed.id, state: 'approved', reviewer: 'acc-owner' });
        expect(b.status, second).toBe(409);
        expect(b.body, second).toEqual({ code: 'CASE_DECIDED', message: `case ${filed.id} is already approved` });
      } finally {
        blocker.release();
      }
      expect(await bound(c, dev.devId)).toBe(0);
    }
    expect(await caseUnbinds(c)).toBe(2);
    expect(await quotaUsed(c, 'account', 'acc-partner')).toBe(2);
    expect(await quotaUsed(c, 'product', 'pnvr8ch')).toBe(2);
    // Both nodes show the one decision; a retry on either is told it again and changes nothing.
    const tables = ['cases', 'bindings', 'shares', 'quota_usage', 'device_logs'];
    const dump = async () => JSON.stringify(await Promise.all(tables.map(async (t) => (await c.pool.query(`SELECT * FROM ${t} ORDER BY 1`)).rows)));
    const before = await dump();
    for (const node of [0, 1] as const) {
      const list = await call(c, node, 'partner', 'GET', '/api/v1/cases?state=approved');
      expect(list.body.items).toHaveLength(2);
      for (const item of list.body.items as CaseView[]) {
        expect((await call(c, node, 'owner', 'POST', `/api/v1/cases/${item.id}/approve`)).body).toEqual({ code: 'CASE_DECIDED', message: `case ${item.id} is already approved` });
      }
    }
    expect(await dump()).toBe(before);
  });

  it('given a password-reset case approved on both nodes at once, then its code is answered once, by one node, and the other is told it is approved', async () => {
    cluster = await startCluster();
    const c = cluster;
    const dev = boundDevices(c, 'pnvr8ch')[0]!;
    const filed = await call(c, 1, 'partner', 'POST', '/api/v1/cases', { kind: 'password-reset', devId: dev.devId, labelPhoto: PNG.toString('base64'), resetRequest: `RST1:${dev.devId}:chal-DDDD4444:${AT - 3_600_000}` });
    expect(filed.status, JSON.stringify(filed.body)).toBe(201);
    // Both approvals queue on the case row a third party holds, then go one after the other.
    const blocker = await c.pool.connect();
    let answers: Array<{ status: number; body: any }>;
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM cases WHERE id = $1 FOR UPDATE', [filed.body.id]);
      const both = Promise.all([0, 1].map((n) => call(c, n as 0 | 1, 'owner', 'POST', `/api/v1/cases/${filed.body.id}/approve`)));
      await lockWaiters(c, 2);
      await blocker.query('COMMIT');
      answers = await both;
    } finally {
      blocker.release();
    }
    const code = computeResetCode(dev.deviceKey, dev.devId, 'chal-DDDD4444');
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    expect(answers.find((a) => a.status === 200)!.body).toMatchObject({ state: 'approved', resetCode: code });
    expect(answers.find((a) => a.status === 409)!.body).toEqual({ code: 'CASE_DECIDED', message: `case ${filed.body.id} is already approved` });
    // Either node answers the filer the same code; nothing else was changed, no quota spent.
    for (const node of [0, 1] as const) expect((await call(c, node, 'partner', 'GET', '/api/v1/cases')).body.items[0]).toMatchObject({ id: filed.body.id, resetCode: code });
    expect(await bound(c, dev.devId)).toBe(1);
    expect(await num(c, 'SELECT COUNT(*) FROM quota_usage')).toBe(0);
  });

  it('given cases each approved at once on both nodes, then every case is decided once: one 200 and one CASE_DECIDED, one unbind, one unit of quota', async () => {
    cluster = await startCluster();
    const c = cluster;
    const devs = boundDevices(c, 'pqr1cam').slice(0, 12);
    const cases = await Promise.all(devs.map((d, i) => fileCase(c, (i % 2) as 0 | 1, d.devId)));
    const answers = await Promise.all(cases.map((k) => Promise.all([0, 1].map((n) => call(c, n as 0 | 1, 'owner', 'POST', `/api/v1/cases/${k.id}/approve`)))));
    for (const pair of answers) {
      expect(pair.map((a) => a.status).sort()).toEqual([200, 409]);
      expect(pair.find((a) => a.status === 409)!.body.code).toBe('CASE_DECIDED');
    }
    expect(await caseUnbinds(c)).toBe(devs.length);
    expect(await quotaUsed(c, 'account', 'acc-partner')).toBe(devs.length);
    expect(await quotaUsed(c, 'product', 'pqr1cam')).toBe(devs.length);
    for (const d of devs) expect(await bound(c, d.devId)).toBe(0);
  });

  it('given an account limit of 5, when 8 case approvals on node A race 8 token unbinds of the same account on node B, then exactly 5 devices are unbound and the ledger equals the log', async () => {
    cluster = await startCluster({ accountLimit: 5 });
    const c = cluster;
    const devs = boundDevices(c, 'pnvr8ch');
    const caseDevs = devs.slice(0, 8);
    const tokenDevs = devs.slice(8, 16);
    expect(tokenDevs).toHaveLength(8);
    const cases = await Promise.all(caseDevs.map((d) => fileCase(c, 0, d.devId)));
    const partner = c.demo.accounts.find((a) => a.role === 'partner' && a.region === 'EU')!;
    const token = await createAuthorityClient({ url: c.nodes[1].url, clientId: partner.clientId, secret: partner.secret }, { clock: () => AT }).issueToken({ capacity: 30, channel: 'qr' });
    const deviceUnbind = async (d: (typeof devs)[number]) => {
      const nonce = randomUrlSafe(24);
      const res = await fetch(`${c.nodes[1].url}/device/v1/unbind`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ devId: d.devId, token: token.token, ts: AT, nonce, sig: signDeviceRequest(d.deviceKey, d.devId, token.token, AT, nonce) }),
      });
      return (await res.json()) as { result: string; reason?: string };
    };
    const [approvals, unbinds] = await Promise.all([
      Promise.all(cases.map((k) => call(c, 0, 'owner', 'POST', `/api/v1/cases/${k.id}/approve`))),
      Promise.all(tokenDevs.map(deviceUnbind)),
    ]);
    const approved = approvals.filter((a) => a.status === 200).length;
    const unbound = unbinds.filter((u) => u.result === 'UNBOUND').length;
    expect(approved + unbound).toBe(5);
    expect(approvals.filter((a) => a.status !== 200).every((a) => a.status === 409 && a.body.code === 'QUOTA_ACCOUNT')).toBe(true);
    expect(unbinds.filter((u) => u.result !== 'UNBOUND').every((u) => u.result === 'FAILED' && u.reason === 'QUOTA_ACCOUNT')).toBe(true);
    expect(await quotaUsed(c, 'account', 'acc-partner')).toBe(5);
    expect(await num(c, "SELECT COUNT(*) FROM device_logs WHERE operator_id = 'acc-partner' AND result = 'UNBOUND'")).toBe(5);
    expect(await num(c, 'SELECT COUNT(*) FROM bindings WHERE dev_id = ANY($1::text[])', devs.slice(0, 16).map((d) => d.devId))).toBe(11);
    // A refused approval left its case submitted, to be approved another day or rejected.
    expect(await num(c, "SELECT COUNT(*) FROM cases WHERE state = 'submitted'")).toBe(8 - approved);
  });

  it('given a case approval on node A and a token unbind of the same device on node B at once, then one unbinds it and the other finds it not bound', async () => {
    cluster = await startCluster();
    const c = cluster;
    const partner = c.demo.accounts.find((a) => a.role === 'partner' && a.region === 'EU')!;
    const token = await createAuthorityClient({ url: c.nodes[1].url, clientId: partner.clientId, secret: partner.secret }, { clock: () => AT }).issueToken({ capacity: 30, channel: 'qr' });
    const deviceUnbind = async (d: DemoExport['devices'][number]) => {
      const nonce = randomUrlSafe(24);
      const res = await fetch(`${c.nodes[1].url}/device/v1/unbind`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ devId: d.devId, token: token.token, ts: AT, nonce, sig: signDeviceRequest(d.deviceKey, d.devId, token.token, AT, nonce) }),
      });
      return ((await res.json()) as { result: string }).result;
    };
    const approve = async (id: string) => {
      const r = await call(c, 0, 'owner', 'POST', `/api/v1/cases/${id}/approve`);
      return r.status === 200 ? 'UNBOUND' : r.body.code;
    };
    // Ordered: the device's unbind waits on the binding first, the approval after it; then both go.
    // Devices with shares: both sides remove them too.
    const shared = new Set((await c.pool.query<{ dev_id: string }>("SELECT DISTINCT dev_id FROM shares WHERE dev_id LIKE 'pqr1cam-%'")).rows.map((r) => r.dev_id));
    const devs = boundDevices(c, 'pqr1cam').filter((d) => shared.has(d.devId)).slice(0, 7);
    expect(devs).toHaveLength(7);
    const first = devs[0]!;
    const firstCase = await fileCase(c, 0, first.devId);
    const blocker = await c.pool.connect();
    try {
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM bindings WHERE dev_id = $1 FOR UPDATE', [first.devId]);
      const unbind = deviceUnbind(first);
      await lockWaiters(c, 1);
      const approval = approve(firstCase.id);
      await lockWaiters(c, 2);
      await blocker.query('COMMIT');
      expect({ unbind: await unbind, approval: await approval }).toEqual({ unbind: 'UNBOUND', approval: 'NOT_BOUND' });
    } finally {
      blocker.release();
    }
    // Then at once, as it comes: whoever is first unbinds, the other is told NOT_BOUND (the case a 409, the device a result).
    const rest = devs.slice(1);
    const cases = await Promise.all(rest.map((d) => fileCase(c, 0, d.devId)));
    const outcomes = await Promise.all(rest.map(async (d, i) => [await approve(cases[i]!.id), await deviceUnbind(d)].sort()));
    for (const o of outcomes) expect(o).toEqual(['NOT_BOUND', 'UNBOUND']);
    expect(await num(c, "SELECT COUNT(*) FROM device_logs WHERE result = 'UNBOUND' AND dev_id = ANY($1::text[])", devs.map((d) => d.devId))).toBe(devs.length);
    expect(await quotaUsed(c, 'account', 'acc-partner')).toBe(devs.length);
    expect(await num(c, 'SELECT COUNT(*) FROM shares WHERE dev_id = ANY($1::text[])', devs.map((d) => d.devId))).toBe(0);
  });

  it('given a product limit of 2, when three cases of it are approved on the two nodes, then the third is refused QUOTA_PRODUCT and the account keeps its unit', async () => {
    cluster = await startCluster({ productLimit: 2 });
    const c = cluster;
    const devs = boundDevices(c, 'pnvr8ch').slice(0, 3);
    const cases = await Promise.all(devs.map((d) => fileCase(c, 0, d.devId)));
    const answers = await Promise.all(cases.map((k, i) => call(c, (i % 2) as 0 | 1, 'owner', 'POST', `/api/v1/cases/${k.id}/approve`)));
    expect(answers.map((a) => (a.status === 200 ? 'approved' : a.body.code)).sort()).toEqual(['QUOTA_PRODUCT', 'approved', 'approved']);
    expect(await quotaUsed(c, 'product', 'pnvr8ch')).toBe(2);
    // The account's unit was taken first in the refused transaction and went back with it.
    expect(await quotaUsed(c, 'account', 'acc-partner')).toBe(2);
    expect(await caseUnbinds(c)).toBe(2);
    expect(await num(c, 'SELECT COUNT(*) FROM bindings WHERE dev_id = ANY($1::text[])', devs.map((d) => d.devId))).toBe(1);
  });
});

describe('--demo seeds the same cases world on both stores', () => {
  let sqlite: RunningAuthority;
  let pg: RunningAuthority;
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'pg-cases-demo-'));
    sqlite = await startAuthority({ dbPath: join(dir, 'authority.db'), demo: true, logLevel: 'warn' });
    pg = await startAuthority({ dbPath: await testPg().freshDatabase(0), keyFile: join(dir, 'pg.key'), demo: true, logLevel: 'warn' });
  });
  afterAll(async () => {
    await sqlite?.close();
    await pg?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('given both stores started with --demo, then the same accounts are verified installers and no case is filed yet', async () => {
    const verified = async (a: RunningAuthority) => {
      const out: Record<string, boolean> = {};
      for (const acc of a.exportDemo().accounts) out[acc.accountId] = await a.store.accounts.isVerifiedInstaller(acc.accountId);
      return out;
    };
    const onSqlite = await verified(sqlite);
    expect(onSqlite).toMatchObject({ 'acc-partner': true, 'acc-none': false });
    expect(await verified(pg)).toEqual(onSqlite);
    const owner = (a: RunningAuthority) => a.exportDemo().accounts.find((x) => x.role === 'owner' && x.region === 'EU')!.accountId;
    expect((await sqlite.store.cases!.list(owner(sqlite), {})).items).toEqual([]);
    expect((await pg.store.cases!.list(owner(pg), {})).items).toEqual([]);
  });
});
