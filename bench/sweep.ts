/**
 * bench:sweep — the wired method's LAN figures, every part real on loopback: the time until the
 * station's sweep lists all of 250 virtual wired devices (mDNS; SADP fields merged for the NVRs and
 * DVRs), and the time for the station to unbind 100 selected devices: its wired batch as the
 * operator starts it (plan, tokens of 30, hand-over over each device's local API, the devices' signed
 * requests to the real authority, results back on the authority's event stream into the station's
 * SQLite history and batch store; daily limits raised). Targets: all 250 listed in < 2 s; all 100
 * final in the station in ≤ 250 ms, every one UNBOUND in the authority's logs. Exits 1 if missed.
 *   npm run bench:sweep
 * In the unbind phase the devices run in a child process (as on their own hardware), the station and
 * the authority in this one; the CPU time per device of each is printed with it. BENCH_STEPS=1 prints each device's
 * steps and how busy this process's event loop was. BENCH_PHASE_HRTIME=1 prints the phase's process.hrtime window in µs, the
 * clock of `node --cpu-prof` profiles, to read only the phase's samples.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { performance } from 'node:perf_hooks';
import { createAuthorityClient, sendSignedRequest } from '../src/batch/station-authority-client.js';
import { createBatchService } from '../src/batch/batch-service.js';
import { openBatchStore } from '../src/batch/batch-records.js';
import { startWiredBatch } from '../src/batch/wired-runner.js';
import { startAuthority } from '../src/cloud/authority.js';
import { openHistoryStore } from '../src/history/index.js';
import { demoExportSchema, startWiredBench, type DeviceIdentity, type WiredBench } from '../src/device/index.js';
import { MAX_TOKEN_CAPACITY, randomUrlSafe, type DeviceLogView, type Page, type StationEvent } from '../src/protocol/index.js';
import { startLanSweep, type LanSweep, type MdnsLanDevice } from '../src/wired/index.js';
import { injectMdnsLoss, plainBrowse } from './sweep-listing.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');
const DEVICES = 250;
const UNBIND = 100;
const TARGET_LIST_MS = 2000;
const TARGET_UNBIND_MS = 250;
const RUNS = 5;
/** Listing against a plain bonjour-service browse of the same devices, and under injected mDNS loss. */
const TARGET_BROWSE_RATIO = 1.5;
const LOSS_RATE = 0.05;
const TARGET_LOSSY_MS = 3000;
/** Not 5353/37020: the bench must not answer (or disturb) a demo running on this machine. */
const PORTS = { mdns: 25390, sadp: 27090 };
const WIRED_PIDS = ['pnvr8ch', 'pdvr4ch', 'pgw1uart'];

const dir = mkdtempSync(join(tmpdir(), 'bench-sweep-'));
const authority = await startAuthority({ dbPath: join(dir, 'authority.db'), port: 0, host: '127.0.0.1', demo: true, logLevel: 'warn', accountLimit: 10_000, productLimit: 10_000 });
const demo = demoExportSchema.parse(authority.exportDemo());
const owner = demo.accounts.find((a) => a.role === 'owner' && a.region === 'EU')!;

const ownerCredentials = { url: authority.url, clientId: owner.clientId, secret: owner.secret };
const ownerClient = createAuthorityClient(ownerCredentials);

// The demo world has 240 wired devices (NVR 120, DVR 40, gateway 80); 10 more NVRs unknown to the
// authority make the 250 of the listing figure (they are never unbound).
const wired = demo.devices.filter((d) => WIRED_PIDS.includes(d.pid));
const extra: DeviceIdentity[] = Array.from({ length: DEVICES - wired.length }, (_, i) => ({
  devId: `bench-nvr-${String(i + 1).padStart(4, '0')}`,
  serial: `NV8-BENCH-${String(i + 1).padStart(6, '0')}`,
  pid: 'pnvr8ch',
  region: 'EU',
  firmware: '4.0.1',
  deviceKey: randomUrlSafe(32),
  bound: true,
}));
const devices = [...wired, ...extra];
const hikvision = devices.filter((d) => d.pid !== 'pgw1uart').length;

const mdnsListed = (s: LanSweep): MdnsLanDevice[] => s.devices().filter((d): d is MdnsLanDevice => d.source === 'mdns');
async function until(check: () => boolean, timeoutMs: number): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, 5));
  }
  return true;
}
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const ms = (n: number): string => `${n.toFixed(0).padStart(6)} ms`;
let ok = true;

