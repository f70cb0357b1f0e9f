import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { sendSignedRequest } from '../../../src/batch/station-authority-client.js';
import { startDriver, type Driver } from '../../support/driver-process.js';
import { runUnbind, type RunningProcess } from '../../support/processes.js';
import { useTestPg } from '../../support/pg-server.js';

/**
 * Issue 10, must show: on one PostgreSQL, three authority node processes and five station processes
 * racing 500 signed device requests for one account and one product (each station spreads its requests
 * over the nodes and asks the next node when one does not answer); one node is killed with SIGKILL
 * mid-run. Exactly 100 UNBOUND for the account and for the product (its daily limit), the ledger equals
 * the log rows, every final answer is the store's truth, no retry is told TOKEN_REUSED for its own
 * decision, and every token's event stream on each surviving node holds every result of that token.
 */
const STATIONS = 5;
const PER_STATION = 100;
const NODES = 3;
const KILL_AT = 200;
const testPg = useTestPg();

/** Result events of a token's stream on one node, from the start, until `want` have come (the events themselves). */
async function streamResults(url: string, account: { clientId: string; secret: string }, tokenId: string, want: number): Promise<number[]> {
  const ac = new AbortController();
  const res = await sendSignedRequest({ url, clientId: account.clientId, secret: account.secret }, 'GET', `/api/v1/unbind-tokens/${tokenId}/events`, { signal: ac.signal });
  expect(res.status).toBe(200);
  const seqs: number[] = [];
  let text = '';
  const decoder = new TextDecoder();
  try {
    for await (const chunk of res.body!) {
      text += decoder.decode(chunk as Uint8Array, { stream: true });
      let end: number;
      while ((end = text.indexOf('\n\n')) >= 0) {
        const block = text.slice(0, end);
        text = text.slice(end + 2);
        if (/^event: result$/m.test(block)) seqs.push(Number(/^id: (\d+)$/m.exec(block)![1]));
        if (/^event: end$/m.test(block)) return seqs;
      }
      if (seqs.length >= want) return seqs;
    }
  } finally {
    ac.abort();
  }
  return seqs;
}

