/**
 * Server-sent events, written once for every stream (the authority's token events, the station's
 * `/api/events`): framing with id/event/data, heartbeats, and an end when the client goes. Pure: it
 * writes to an injected sink (Node's ServerResponse fits it structurally), so it does no I/O itself.
 */

export interface SseSink {
  writeHead(status: number, headers: Record<string, string>): unknown;
  write(chunk: string): unknown;
  end(): unknown;
  /** The client went away (or the server ended the response). */
  once(event: 'close', listener: () => void): unknown;
}

export interface SseMessage {
  id?: string | number;
  event?: string;
  data: string;
}

/** One message in the wire format; a multi-line `data` becomes several `data:` lines, as the format requires. */
export function formatSseMessage(m: SseMessage): string {
  const head = `${m.id !== undefined ? `id: ${m.id}\n` : ''}${m.event !== undefined ? `event: ${m.event}\n` : ''}`;
  return `${head}${m.data
    .split(/\r\n|\r|\n/)
    .map((l) => `data: ${l}\n`)
    .join('')}\n`;
}

export interface SseStream {
  send(m: SseMessage): void;
  /** Ends the stream from the server's side; idempotent. */
  close(): void;
  readonly closed: boolean;
}

export interface SseStreamOptions {
  /** A comment sent with the headers, so the client knows at once that it is subscribed. */
  greeting: string;
  heartbeatMs?: number;
  /** Called once when the stream ends, whoever ended it. */
  onClose?: () => void;
}

const DEFAULT_HEARTBEAT_MS = 15_000;

/** Opens an event stream on `sink`: headers and greeting now, a `: ping` comment every heartbeat. */
export function openSseStream(sink: SseSink, o: SseStreamOptions): SseStream {
  sink.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  sink.write(`: ${o.greeting}\n\n`);
  let closed = false;
  const heartbeat = setInterval(() => sink.write(': ping\n\n'), o.heartbeatMs ?? DEFAULT_HEARTBEAT_MS);
  const finish = (): void => {
    if (closed) return;
    closed = true;
    clearInterval(heartbeat);
    o.onClose?.();
  };
  sink.once('close', finish);
  /**
   * Messages sent in one turn (a group of results decided together) leave in one write: one chunk
   * on the wire and one read for the client, not one per message. Order is kept.
   */
  let queued: string[] = [];
  const flush = (): void => {
    const text = queued.join('');
    queued = [];
    if (!closed && text) sink.write(text);
  };
  return {
    send(m) {
      if (closed) return;
      if (queued.push(formatSseMessage(m)) === 1) queueMicrotask(flush);
    },
    close() {
      if (closed) return;
      flush();
      finish();
      sink.end();
    },
    get closed() {
      return closed;
    },
  };
}
