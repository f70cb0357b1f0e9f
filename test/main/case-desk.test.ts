import Database from 'better-sqlite3';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { openHistoryStore, type HistoryStore } from '../../src/history/index.js';
import { CASE_POLL_MAX_PAGES, CASE_POLL_PAGE, createCaseDesk, type CaseDesk } from '../../src/main/case-desk.js';
import { createEventHub } from '../../src/main/event-hub.js';
import { createSessionManager, type SessionManager } from '../../src/main/station-session.js';
import type { CaseView, StationEvent } from '../../src/protocol/index.js';
import { startHarness, type Harness } from '../support/authority-harness.js';
import { startForwardingProxy, type ForwardingProxy } from '../support/forwarding-proxy.js';

/**
 * The station's case desk (DESIGN §4.10) on real parts: the real authority over HTTP on 127.0.0.1 with the
 * demo world, the station's real session (its signed authority client), a real history SQLite file and the
 * station's event hub. The station reaches the authority through a plain forwarding HTTP proxy that counts
 * the case-list requests, so that the work of one tick is measured. Its poll is driven one tick at a time (`pollNow`, what its timer runs), so that each
 * test says how many ticks a decision takes to reach the filer.
 */
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('label of the device')]).toString('base64');

describe('station case desk: following open cases, and their outcome in the history', () => {
  let h: Harness;
  let dir: string;
  let history: HistoryStore;
  let sessions: SessionManager;
  let desk: CaseDesk;
  const events: StationEvent[] = [];
  const logged: string[] = [];
  let proxy: ForwardingProxy;
  let proxyUrl = '';
  let listRequestCount = 0;

  beforeAll(async () => {
    h = await startHarness();
    proxy = await startForwardingProxy(h.url, { seen: (req) => void (req.method === 'GET' && /^\/api\/v1\/cases(\?|$)/.test(req.url ?? '') && listRequestCount++) });
    proxyUrl = proxy.url;
  });
  afterAll(async () => {
    await proxy.close();
    await h.close();
  });
  beforeEach(async () => {
    dir = mkdtempSync(join(tmpdir(), 'case-desk-'));
    history = openHistoryStore(join(dir, 'history.db'));
    sessions = createSessionManager({
      authorityUrl: proxyUrl,
      stationId: 'desk-station',
      demoAccounts: h.demo.accounts.map(({ accountId, name, role, region, clientId, secret }) => ({ accountId, name, role, region, clientId, secret })),
    });
    const hub = createEventHub();
    events.length = 0;
    logged.length = 0;
    hub.subscribe((e) => events.push(e));
    // The timer never fires during a test: each tick is the test's own.
    desk = createCaseDesk({ sessions, history, hub, stationId: 'desk-station', pollMs: 3_600_000, log: (msg, f) => logged.push(`${msg} ${JSON.stringify(f)}`) });
    await sessions.signIn({ demoAccountId: 'acc-partner', operator: 'Pia' });
  });
  afterEach(() => {
    desk.close();
    history.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const partnerDevices = () => h.devices((d) => d.pid === 'pqr1cam' && d.bound);
  const asOwner = () => h.station('owner');
  const caseRows = (caseId: string) => history.query({ accountId: 'acc-partner', allPids: [], ownPids: ['pqr1cam'] }, { batchId: caseId }).items;
  const caseEvents = (caseId: string) => events.filter((e): e is Extract<StationEvent, { type: 'case' }> => e.type === 'case' && e.case.id === caseId);
  /** The station's requests for the case list so far. */
  const listRequests = () => listRequestCount;

  it('given an open case older than several pages of newer cases, then it is followed to its decision, a bounded number of pages per tick', async () => {
    const old = await desk.handlers.fileCase({ kind: 'unbind', devId: partnerDevices()[0]!.devId, labelPhoto: PNG });
    expect(old.state).toBe('submitted');
    // Then more cases than the ticks read in one go are filed after it (straight to the authority: other stations).
    const newer = CASE_POLL_PAGE * CASE_POLL_MAX_PAGES + 1;
    const devs = partnerDevices();
    for (let i = 0; i < newer; i++) h.authority.services.cases!.file('acc-partner', { kind: 'unbind', devId: devs[1 + (i % (devs.length - 1))]!.devId, labelPhoto: PNG }, h.now());
    expect((await asOwner().call('POST', `/api/v1/cases/${old.id}/approve`, {})).status).toBe(200);

    let before = listRequests();
    await desk.pollNow();
    // The first tick reads its pages and stops there: the old case is one page further down.
    expect(listRequests() - before).toBe(CASE_POLL_MAX_PAGES);
    expect(caseEvents(old.id)).toEqual([]);
    before = listRequests();
    await desk.pollNow();
    expect(listRequests() - before).toBe(1);
    expect(caseEvents(old.id)).toMatchObject([{ case: { id: old.id, state: 'approved', reviewer: 'acc-owner' } }]);
    expect(caseRows(old.id)).toMatchObject([{ method: 'case', result: 'UNBOUND', code: null, operator: 'Pia', devId: old.devId }]);
  }, 60_000);

  it('given a case filed while a sweep is half-way down the list, then the sweep\'s end does not drop it: its decision still reaches the filer', async () => {
    const old = await desk.handlers.fileCase({ kind: 'unbind', devId: partnerDevices()[0]!.devId, labelPhoto: PNG });
    const devs = partnerDevices();
    for (let i = 0; i < CASE_POLL_PAGE * CASE_POLL_MAX_PAGES + 1; i++) h.authority.services.cases!.file('acc-partner', { kind: 'unbind', devId: devs[1 + (i % (devs.length - 1))]!.devId, labelPhoto: PNG }, h.now());
    await desk.pollNow(); // the sweep stops a page short of the old case
    // Filed now, newer than every page the sweep has read: the sweep will not meet it before the list's end.
    const filed = await desk.handlers.fileCase({ kind: 'unbind', devId: devs[1]!.devId, labelPhoto: PNG });
    expect((await asOwner().call('POST', `/api/v1/cases/${filed.id}/approve`, {})).status).toBe(200);
    const visible = h.authority.services.db.prepare("SELECT COUNT(*) FROM cases WHERE filer_id = 'acc-partner'").pluck().get() as number;
    const ticksForTwoSweeps = 2 * Math.ceil(Math.ceil(visible / CASE_POLL_PAGE) / CASE_POLL_MAX_PAGES) + 1;
    for (let i = 0; i < ticksForTwoSweeps && caseEvents(filed.id).length === 0; i++) await desk.pollNow();
    expect(caseEvents(filed.id)).toMatchObject([{ case: { id: filed.id, state: 'approved' } }]);
    expect(old.state).toBe('submitted');
  }, 60_000);

  it('given a followed case the account no longer sees, then the sweep that reaches the list end stops following it', async () => {
    const mine = await desk.handlers.fileCase({ kind: 'unbind', devId: partnerDevices()[2]!.devId, labelPhoto: PNG });
    // The authority no longer shows it to the partner (as if the row were gone).
    const db = h.authority.services.db;
    db.prepare('UPDATE cases SET filer_id = ? WHERE id = ?').run('acc-owner', mine.id);
    // Every other case of the partner is decided, so that it is the only one left to follow.
    const open = db.prepare("SELECT id FROM cases WHERE filer_id = 'acc-partner' AND state = 'submitted'").pluck().all() as string[];
    for (const id of open) h.authority.services.cases!.reject('acc-owner', id, { reason: 'NOT_BOUND' }, h.now());
    try {
      const visible = db.prepare("SELECT COUNT(*) FROM cases WHERE filer_id = 'acc-partner'").pluck().get() as number;
      const ticksToTheEnd = Math.ceil(Math.ceil(visible / CASE_POLL_PAGE) / CASE_POLL_MAX_PAGES);
      for (let i = 0; i < ticksToTheEnd; i++) await desk.pollNow();
      const before = listRequests();
      await desk.pollNow();
      expect(listRequests() - before).toBe(0);
    } finally {
      db.prepare('UPDATE cases SET filer_id = ? WHERE id = ?').run('acc-partner', mine.id);
    }
  }, 60_000);

  it('given the history write failing when the decision arrives, then the row is written on a later tick, once', async () => {
    const c = await desk.handlers.fileCase({ kind: 'unbind', devId: partnerDevices()[3]!.devId, labelPhoto: PNG });
    expect((await asOwner().call('POST', `/api/v1/cases/${c.id}/approve`, {})).status).toBe(200);
    // A real failure of the real file: a second connection makes every insert abort (as a full disk would).
    const other = new Database(join(dir, 'history.db'));
    other.exec("CREATE TRIGGER no_room BEFORE INSERT ON attempts BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END");
    await desk.pollNow();
    expect(caseEvents(c.id)).toMatchObject([{ case: { state: 'approved' } }]);
    expect(caseRows(c.id)).toEqual([]);
    expect(logged.some((l) => l.includes(c.id) && l.includes('disk is full'))).toBe(true);
    other.exec('DROP TRIGGER no_room');
    other.close();
    // Nothing is open any more, and yet the outcome still waiting is written on the next tick.
    await desk.pollNow();
    expect(caseRows(c.id)).toMatchObject([{ method: 'case', result: 'UNBOUND' }]);
    // Seen again (listed, polled), it is not written twice.
    await desk.handlers.listCases({ limit: 50 });
    await desk.pollNow();
    expect(caseRows(c.id)).toHaveLength(1);
    expect(caseEvents(c.id)).toHaveLength(1);
  }, 60_000);

  it.each([
    ['NOT_VERIFIED', 'FAILED', 'NOT_VERIFIED'],
    ['UNAUTHORIZED', 'FAILED', 'UNAUTHORIZED'],
    ['SERIAL_MISMATCH', 'FAILED', 'SERIAL_MISMATCH'],
    ['NOT_BOUND', 'NOT_BOUND', null],
  ] as const)('given a case the owner rejects with %s, then the history records %s %s', async (reason, result, code) => {
    const devs = partnerDevices();
    const c = await desk.handlers.fileCase({ kind: 'unbind', devId: devs[4 + ['NOT_VERIFIED', 'UNAUTHORIZED', 'SERIAL_MISMATCH', 'NOT_BOUND'].indexOf(reason)]!.devId, labelPhoto: PNG });
    const rejected = await asOwner().call<CaseView>('POST', `/api/v1/cases/${c.id}/reject`, { reason });
    expect(rejected.body).toMatchObject({ state: 'rejected', rejectCode: reason });
    await desk.pollNow();
    expect(caseEvents(c.id)).toMatchObject([{ case: { state: 'rejected', rejectCode: reason } }]);
    expect(caseRows(c.id)).toMatchObject([{ method: 'case', result, code }]);
  });
});
