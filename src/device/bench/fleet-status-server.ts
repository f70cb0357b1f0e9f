import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { devIdSchema } from '../../protocol/index.js';
import type { FleetDeviceStatus } from '../../protocol/virtual-bench.js';
import type { ReportingDeviceDetails } from '../core/device-core.js';

/**
 * The fleet's status port, on 127.0.0.1 only (it resets devices: nothing off this machine may):
 *   GET  /status                  → [{devId, serial, pid, state, light, lastCode, result}]
 *   GET  /devices/:devId          → that device with its event history and rejected inputs
 *   POST /devices/:devId/reset    → the device after the reset
 *   POST /reset-all               → {reset: <count>}
 * Errors are `{code, message}`: 400 malformed, 404 unknown, 405 wrong method, 413 body too large.
 */
export interface FleetControl {
  statuses(): FleetDeviceStatus[];
  details(devId: string): ReportingDeviceDetails | undefined;
  resetDevice(devId: string): boolean;
  resetAll(): number;
}

export interface StatusServer {
  url: string;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 4096;

class HttpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The reset endpoints take no body; an empty one or `{}` is tolerated, anything else is a mistake. */
async function readEmptyBody(req: IncomingMessage): Promise<void> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, 'BODY_TOO_LARGE', `body is larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk);
  }
  const text = Buffer.concat(chunks).toString('utf8').trim();
  if (text === '' || text === '{}') return;
  throw new HttpError(400, 'BAD_REQUEST', 'this endpoint takes no body');
}

function parseDevId(raw: string): string {
  let devId: string;
  try {
    devId = decodeURIComponent(raw);
  } catch {
    throw new HttpError(400, 'BAD_REQUEST', 'devId is not valid percent-encoding');
  }
  const parsed = devIdSchema.safeParse(devId);
  if (!parsed.success) throw new HttpError(400, 'BAD_REQUEST', parsed.error.issues[0]?.message ?? 'devId is malformed');
  return parsed.data;
}

function methodNotAllowed(allow: string): HttpError & { allow: string } {
  return Object.assign(new HttpError(405, 'METHOD_NOT_ALLOWED', `use ${allow}`), { allow });
}

async function route(control: FleetControl, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0]!;
  const method = req.method ?? 'GET';
  if (path === '/status') {
    if (method !== 'GET') throw methodNotAllowed('GET');
    return send(res, 200, control.statuses());
  }
  if (path === '/reset-all') {
    if (method !== 'POST') throw methodNotAllowed('POST');
    await readEmptyBody(req);
    return send(res, 200, { reset: control.resetAll() });
  }
  const reset = /^\/devices\/([^/]+)\/reset$/.exec(path);
  if (reset) {
    if (method !== 'POST') throw methodNotAllowed('POST');
    const devId = parseDevId(reset[1]!);
    await readEmptyBody(req);
    if (!control.resetDevice(devId)) throw new HttpError(404, 'NOT_FOUND', `no device ${devId} in the fleet`);
    return send(res, 200, control.statuses().find((s) => s.devId === devId));
  }
  const one = /^\/devices\/([^/]+)$/.exec(path);
  if (one) {
    if (method !== 'GET') throw methodNotAllowed('GET');
    const devId = parseDevId(one[1]!);
    const details = control.details(devId);
    if (!details) throw new HttpError(404, 'NOT_FOUND', `no device ${devId} in the fleet`);
    return send(res, 200, details);
  }
  throw new HttpError(404, 'NOT_FOUND', `no route ${path}`);
}

export async function startStatusServer(control: FleetControl, port: number): Promise<StatusServer> {
  const server = createServer((req, res) => {
    route(control, req, res).catch((err: unknown) => {
      if (res.headersSent) return res.destroy();
      if (err instanceof HttpError) {
        const allow = (err as HttpError & { allow?: string }).allow;
        return send(res, err.status, { code: err.code, message: err.message }, allow ? { allow } : {});
      }
      send(res, 500, { code: 'INTERNAL', message: 'the fleet could not answer' });
    });
  });
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
