import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { adminUnbindRequestSchema, applyResetCodeRequestSchema, localUnbindRequestSchema, resetRequestXml } from '../../protocol/index.js';
import type { WiredDevice } from './wired-device.js';

/**
 * A wired device's local API (DESIGN §4.5), served on the device's own address:
 *   GET  /info    → DeviceInfo
 *   POST /unbind  → {accepted, code?} for every token it checked (200, refusals included);
 *                   400 {code, message} only for a body that is not JSON
 *   GET  /status  → DeviceStatus {st, code?, result?, ip}
 *   POST /unbind-local {token, challenge, proof} → {accepted, code?, attemptsLeft?, unlockAt?} (§4.8)
 *   GET  /reset-request → <ResetRequest> XML (§4.9)
 *   POST /reset-code {code, newPassword} → {accepted, code?} (§4.9)
 * A device in normal operation (never reset) has no pairing state to show: /info and /status
 * answer 409 {code: NOT_WAITING}. When the device's IP changes, the server moves with it: the old
 * address stops answering, as a device's old lease does.
 */
export interface DeviceApiServer {
  readonly address: string;
  readonly port: number;
  /** Closes the server on the old address and listens on the new one (same port if it is free there). */
  moveTo(address: string): Promise<void>;
  close(): Promise<void>;
}

const MAX_BODY_BYTES = 4096;

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

/** The body as text, or null past MAX_BODY_BYTES (events, not an async iterator: it is a hundred bytes). */
function readBody(req: IncomingMessage): Promise<string | null> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        return resolve(null);
      }
      chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new Error('the request was cut off'));
    });
  });
}

const notWaiting = { code: 'NOT_WAITING', message: 'the device is in normal operation: reset it to unbind' };

const noLogin = { code: 'NOT_FOUND', message: 'this device has no local admin login' };

/** A JSON body checked by `schema`: the parsed value, or the answer already sent (413, 400 not JSON, 200 refusal). */
async function readJson<T>(req: IncomingMessage, res: ServerResponse, schema: { safeParse(v: unknown): { success: true; data: T } | { success: false } }, refusal: unknown): Promise<T | null> {
  const text = await readBody(req);
  if (text === null) {
    send(res, 413, { code: 'BODY_TOO_LARGE', message: `body is larger than ${MAX_BODY_BYTES} bytes` });
    return null;
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    send(res, 400, { code: 'BAD_REQUEST', message: 'body is not JSON' });
    return null;
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success) {
    send(res, 200, refusal);
    return null;
  }
  return parsed.data;
}

async function route(device: WiredDevice, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const path = (req.url ?? '/').split('?')[0];
  const method = req.method ?? 'GET';
  if (path === '/unbind-local' || path === '/reset-code') {
    if (method !== 'POST') return send(res, 405, { code: 'METHOD_NOT_ALLOWED', message: 'use POST' }, { allow: 'POST' });
    if (path === '/unbind-local') {
      const body = await readJson(req, res, adminUnbindRequestSchema, { accepted: false, code: 'ADMIN_PASSWORD' });
      return body ? send(res, 200, device.acceptLocalUnbind(body)) : undefined;
    }
    const body = await readJson(req, res, applyResetCodeRequestSchema, { accepted: false, code: 'RESET_CODE_INVALID' });
    return body ? send(res, 200, device.applyResetCode(body.code, body.newPassword)) : undefined;
  }
  if (path === '/reset-request') {
    if (method !== 'GET') return send(res, 405, { code: 'METHOD_NOT_ALLOWED', message: 'use GET' }, { allow: 'GET' });
    const r = device.resetRequest();
    if (!r) return send(res, 404, noLogin);
    const xml = resetRequestXml(r);
    res.writeHead(200, { 'content-type': 'application/xml; charset=utf-8', 'cache-control': 'no-store', 'content-length': Buffer.byteLength(xml) });
    return void res.end(xml);
  }
  if (path === '/info' || path === '/status') {
    if (method !== 'GET') return send(res, 405, { code: 'METHOD_NOT_ALLOWED', message: 'use GET' }, { allow: 'GET' });
    const body = path === '/info' ? device.info() : device.statusBody();
    return body ? send(res, 200, body) : send(res, 409, notWaiting);
  }
  if (path === '/unbind') {
    if (method !== 'POST') return send(res, 405, { code: 'METHOD_NOT_ALLOWED', message: 'use POST' }, { allow: 'POST' });
    const text = await readBody(req);
    if (text === null) {
      // The rest of an over-size body is not read: the answer goes out and the connection is closed.
      res.once('finish', () => req.destroy());
      return send(res, 413, { code: 'BODY_TOO_LARGE', message: `body is larger than ${MAX_BODY_BYTES} bytes` }, { connection: 'close' });
    }
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch {
      return send(res, 400, { code: 'BAD_REQUEST', message: 'body is not JSON' });
    }
    const parsed = localUnbindRequestSchema.safeParse(json);
    if (!parsed.success) return send(res, 200, { accepted: false, code: 'TOKEN_INVALID' });
    return send(res, 200, device.acceptToken(parsed.data.token));
  }
  return send(res, 404, { code: 'NOT_FOUND', message: `no route ${path}` });
}

function listen(server: Server, address: string, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, address, () => {
      server.off('error', reject);
      resolve((server.address() as AddressInfo).port);
    });
  });
}

function shut(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.closeAllConnections();
    server.close(() => resolve());
  });
}

export async function startDeviceApiServer(device: WiredDevice, address: string, port = 0): Promise<DeviceApiServer> {
  const make = (): Server => {
    const s = createServer((req, res) => {
      route(device, req, res).catch(() => {
        if (res.headersSent) return res.destroy();
        send(res, 500, { code: 'INTERNAL', message: 'the device could not answer' });
      });
    });
    s.on('clientError', (_err, socket) => socket.destroy());
    return s;
  };
  let server = make();
  let current = { address, port: await listen(server, address, port) };
  return {
    get address() {
      return current.address;
    },
    get port() {
      return current.port;
    },
    async moveTo(next) {
      await shut(server);
      server = make();
      let bound: number;
      try {
        bound = await listen(server, next, current.port);
      } catch {
        server = make();
        bound = await listen(server, next, 0); // the port is taken on the new address: take another
      }
      current = { address: next, port: bound };
    },
    close: () => shut(server),
  };
}
