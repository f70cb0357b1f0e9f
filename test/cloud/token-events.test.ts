import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUrlSafe, signDeviceRequest } from '../../src/protocol/index.js';
import { sendSignedRequest } from '../../src/batch/station-authority-client.js';
import { eligible, startHarness, type Harness, type StationClient } from '../support/authority-harness.js';
import { AUTHORITY_STORE } from '../support/authority-store.js';

interface SseEvent {
  id?: string;
  event: string;
  data: any;
}

/** Reads a real server-sent event stream until `until` says stop or the stream ends. */
async function readEvents(h: Harness, station: StationClient, tokenId: string, opts: { lastEventId?: string; until: (e: SseEvent[]) => boolean; onOpen?: () => Promise<void> }): Promise<SseEvent[]> {
  const path = `/api/v1/unbind-tokens/${tokenId}/events`;
  const ac = new AbortController();
  const res = await sendSignedRequest({ url: h.url, clientId: station.account.clientId, secret: station.account.secret }, 'GET', path, {
    ...(opts.lastEventId ? { headers: { 'last-event-id': opts.lastEventId } } : {}),
    signal: ac.signal,
    clock: h.now,
  });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/event-stream');
  const events: SseEvent[] = [];
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  const opened = opts.onOpen?.();
  try {
    while (!opts.until(events)) {
      const { value, done } = await reader.read();
      if (done) break;
      buf += value;
      let sep: number;
      while ((sep = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, sep);
        buf = buf.slice(sep + 2);
        const e: SseEvent = { event: 'message', data: undefined };
        for (const line of block.split('\n')) {
          if (line.startsWith('id: ')) e.id = line.slice(4);
          else if (line.startsWith('event: ')) e.event = line.slice(7);
          else if (line.startsWith('data: ')) e.data = JSON.parse(line.slice(6));
        }
        if (e.data !== undefined) events.push(e);
      }
    }
  } finally {
    await opened;
    ac.abort();
  }
  return events;
}

describe('token event stream (server-sent events)', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('streams one result per device as it happens, then `end` when the token is exhausted', async () => {
    const owner = h.station('owner');
    const token = await owner.issueToken(3);
    const devices = eligible(h, 'pqr1cam').slice(0, 3);
    const events = await readEvents(h, owner, token.id, {
      until: (e) => e.some((x) => x.event === 'end'),
      onOpen: async () => {
        for (const d of devices) await h.unbind(d, token.token);
      },
    });
    const results = events.filter((e) => e.event === 'result');
    expect(results.map((e) => e.data.devId)).toEqual(devices.map((d) => d.devId));
    expect(results.every((e) => e.data.result === 'UNBOUND' && e.id === String(e.data.seq))).toBe(true);
    expect(events.at(-1)).toMatchObject({ event: 'end', data: { status: 'exhausted', used: 3 } });
  });

  it('resumes after Last-Event-ID without repeating or losing a result', async () => {
    const owner = h.station('owner');
    const token = await owner.issueToken(10);
    const devices = eligible(h, 'pnvr8ch').slice(0, 4);
    for (const d of devices.slice(0, 2)) await h.unbind(d, token.token);
    const first = await readEvents(h, owner, token.id, { until: (e) => e.length >= 2 });
    expect(first.map((e) => e.data.devId)).toEqual(devices.slice(0, 2).map((d) => d.devId));
    for (const d of devices.slice(2)) await h.unbind(d, token.token);
    const resumed = await readEvents(h, owner, token.id, { lastEventId: first[1]!.id!, until: (e) => e.length >= 2 });
    expect(resumed.map((e) => e.data.devId)).toEqual(devices.slice(2).map((d) => d.devId));
  });

  it('ends with `expired` when the token expires with devices unreported', async () => {
    const owner = h.station('owner');
    const token = await owner.issueToken(5, { ttlSeconds: 1 });
    const events = await readEvents(h, owner, token.id, { until: (e) => e.some((x) => x.event === 'end') });
    expect(events).toEqual([{ event: 'end', data: { status: 'expired', used: 0 } }]);
  });

  it('another account cannot watch or read a token it did not issue', async () => {
    const token = await h.station('owner').issueToken(1);
    expect((await h.station('partner').call('GET', `/api/v1/unbind-tokens/${token.id}/events`)).status).toBe(404);
    expect((await h.station('partner').call('GET', `/api/v1/unbind-tokens/${token.id}`)).status).toBe(404);
  });
});

describe('token events under group commit', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  it('when the last two places of a token are taken in one group, both results go out before `end`', async () => {
    const owner = h.station('owner');
    const token = await owner.issueToken(2);
    const devices = eligible(h, 'pdvr4ch').slice(0, 2);
    const events = await readEvents(h, owner, token.id, {
      until: (e) => e.some((x) => x.event === 'end'),
      // Sent together, so they arrive in the same event-loop turn and share one transaction.
      onOpen: async () => void (await Promise.all(devices.map((d) => h.unbind(d, token.token)))),
    });
    expect(events.filter((e) => e.event === 'result').map((e) => e.data.devId).sort()).toEqual(devices.map((d) => d.devId).sort());
    expect(events.at(-1)).toMatchObject({ event: 'end', data: { status: 'exhausted', used: 2 } });
  });

  // SQLite's own: its group commit / its files (on PostgreSQL each request is its own transaction).
  it.skipIf(AUTHORITY_STORE === 'pg')('in one group, only the request that uses the last place says the token is exhausted', async () => {
    const token = await h.station('owner').issueToken(2);
    const seen: Array<[string, boolean]> = [];
    const off = h.authority.services.events.subscribe(token.id, (r, exhausted) => seen.push([r.devId, exhausted]));
    const [a, b] = eligible(h, 'pdvr4ch').slice(2, 4);
    const req = (d: typeof a) => {
      const ts = h.now();
      const nonce = randomUrlSafe(20);
      return { devId: d!.devId, token: token.token, ts, nonce, sig: signDeviceRequest(d!.deviceKey, d!.devId, token.token, ts, nonce) };
    };
    const out = h.authority.services.unbind.unbindMany([req(a), req(b)]);
    off();
    expect(out.map((o) => (o instanceof Error ? o.message : o.result))).toEqual(['UNBOUND', 'UNBOUND']);
    expect(seen).toEqual([
      [a!.devId, false],
      [b!.devId, true],
    ]);
  });
});
