import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DeviceResult } from '../../protocol/index.js';
import type { AuthorityServices } from '../services.js';
import { toDeviceResult } from '../device-logs.js';
import { tokenStatus } from '../tokens.js';
import { AuthorityError } from '../errors.js';
import { openSseStream } from '../../protocol/sse.js';

/**
 * `GET /api/v1/unbind-tokens/:id/events`: server-sent events, one `result` per device as it happens,
 * then one `end` when the token expires or is exhausted. `Last-Event-ID` resumes after a reconnect,
 * so a station that restarts misses nothing and sees nothing twice.
 */
const HEARTBEAT_MS = 15_000;

export function streamTokenEvents(
  s: AuthorityServices,
  accountId: string,
  tokenId: string,
  req: FastifyRequest,
  reply: FastifyReply,
  openStreams: Set<() => void>,
): void {
  const token = s.tokens.row(tokenId);
  if (!token || token.account_id !== accountId) throw new AuthorityError(404, 'TOKEN_UNKNOWN', `no token ${tokenId} for this account`);
  const lastHeader = req.headers['last-event-id'];
  const lastSeq = typeof lastHeader === 'string' && /^\d{1,15}$/.test(lastHeader) ? Number(lastHeader) : 0;

  reply.hijack();
  // Headers go out now, not with the first event: the watcher knows at once that it is subscribed.
  const stream = openSseStream(reply.raw, { greeting: 'subscribed', heartbeatMs: HEARTBEAT_MS, onClose: () => cleanup() });
  let sent = lastSeq;

  const writeResult = (r: DeviceResult): void => {
    if (stream.closed || r.seq <= sent) return;
    sent = r.seq;
    stream.send({ id: r.seq, event: 'result', data: JSON.stringify(r) });
  };
  const finish = (status: 'expired' | 'exhausted'): void => {
    if (stream.closed) return;
    // Whatever the log holds past the last result sent goes out before the end: nothing is left behind.
    for (const row of s.logs.forToken(tokenId, sent)) writeResult(toDeviceResult(row));
    const used = s.tokens.row(tokenId)?.used ?? 0;
    stream.send({ event: 'end', data: JSON.stringify({ status, used }) });
    stream.close();
  };
  const unsubscribe = s.events.subscribe(tokenId, (r, exhausted) => {
    writeResult(r);
    if (exhausted) finish('exhausted');
  });
  const expiry = setTimeout(() => finish('expired'), Math.max(0, token.expires_at - s.clock()) + 50);
  function cleanup(): void {
    unsubscribe();
    clearTimeout(expiry);
    openStreams.delete(closeFromServer);
  }
  const closeFromServer = (): void => stream.close();
  openStreams.add(closeFromServer);

  for (const row of s.logs.forToken(tokenId, lastSeq)) writeResult(toDeviceResult(row));
  const status = tokenStatus(s.tokens.row(tokenId)!, s.clock());
  if (status !== 'active') finish(status);
}
