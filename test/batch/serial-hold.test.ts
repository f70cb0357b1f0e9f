import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openBatchStore, type BatchStore } from '../../src/batch/batch-records.js';
import { createBatchService, type BatchService } from '../../src/batch/batch-service.js';
import { startSerialBatch } from '../../src/batch/serial-runner.js';
import type { PtyPair } from '../../src/device/uart/index.js';
import { openHistoryStore, type HistoryStore } from '../../src/history/index.js';
import { formatDeviceLine, type DeviceInfo } from '../../src/protocol/index.js';
import { openUartDevice } from '../../src/wired/serial-uart-client.js';
import { startHarness, type Harness } from '../support/authority-harness.js';
import { makePtyDir, openScriptedPeer, startTestPair, type PtyDir, type ScriptedPeer } from '../support/pty-pair.js';

const line = (l: Parameters<typeof formatDeviceLine>[0]): string => formatDeviceLine(l).trimEnd();
const info = (n: number): DeviceInfo => ({ devId: `gw-hold-000${n}`, pid: 'pgw1uart', sn: `GW1-HOLD000${n}`, fw: '1.8.0', rg: 'EU', st: 'waiting' });

const waitUntil = async (what: string, test: () => boolean, ms = 10_000): Promise<void> => {
  const end = Date.now() + ms;
  while (!test()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

/**
 * Like the LAN runner, the serial runner asks the batch's status right before each token goes on a
 * line: a batch the stop rule paused while a device was still answering its identity check hands that
 * device nothing, and gives it its token once the operator resumes. Real parts: the authority, the
 * station's stores, pty pairs with scripted devices on their far ends.
 */
describe('a serial batch paused while a device is being checked', () => {
  let h: Harness;
  let ptys: PtyDir;
  let dir: string;
  let history: HistoryStore;
  let store: BatchStore;
  let batches: BatchService;
  const pairs: PtyPair[] = [];
  const peers: ScriptedPeer[] = [];
  beforeAll(async () => {
    h = await startHarness();
    ptys = await makePtyDir('serial-hold-');
    for (const name of ['fails', 'slow']) {
      const pair = await startTestPair(ptys.path, name);
      pairs.push(pair);
      peers.push(await openScriptedPeer(pair.devicePath));
    }
    dir = mkdtempSync(join(tmpdir(), 'serial-hold-'));
    history = openHistoryStore(join(dir, 'history.db'));
    store = openBatchStore(join(dir, 'batches.db'));
    // One failure among the first two results pauses the batch: both devices are in the first wave.
    batches = createBatchService({ store, history, stationId: 'st-1', emit: () => undefined, stopRule: { failures: 1, window: 2 } });
  }, 30_000);
  afterAll(async () => {
    batches?.close();
    history?.close();
    store?.close();
    for (const p of peers) await p.close();
    for (const p of pairs) await p.close();
    await ptys?.remove();
    await h?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  /**
   * A serial batch of the two devices, once the stop rule paused it and the runner held the slow device
   * back after its check: no token on its line, one result (the failure). `closed` settles once the runner
   * has closed both ports, its last step.
   */
  async function startHeldBatch(): Promise<{ id: string; slow: ScriptedPeer; tokensSent: () => string[]; closed: Promise<unknown> }> {
    const [fails, slow] = peers as [ScriptedPeer, ScriptedPeer];
    // The tokens put on the slow device's line by this batch (its peer heard the batches before it too).
    const from = slow.lines.length;
    const tokensSent = (): string[] => slow.lines.slice(from).filter((l) => l.startsWith('AT+UNBIND='));
    // The first device fails at once (no route to the cloud): the stop rule pauses the batch.
    fails.answer((l) => (l === 'AT+INFO?' ? line({ kind: 'info', info: info(1) }) : l.startsWith('AT+UNBIND=') ? ['OK', line({ kind: 'result', result: 'FAILED', code: 'CLOUD_UNREACHABLE' })] : null));
    // The second answers the station's first look at once, its check before the token only when the test says.
    let checks = 0;
    slow.answer((l) => {
      if (l === 'AT+INFO?') return ++checks === 2 ? null : line({ kind: 'info', info: info(2) });
      return l.startsWith('AT+UNBIND=') ? ['OK', line({ kind: 'result', result: 'FAILED', code: 'DHCP_FAILED' })] : null;
    });

    const { account } = h.station('owner');
    const session = { client: h.station('owner').client, accountId: account.accountId, operator: 'ana' };
    // The device's patience is the product's (20 s to answer a check): the test, not a timer, decides when it answers.
    // Each hand-over decision the runner makes is noted, so the test knows when the slow device was held back;
    // each port's close too, so it knows when the runner is done.
    const handOvers: boolean[] = [];
    const closes: Array<Promise<void>> = [];
    let bothClosed: () => void = () => undefined;
    const closed = new Promise<void>((r) => (bothClosed = r));
    const openUart = async (path: string) => {
      const client = await openUartDevice({ port: { path }, timeouts: { infoMs: 20_000, ackMs: 1_000, resultMs: 2_000 } });
      return Object.assign(Object.create(client) as typeof client, {
        unbind: (token: string, opts?: Parameters<typeof client.unbind>[1]) =>
          client.unbind(token, {
            ...opts,
            ...(opts?.mayHandOver ? { mayHandOver: () => (path === pairs[1]!.stationPath ? (handOvers.push(opts.mayHandOver!()), handOvers.at(-1)!) : opts.mayHandOver!()) } : {}),
          }),
        close: () => {
          const c = client.close();
          if (closes.push(c) === pairs.length) void Promise.all(closes).then(bothClosed);
          return c;
        },
      });
    };
    const started = await startSerialBatch({ batches, openUart, emit: () => undefined }, session, { method: 'serial', ports: pairs.map((p) => p.stationPath) });

    await waitUntil('the batch paused by the first failure', () => batches.status(started.id) === 'paused');
    await waitUntil('the slow device asked for its check', () => checks === 2);
    await slow.write(`${line({ kind: 'info', info: info(2) })}\r\n`);
    // Held back: the runner decided against handing it a token, and none went on its line.
    await waitUntil('the runner decided on the slow device', () => handOvers.length === 1);
    expect(handOvers).toEqual([false]);
    expect(tokensSent()).toEqual([]);
    expect(batches.get(started.id).results.map((r) => [r.devId, r.code])).toEqual([[info(1).devId, 'CLOUD_UNREACHABLE']]);
    return { id: started.id, slow, tokensSent, closed };
  }

  it('given the batch paused before the slow device answered its check, then it gets no token until the batch is resumed, and one then', async () => {
    const { id, slow, tokensSent, closed } = await startHeldBatch();
    // Resumed: it is checked again and takes its token.
    batches.resumePaused(id);
    await slow.nextLine(/^AT\+UNBIND=/, { timeoutMs: 5_000 });
    await waitUntil('both devices recorded', () => batches.get(id).results.length === 2);
    await closed;
    expect(tokensSent()).toHaveLength(1);
    expect(batches.get(id).results.map((r) => [r.devId, r.code]).sort()).toEqual([
      [info(1).devId, 'CLOUD_UNREACHABLE'],
      [info(2).devId, 'DHCP_FAILED'],
    ]);
  });

  it('given the batch cancelled while the slow device is held back, then it never gets a token and has no result', async () => {
    const { id, tokensSent, closed } = await startHeldBatch();
    batches.cancel(id);
    // The runner's last step: the ports closed, nothing more will go on a line.
    await closed;
    expect(batches.status(id)).toBe('cancelled');
    expect(tokensSent()).toEqual([]);
    expect(batches.get(id).results.map((r) => [r.devId, r.code])).toEqual([[info(1).devId, 'CLOUD_UNREACHABLE']]);
  });
});
