import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUnbind, type RunningProcess } from '../support/processes.js';
import { stationClient, until } from './station-client.js';

/**
 * The stop rule (issue 11) on a bench whose wired devices cannot reach the authority (fault
 * `unreachable`): 3 of the first 4 results fail CLOUD_UNREACHABLE, the batch pauses with the reason,
 * the devices after the first wave get no token, and the operator resumes or cancels.
 */
type Batch = { id: string; status: string; stop?: { code: string; count: number; threshold: number; window: number; resumedAt: string | null } | null; tally: { unbound: number; failed: number; pending: number }; results: Array<{ devId: string; code: string | null }> };

describe('station: a batch stops itself on a repeated failure', () => {
  const dir = mkdtempSync(join(tmpdir(), 'station-stop-'));
  let station: RunningProcess;
  let s: ReturnType<typeof stationClient>;
  let waiting: string[] = [];

  beforeAll(async () => {
    station = runUnbind([
      'start', '--port', '0', '--authority-port', '0', '--data', dir, '--bench-devices', '1', '--bench-wired', '14', '--bench-wired-faults', 'unreachable=14',
      '--stop-failures', '3', '--stop-window', '4', '--bench-uart', '0', '--mdns-port', '26354', '--sadp-port', '28021', '--log-level', 'warn',
    ]);
    s = stationClient((await station.waitFor(/Unbind Station: (http:\S+)/, 60_000))[1]!);
    expect((await s.call('POST', '/api/session', { demoAccountId: 'acc-owner', operator: 'Eva' })).status).toBe(200);
    const lan = async () => (await s.call<Array<{ key: string; source: string; state: string | null; problem: unknown }>>('GET', '/api/lan')).body.filter((d) => d.source === 'mdns' && d.state === 'waiting' && !d.problem);
    await until(async () => (await lan()).length === 14, 15_000, '14 waiting wired devices');
    waiting = (await lan()).map((d) => d.key);
  }, 90_000);
  afterAll(async () => {
    await station?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const get = async (id: string): Promise<Batch> => (await s.call<Batch>('GET', `/api/batches/${id}`)).body;
  const benchStates = async (ids: string[]): Promise<string[]> => {
    const bench = (await s.call<Array<{ devId: string; state: string }>>('GET', '/api/bench')).body;
    return ids.map((id) => bench.find((d) => d.devId === id)!.state);
  };

  async function startPaused(devIds: string[]): Promise<Batch> {
    const started = await s.call<Batch>('POST', '/api/batches', { method: 'wired', devIds });
    expect(started.status).toBe(201);
    await until(async () => {
      const b = await get(started.body.id);
      return b.status === 'paused' && b.results.length === 4;
    }, 20_000, 'batch paused after its first wave');
    const b = await get(started.body.id);
    expect(b.stop).toMatchObject({ code: 'CLOUD_UNREACHABLE', threshold: 3, window: 4, resumedAt: null });
    expect(b.stop!.count).toBeGreaterThanOrEqual(3);
    // The devices after the first wave got no token: still waiting on the bench, no row in the batch.
    const later = devIds.filter((d) => !b.results.some((r) => r.devId === d));
    expect(later).toHaveLength(devIds.length - 4);
    expect(await benchStates(later)).toEqual(later.map(() => 'waiting'));
    return b;
  }

  it('pauses with the reason, holds back the later devices, and on resume hands them their tokens', async () => {
    const devIds = waiting.slice(0, 7);
    const paused = await startPaused(devIds);
    expect((await s.call('POST', `/api/batches/${paused.id}/resume`)).status).toBe(200);
    await until(async () => (await get(paused.id)).results.length === 7, 20_000, 'the later devices ran');
    const b = await get(paused.id);
    expect(b.status).toBe('running'); // their tokens may still reach the authority: followed until they expire
    expect(b.stop?.resumedAt).toEqual(expect.any(String));
    expect(b.tally).toMatchObject({ unbound: 0, failed: 7, pending: 0 });
    expect(b.results.every((r) => r.code === 'CLOUD_UNREACHABLE')).toBe(true);
    // Resumed once, it does not stop again; a second resume is refused.
    expect(await s.call('POST', `/api/batches/${paused.id}/resume`)).toMatchObject({ status: 409, body: { code: 'BATCH_NOT_PAUSED' } });
  }, 60_000);

  it('on cancel the later devices never get a token', async () => {
    const devIds = waiting.slice(7, 14);
    const paused = await startPaused(devIds);
    const cancelled = await s.call<Batch>('POST', `/api/batches/${paused.id}/cancel`);
    expect(cancelled.body.status).toBe('cancelled');
    expect(cancelled.body.stop?.code).toBe('CLOUD_UNREACHABLE');
    const later = devIds.filter((d) => !paused.results.some((r) => r.devId === d));
    expect(await benchStates(later)).toEqual(later.map(() => 'waiting'));
    expect((await get(paused.id)).results).toHaveLength(4);
    expect(await s.call('POST', `/api/batches/${paused.id}/resume`)).toMatchObject({ status: 409, body: { code: 'BATCH_ENDED' } });
  }, 60_000);
});
