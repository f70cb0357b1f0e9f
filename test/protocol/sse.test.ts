import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatSseMessage, openSseStream, type SseSink } from '../../src/protocol/sse.js';

function sink() {
  const written: string[] = [];
  let onClose: () => void = () => undefined;
  const s: SseSink & { written: string[]; heads: unknown[]; ended: number; clientGone(): void } = {
    written,
    heads: [],
    ended: 0,
    writeHead: (status, headers) => s.heads.push([status, headers]),
    write: (chunk) => written.push(chunk),
    end: () => void s.ended++,
    once: (_e, l) => void (onClose = l),
    clientGone: () => onClose(),
  };
  return s;
}

describe('server-sent events writer', () => {
  // The heartbeat is a timer: the test's clock drives it, so a loaded machine cannot skip or bunch beats.
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    vi.useRealTimers();
  });

  it('frames id, event and every line of the data', () => {
    expect(formatSseMessage({ id: 7, event: 'result', data: '{"a":1}' })).toBe('id: 7\nevent: result\ndata: {"a":1}\n\n');
    expect(formatSseMessage({ data: 'one\ntwo' })).toBe('data: one\ndata: two\n\n');
  });

  it('given a stream, then headers and greeting go out at once, heartbeats follow, and nothing is written once the client is gone', async () => {
    const s = sink();
    let closed = 0;
    const stream = openSseStream(s, { greeting: 'subscribed', heartbeatMs: 10, onClose: () => closed++ });
    expect(s.heads).toEqual([[200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' }]]);
    expect(s.written).toEqual([': subscribed\n\n']);
    vi.advanceTimersByTime(35);
    expect(s.written.filter((w) => w === ': ping\n\n').length).toBeGreaterThanOrEqual(2);
    stream.send({ data: 'x' });
    s.clientGone();
    const count = s.written.length;
    stream.send({ data: 'y' });
    vi.advanceTimersByTime(25);
    expect(s.written).toHaveLength(count);
    expect(stream.closed).toBe(true);
    stream.close();
    expect(closed).toBe(1);
    expect(s.ended).toBe(0); // the client ended it; the server has nothing to end
  });

  it('when the server closes it, then it ends the response once and stops the heartbeat', async () => {
    const s = sink();
    const stream = openSseStream(s, { greeting: 'connected', heartbeatMs: 5 });
    stream.close();
    stream.close();
    const count = s.written.length;
    vi.advanceTimersByTime(20);
    expect(s.written).toHaveLength(count);
    expect(s.ended).toBe(1);
  });
});
