import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DeviceResult } from '../../protocol/index.js';
import type { AuthorityServices } from '../services.js';
import { toDeviceResult } from '../device-logs.js';
import { tokenStatus } from '../tokens.js';
import { AuthorityError } from '../errors.js';

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
  const res = reply.raw;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive' });
  // Headers go out now, not with the first event: the watcher knows at once that it is subscribed.
  res.write(': subscribed\n\n');
  let sent = lastSeq;
  let closed = false;

  const writeResult = (r: DeviceResult): void => {
    if (closed || r.seq <= sent) return;
    sent = r.seq;
    res.write(`id: ${r.seq}\nevent: result\ndata: ${JSON.stringify(r)}\n\n`);
  };
  const finish = (status: 'expired' | 'exhausted'): void => {
    if (closed) return;
    // Whatever the log holds past the last result sent goes out before the end: nothing is left behind.
    for (const row of s.logs.forToken(tokenId, sent)) writeResult(toDeviceResult(row));
    const used = s.tokens.row(tokenId)?.used ?? 0;
    res.write(`event: end\ndata: ${JSON.stringify({ status, used })}\n\n`);
    cleanup();
    res.end();
  };
  const unsubscribe = s.events.subscribe(tokenId, (r, exhausted) => {
    writeResult(r);
    if (exhausted) finish('exhausted');
  });
  const heartbeat = setInterval(() => res.write(': ping\n\n'), HEARTBEAT_MS);
  const expiry = setTimeout(() => finish('expired'), Math.max(0, token.expires_at - s.clock()) + 50);
  const cleanup = (): void => {
    if (closed) return;
    closed = true;
    unsubscribe();
    clearInterval(heartbeat);
    clearTimeout(expiry);
    openStreams.delete(closeFromServer);
  };
  const closeFromServer = (): void => {
    cleanup();
    res.end();
  };
  openStreams.add(closeFromServer);
  res.on('close', cleanup);

  for (const row of s.logs.forToken(tokenId, lastSeq)) writeResult(toDeviceResult(row));
  const status = tokenStatus(s.tokens.row(tokenId)!, s.clock());
  if (status !== 'active') finish(status);
}
