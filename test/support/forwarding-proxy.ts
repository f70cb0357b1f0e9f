import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A plain forwarding HTTP proxy on 127.0.0.1 in front of a real server: `seen` is told of each request
 * before it is forwarded; `hold` may keep a request's answer (already read from the server) until the
 * promise it returns settles — the network being slow for that one answer.
 */
export interface ForwardingProxy {
  url: string;
  close(): Promise<void>;
}

export async function startForwardingProxy(
  target: string,
  opts: { seen?: (req: IncomingMessage) => void; hold?: (req: IncomingMessage) => Promise<void> | null } = {},
): Promise<ForwardingProxy> {
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      opts.seen?.(req);
      const headers = Object.fromEntries(Object.entries(req.headers).filter(([k]) => k !== 'host' && k !== 'connection' && k !== 'content-length')) as Record<string, string>;
      const body = chunks.length > 0 ? Buffer.concat(chunks) : undefined;
      fetch(target + req.url, { method: req.method, headers, ...(body ? { body } : {}) })
        .then(async (r) => {
          const bytes = Buffer.from(await r.arrayBuffer());
          await opts.hold?.(req);
          res.writeHead(r.status, { 'content-type': r.headers.get('content-type') ?? 'application/octet-stream' });
          res.end(bytes);
        })
        .catch((err: Error) => {
          res.writeHead(502).end(err.message);
        });
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, close: () => new Promise((done) => server.close(() => done())) };
}
