/**
 * bench:auth-flood — a legitimate device unbind's latency while forged DEVICE_AUTH requests for one device
 * flood the authority (issue 9), against its baseline measured in the same run by the same client.
 * Target: p99 during the flood ≤ 2 × baseline p99.
 *   npm run bench:auth-flood [-- --forged 10000 --rate 500 --rounds 5]
 *
 * Why a bench and not a test: on a 2-core machine shared with other jobs (load average 12–15 measured
 * while this was written) a p99 of ~200 samples is a figure of the scheduler, not of the authority: the same
 * run gave ratios from 1.3 to 4 as other jobs came and went. The test (test/cloud/auth-flood.test.ts)
 * asserts what the machine cannot change (answers, rows, counts, bytes); this prints the latency figure.
 *
 * Made as fair as a run can be: the authority is its own process (real HTTP, real SQLite file); the forged
 * requests are signed before the clock starts and sent at a fixed rate (the issue's: 10,000 in 20 s), not
 * in a saturating loop; the probes (each a bound device unbinding with its own signed request) are sequential
 * on one keep-alive connection from 127.0.0.1, the flood from 127.0.0.66 and .67; everything is warmed up
 * first; and the phases alternate (flood, quiet, flood, quiet, …) with as many probes in each quiet phase as
 * in the flood phase before it, so a change of the machine's load falls on both sides alike.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { Agent, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { randomUrlSafe, signDeviceRequest } from '../src/protocol/index.js';
import { openAuthorityDb } from '../src/cloud/authority-database.js';
import { createSecretBox, loadOrCreateMasterKey } from '../src/cloud/secret-box.js';
import { createAuthorityServices } from '../src/cloud/services.js';

const { values: args } = parseArgs({
  options: {
    forged: { type: 'string', default: '10000' },
    rate: { type: 'string', default: '500' },
    rounds: { type: 'string', default: '5' },
    'probe-gap-ms': { type: 'string', default: '20' },
  },
});
const FORGED = Number(args.forged);
const RATE = Number(args.rate);
const ROUNDS = Number(args.rounds);
const PROBE_GAP_MS = Number(args['probe-gap-ms']);
const PER_ROUND = Math.ceil(FORGED / ROUNDS);
// Probes that fit in a flood phase at one per PROBE_GAP_MS, twice (the quiet phase), with room to spare.
const PROBES = Math.ceil(((PER_ROUND / RATE) * 1000) / PROBE_GAP_MS) * ROUNDS * 2 + 200;

interface Device {
  devId: string;
  key: string;
  token: string;
}

function seedWorld(): { dir: string; dbPath: string; probes: Device[]; victim: Device } {
  const dir = mkdtempSync(join(tmpdir(), 'bench-auth-flood-'));
  const dbPath = join(dir, 'authority.db');
  const db = openAuthorityDb(dbPath);
  const s = createAuthorityServices({ db, box: createSecretBox(loadOrCreateMasterKey(`${dbPath}.key`)), timeZone: 'UTC' });
  const now = Date.now();
  const devices: Device[] = [];
  db.transaction(() => {
    s.accounts.create({ id: 'acc-bench', name: 'Bench Owner', region: 'EU' }, now);
    s.registry.addConsumer('c-bench', 'Consumer', 'EU');
    s.registry.addProduct({ pid: 'pbench', name: 'Bench Camera', category: 'ipc', ownerId: 'acc-bench', unbindSupported: true, minFirmware: '1.0.0' });
    const day = new Date(now).toISOString().slice(0, 10);
    for (const scope of ['account', 'product'] as const) {
      const t = s.tickets.request('acc-bench', { scope, pid: 'pbench', limit: 10_000_000, from: day, to: day, reason: 'bench' }, now);
      s.tickets.decide('acc-bench', t.id, true, now);
    }
    let token = '';
    for (let i = 0; i <= PROBES; i++) {
      if (i % 30 === 0) token = s.tokens.issue('acc-bench', 'EU', { capacity: 30, channel: 'wired', ttlSeconds: 3600 }, now).token;
      const devId = `bench-${String(i).padStart(6, '0')}`;
      const key = randomUrlSafe(32);
      s.registry.addDevice({ devId, serial: `BN-${String(i).padStart(8, '0')}`, pid: 'pbench', region: 'EU', firmware: '2.0.0', deviceKey: key });
      s.registry.bind(devId, 'c-bench', now);
      devices.push({ devId, key, token });
    }
  })();
  db.close();
  return { dir, dbPath, victim: devices.pop()!, probes: devices };
}

async function startChild(dbPath: string): Promise<{ url: string; pid: number; stop(): Promise<void> }> {
  const child = spawn(process.execPath, ['bin/unbind.js', 'authority', '--db', dbPath, '--port', '0', '--log-level', 'info'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr.on('data', (c: Buffer) => {
      err += c.toString();
      const m = /listening on (http:\/\/\S+)/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', (code) => reject(new Error(`authority exited ${code}: ${err}`)));
  });
  return { url, pid: child.pid!, stop: () => new Promise<void>((done) => (child.once('exit', () => done()), child.kill('SIGTERM'))) };
}

function clientFrom(url: string, localAddress: string, sockets: number): { post(body: string): Promise<string>; close(): void } {
  const agent = new Agent({ keepAlive: true, maxSockets: sockets, localAddress });
  const target = new URL('/device/v1/unbind', url);
  return {
    post: (body) =>
      new Promise((resolve, reject) => {
        const r = request(target, { method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          let data = '';
          res.setEncoding('utf8');
          res.on('data', (c: string) => (data += c));
          res.on('end', () => resolve(data));
        });
        r.on('error', reject);
        r.end(body);
      }),
    close: () => agent.destroy(),
  };
}

const signed = (d: Device): string => {
  const ts = Date.now();
  const nonce = randomUrlSafe(24);
  return JSON.stringify({ devId: d.devId, token: d.token, ts, nonce, sig: signDeviceRequest(d.key, d.devId, d.token, ts, nonce) });
};
const pct = (xs: number[], p: number): number => [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor((p / 100) * xs.length))]!;
/** CPU time (user + system) the process has used so far, in ms. */
function cpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
}
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  console.log(`bench:auth-flood — ${FORGED} forged DEVICE_AUTH for one device at ${RATE}/s from 2 addresses, ${ROUNDS} flood phases alternating with quiet ones`);
  const world = seedWorld();
  const authority = await startChild(world.dbPath);
  const legit = clientFrom(authority.url, '127.0.0.1', 1);
  const attackers = [clientFrom(authority.url, '127.0.0.66', 8), clientFrom(authority.url, '127.0.0.67', 8)];
  const probes = [...world.probes];
  const forgeries = Array.from({ length: FORGED }, () =>
    JSON.stringify({ devId: world.victim.devId, token: world.victim.token, ts: Date.now(), nonce: randomUrlSafe(24), sig: signDeviceRequest(randomUrlSafe(32), 'x', 'y', 0, 'z') }),
  );
  const answers = new Map<string, number>();
  const probe = async (into: number[] | null): Promise<void> => {
    const body = signed(probes.shift()!);
    const t0 = performance.now();
    const answer = await legit.post(body);
    into?.push(performance.now() - t0);
    if (JSON.parse(answer).result !== 'UNBOUND') throw new Error(`a legitimate probe was answered ${answer}`);
  };
  /** `count` forgeries at RATE per second, however late a tick comes: what is due is sent. */
  const flood = async (count: number): Promise<void> => {
    const start = performance.now();
    const inFlight = new Set<Promise<void>>();
    for (let sent = 0; sent < count; ) {
      const due = Math.min(count, Math.ceil(((performance.now() - start) / 1000) * RATE));
      for (; sent < due; sent++) {
        const p: Promise<void> = attackers[sent % 2]!.post(forgeries.pop()!).then((a) => {
          const { result, reason } = JSON.parse(a) as { result: string; reason?: string };
          answers.set(`${result}:${reason}`, (answers.get(`${result}:${reason}`) ?? 0) + 1);
          inFlight.delete(p);
        });
        inFlight.add(p);
      }
      await sleep(5);
    }
    await Promise.all(inFlight);
  };

  for (let i = 0; i < 100; i++) await probe(null);
  const baseline: number[] = [];
  const during: number[] = [];
  let floodCpu = 0;
  let quietCpu = 0;
  let forgedSent = 0;
  for (let round = 0; round < ROUNDS; round++) {
    let flooding = true;
    const count = Math.min(PER_ROUND, forgeries.length);
    forgedSent += count;
    let cpu0 = cpuMs(authority.pid);
    const f = flood(count).finally(() => (flooding = false));
    let n = 0;
    while (flooding) {
      await probe(during);
      n++;
      await sleep(PROBE_GAP_MS);
    }
    await f;
    floodCpu += cpuMs(authority.pid) - cpu0;
    cpu0 = cpuMs(authority.pid);
    for (let i = 0; i < n; i++) {
      await probe(baseline);
      await sleep(PROBE_GAP_MS);
    }
    quietCpu += cpuMs(authority.pid) - cpu0;
  }
  legit.close();
  for (const a of attackers) a.close();
  await authority.stop();
  rmSync(world.dir, { recursive: true, force: true });

  const ratio = pct(during, 99) / pct(baseline, 99);
  console.log(`forged answers: ${JSON.stringify(Object.fromEntries(answers))}`);
  console.log(`baseline: ${baseline.length} unbinds, p50 ${pct(baseline, 50).toFixed(2)} ms, p99 ${pct(baseline, 99).toFixed(2)} ms`);
  console.log(`flood:    ${during.length} unbinds, p50 ${pct(during, 50).toFixed(2)} ms, p99 ${pct(during, 99).toFixed(2)} ms`);
  // The same probes ran in both kinds of phase: the difference is the forgeries' own cost.
  const perForged = ((floodCpu - quietCpu) / forgedSent) * 1000;
  const perUnbind = (quietCpu / baseline.length) * 1000;
  console.log(`authority CPU: ${perForged.toFixed(0)} µs per forged request, ${perUnbind.toFixed(0)} µs per legitimate unbind (+ its quiet share); at ${RATE}/s the flood costs ${((perForged * RATE) / 10_000).toFixed(1)} % of a core`);
  console.log(`load average now: ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')} (p99 of a shared machine is mostly its scheduler)`);
  console.log(`ratio:    p99 flood / baseline = ${ratio.toFixed(2)}   target ≤ 2`);
  if (!(ratio <= 2)) process.exitCode = 1;
}

await main();