const startBench = (): Promise<WiredBench> =>
  startWiredBench({ devices, regionUrls: { EU: authority.url }, products: demo.products, mdnsPort: PORTS.mdns, sadpPort: PORTS.sadp, log: () => undefined });
const startSweep = (): Promise<LanSweep> => startLanSweep({ interface: '127.0.0.1', mdnsPort: PORTS.mdns, sadpPort: PORTS.sadp, sadp: true });

console.log(`LAN sweep on loopback: ${DEVICES} wired devices (${wired.length} of the demo export + ${extra.length} extra NVRs), ${hikvision} answer SADP`);
console.log(`mDNS port ${PORTS.mdns}, SADP port ${PORTS.sadp}, interface 127.0.0.1\n`);

// 1. The bench is up, the station starts its sweep: time to the full list.
let bench = await startBench();
const warm: number[] = [];
const warmSadp: number[] = [];
for (let run = 0; run < RUNS; run++) {
  const t0 = performance.now();
  const s = await startSweep();
  const all = await until(() => mdnsListed(s).length === DEVICES, 10_000);
  const listed = performance.now() - t0;
  const merged = await until(() => mdnsListed(s).filter((d) => d.sadp).length === hikvision, 10_000);
  const withSadp = performance.now() - t0;
  await s.close();
  if (!all || !merged) ok = false;
  warm.push(listed);
  warmSadp.push(withSadp);
}
console.log(`sweep started, bench running (${RUNS} runs):`);
console.log(`  all ${DEVICES} listed (mDNS)               median ${ms(median(warm))}   runs ${warm.map((x) => x.toFixed(0)).join(', ')}`);
console.log(`  + SADP fields of all ${hikvision} merged     median ${ms(median(warmSadp))}   runs ${warmSadp.map((x) => x.toFixed(0)).join(', ')}`);

// 1b. The same devices browsed by plain bonjour-service on the same port and interface: the listing's floor.
//     Like for like, the station's sweep is timed here on mDNS alone (no SADP probe beside it), the two
//     runs interleaved so the machine's noise falls on both.
const plain: number[] = [];
const mdnsOnly: number[] = [];
for (let run = 0; run < RUNS; run++) {
  plain.push(await plainBrowse(PORTS.mdns, DEVICES, 10_000));
  const t0 = performance.now();
  const s = await startLanSweep({ interface: '127.0.0.1', mdnsPort: PORTS.mdns, sadpPort: PORTS.sadp, sadp: false });
  mdnsOnly.push((await until(() => mdnsListed(s).length === DEVICES, 10_000)) ? performance.now() - t0 : Number.NaN);
  await s.close();
}
console.log(`  station sweep, mDNS only, all ${DEVICES}   median ${ms(median(mdnsOnly))}   runs ${mdnsOnly.map((x) => x.toFixed(0)).join(', ')}`);
console.log(`  plain bonjour-service browse, all ${DEVICES} median ${ms(median(plain))}   runs ${plain.map((x) => x.toFixed(0)).join(', ')}   (the reference)`);

// 2. The station is sweeping, the operator switches the bench on: time until the announcements list everyone.
await bench.close();
let sweep = await startSweep();
await until(() => sweep.devices().length === 0, 5000);
const t1 = performance.now();
bench = await startBench();
const benchUp = performance.now() - t1;
const cold = (await until(() => mdnsListed(sweep).length === DEVICES, 10_000)) ? performance.now() - t1 : Number.NaN;
if (Number.isNaN(cold)) ok = false;
console.log(`sweep running, bench switched on:`);
console.log(`  bench up (${DEVICES} HTTP servers, responders) ${ms(benchUp)}`);
console.log(`  all ${DEVICES} listed from their announcements ${ms(cold)}   (from the bench's start)`);
const listMs = median(warm);
console.log(`\nlisting target: all ${DEVICES} in < ${TARGET_LIST_MS} ms: ${listMs < TARGET_LIST_MS && cold < TARGET_LIST_MS ? 'met' : 'MISSED'} (median ${listMs.toFixed(0)} ms, cold ${cold.toFixed(0)} ms)`);
if (!(listMs < TARGET_LIST_MS && cold < TARGET_LIST_MS)) ok = false;
const browseRatio = median(mdnsOnly) / median(plain);
console.log(`ratio: station sweep (mDNS) / plain browse = ${median(mdnsOnly).toFixed(0)} / ${median(plain).toFixed(0)} ms = ${browseRatio.toFixed(2)}   target ≤ ${TARGET_BROWSE_RATIO}: ${browseRatio <= TARGET_BROWSE_RATIO ? 'met' : 'MISSED'}   (with the SADP probe beside it: ${(listMs / median(plain)).toFixed(2)})`);
if (!(browseRatio <= TARGET_BROWSE_RATIO)) ok = false;

