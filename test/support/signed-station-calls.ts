import { sendSignedRequest, type AuthorityCredentials } from '../../src/batch/station-authority-client.js';
import type { DeviceLogView, Page } from '../../src/protocol/index.js';

/** Calls the tests make that the station's client has no method for, sent through its real signed transport. */
export async function signedJson<T>(c: AuthorityCredentials, method: 'GET' | 'POST', pathWithQuery: string, body?: unknown): Promise<T> {
  const res = await sendSignedRequest(c, method, pathWithQuery, { body: body === undefined ? '' : JSON.stringify(body) });
  const json = (await res.json()) as T;
  if (res.status >= 300) throw new Error(`${method} ${pathWithQuery}: HTTP ${res.status} ${JSON.stringify(json)}`);
  return json;
}

/** Every device log matching `query` (such as {tokenId} or {devId}), following the cursor. */
export async function allDeviceLogs(c: AuthorityCredentials, query: Record<string, string>): Promise<DeviceLogView[]> {
  const items: DeviceLogView[] = [];
  let cursor: string | null = null;
  do {
    const qs = new URLSearchParams({ ...query, limit: '1000', ...(cursor ? { cursor } : {}) }).toString();
    const page: Page<DeviceLogView> = await signedJson(c, 'GET', `/api/v1/device-logs?${qs}`);
    items.push(...page.items);
    cursor = page.nextCursor;
  } while (cursor);
  return items;
}
