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