// 3. Unbind 100 selected devices through the station's wired batch, as the operator starts it. The
//    devices run in a child process (`unbind fleet --wired`), as real devices run on their own
//    hardware: this process holds the station and the authority, the CPU the figure is about.
await sweep.close();
await bench.close();
const fleetFile = join(dir, 'bench-fleet.json');
writeFileSync(fleetFile, JSON.stringify({ ...demo, devices }), { mode: 0o600 });
const fleet: ChildProcess = spawn(
  process.execPath,
  // A bench run under `node --cpu-prof` profiles the devices' process too (same clock: the phase's window applies to both).
  [...process.execArgv.filter((a) => a.startsWith('--cpu-prof')), 'bin/unbind.js', 'fleet', '--devices', fleetFile, '--wired', String(DEVICES), '--authority', authority.url, '--mdns-port', String(PORTS.mdns), '--sadp-port', String(PORTS.sadp)],
  { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
);
let fleetErr = '';
fleet.stderr!.on('data', (c: Buffer) => (fleetErr += c.toString()));
await new Promise<void>((resolve, reject) => {
  let out = '';
  const onData = (c: Buffer): void => {
    out += c.toString();
    if (/fleet: wired bench/.test(out)) {
      fleet.stdout!.off('data', onData);
      fleet.stdout!.resume();
      resolve();
    }
  };
  fleet.stdout!.on('data', onData);
  fleet.once('exit', (code) => reject(new Error(`fleet exited ${code}: ${fleetErr}`)));
});
/** User + system CPU of the devices' process so far, in ms (Linux /proc; clock ticks of 10 ms). */
const fleetCpuMs = (): number => {
  const fields = readFileSync(`/proc/${fleet.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
};
sweep = await startSweep();
if (!(await until(() => mdnsListed(sweep).length === DEVICES, 10_000))) ok = false;
const known = new Set(wired.filter((d) => d.bound).map((d) => d.devId));
const selected = mdnsListed(sweep).filter((d) => known.has(d.devId)).slice(0, UNBIND);
const history = openHistoryStore(join(dir, 'history.db'));
const store = openBatchStore(join(dir, 'batches.db'));
/** When each device reached each step, by the wall clock (the authority stamps its decisions with it too). */
const steps = new Map<string, Partial<Record<'checking' | 'sending' | 'unbinding' | 'decided' | 'stored' | 'done', number>>>();
const step = (devId: string, k: 'checking' | 'sending' | 'unbinding' | 'decided' | 'stored' | 'done', at = Date.now()): void => {
  const s = steps.get(devId) ?? {};
  s[k] ??= at;
  steps.set(devId, s);
};
let allFinal: () => void = () => undefined;
const final = new Promise<void>((resolve) => (allFinal = resolve));
const resultEvents = new Map<string, number>();
let lastTally: Extract<StationEvent, { type: 'result' }>['tally'] | null = null;
const emit = (e: StationEvent): void => {
  if (e.type === 'progress') step(e.progress.devId, e.progress.stage);
  if (e.type !== 'result') return;
  step(e.result.devId, 'stored');
  step(e.result.devId, 'decided', Date.parse(e.result.at));
  resultEvents.set(e.result.devId, (resultEvents.get(e.result.devId) ?? 0) + 1);
  lastTally = e.tally;
  if (resultEvents.size === selected.length) allFinal();
};
const batches = createBatchService({ store, history, stationId: 'bench-station', emit });
const client = ownerClient;
// Signed in before the clock starts, as the operator is before pressing start.
const session = { client, accountId: (await client.me()).accountId, operator: 'bench' };

const cpu0 = process.cpuUsage();
const elu0 = performance.eventLoopUtilization();
const fleetCpu0 = fleetCpuMs();
const hr0 = process.hrtime.bigint();
const t2 = Date.now();
const started = await startWiredBatch({ batches, sweep, emit }, session, { method: 'wired', devIds: selected.map((d) => d.devId) });
const startedMs = Date.now() - t2;
await final;
const unbindMs = Date.now() - t2;
const cpu = process.cpuUsage(cpu0);
const elu = performance.eventLoopUtilization(elu0);
const fleetCpu = fleetCpuMs() - fleetCpu0;
const hr1 = process.hrtime.bigint();
const cpuMs = (cpu.user + cpu.system) / 1000;
await batches.whenFinished(started.id);
const finishedMs = Date.now() - t2;
const batch = batches.get(started.id);
const tokenIds = batch.codes.map((c) => c.tokenId);
let logged = 0;
for (const tokenId of tokenIds) {
  const res = await sendSignedRequest(ownerCredentials, 'GET', `/api/v1/device-logs?tokenId=${tokenId}&limit=1000`);
  if (res.status >= 300) throw new Error(`device logs of ${tokenId}: HTTP ${res.status} ${await res.text()}`);
  const page = (await res.json()) as Page<DeviceLogView>;
  logged += page.items.filter((l) => l.result === 'UNBOUND').length;
}
const unbound = batch.results.filter((r) => r.result === 'UNBOUND').length;
const at = (k: 'checking' | 'sending' | 'unbinding' | 'decided' | 'stored' | 'done'): string => {
  const xs = [...steps.values()].map((s) => (s[k] ?? Number.NaN) - t2).filter((x) => !Number.isNaN(x)).sort((a, b) => a - b);
  return xs.length ? `p50 ${xs[Math.floor(xs.length / 2)]!.toFixed(0).padStart(5)} ms   last ${xs.at(-1)!.toFixed(0).padStart(5)} ms   (${xs.length})` : '(none)';
};
const met = unbindMs <= TARGET_UNBIND_MS;
console.log(`\nunbind ${selected.length} selected devices through the station (${tokenIds.length} tokens of ≤ ${MAX_TOKEN_CAPACITY}, 16 requests at once), from the operator's start:`);
console.log(`  plan + tokens issued, batch started          ${ms(startedMs)}`);
// A device after the stop rule's first wave is checked at once, but its stages are shown once the rule has judged.
console.log(`  each device, from the start: checking shown  ${at('checking')}`);
console.log(`                               token handed    ${at('sending')}`);
console.log(`                               token taken     ${at('unbinding')}`);
console.log(`                               authority decided ${at('decided')}`);
console.log(`                               station stored + event ${at('stored')}`);
console.log(`                               device ended    ${at('done')}`);
console.log(`  all ${selected.length} final in the station            ${ms(unbindMs)}   ${(selected.length / (unbindMs / 1000)).toFixed(0)} devices/s`);
console.log(`  CPU of the process until all final         ${ms(cpuMs)}   ${(cpuMs / selected.length).toFixed(2)} ms per device (user ${(cpu.user / 1000).toFixed(0)}, system ${(cpu.system / 1000).toFixed(0)})`);
console.log(`  CPU of the devices' process (beside it)    ${ms(fleetCpu)}   ${(fleetCpu / selected.length).toFixed(2)} ms per device`);
console.log(`  batch completed (codes closed)               ${ms(finishedMs)}`);
console.log(`  events: ${[...resultEvents.values()].reduce((a, b) => a + b, 0)} result events for ${resultEvents.size} devices; last tally ${JSON.stringify(lastTally)}`);
console.log(`  UNBOUND: ${unbound}/${selected.length} in the station, ${logged}/${selected.length} in the authority's logs`);
if (process.env.BENCH_PHASE_HRTIME) console.log(`  phase hrtime µs ${hr0 / 1000n} ${hr1 / 1000n}`);
if (process.env.BENCH_STEPS) {
  // Diagnostic: how busy this process's event loop was, and each device's steps (ms from the start) in the order selected.
  console.log(`  event loop of this process busy ${elu.active.toFixed(0)} ms of ${(elu.active + elu.idle).toFixed(0)} ms (${(elu.utilization * 100).toFixed(0)} %)`);
  const ks = ['checking', 'sending', 'unbinding', 'decided', 'stored', 'done'] as const;
  console.log(`  steps (ms): #  ${ks.join(' ')}`);
  selected.forEach((d, i) => {
    const s = steps.get(d.devId) ?? {};
    console.log(`    ${String(i).padStart(3)} ${ks.map((k) => String(s[k] === undefined ? '-' : s[k]! - t2).padStart(5)).join(' ')}`);
  });
}
console.log(`\nunbind target: all ${selected.length} final in ≤ ${TARGET_UNBIND_MS} ms: ${met ? 'met' : 'MISSED'} (${unbindMs.toFixed(0)} ms, limit ${TARGET_UNBIND_MS} ms, ratio ${(unbindMs / TARGET_UNBIND_MS).toFixed(2)})`);
if (selected.length !== UNBIND || unbound !== UNBIND || logged !== UNBIND || !met) ok = false;
batches.close();
{
  // Diagnostic, no verdict: the same for 100 other devices in the same process, its code now warm
  // (JIT-compiled by the first batch), to show how much of the figure above is the first batch's warm-up.
  const taken = new Set(selected.map((d) => d.devId));
  const others = mdnsListed(sweep).filter((d) => known.has(d.devId) && !taken.has(d.devId) && d.st === 'waiting').slice(0, UNBIND);
  const ended = new Set<string>();
  let allEnded: () => void = () => undefined;
  const done2 = new Promise<void>((resolve) => (allEnded = resolve));
  const emit2 = (e: StationEvent): void => {
    if (e.type !== 'result' || !others.some((d) => d.devId === e.result.devId)) return;
    ended.add(e.result.devId);
    if (ended.size === others.length) allEnded();
  };
  const batches2 = createBatchService({ store, history, stationId: 'bench-station', emit: emit2 });
  const c0 = process.cpuUsage();
  const f0 = fleetCpuMs();
  const t3 = Date.now();
  const second = await startWiredBatch({ batches: batches2, sweep, emit: emit2 }, session, { method: 'wired', devIds: others.map((d) => d.devId) });
  await done2;
  const secondMs = Date.now() - t3;
  const c = process.cpuUsage(c0);
  const f = fleetCpuMs() - f0;
  await batches2.whenFinished(second.id);
  const unbound2 = batches2.get(second.id).results.filter((r) => r.result === 'UNBOUND').length;
  console.log(`  the same for ${others.length} other devices right after, in the same process (its code warm; no verdict): all final ${ms(secondMs)}, CPU ${((c.user + c.system) / 1000 / others.length).toFixed(2)} ms per device here, ${(f / others.length).toFixed(2)} ms in the devices' process, ${unbound2}/${others.length} UNBOUND`);
  batches2.close();
}
store.close();
history.close();

await sweep.close();
fleet.kill('SIGTERM');
await new Promise((r) => fleet.once('exit', r));
// 4. A lossy LAN: 5 % of mDNS datagrams dropped (station queries, device answers and announcements alike).
{
  const loss = injectMdnsLoss(PORTS.mdns, LOSS_RATE);
  const lossyBench = await startBench();
  const lossy: number[] = [];
  for (let run = 0; run < RUNS; run++) {
    const t0 = performance.now();
    const s = await startSweep();
    lossy.push((await until(() => mdnsListed(s).length === DEVICES, 10_000)) ? performance.now() - t0 : Number.NaN);
    await s.close();
  }
  await lossyBench.close();
  loss.remove();
  const worst = Math.max(...lossy);
  const lossMet = lossy.every((x) => x < TARGET_LOSSY_MS);
  console.log(`\n${(LOSS_RATE * 100).toFixed(0)} % of mDNS packets dropped (${loss.dropped} of ${loss.sent}, ${((loss.dropped / loss.sent) * 100).toFixed(1)} %), sweep started, bench running (${RUNS} runs):`);
  console.log(`  all ${DEVICES} listed                      median ${ms(median(lossy))}   worst ${ms(worst)}   runs ${lossy.map((x) => x.toFixed(0)).join(', ')}`);
  console.log(`lossy listing target: all ${DEVICES} in < ${TARGET_LOSSY_MS} ms in every run: ${lossMet ? 'met' : 'MISSED'} (worst ${worst.toFixed(0)} ms, limit ${TARGET_LOSSY_MS} ms, ratio ${(worst / TARGET_LOSSY_MS).toFixed(2)})`);
  if (!lossMet) ok = false;
}

await authority.close();
rmSync(dir, { recursive: true, force: true });
console.log(`\n${ok ? 'all targets met' : 'TARGET MISSED'}`);
if (!ok) process.exitCode = 1;
