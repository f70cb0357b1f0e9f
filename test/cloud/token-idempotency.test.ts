import { readFileSync, readdirSync } from 'node:fs';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAuthorityClient, sendSignedRequest } from '../../src/batch/station-authority-client.js';
import { startHarness, type Harness } from '../support/authority-harness.js';
import { AUTHORITY_STORE } from '../support/authority-store.js';

/** DESIGN §4.4: `POST /api/v1/unbind-tokens` with an Idempotency-Key answers the token already issued. */
describe('token issue with an Idempotency-Key', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const tokenCount = (): Promise<number> => h.count('tokens');
  const credentials = (role: 'owner' | 'partner') => {
    const a = h.station(role).account;
    return { url: h.url, clientId: a.clientId, secret: a.secret };
  };
  const post = async (role: 'owner' | 'partner', body: unknown, key?: string | string[]) => {
    const res = await sendSignedRequest(credentials(role), 'POST', '/api/v1/unbind-tokens', {
      body: JSON.stringify(body),
      ...(key === undefined ? {} : { headers: { 'idempotency-key': Array.isArray(key) ? key.join(', ') : key } }),
    });
    return { status: res.status, replayed: res.headers.get('idempotent-replayed'), body: await res.json() };
  };

  it('given a key, when the station asks again with it, then the same token (id, token, expiry) and no second one', async () => {
    const before = await tokenCount();
    const first = await post('owner', { capacity: 10, channel: 'qr', batchRef: 'b-1' }, 'key-AAAAAAAAAAAAAAAA');
    expect(first).toMatchObject({ status: 201, replayed: null });
    const again = await post('owner', { capacity: 10, channel: 'qr', batchRef: 'b-1' }, 'key-AAAAAAAAAAAAAAAA');
    expect(again).toEqual({ status: 201, replayed: 'true', body: first.body });
    expect(await tokenCount()).toBe(before + 1);
    // The token answered again works: it is the one the authority keeps.
    const d = h.devices((x) => x.pid === 'pqr1cam' && x.bound)[0]!;
    expect((await h.unbind(d, again.body.token)).body).toEqual({ result: 'UNBOUND' });
  });

  it('given the same key with another body, then 409 IDEMPOTENCY_KEY_REUSED and nothing issued', async () => {
    await post('owner', { capacity: 5, channel: 'wired' }, 'key-BBBBBBBBBBBBBBBB');
    const before = await tokenCount();
    expect(await post('owner', { capacity: 6, channel: 'wired' }, 'key-BBBBBBBBBBBBBBBB')).toMatchObject({ status: 409, body: { code: 'IDEMPOTENCY_KEY_REUSED' } });
    expect(await post('owner', { capacity: 5, channel: 'wired', ttlSeconds: 60 }, 'key-BBBBBBBBBBBBBBBB')).toMatchObject({ status: 409 });
    // The default filled in is the same request.
    expect(await post('owner', { capacity: 5, channel: 'wired', ttlSeconds: 600 }, 'key-BBBBBBBBBBBBBBBB')).toMatchObject({ status: 201, replayed: 'true' });
    expect(await tokenCount()).toBe(before);
  });

  it('given a key used by another account, then each account has its own: no token of one is answered to the other', async () => {
    const owner = await post('owner', { capacity: 2, channel: 'qr' }, 'key-CCCCCCCCCCCCCCCC');
    const partner = await post('partner', { capacity: 2, channel: 'qr' }, 'key-CCCCCCCCCCCCCCCC');
    expect(partner).toMatchObject({ status: 201, replayed: null });
    expect(partner.body.id).not.toBe(owner.body.id);
  });

  it('given a malformed key, then 400 IDEMPOTENCY_KEY_INVALID and nothing issued', async () => {
    const before = await tokenCount();
    for (const bad of ['short', 'x'.repeat(65), 'has space in it 123', 'bad/chars/0123456789', ['key-DDDDDDDDDDDDDDDD', 'key-EEEEEEEEEEEEEEEE']]) {
      expect(await post('owner', { capacity: 2, channel: 'qr' }, bad)).toMatchObject({ status: 400, body: { code: 'IDEMPOTENCY_KEY_INVALID' } });
    }
    expect(await tokenCount()).toBe(before);
  });

  // SQLite's own: its group commit / its files (on PostgreSQL each request is its own transaction).
  it.skipIf(AUTHORITY_STORE === 'pg')('given a token issued with a key, then the full token is in no file of the store in clear (sealed under the master key)', async () => {
    const issued = await post('owner', { capacity: 3, channel: 'qr' }, 'key-FFFFFFFFFFFFFFFF');
    const secret = issued.body.token.slice(10);
    h.authority.services.db.pragma('wal_checkpoint(PASSIVE)');
    const dir = dirname(h.authority.services.db.name);
    for (const f of readdirSync(dir)) {
      const bytes = readFileSync(join(dir, f));
      expect(bytes.includes(issued.body.token), f).toBe(false);
      expect(bytes.includes(`${issued.body.id}${secret}`), f).toBe(false);
    }
    const row = h.authority.services.db.prepare('SELECT token_enc FROM token_issue_keys WHERE key = ?').get('key-FFFFFFFFFFFFFFFF') as { token_enc: string };
    expect(row.token_enc).toMatch(/^v1\./);
    expect(h.authority.box.open(row.token_enc)).toBe(issued.body.token);
  });

  describe("the station's client", () => {
    let proxy: Server;
    const seen: Array<{ key: string | undefined; cut: boolean }> = [];
    beforeAll(async () => {
      // Stands for the network between station and authority: the first answer to a token issue is cut off.
      proxy = createServer((req, res) => {
        const chunks: Buffer[] = [];
        req.on('data', (c: Buffer) => chunks.push(c));
        req.on('end', () => {
          const cut = req.url === '/api/v1/unbind-tokens' && seen.filter((s) => s.key !== undefined).length === 0;
          seen.push({ key: req.headers['idempotency-key'] as string | undefined, cut });
          const up = httpRequest(`${h.url}${req.url}`, { method: req.method, headers: req.headers }, (answer) => {
            const body: Buffer[] = [];
            answer.on('data', (c: Buffer) => body.push(c));
            answer.on('end', () => {
              if (cut) return void res.socket?.destroy(); // decided at the authority, lost on the way back
              res.writeHead(answer.statusCode ?? 502, answer.headers);
              res.end(Buffer.concat(body));
            });
          });
          up.end(Buffer.concat(chunks));
        });
      });
      await new Promise<void>((done) => proxy.listen(0, '127.0.0.1', done));
    });
    afterAll(() => new Promise<void>((done) => proxy.close(() => done())));

    it('given a lost answer to a token issue, when the client asks once again with the same key, then it gets the token issued the first time and no second token exists', async () => {
      const before = await tokenCount();
      const url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const client = createAuthorityClient({ ...credentials('owner'), url });
      const issued = await client.issueToken({ capacity: 4, channel: 'serial' });
      expect(seen.map((s) => s.cut)).toEqual([true, false]);
      expect(seen[0]!.key).toMatch(/^[A-Za-z0-9_-]{32}$/);
      expect(seen[1]!.key).toBe(seen[0]!.key);
      expect(await tokenCount()).toBe(before + 1);
      expect(await h.authority.store.tokens.row(issued.id)).toMatchObject({ capacity: 4, channel: 'serial' });
      // A new token is a new key.
      await client.issueToken({ capacity: 4, channel: 'serial' });
      expect(seen[2]!.key).not.toBe(seen[0]!.key);
      expect(await tokenCount()).toBe(before + 2);
    });
  });
});
