// Direct rate of the PostgreSQL unbind (no HTTP), for docs/pg-store-plan.md: N, NODES, CONC, ACCOUNTS, DURABLE from the env.
// Run inside a netns: ip netns exec ns-pg node --import tsx test/cloud/pg/measure-direct-unbind.mts
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { startPgDev, stopPgDev, pgDevUrl } from '../../../src/cloud/pg/pg-dev.js';
import { createPgPool } from '../../../src/cloud/pg/pg-pool.js';
import { migratePg } from '../../../src/cloud/pg/pg-migrations.js';
import { PG_AUTHORITY_SCHEMA } from '../../../src/cloud/pg/migrations/index.js';
import { createPgUnbind } from '../../../src/cloud/pg/pg-unbind.js';
import { createPgStore } from '../../../src/cloud/pg/pg-store.js';
import { createSecretBox } from '../../../src/cloud/secret-box.js';
import { generateToken, sha256Hex, signDeviceRequest, randomUrlSafe } from '../../../src/protocol/index.js';

const N = Number(process.env.N ?? 6000);
const NODES = Number(process.env.NODES ?? 2);
const CONC = Number(process.env.CONC ?? 32);
const dir = join(mkdtempSync('/tmp/pgm-'), 'pg');
chmodSync(join(dir, '..'), 0o755);
await startPgDev({ dir, unsafeFast: process.env.DURABLE ? false : true });
try {
  const url = pgDevUrl(dir, 'postgres');
  const admin = createPgPool(url, { max: 2 });
  await migratePg(admin, PG_AUTHORITY_SCHEMA);
  const box = createSecretBox(randomBytes(32));
  const key = 'k'.repeat(24);
  const K = Number(process.env.ACCOUNTS ?? 1);
  await admin.query(`INSERT INTO accounts SELECT 'acc'||k,'A','EU','cid'||k,$1,0 FROM generate_series(0,$2-1) k`, [box.seal('s'), K]);
  await admin.query(`INSERT INTO consumers VALUES ('c','C','EU')`);
  await admin.query(`INSERT INTO products SELECT 'p'||k,'P','camera','acc'||k,true,NULL,NULL FROM generate_series(0,$1-1) k`, [K]);
  // device i uses token floor((i-1)/30), whose account is (token index % K): the device's product is that account's
  await admin.query(`INSERT INTO devices SELECT 'd'||i, 'sn'||i, 'p'||(((i-1)/30) % $3), 'EU', '1.0', $1 FROM generate_series(1,$2) i`, [box.seal(key), N, K]);
  await admin.query(`INSERT INTO bindings SELECT 'd'||i, 'c', 0 FROM generate_series(1,$1) i`, [N]);
  const tokens: string[] = [];
  for (let i = 0; i < Math.ceil(N / 30); i++) {
    const t = generateToken('EU');
    await admin.query(`INSERT INTO tokens (id, secret_hash, account_id, region, capacity, channel, created_at, expires_at) VALUES ($1,$2,$4,'EU',30,'qr',0,$3)`, [t.id, sha256Hex(t.secret), Date.now() + 3_600_000, `acc${i % K}`]);
    tokens.push(t.token);
  }
  const nodes = Array.from({ length: NODES }, () => process.env.STORE ? (() => { const st = createPgStore({ pool: createPgPool(url, { max: Math.ceil(CONC / NODES) }), url, box, timeZone: 'UTC', accountLimit: 1e9, productLimit: 1e9 }); return { unbind: st.unbind.unbind, stats: () => ({}) }; })() : createPgUnbind({ pool: createPgPool(url, { max: Math.ceil(CONC / NODES) }), box, timeZone: 'UTC', accountLimit: 1e9, productLimit: 1e9, ...(process.env.INFLIGHT ? { maxInFlight: Number(process.env.INFLIGHT) } : {}) }));
  const reqs = Array.from({ length: N }, (_, i) => {
    const devId = `d${i + 1}`, token = tokens[Math.floor(i / 30)]!, ts = Date.now(), nonce = randomUrlSafe(20);
    return { devId, token, ts, nonce, sig: signDeviceRequest(key, devId, token, ts, nonce) };
  });
  // tokens spread: request i uses token floor(i/30); interleave so concurrent requests hit different tokens
  const order = process.env.ORDER === "seq" ? reqs.map((_, i) => i) : reqs.map((_, i) => i).sort((a, b) => (a % 30) - (b % 30) || a - b);
  const lat: number[] = [];
  let next = 0;
  const t0 = performance.now();
  const counts: Record<string, number> = {};
  await Promise.all(Array.from({ length: CONC }, async (_, w) => {
    const node = nodes[w % NODES]!;
    for (;;) {
      const i = next++;
      if (i >= N) return;
      const s = performance.now();
      const out = await node.unbind(reqs[order[i]!]!);
      lat.push(performance.now() - s);
      const k = out.reason ?? out.result;
      counts[k] = (counts[k] ?? 0) + 1;
    }
  }));
  const secs = (performance.now() - t0) / 1000;
  lat.sort((a, b) => a - b);
  console.log(JSON.stringify({ K, N, NODES, CONC, durable: !!process.env.DURABLE, perSec: Math.round(N / secs), p50: lat[Math.floor(N * 0.5)]!.toFixed(2), p99: lat[Math.floor(N * 0.99)]!.toFixed(2), counts, stats: nodes.map((n) => n.stats()) }));
} finally {
  await stopPgDev({ dir });
  rmSync(join(dir, '..'), { recursive: true, force: true });
}
// The pools still hold connections to the stopped server: leave now, only after the server is stopped.
process.exit(0);
