import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CLOCK_SKEW_MS,
  deviceUnbindRequestSchema,
  signDeviceRequest,
  signaturesEqual,
  type DeviceUnbindRequest,
  type DeviceUnbindResponse,
} from '../../../src/protocol/index.js';

/**
 * A small authority that stands for the remote peer in device unit tests: real HTTP on 127.0.0.1,
 * strict about the request (schema, signature recomputed with the device key, clock skew, nonce
 * reuse), with the answer chosen by the test. Not the real authority: that one is in the
 * integration tests.
 */
export type Behaviour =
  | { kind: 'answer'; answer: (req: DeviceUnbindRequest) => DeviceUnbindResponse }
  | { kind: 'hang' }
  | { kind: 'status'; status: number; body: string }
  | { kind: 'raw'; body: string }
  | { kind: 'delay'; ms: number; answer: DeviceUnbindResponse }
  /** The first `times` accepted requests lose their answer (the connection is reset), then `answer` is given. */
  | { kind: 'drop'; times: number; answer: DeviceUnbindResponse };

export interface StrictAuthority {
  url: string;
  /** Every well-formed, correctly signed request, in order. */
  accepted: DeviceUnbindRequest[];
  /** Requests refused by the strict checks, with why; a correct device makes none. */
  refused: string[];
  /** Every HTTP request that reached the server, whatever it was. */
  hits: () => number;
  /** Resolves once `count` requests were accepted (the device's request reached the server), or fails saying how many came. */
  whenAccepted(count: number, timeoutMs?: number): Promise<void>;
  behave(b: Behaviour): void;
  close(): Promise<void>;
}

export async function startStrictAuthority(deviceKeys: Record<string, string>, behaviour?: Behaviour): Promise<StrictAuthority> {
  let current: Behaviour = behaviour ?? { kind: 'answer', answer: () => ({ result: 'UNBOUND' }) };
  const accepted: DeviceUnbindRequest[] = [];
  const refused: string[] = [];
  const nonces = new Set<string>();
  let hits = 0;
  const hanging = new Set<ServerResponse>();
  const acceptedWaiters = new Set<() => void>();

  const reply = (res: ServerResponse, status: number, body: string): void => {
    res.writeHead(status, { 'content-type': 'application/json' });
    res.end(body);
  };
  const refuse = (res: ServerResponse, why: string): void => {
    refused.push(why);
    reply(res, 400, JSON.stringify({ code: 'BAD_REQUEST', message: why }));
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    hits++;
    const chunks: Buffer[] = [];
    for await (const c of req as AsyncIterable<Buffer>) chunks.push(c);
    if (req.method !== 'POST' || req.url !== '/device/v1/unbind') return refuse(res, `unexpected ${req.method} ${req.url}`);
    if (!String(req.headers['content-type']).startsWith('application/json')) return refuse(res, 'content-type is not JSON');
    let json: unknown;
    try {
      json = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      return refuse(res, 'body is not JSON');
    }
    const parsed = deviceUnbindRequestSchema.safeParse(json);
    if (!parsed.success) return refuse(res, `schema: ${parsed.error.issues[0]?.message}`);
    const r = parsed.data;
    const key = deviceKeys[r.devId];
    if (!key) return refuse(res, `unknown device ${r.devId}`);
    if (!signaturesEqual(signDeviceRequest(key, r.devId, r.token, r.ts, r.nonce), r.sig)) return refuse(res, 'bad signature');
    if (Math.abs(Date.now() - r.ts) > CLOCK_SKEW_MS) return refuse(res, 'ts out of window');
    if (nonces.has(`${r.devId}|${r.nonce}`)) return refuse(res, 'nonce reused');
    nonces.add(`${r.devId}|${r.nonce}`);
    accepted.push(r);
    for (const w of [...acceptedWaiters]) w();
    const b = current;
    switch (b.kind) {
      case 'answer':
        return reply(res, 200, JSON.stringify(b.answer(r)));
      case 'hang':
        hanging.add(res);
        return;
      case 'status':
        return reply(res, b.status, b.body);
      case 'raw':
        return reply(res, 200, b.body);
      case 'delay':
        await new Promise((done) => setTimeout(done, b.ms));
        return reply(res, 200, JSON.stringify(b.answer));
      case 'drop':
        if (accepted.length <= b.times) return void res.socket?.destroy();
        return reply(res, 200, JSON.stringify(b.answer));
    }
  };

  const server = createServer((req, res) => void handle(req, res).catch(() => res.destroy()));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    accepted,
    refused,
    hits: () => hits,
    whenAccepted: (count, timeoutMs = 5_000) =>
      new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (accepted.length < count) return;
          acceptedWaiters.delete(check);
          clearTimeout(timer);
          resolve();
        };
        const timer = setTimeout(() => {
          acceptedWaiters.delete(check);
          reject(new Error(`strict authority: ${accepted.length} of ${count} requests accepted within ${timeoutMs} ms; refused: ${JSON.stringify(refused)}`));
        }, timeoutMs);
        acceptedWaiters.add(check);
        check();
      }),
    behave: (b) => {
      current = b;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const res of hanging) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
