import { createHash } from 'node:crypto';
import Database from 'better-sqlite3';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sendSignedRequest } from '../../src/batch/station-authority-client.js';
import { randomUrlSafe, signDeviceRequest } from '../../src/protocol/index.js';
import { eligible, startHarness, type DemoAccount, type Harness } from '../support/authority-harness.js';

/**
 * Reads never write; refusals leave nothing (issue 9, DESIGN §4.3, §4.4, §7). Every route of the
 * authority, read from its route table, is called as a station or a device would call it: read-only
 * calls and every kind of refusal. Around each call, every table of the store is read through a
 * second, read-only SQLite connection (row count and SHA-256 of its rows) and compared.
 *
 * The one legitimate write: a request whose signature checks out consumes its nonce (one `api_nonces`
 * row for its client_id), whatever the answer, so that it can never be replayed (§4.4) — also when it
 * is then refused. A request refused before its signature checks out writes nothing at all.
 * The device route is checked only for what does not parse (400): every checked device request is
 * logged by design (§4.3), and that logging is not this test's business.
 */

type Role = DemoAccount['role'];

interface TableState {
  count: number;
  sha256: string;
  rows: string[];
}
type Snapshot = Map<string, TableState>;

/** Every table's rows as JSON lines in a total order (by every column: WITHOUT ROWID tables have no rowid). */
function snapshotStore(ro: Database.Database): Snapshot {
  const tables = ro.prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name").pluck().all();
  const snap: Snapshot = new Map();
  for (const t of tables) {
    const columns = ro.prepare<[string], string>('SELECT name FROM pragma_table_info(?) ORDER BY cid').pluck().all(t);
    const rows = ro
      .prepare(`SELECT * FROM "${t}" ORDER BY ${columns.map((_c, i) => i + 1).join(', ')}`)
      .all()
      .map((r) => JSON.stringify(r, (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('hex') : typeof v === 'bigint' ? String(v) : v)));
    snap.set(t, { count: rows.length, sha256: createHash('sha256').update(rows.join('\n')).digest('hex'), rows });
  }
  return snap;
}

interface TableChange {
  table: string;
  added: Array<Record<string, unknown>>;
  removed: Array<Record<string, unknown>>;
}

function changesBetween(before: Snapshot, after: Snapshot): TableChange[] {
  const out: TableChange[] = [];
  for (const table of new Set([...before.keys(), ...after.keys()])) {
    const b = before.get(table);
    const a = after.get(table);
    if (b && a && b.count === a.count && b.sha256 === a.sha256) continue;
    const was = new Set(b?.rows ?? []);
    const is = new Set(a?.rows ?? []);
    out.push({
      table,
      added: [...is].filter((r) => !was.has(r)).map((r) => JSON.parse(r) as Record<string, unknown>),
      removed: [...was].filter((r) => !is.has(r)).map((r) => JSON.parse(r) as Record<string, unknown>),
    });
  }
  return out;
}

/**
 * Every `METHOD /path` the server answers, read from its own route tree: a route added to the server
 * is in this list without anyone writing it down.
 */
function routesOf(app: FastifyInstance): string[] {
  const routes: string[] = [];
  const prefixes: string[] = [];
  for (const line of app.printRoutes({ commonPrefix: false }).split('\n')) {
    const m = /^((?:│ {3}| {4})*)(?:├── |└── )(\S+)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m) continue;
    prefixes.length = m[1]!.length / 4;
    prefixes.push(m[2]!);
    for (const method of m[3]?.split(', ') ?? []) routes.push(`${method} ${prefixes.join('')}`);
  }
  return routes;
}

/** One call and what it must be answered. */
interface Call {
  what: string;
  as: Role;
  /** The path with its query; default: the route's sample path. */
  path?: string;
  body?: unknown;
  rawBody?: string;
  status: number;
  code?: string;
}

/** What the test knows of one station route: a sample path, a body it would accept, and its calls. */
interface StationRoute {
  /** A concrete path whose call, authentic, would be answered 2xx. */
  path: string;
  /** Who would be answered 2xx there. */
  as: Role;
  /** A body the route would accept (for POST). */
  body?: unknown;
  /** Answered 2xx and writing nothing but the nonce. */
  reads?: Call[];
  /** Refused after the signature checked out (no rights, unknown resource, bad body or query). */
  refusals?: Call[];
}

