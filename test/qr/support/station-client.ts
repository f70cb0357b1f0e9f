import { randomUrlSafe, stationRequestHeaders, type DeviceLogView, type IssuedToken, type Page } from '../../../src/protocol/index.js';

/** The few station calls the QR integration tests need, signed per DESIGN §4.4. */
export interface Account {
  clientId: string;
  secret: string;
}

async function signed<T>(baseUrl: string, account: Account, method: 'GET' | 'POST', pathWithQuery: string, body?: unknown): Promise<T> {
  const text = body === undefined ? '' : JSON.stringify(body);
  const headers = stationRequestHeaders({ clientId: account.clientId, secret: account.secret, method, pathWithQuery, body: text, nonce: randomUrlSafe(24) });
  const res = await fetch(`${baseUrl}${pathWithQuery}`, {
    method,
    headers: { ...headers, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: text }),
  });
  const json = (await res.json()) as T;
  if (res.status >= 300) throw new Error(`${method} ${pathWithQuery}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

export function issueToken(baseUrl: string, account: Account, capacity: number, ttlSeconds?: number): Promise<IssuedToken> {
  return signed(baseUrl, account, 'POST', '/api/v1/unbind-tokens', { capacity, channel: 'qr', ...(ttlSeconds ? { ttlSeconds } : {}) });
}

export async function deviceLogs(baseUrl: string, account: Account, query: Record<string, string>): Promise<DeviceLogView[]> {
  const items: DeviceLogView[] = [];
  let cursor: string | null = null;
  do {
    const qs = new URLSearchParams({ ...query, limit: '1000', ...(cursor ? { cursor } : {}) }).toString();
    const page: Page<DeviceLogView> = await signed(baseUrl, account, 'GET', `/api/v1/device-logs?${qs}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}
