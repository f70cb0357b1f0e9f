import type { StationEvent } from '../../src/protocol/index.js';
/** A test's client of the station API: the per-start key as a header, JSON in and out. */
export function stationClient(url: string) {
  const u = new URL(url);
  const key = u.searchParams.get('key')!;
  const base = `${u.protocol}//${u.host}`;
  return {
    base,
    key,
    async call<T = any>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
      const res = await fetch(base + path, { method, headers: { 'x-station-key': key, ...(body ? { 'content-type': 'application/json' } : {}) }, ...(body ? { body: JSON.stringify(body) } : {}) });
      const text = await res.text();
      return { status: res.status, body: text ? JSON.parse(text) : undefined };
    },
  };
}

export async function until(check: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/** The station's event stream, read until an event matches. */
export async function nextEvent(base: string, key: string, match: (e: StationEvent) => boolean, during: () => Promise<void>): Promise<StationEvent> {
  const ac = new AbortController();
  const res = await fetch(`${base}/api/events`, { headers: { 'x-station-key': key }, signal: ac.signal });
  const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  let buf = '';
  // The greeting first: the stream is open before the change is made.
  while (!buf.includes('\n\n')) buf += (await reader.read()).value ?? '';
  buf = buf.slice(buf.indexOf('\n\n') + 2);
  await during();
  try {
    for (;;) {
      let sep: number;
      while ((sep = buf.indexOf('\n\n')) >= 0) {
        const data = buf.slice(0, sep).split('\n').find((l) => l.startsWith('data: '))?.slice(6);
        buf = buf.slice(sep + 2);
        if (!data) continue;
        const e = JSON.parse(data) as StationEvent;
        if (match(e)) return e;
      }
      const { value, done } = await reader.read();
      if (done) throw new Error('the event stream ended');
      buf += value;
    }
  } finally {
    ac.abort();
  }
}
