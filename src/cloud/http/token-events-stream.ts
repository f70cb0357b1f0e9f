import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DeviceResult } from '../../protocol/index.js';
import type { AuthorityStore } from '../store.js';
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

export async function streamTokenEvents(
  s: AuthorityStore,
  accountId: string,
  tokenId: string,
  req: FastifyRequest,
  reply: FastifyReply,
  openStreams: Set<() => void>,
): Promise<void> {
  const token = await s.tokens.row(tokenId);
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
  // Until the first read is written, results arriving meanwhile wait: they are newer than what it reads.
  let caughtUp = false;
  const early: Array<[DeviceResult, boolean]> = [];
  let finishing = false;
  const fail = (err: unknown): void => {
    req.log.warn({ evt: 'token-events', tokenId, message: (err as Error).message }, 'token event stream failed');
    stream.close();
  };
  const finish = async (status: 'expired' | 'exhausted'): Promise<void> => {
    if (stream.closed || finishing) return;
    finishing = true;
    // Whatever the log holds past the last result sent goes out before the end: nothing is left behind.
    for (const row of await s.logs.forToken(tokenId, sent)) writeResult(toDeviceResult(row));
    const used = (await s.tokens.row(tokenId))?.used ?? 0;
    if (stream.closed) return;
    stream.send({ event: 'end', data: JSON.stringify({ status, used }) });
    stream.close();
  };
  const onResult = (r: DeviceResult, exhausted: boolean): void => {
    if (!caughtUp) {
      early.push([r, exhausted]);
      return;
    }
    writeResult(r);
    if (exhausted) finish('exhausted').catch(fail);
  };
  const unsubscribe = s.events.subscribe(tokenId, onResult, lastSeq);
  const expiry = setTimeout(() => finish('expired').catch(fail), Math.max(0, token.expires_at - s.clock()) + 50);
  function cleanup(): void {
    unsubscribe();
    clearTimeout(expiry);
    openStreams.delete(closeFromServer);
  }
  const closeFromServer = (): void => stream.close();
  openStreams.add(closeFromServer);

  try {
    for (const row of await s.logs.forToken(tokenId, lastSeq)) writeResult(toDeviceResult(row));
    caughtUp = true;
    for (const [r, exhausted] of early.splice(0)) onResult(r, exhausted);
    const now = await s.tokens.row(tokenId);
    const status = tokenStatus(now!, s.clock());
    if (status !== 'active') await finish(status);
  } catch (err) {
    fail(err);
  }
}