describe('many nodes, one truth (DESIGN §9): three authority nodes on one PostgreSQL, one killed with kill -9', () => {
  const dir = mkdtempSync(join(tmpdir(), 'multi-node-'));
  chmodSync(dir, 0o700);
  const keyFile = join(dir, 'cluster.key');
  const exportFile = join(dir, 'demo.json');
  const nodes: RunningProcess[] = [];
  const drivers: Driver[] = [];
  afterAll(async () => {
    for (const d of drivers) d.child.kill('SIGKILL');
    for (const n of nodes) await n.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('five stations, 500 requests, 3 nodes, one killed: exactly 100 UNBOUND, ledger = log, answers = truth, no TOKEN_REUSED, every stream on every live node complete', async () => {
    const pg = testPg();
    const dbUrl = await pg.freshDatabase();
    let answers = 0;
    const countAnswers = (): void => void (answers = drivers.reduce((n, d) => n + d.lines.filter((l) => l.startsWith('answer ')).length, 0));
    for (let s = 0; s < STATIONS; s++) drivers.push(startDriver(countAnswers));
    nodes.push(runUnbind(['authority', '--port', '0', '--db', dbUrl, '--key-file', keyFile, '--demo', '--export-demo', exportFile, '--log-level', 'warn']));
    const first = (await nodes[0]!.waitFor(/listening on (http:\/\/\S+)/))[1]!;
    await nodes[0]!.waitFor(/demo accounts, products and devices written/);
    for (let n = 1; n < NODES; n++) nodes.push(runUnbind(['authority', '--port', '0', '--db', dbUrl, '--key-file', keyFile, '--log-level', 'warn']));
    const urls = [first, ...(await Promise.all(nodes.slice(1).map(async (n) => (await n.waitFor(/listening on (http:\/\/\S+)/))[1]!)))];

    const demo = JSON.parse(readFileSync(exportFile, 'utf8')) as {
      accounts: Array<{ accountId: string; role: string; region: string; clientId: string; secret: string }>;
      devices: Array<{ devId: string; pid: string; bound: boolean }>;
    };
    const owner = demo.accounts.find((a) => a.role === 'owner' && a.region === 'EU')!;
    const cams = demo.devices.filter((d) => d.pid === 'pqr1cam').map((d) => d.devId).sort();
    expect(demo.devices.filter((d) => d.pid === 'pqr1cam' && d.bound).length).toBeGreaterThan(100);

    await Promise.all(drivers.map((d) => d.waitFor((l) => l.includes('loaded'), 'loaded')));
    drivers.forEach((d, s) => {
      const devIds = Array.from({ length: PER_STATION }, (_, i) => cams[(s * 44 + i) % cams.length]!);
      // Each station issues its tokens on its own node and spreads its devices over all three.
      const mine = [...urls.slice(s % NODES), ...urls.slice(0, s % NODES)];
      d.send(`config ${JSON.stringify({ url: mine[0], urls: mine, exportFile, accountId: owner.accountId, devIds, dropEvery: 10, concurrency: 10 })}`);
    });
    await Promise.all(drivers.map((d) => d.waitFor((l) => l.includes('ready'), 'ready')));
    for (const d of drivers) d.send('budget 60');
    await Promise.race(drivers.map((d) => d.waitFor(() => answers >= KILL_AT, `${KILL_AT} answers`)));
    // Mid-run: node 2 dies with whatever it had decided and not yet answered.
    await nodes[1]!.kill('SIGKILL');
    for (const d of drivers) d.send(`budget ${PER_STATION}`);
    await Promise.all(drivers.map((d) => d.waitFor((l) => l.includes('done'), 'done')));

    const finals = drivers.flatMap((d) => d.lines.filter((l) => l.startsWith('answer ') || l.startsWith('lost ')));
    expect(finals.filter((l) => l.startsWith('lost '))).toEqual([]);
    const parsed = finals.map((l) => {
      const [, devId, tokenId, result, reason, how] = l.split(' ');
      return { devId: devId!, tokenId: tokenId!, result: result!, reason: reason === '-' ? null : reason!, replayed: how === 'replayed' };
    });
    expect(parsed).toHaveLength(STATIONS * PER_STATION);

    const pool = pg.pool(dbUrl, 2);
    const rows = async <T extends object>(sql: string, args: unknown[] = []): Promise<T[]> => (await pool.query<T>(sql, args)).rows;
    const decided = new Map((await rows<{ token_id: string; dev_id: string; result: string }>('SELECT token_id, dev_id, result FROM decided_answers')).map((r) => [`${r.token_id} ${r.dev_id}`, r.result]));
    const latest = new Map(
      (await rows<{ token_id: string; dev_id: string; result: string; reason: string | null }>(
        'SELECT DISTINCT ON (token_id, dev_id) token_id, dev_id, result, reason FROM device_logs WHERE token_id IS NOT NULL ORDER BY token_id, dev_id, id DESC',
      )).map((r) => [`${r.token_id} ${r.dev_id}`, r]),
    );
    const mismatches = parsed.filter((a) => {
      const d = decided.get(`${a.tokenId} ${a.devId}`);
      const truth = d ? { result: d, reason: null } : latest.get(`${a.tokenId} ${a.devId}`);
      return !truth || truth.result !== a.result || truth.reason !== a.reason;
    });
    expect(mismatches).toEqual([]);
    expect(parsed.filter((a) => a.reason === 'TOKEN_REUSED')).toEqual([]);
    expect(await rows("SELECT count(*)::int AS n FROM device_logs WHERE reason = 'TOKEN_REUSED'")).toEqual([{ n: 0 }]);

    // Exactly the daily limit, for the account and for the product, and the ledger says the same as the log.
    const unboundBy = (col: 'operator_id' | 'pid') => rows<{ k: string; n: number }>(`SELECT ${col} AS k, count(*)::int AS n FROM device_logs WHERE result = 'UNBOUND' GROUP BY ${col}`);
    const ledger = (scope: string) => rows<{ k: string; n: number }>('SELECT key AS k, sum(used)::int AS n FROM quota_usage WHERE scope = $1 GROUP BY key', [scope]);
    expect(await unboundBy('operator_id')).toEqual([{ k: owner.accountId, n: 100 }]);
    expect(await unboundBy('pid')).toEqual([{ k: 'pqr1cam', n: 100 }]);
    expect(await ledger('account')).toEqual(await unboundBy('operator_id'));
    expect(await ledger('product')).toEqual(await unboundBy('pid'));
    expect(await rows("SELECT count(*)::int AS n FROM (SELECT dev_id FROM device_logs WHERE result = 'UNBOUND' GROUP BY dev_id HAVING count(*) > 1) x")).toEqual([{ n: 0 }]);

    // Every token's stream, on each node still alive, holds every result of that token, in order, each once.
    const perToken = await rows<{ token_id: string; ids: number[] }>('SELECT token_id, array_agg(id::int ORDER BY id) AS ids FROM device_logs WHERE token_id IS NOT NULL GROUP BY token_id');
    for (const url of [urls[0]!, urls[2]!]) {
      for (const t of perToken) expect(await streamResults(url, owner, t.token_id, t.ids.length)).toEqual(t.ids);
    }
    console.info(`multi-node: ${parsed.length} answers, ${parsed.filter((a) => a.replayed).length} replayed, ${perToken.length} tokens streamed complete on 2 live nodes`);
  }, 120_000);
});
