import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A station screen on 127.0.0.1: serves whatever the test puts on it at `/screen`, and files under `/img/`. */
export interface ScreenServer {
  url: string;
  show(body: Buffer | string | { status: number; body: string }): void;
  files: Map<string, Buffer>;
  hits: () => number;
  close(): Promise<void>;
}

export async function startScreenServer(): Promise<ScreenServer> {
  let current: Buffer | string | { status: number; body: string } = { status: 404, body: 'nothing shown' };
  const files = new Map<string, Buffer>();
  let hits = 0;
  const server = createServer((req, res) => {
    hits++;
    if (req.url?.startsWith('/img/')) {
      const f = files.get(req.url.slice(5));
      res.writeHead(f ? 200 : 404, { 'content-type': 'image/png' });
      return res.end(f ?? '');
    }
    if (typeof current === 'object' && !Buffer.isBuffer(current)) {
      res.writeHead(current.status);
      return res.end(current.body);
    }
    res.writeHead(200, { 'content-type': Buffer.isBuffer(current) ? 'image/png' : 'application/json' });
    res.end(current);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/screen`,
    show: (b) => {
      current = b;
    },
    files,
    hits: () => hits,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
