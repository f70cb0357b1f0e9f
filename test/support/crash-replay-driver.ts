/**
 * One station of the crash-replay race (test/cloud/crash-replay.test.ts), as a process of its own: it
 * issues its tokens through the station's real signed client, then sends the signed device requests of
 * its devices (demo device keys) through the devices' real retrying client, as far as the test's budget
 * lets it ("budget N" on stdin, after "config {json}"). Every N-th request drops its first answer unread, as a device that lost
 * it would; every lost answer is asked for again with a new nonce. One line per final answer on stdout.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { createAuthorityClient } from '../../src/batch/station-authority-client.js';
import { exchangeUnbind, exchangeUnbindRetrying, type AuthorityExchange } from '../../src/device/core/signed-unbind-client.js';
import { randomUrlSafe, signDeviceRequest } from '../../src/protocol/index.js';

interface DriverConfig {
  url: string;
  /** Several authority nodes: request i starts on urls[i % n]; a node that does not answer, the next one is asked. */
  urls?: string[];
  exportFile: string;
  accountId: string;
  devIds: string[];
  /** Every `dropEvery`-th request loses its first answer. */
  dropEvery: number;
  concurrency: number;
}

let budget = 0;
const waiting = new Set<() => void>();
let configured: ((c: DriverConfig) => void) | null = null;
const configuredNow = new Promise<DriverConfig>((r) => (configured = r));
// Started before the authority is up (loading takes seconds on a busy machine): the config comes on stdin.
createInterface({ input: process.stdin }).on('line', (line) => {
  if (line.startsWith('config ')) return configured?.(JSON.parse(line.slice(7)) as DriverConfig);
  const m = /^budget (\d+)$/.exec(line.trim());
  if (!m) return;
  budget = Number(m[1]);
  for (const w of [...waiting]) w();
});
process.stdout.write('loaded\n');
const config = await configuredNow;
const demo = JSON.parse(readFileSync(config.exportFile, 'utf8')) as {
  accounts: Array<{ accountId: string; clientId: string; secret: string }>;
  devices: Array<{ devId: string; deviceKey: string }>;
};
const account = demo.accounts.find((a) => a.accountId === config.accountId)!;
const keyOf = new Map(demo.devices.map((d) => [d.devId, d.deviceKey]));
const say = (line: string): void => void process.stdout.write(`${line}\n`);

const allowed = async (i: number): Promise<void> => {
  while (i >= budget) {
    await new Promise<void>((r) => {
      const w = (): void => {
        waiting.delete(w);
        r();
      };
      waiting.add(w);
    });
  }
};

const client = createAuthorityClient({ url: config.url, clientId: account.clientId, secret: account.secret });
const tokens: Array<{ id: string; token: string }> = [];
for (let i = 0; i < config.devIds.length; i += 30) {
  const t = await client.issueToken({ capacity: Math.min(30, config.devIds.length - i), channel: 'qr', batchRef: `crash-${process.pid}` });
  tokens.push({ id: t.id, token: t.token });
}
say(`tokens ${tokens.map((t) => t.id).join(',')}`);

const RETRY = { attempts: 1_000, backoffMs: 20, maxBackoffMs: 200 };
async function request(i: number): Promise<void> {
  const devId = config.devIds[i]!;
  const { id: tokenId, token } = tokens[Math.floor(i / 30)]!;
  const key = keyOf.get(devId)!;
  const sign = () => {
    const ts = Date.now();
    const nonce = randomUrlSafe(24);
    return { devId, token, ts, nonce, sig: signDeviceRequest(key, devId, token, ts, nonce) };
  };
  let attempts = 0;
  const seen: string[] = [];
  const counted = (): ReturnType<typeof sign> => {
    attempts++;
    return sign();
  };
  let exchange: AuthorityExchange | null = null;
  if (i % config.dropEvery === config.dropEvery - 1) {
    // The answer is on its way and the device does not read it: decided, and lost.
    const first = await exchangeUnbind(config.url, counted(), { timeoutMs: 10_000, onAnswerArriving: () => 'abandon' });
    seen.push(first.kind);
  }
  const urls = config.urls ?? [config.url];
  for (let n = 0; ; n++) {
    const url = urls[(i + n) % urls.length]!;
    exchange = await exchangeUnbindRetrying(url, counted, {
      timeoutMs: 10_000,
      retry: urls.length > 1 ? { attempts: 3, backoffMs: 20, maxBackoffMs: 100 } : RETRY,
      onRetry: (_k, lost) => void seen.push(lost.kind),
    });
    if (exchange.kind === 'answer' || urls.length === 1 || n >= 50) break;
    seen.push(exchange.kind);
  }
  if (exchange.kind !== 'answer') return say(`lost ${devId} ${tokenId} ${exchange.kind} after ${attempts}`);
  const a = exchange.response;
  say(`answer ${devId} ${tokenId} ${a.result} ${a.reason ?? '-'} ${a.replayed ? 'replayed' : 'decided'} ${attempts} ${seen.join('+') || '-'}`);
}

say('ready');
let next = 0;
await Promise.all(
  Array.from({ length: config.concurrency }, async () => {
    for (;;) {
      const i = next++;
      if (i >= config.devIds.length) return;
      await allowed(i);
      await request(i);
    }
  }),
);
say('done');
process.exit(0);