describe('reads never write; refusals leave nothing (every route, real HTTP, real SQLite file)', () => {
  let h: Harness;
  let ro: Database.Database;
  let ids: { ownToken: string; pendingTicket: string; decidedTicket: string; cursor: string; pendingCase: string; decidedCase: string; caseCursor: string };
  const afterSale = 'sp-acc-owner-after-sale';

  beforeAll(async () => {
    h = await startHarness();
    ro = new Database(h.authority.services.db.name, { readonly: true, fileMustExist: true });
    // The world the calls refer to: a token with results, a pending ticket and a decided one.
    const owner = h.station('owner');
    const token = await owner.issueToken(5);
    for (const dev of eligible(h, 'pqr1cam').slice(0, 3)) expect((await h.unbind(dev, token.token)).body.result).toBe('UNBOUND');
    const ticket = (from: string) => ({ scope: 'account', pid: 'pqr1cam', limit: 150, from, to: '2026-12-31', reason: 'returns wave' });
    const pending = await h.station('partner').call('POST', '/api/v1/quota-tickets', ticket('2026-12-01'));
    const decided = await h.station('partner').call('POST', '/api/v1/quota-tickets', ticket('2026-12-02'));
    expect((await owner.call('POST', `/api/v1/quota-tickets/${decided.body.id}/reject`)).status).toBe(200);
    const page = await owner.call('GET', '/api/v1/device-logs?limit=1');
    expect(page.body.nextCursor).toEqual(expect.any(String));
    // Two cases of the partner on a product the After-sale role covers: one waiting for the owner, one rejected.
    const filed = await Promise.all([0, 1].map((i) => h.station('partner').call('POST', '/api/v1/cases', caseBody({ devId: eligible(h, 'pqr1cam')[10 + i]!.devId }))));
    expect(filed.map((f) => f.status)).toEqual([201, 201]);
    expect((await owner.call('POST', `/api/v1/cases/${filed[1]!.body.id}/reject`, { reason: 'SERIAL_MISMATCH' })).status).toBe(200);
    const casePage = await owner.call('GET', '/api/v1/cases?limit=1');
    ids = {
      ownToken: token.id,
      pendingTicket: pending.body.id,
      decidedTicket: decided.body.id,
      cursor: page.body.nextCursor,
      pendingCase: filed[0]!.body.id,
      decidedCase: filed[1]!.body.id,
      caseCursor: casePage.body.nextCursor,
    };
    // The accounts the issue saw grow a space on a read have none.
    expect(ro.prepare("SELECT owner_id FROM spaces ORDER BY owner_id").pluck().all()).toEqual(['acc-ay-owner', 'acc-owner']);
  });
  afterAll(async () => {
    ro?.close();
    await h?.close();
  });

  const PNG = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 13]).toString('base64');
  const caseBody = (o: Record<string, unknown> = {}) => ({ kind: 'unbind', devId: 'pnvr8ch-0003', labelPhoto: PNG, ...o });
  const ticketBody = (o: Record<string, unknown> = {}) => ({ scope: 'account', pid: 'pqr1cam', limit: 150, from: '2026-12-01', to: '2026-12-31', reason: 'returns wave', ...o });

  /** Every station route with the calls made on it; a route of the server missing here fails the test. */
  const stationRoutes = (): Record<string, StationRoute> => ({
    'GET /api/v1/me': { path: '/api/v1/me', as: 'owner', reads: [{ what: 'me', as: 'none', status: 200 }] },
    'GET /api/v1/products': { path: '/api/v1/products', as: 'partner', reads: [{ what: 'products of a partner', as: 'partner', status: 200 }] },
    'GET /api/v1/quota': { path: '/api/v1/quota', as: 'member', reads: [{ what: 'quota of a member', as: 'member', status: 200 }] },
    'GET /api/v1/quota-tickets': {
      path: '/api/v1/quota-tickets',
      as: 'owner',
      reads: [
        { what: 'tickets of the owner', as: 'owner', status: 200 },
        { what: 'tickets of an account with none', as: 'none', status: 200 },
      ],
    },
    'POST /api/v1/quota-tickets': {
      path: '/api/v1/quota-tickets',
      as: 'partner',
      body: ticketBody(),
      refusals: [
        { what: 'to 2024-06-42', as: 'partner', body: ticketBody({ from: '2024-06-01', to: '2024-06-42' }), status: 400, code: 'BAD_REQUEST' },
        { what: 'from 2024-06-00', as: 'partner', body: ticketBody({ from: '2024-06-00', to: '2024-06-30' }), status: 400, code: 'BAD_REQUEST' },
        { what: 'from after to', as: 'partner', body: ticketBody({ from: '2024-06-02', to: '2024-06-01' }), status: 400, code: 'BAD_REQUEST' },
        { what: 'body that is not JSON', as: 'partner', rawBody: '{"scope":', status: 400, code: 'BAD_JSON' },
        { what: 'not JSON at all', as: 'partner', rawBody: 'more quota please', status: 400, code: 'BAD_JSON' },
        { what: 'no rights on the product', as: 'none', body: ticketBody(), status: 403, code: 'UNAUTHORIZED' },
      ],
    },
    'POST /api/v1/quota-tickets/:id/approve': {
      path: `/api/v1/quota-tickets/${ids.pendingTicket}/approve`,
      as: 'owner',
      refusals: [
        { what: 'unknown ticket', as: 'owner', path: '/api/v1/quota-tickets/qt-nosuchticket/approve', status: 404, code: 'TICKET_UNKNOWN' },
        { what: 'requester approving its own ticket', as: 'partner', status: 403, code: 'NOT_OWNER' },
        { what: 'ticket already decided', as: 'owner', path: `/api/v1/quota-tickets/${ids.decidedTicket}/approve`, status: 409, code: 'TICKET_DECIDED' },
        { what: 'malformed id', as: 'owner', path: '/api/v1/quota-tickets/a%20b/approve', status: 400, code: 'BAD_REQUEST' },
      ],
    },
    'POST /api/v1/quota-tickets/:id/reject': {
      path: `/api/v1/quota-tickets/${ids.pendingTicket}/reject`,
      as: 'owner',
      refusals: [
        { what: 'unknown ticket', as: 'owner', path: '/api/v1/quota-tickets/qt-nosuchticket/reject', status: 404, code: 'TICKET_UNKNOWN' },
        { what: 'an account with no rights', as: 'none', status: 403, code: 'NOT_OWNER' },
        { what: 'ticket already decided', as: 'owner', path: `/api/v1/quota-tickets/${ids.decidedTicket}/reject`, status: 409, code: 'TICKET_DECIDED' },
      ],
    },
    'POST /api/v1/unbind-tokens': {
      path: '/api/v1/unbind-tokens',
      as: 'owner',
      body: { capacity: 5, channel: 'qr' },
      refusals: [
        { what: 'capacity 31', as: 'owner', body: { capacity: 31, channel: 'qr' }, status: 400, code: 'BAD_REQUEST' },
        { what: 'unknown channel', as: 'owner', body: { capacity: 5, channel: 'pigeon' }, status: 400, code: 'BAD_REQUEST' },
        { what: 'unknown body field', as: 'owner', body: { capacity: 5, channel: 'qr', admin: true }, status: 400, code: 'BAD_REQUEST' },
        { what: 'null body', as: 'owner', rawBody: 'null', status: 400, code: 'BAD_REQUEST' },
        { what: 'no body', as: 'owner', status: 400, code: 'BAD_REQUEST' },
      ],
    },
    'GET /api/v1/unbind-tokens/:id': {
      path: `/api/v1/unbind-tokens/${ids.ownToken}`,
      as: 'owner',
      reads: [{ what: 'own token with its results', as: 'owner', status: 200 }],
      refusals: [
        { what: 'unknown token', as: 'owner', path: '/api/v1/unbind-tokens/ZZZZZZZZ', status: 404, code: 'TOKEN_UNKNOWN' },
        { what: "another account's token", as: 'partner', status: 404, code: 'TOKEN_UNKNOWN' },
        { what: 'malformed id', as: 'owner', path: '/api/v1/unbind-tokens/..%2F..%2Fetc', status: 400, code: 'BAD_REQUEST' },
      ],
    },
    'GET /api/v1/unbind-tokens/:id/events': {
      path: `/api/v1/unbind-tokens/${ids.ownToken}/events`,
      as: 'owner',
      // The stream's read is followed in its own case below (it stays open).
      refusals: [
        { what: 'unknown token', as: 'owner', path: '/api/v1/unbind-tokens/ZZZZZZZZ/events', status: 404, code: 'TOKEN_UNKNOWN' },
        { what: "another account's token", as: 'member', status: 404, code: 'TOKEN_UNKNOWN' },
      ],
    },
    'GET /api/v1/device-logs': {
      path: '/api/v1/device-logs',
      as: 'owner',
      reads: [
        { what: 'first page', as: 'owner', status: 200 },
        { what: 'filtered', as: 'owner', path: '/api/v1/device-logs?pid=pqr1cam&result=UNBOUND&limit=2', status: 200 },
        { what: 'next page by cursor', as: 'owner', path: `/api/v1/device-logs?cursor=${ids.cursor}`, status: 200 },
        { what: 'a partner, scoped', as: 'partner', status: 200 },
      ],
      refusals: [
        { what: 'limit 0', as: 'owner', path: '/api/v1/device-logs?limit=0', status: 400, code: 'BAD_REQUEST' },
        { what: 'cursor not ours', as: 'owner', path: '/api/v1/device-logs?cursor=AAAA', status: 400, code: 'BAD_CURSOR' },
        { what: 'from not a time', as: 'owner', path: '/api/v1/device-logs?from=yesterday', status: 400, code: 'BAD_REQUEST' },
        { what: 'unknown result', as: 'owner', path: '/api/v1/device-logs?result=MAYBE', status: 400, code: 'BAD_REQUEST' },
      ],
    },
    'POST /api/v1/cases': {
      path: '/api/v1/cases',
      as: 'partner',
      body: caseBody(),
      refusals: [
        { what: 'not a verified installer', as: 'none', body: caseBody(), status: 403, code: 'NOT_VERIFIED' },
        { what: 'a product the installer may not unbind', as: 'partner', body: caseBody({ devId: 'pdvr4ch-0001' }), status: 403, code: 'UNAUTHORIZED' },
        { what: 'an unknown serial', as: 'partner', body: caseBody({ devId: undefined, serial: 'NOSUCH-0001' }), status: 404, code: 'DEVICE_UNKNOWN' },
        { what: 'a photo that is not an image', as: 'partner', body: caseBody({ labelPhoto: Buffer.from('<svg/>').toString('base64') }), status: 400, code: 'PHOTO_NOT_IMAGE' },
        { what: 'a photo that is not base64', as: 'partner', body: caseBody({ labelPhoto: 'not base64 at all' }), status: 400, code: 'PHOTO_NOT_BASE64' },
        { what: 'a reset case without its request', as: 'partner', body: caseBody({ kind: 'password-reset' }), status: 400, code: 'BAD_REQUEST' },
        { what: 'a reset request of another device', as: 'partner', body: caseBody({ kind: 'password-reset', resetRequest: `RST1:pnvr8ch-0009:chal-12345678:${Date.now()}` }), status: 400, code: 'RESET_REQUEST_INVALID' },
        { what: 'body that is not JSON', as: 'partner', rawBody: '{"kind":', status: 400, code: 'BAD_JSON' },
      ],
    },
    'GET /api/v1/cases': {
      path: '/api/v1/cases',
      as: 'owner',
      reads: [
        { what: 'cases of the owner', as: 'owner', status: 200 },
        { what: 'cases of the filer', as: 'partner', status: 200 },
        { what: 'cases of a space role', as: 'member', status: 200 },
        { what: 'cases of an account with none', as: 'none', status: 200 },
        { what: 'by state', as: 'owner', path: '/api/v1/cases?state=submitted&limit=5', status: 200 },
        { what: 'next page by cursor', as: 'owner', path: `/api/v1/cases?cursor=${ids.caseCursor}`, status: 200 },
      ],
      refusals: [
        { what: 'unknown state', as: 'owner', path: '/api/v1/cases?state=pending', status: 400, code: 'BAD_REQUEST' },
        { what: 'cursor not ours', as: 'owner', path: '/api/v1/cases?cursor=AAAA', status: 400, code: 'BAD_CURSOR' },
      ],
    },
    'GET /api/v1/cases/:id/photo': {
      path: `/api/v1/cases/${ids.pendingCase}/photo`,
      as: 'partner',
      reads: [
        { what: 'the filer', as: 'partner', status: 200 },
        { what: 'the reviewer', as: 'owner', status: 200 },
      ],
      refusals: [
        { what: 'a space role (neither filer nor reviewer)', as: 'member', status: 403, code: 'NOT_FILER_OR_REVIEWER' },
        { what: 'an account that cannot see the case', as: 'none', status: 404, code: 'CASE_UNKNOWN' },
        { what: 'malformed id', as: 'owner', path: '/api/v1/cases/..%2Fcases/photo', status: 400, code: 'BAD_REQUEST' },
      ],
    },
    'POST /api/v1/cases/:id/approve': {
      path: `/api/v1/cases/${ids.pendingCase}/approve`,
      as: 'owner',
      refusals: [
        { what: 'the filer', as: 'partner', status: 403, code: 'NOT_OWNER' },
        { what: 'a case already decided', as: 'owner', path: `/api/v1/cases/${ids.decidedCase}/approve`, status: 409, code: 'CASE_DECIDED' },
        { what: 'unknown case', as: 'owner', path: '/api/v1/cases/cs-nosuchcase/approve', status: 404, code: 'CASE_UNKNOWN' },
        { what: 'an unknown body field', as: 'owner', body: { force: true }, status: 400, code: 'BAD_REQUEST' },
      ],
    },
    'POST /api/v1/cases/:id/reject': {
      path: `/api/v1/cases/${ids.pendingCase}/reject`,
      as: 'owner',
      body: { reason: 'NOT_BOUND' },
      refusals: [
        { what: 'an account that cannot see it', as: 'none', body: { reason: 'NOT_BOUND' }, status: 404, code: 'CASE_UNKNOWN' },
        { what: 'a space role', as: 'member', body: { reason: 'NOT_BOUND' }, status: 403, code: 'NOT_OWNER' },
        { what: 'an unknown code', as: 'owner', body: { reason: 'I_SAID_SO' }, status: 400, code: 'BAD_REQUEST' },
        { what: 'no body', as: 'owner', status: 400, code: 'BAD_REQUEST' },
        { what: 'a case already decided', as: 'owner', path: `/api/v1/cases/${ids.decidedCase}/reject`, body: { reason: 'NOT_BOUND' }, status: 409, code: 'CASE_DECIDED' },
      ],
    },
    'GET /api/v1/authorizations': {
      path: '/api/v1/authorizations',
      as: 'owner',
      reads: [
        // The accounts without a space: the read shows the built-in roles and creates nothing.
        { what: 'a partner (no space)', as: 'partner', status: 200 },
        { what: 'an account with no rights (no space)', as: 'none', status: 200 },
        { what: 'a member (no space of its own)', as: 'member', status: 200 },
        { what: 'the owner', as: 'owner', status: 200 },
      ],
    },
    'POST /api/v1/authorizations/partners': {
      path: '/api/v1/authorizations/partners',
      as: 'owner',
      body: { pid: 'pdvr4ch', accountId: 'acc-none' },
      refusals: [
        { what: 'not the owner', as: 'partner', body: { pid: 'pqr1cam', accountId: 'acc-none' }, status: 403, code: 'NOT_OWNER' },
        { what: 'unknown product', as: 'owner', body: { pid: 'pnosuch', accountId: 'acc-none' }, status: 404, code: 'PRODUCT_UNKNOWN' },
        { what: 'unknown account', as: 'owner', body: { pid: 'pdvr4ch', accountId: 'acc-nobody' }, status: 404, code: 'ACCOUNT_UNKNOWN' },
        { what: 'the owner itself', as: 'owner', body: { pid: 'pdvr4ch', accountId: 'acc-owner' }, status: 409, code: 'ALREADY_OWNER' },
        { what: 'SQL in the pid', as: 'owner', body: { pid: "pqr1cam'; DROP TABLE accounts;--", accountId: 'acc-none' }, status: 400, code: 'BAD_REQUEST' },
      ],
    },
    'DELETE /api/v1/authorizations/partners/:pid/:accountId': {
      path: '/api/v1/authorizations/partners/pqr1cam/acc-partner',
      as: 'owner',
      refusals: [
        { what: 'no such grant', as: 'owner', path: '/api/v1/authorizations/partners/pdvr4ch/acc-none', status: 404, code: 'GRANT_UNKNOWN' },
        { what: 'not the owner', as: 'partner', status: 403, code: 'NOT_OWNER' },
        { what: 'a partner without a space, unknown product', as: 'partner', path: '/api/v1/authorizations/partners/pnosuch/acc-none', status: 404, code: 'PRODUCT_UNKNOWN' },
      ],
    },
    'POST /api/v1/authorizations/roles': {
      path: '/api/v1/authorizations/roles',
      as: 'owner',
      body: { name: 'Viewer', canUnbind: false },
      refusals: [
        { what: 'a partner (no space) naming a product it does not own', as: 'partner', body: { name: 'Mine', canUnbind: true, pids: ['pqr1cam'] }, status: 403, code: 'NOT_OWNER' },
        { what: 'an unknown product', as: 'none', body: { name: 'Mine', canUnbind: true, pids: ['pnosuch'] }, status: 404, code: 'PRODUCT_UNKNOWN' },
        { what: 'name too long', as: 'owner', body: { name: 'x'.repeat(65), canUnbind: true }, status: 400, code: 'BAD_REQUEST' },
      ],
    },
    'POST /api/v1/authorizations/members': {
      path: '/api/v1/authorizations/members',
      as: 'owner',
      body: { accountId: 'acc-none', roleId: afterSale },
      refusals: [
        // The two refusals the issue saw create a space and two roles.
        { what: 'a partner (no space), unknown role', as: 'partner', body: { accountId: 'acc-none', roleId: 'role-nosuch' }, status: 404, code: 'ROLE_UNKNOWN' },
        { what: 'a partner (no space), unknown account', as: 'partner', body: { accountId: 'acc-nobody', roleId: 'sp-acc-partner-after-sale' }, status: 404, code: 'ACCOUNT_UNKNOWN' },
        { what: 'a role of another space', as: 'none', body: { accountId: 'acc-partner', roleId: afterSale }, status: 404, code: 'ROLE_UNKNOWN' },
        { what: 'unknown account', as: 'owner', body: { accountId: 'acc-nobody', roleId: afterSale }, status: 404, code: 'ACCOUNT_UNKNOWN' },
        { what: 'no body', as: 'owner', status: 400, code: 'BAD_REQUEST' },
      ],
    },
    'DELETE /api/v1/authorizations/members/:accountId': {
      path: '/api/v1/authorizations/members/acc-member',
      as: 'owner',
      refusals: [
        { what: 'a partner (no space)', as: 'partner', path: '/api/v1/authorizations/members/acc-none', status: 404, code: 'MEMBER_UNKNOWN' },
        { what: 'not a member', as: 'owner', path: '/api/v1/authorizations/members/acc-none', status: 404, code: 'MEMBER_UNKNOWN' },
        { what: 'malformed account', as: 'owner', path: '/api/v1/authorizations/members/a', status: 400, code: 'BAD_REQUEST' },
      ],
    },
  });

  const DEVICE_ROUTES = ['POST /device/v1/unbind'];

  /** The routes of the server, each with its entry; HEAD routes answer as their GET does, without a body. */
  function enumerate(): Array<{ route: string; method: string; entry: StationRoute }> {
    const table = stationRoutes();
    return routesOf(h.authority.app)
      .filter((r) => !DEVICE_ROUTES.includes(r))
      .map((route) => {
        const [method, url] = route.split(' ') as [string, string];
        const entry = table[`${method === 'HEAD' ? 'GET' : method} ${url}`];
        if (!entry) throw new Error(`${route} is a route of the authority this test does not know: add its reads and refusals to stationRoutes()`);
        return { route, method, entry };
      });
  }

  /** Runs `call`, then gives what changed in the store. */
  async function changesOf(call: () => Promise<void>): Promise<TableChange[]> {
    const before = snapshotStore(ro);
    await call();
    return changesBetween(before, snapshotStore(ro));
  }

  /** What an authenticated request may write: its own nonce, one row, and nothing else. */
  function expectOnlyItsNonce(changes: TableChange[], role: Role, label: string): void {
    const clientId = h.station(role).account.clientId;
    expect(changes, label).toEqual([{ table: 'api_nonces', added: [{ client_id: clientId, nonce: expect.any(String), seen_at: expect.any(Number) }], removed: [] }]);
  }

  it('given the route tree, then every route is read from it and known to this test', () => {
    const routes = routesOf(h.authority.app);
    for (const r of routes) {
      const [method, url] = r.split(' ') as [string, string];
      expect(h.authority.app.hasRoute({ method: method as 'GET', url }), r).toBe(true);
    }
    expect(routes).toEqual(expect.arrayContaining([...DEVICE_ROUTES, 'GET /api/v1/me', 'HEAD /api/v1/me', 'DELETE /api/v1/authorizations/members/:accountId']));
    expect(enumerate().length).toBe(routes.length - DEVICE_ROUTES.length);
  });

  it('given a write that succeeds, then the comparison sees it (the checksum can fail)', async () => {
    const changes = await changesOf(async () => {
      expect((await h.station('owner').call('POST', '/api/v1/authorizations/roles', { name: 'Probe', canUnbind: false })).status).toBe(201);
    });
    expect(changes.map((c) => c.table).sort()).toEqual(['api_nonces', 'roles']);
  });

  it('given every read-only call of every GET and HEAD route, then only its nonce is written', async () => {
    let calls = 0;
    for (const { route, method, entry } of enumerate()) {
      for (const c of entry.reads ?? []) {
        const label = `${route} ${c.what}`;
        const changes = await changesOf(async () => {
          const r = await h.station(c.as).call(method, c.path ?? entry.path, c.body);
          expect(r.status, `${label}: ${JSON.stringify(r.body)}`).toBe(c.status);
        });
        expectOnlyItsNonce(changes, c.as, label);
        calls++;
      }
    }
    expect(calls).toBeGreaterThanOrEqual(20);
  });

  it('given the result stream of a token, when it is opened and closed, then only its nonce is written; HEAD is no route of it', async () => {
    const owner = h.station('owner');
    const credentials = { url: h.url, clientId: owner.account.clientId, secret: owner.account.secret };
    const path = `/api/v1/unbind-tokens/${ids.ownToken}/events`;
    const changes = await changesOf(async () => {
      const ac = new AbortController();
      const res = await sendSignedRequest(credentials, 'GET', path, { signal: ac.signal, clock: h.now });
      expect(res.status).toBe(200);
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let seen = '';
      while (!seen.includes('event: result')) seen += (await reader.read()).value ?? '';
      ac.abort();
    });
    expectOnlyItsNonce(changes, 'owner', 'GET events');
    // A HEAD of a stream would hold its answer until the token ends (Node sends HEAD headers at the end).
    const head = await changesOf(async () => expect((await sendSignedRequest(credentials, 'HEAD', path, { clock: h.now })).status).toBe(404));
    expect(head).toEqual([]);
  });

  it('given every refusal after the signature checks out (no rights, unknown resource, bad body), then only its nonce is written', async () => {
    let calls = 0;
    for (const { route, method, entry } of enumerate()) {
      for (const c of entry.refusals ?? []) {
        const label = `${route} ${c.what}`;
        const changes = await changesOf(async () => {
          const r = await h.station(c.as).call(method, c.path ?? entry.path, c.body, c.rawBody === undefined ? {} : { rawBody: c.rawBody });
          expect(r.status, `${label}: ${JSON.stringify(r.body)}`).toBe(c.status);
          if (method !== 'HEAD') expect(r.body, label).toEqual({ code: c.code, message: expect.any(String) });
        });
        expectOnlyItsNonce(changes, c.as, label);
        calls++;
      }
    }
    expect(calls).toBeGreaterThanOrEqual(40);
  });

  it('given an unknown query parameter on every station route, then 400 UNKNOWN_QUERY_PARAMETER naming it, and only the nonce is written', async () => {
    for (const { route, method, entry } of enumerate()) {
      const path = withQuery(entry.path, 'sneaky=1');
      const changes = await changesOf(async () => {
        const r = await h.station(entry.as).call(method, path, entry.body);
        expect(r.status, route).toBe(400);
        if (method !== 'HEAD') expect(r.body, route).toEqual({ code: 'UNKNOWN_QUERY_PARAMETER', message: expect.stringContaining('"sneaky"') });
      });
      expectOnlyItsNonce(changes, entry.as, route);
    }
    // A route that takes a query names what it takes.
    const r = await h.station('owner').call('GET', '/api/v1/device-logs?limit=5&sort=desc');
    expect(r.body.message).toMatch(/"sort".*limit/);
  });

  /** The signature refusals, each answered 401 {code, message} on every station route and writing nothing. */
  type SignatureCase = [string, (route: string, method: string, entry: StationRoute) => Promise<void>];
  async function expectSignatureRefusals(cases: SignatureCase[]): Promise<void> {
    for (const { route, method, entry } of enumerate()) {
      for (const [what, call] of cases) expect(await changesOf(() => call(route, method, entry)), `${route} ${what}`).toEqual([]);
    }
  }
  const withQuery = (path: string, q: string): string => `${path}${path.includes('?') ? '&' : '?'}${q}`;
  function unsignedCase(what: string, query: string | null, message: RegExp, sent?: { body: string; type: string }): SignatureCase {
    return [
      what,
      async (route, method, entry) => {
        const given = sent ?? (entry.body === undefined ? undefined : { body: JSON.stringify(entry.body), type: 'application/json' });
        // GET and HEAD carry no body.
        const body = method === 'GET' || method === 'HEAD' ? undefined : given;
        const res = await fetch(h.url + (query ? withQuery(entry.path, query) : entry.path), { method, ...(body ? { body: body.body, headers: { 'content-type': body.type } } : {}) });
        expect(res.status, `${route} ${what}`).toBe(401);
        if (method !== 'HEAD') expect(await res.json(), `${route} ${what}`).toEqual({ code: 'SIGN_MISSING', message: expect.stringMatching(message) });
      },
    ];
  }
  function tamperedCase(what: string, opts: { t?: number; tamper?: (hd: Record<string, string>) => void }, answer: { code: string; message?: string | RegExp }): SignatureCase {
    return [
      what,
      async (route, method, entry) => {
        const r = await h.station(entry.as).call(method, entry.path, entry.body, opts);
        expect(r.status, `${route} ${what}`).toBe(401);
        const message = answer.message instanceof RegExp ? expect.stringMatching(answer.message) : (answer.message ?? expect.any(String));
        if (method !== 'HEAD') expect(r.body, `${route} ${what}`).toEqual({ code: answer.code, message });
      },
    ];
  }

  it('given no signature headers, or only some, on every station route, then 401 SIGN_MISSING naming them, and nothing is written', async () => {
    await expectSignatureRefusals([
      unsignedCase('no signature headers', null, /not signed.*client_id, t, nonce, sign_method, sign/),
      // The signature is checked before the query: an unsigned request learns nothing of the route.
      unsignedCase('no signature headers, an unknown query', 'sneaky=1', /not signed/),
      // The body, too, is refused only once the signature checks out.
      unsignedCase('no signature headers, a body that is not JSON', null, /not signed/, { body: '{"capacity":', type: 'application/json' }),
      unsignedCase('no signature headers, another content type', null, /not signed/, { body: 'capacity=5', type: 'application/x-www-form-urlencoded' }),
      ...(['sign', 'nonce', 't'] as const).map((header) => tamperedCase(`without header ${header}`, { tamper: (hd) => delete hd[header] }, { code: 'SIGN_MISSING', message: `signing header missing: ${header}` })),
      tamperedCase('with only client_id', { tamper: (hd) => ['t', 'nonce', 'sign_method', 'sign'].forEach((k) => delete hd[k]) }, { code: 'SIGN_MISSING', message: 'signing headers missing: t, nonce, sign_method, sign' }),
    ]);
  });

  it('given a malformed header, a forged signature or an unknown account on every station route, then 401 {code, message} and nothing is written', async () => {
    await expectSignatureRefusals([
      tamperedCase('sign_method MD5', { tamper: (hd) => (hd.sign_method = 'MD5') }, { code: 'SIGN_MALFORMED', message: /^header\.sign_method: / }),
      tamperedCase('t not a time', { tamper: (hd) => (hd.t = 'yesterday') }, { code: 'SIGN_MALFORMED', message: /^header\.t: / }),
      tamperedCase('a forged signature', { tamper: (hd) => (hd.sign = hd.sign!.replace(/^./, (ch) => (ch === 'A' ? 'B' : 'A'))) }, { code: 'SIGN_INVALID' }),
      tamperedCase('an unknown account', { tamper: (hd) => (hd.client_id = 'nobody-at-all') }, { code: 'CLIENT_UNKNOWN' }),
    ]);
  });

  it('given a signature 10 minutes old on every station route, then 401 CLOCK_SKEW and nothing is written (not even the nonce)', async () => {
    await expectSignatureRefusals([tamperedCase('a stale t', { t: h.now() - 10 * 60_000 }, { code: 'CLOCK_SKEW' })]);
  });

  it('given the device route, when its body or query does not parse, then 400 {code, message} and nothing is written', async () => {
    const dev = eligible(h, 'pnvr8ch')[0]!;
    const token = await h.station('owner').issueToken(2);
    const ts = h.now();
    const nonce = randomUrlSafe(24);
    // A request that would unbind, were its query not refused.
    const valid = JSON.stringify({ devId: dev.devId, token: token.token, ts, nonce, sig: signDeviceRequest(dev.deviceKey, dev.devId, token.token, ts, nonce) });
    const cases: Array<[string, string, string, string]> = [
      ['truncated JSON', '', 'application/json', '{"devId":'],
      ['invalid UTF-8', '', 'application/json', '\u00ff'],
      ['not an object', '', 'application/json', '[1,2,3]'],
      ['no fields', '', 'application/json', '{}'],
      ['a field too many', '', 'application/json', JSON.stringify({ ...JSON.parse(valid), admin: true })],
      ['not JSON at all', '', 'text/plain', 'unbind please'],
      ['an unknown query parameter', '?sneaky=1', 'application/json', valid],
    ];
    expect(routesOf(h.authority.app).filter((r) => r.startsWith('POST /device/'))).toEqual(DEVICE_ROUTES);
    for (const [what, query, type, body] of cases) {
      const changes = await changesOf(async () => {
        const res = await fetch(`${h.url}/device/v1/unbind${query}`, { method: 'POST', headers: { 'content-type': type }, body: what === 'invalid UTF-8' ? new Uint8Array([0x7b, 0xff, 0x7d]) : body });
        expect(res.status, what).toBe(400);
        expect(await res.json(), what).toEqual({ code: expect.any(String), message: expect.any(String) });
      });
      expect(changes, what).toEqual([]);
    }
  });

  it('given all the calls above, then no account gained a space or a role (the spaces and roles the issue saw grow)', () => {
    expect(ro.prepare('SELECT owner_id FROM spaces ORDER BY owner_id').pluck().all()).toEqual(['acc-ay-owner', 'acc-owner']);
    expect(ro.prepare("SELECT COUNT(*) FROM roles WHERE space_id NOT IN ('sp-acc-owner', 'sp-acc-ay-owner')").pluck().get()).toBe(0);
  });
});
