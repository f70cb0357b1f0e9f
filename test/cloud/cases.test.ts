import Database from 'better-sqlite3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { sendSignedRequest } from '../../src/batch/station-authority-client.js';
import { caseDueAt } from '../../src/cloud/office-hours.js';
import { computeResetCode } from '../../src/cloud/reset-codes.js';
import { MAX_LABEL_PHOTO_BYTES, type CaseView } from '../../src/protocol/index.js';
import { eligible, startHarness, type Harness } from '../support/authority-harness.js';

/**
 * Cases over real HTTP on either store (DESIGN §4.10, issues 12 and 10): a verified installer files, the
 * product's owner approves (the unbind, its quota and its log in one transaction) or rejects with a code.
 */
const PNG = Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from('IHDR label photo of QC1-2611-000001')]);
const JPEG = Buffer.concat([Buffer.from([0xff, 0xd8, 0xff, 0xe0]), Buffer.from('JFIF label')]);
const b64 = (b: Buffer): string => b.toString('base64');

function unbindCase(devId: string, extra: Record<string, unknown> = {}) {
  return { kind: 'unbind', devId, labelPhoto: b64(PNG), ...extra };
}

/** Rows of the tables a case touches, to show a refusal changed nothing (either store). */
const storeState = (h: Harness): Promise<string> => h.dump(['cases', 'bindings', 'shares', 'quota_usage', 'device_logs']);

describe('cases: filing, scoping and the photo (real HTTP)', () => {
  let h: Harness;
  let partnerCase: CaseView;
  let oemCase: CaseView;
  beforeAll(async () => {
    h = await startHarness();
    await h.authority.store.accounts.setVerifiedInstaller('acc-oem', true);
    const p = await h.station('partner').call('POST', '/api/v1/cases', unbindCase(eligible(h, 'pqr1cam')[0]!.devId, { note: 'returned by the customer' }));
    expect(p.status, JSON.stringify(p.body)).toBe(201);
    partnerCase = p.body;
    const o = await h.station('oem').call('POST', '/api/v1/cases', { kind: 'unbind', serial: eligible(h, 'poemcam')[0]!.serial, labelPhoto: b64(JPEG) });
    expect(o.status, JSON.stringify(o.body)).toBe(201);
    oemCase = o.body;
  });
  afterAll(() => h?.close());

  it('given a filed case, then it is submitted, names the device by devId and serial, and is due', () => {
    const dev = eligible(h, 'pqr1cam')[0]!;
    expect(partnerCase).toMatchObject({ kind: 'unbind', state: 'submitted', devId: dev.devId, serial: dev.serial, labelSerial: null, pid: 'pqr1cam', filer: 'acc-partner', note: 'returned by the customer', photo: { type: 'image/png', bytes: PNG.length }, reviewer: null });
    expect(oemCase).toMatchObject({ devId: eligible(h, 'poemcam')[0]!.devId, labelSerial: eligible(h, 'poemcam')[0]!.serial, photo: { type: 'image/jpeg' } });
    expect(Date.parse(partnerCase.dueAt)).toBe(caseDueAt(Date.parse(partnerCase.filedAt), 'UTC'));
  });

  it('given cases of two filers, then the owner sees all on its products, a space role all, each filer its own, the rest nothing', async () => {
    const ids = async (role: 'owner' | 'partner' | 'member' | 'none' | 'oem'): Promise<string[]> => {
      const r = await h.station(role).call('GET', '/api/v1/cases');
      expect(r.status).toBe(200);
      return r.body.items.map((c: CaseView) => c.id).sort();
    };
    expect(await ids('owner')).toEqual([partnerCase.id, oemCase.id].sort());
    expect(await ids('partner')).toEqual([partnerCase.id]);
    expect(await ids('oem')).toEqual([oemCase.id]);
    // The After-sale role covers pqr1cam, not the OEM camera.
    expect(await ids('member')).toEqual([partnerCase.id]);
    expect(await ids('none')).toEqual([]);
    const ay = await h.station('owner', 'AY').call('GET', '/api/v1/cases');
    expect(ay.body.items).toEqual([]);
    // Filtered by state, paged by cursor.
    expect((await h.station('owner').call('GET', '/api/v1/cases?state=approved')).body.items).toEqual([]);
    const first = await h.station('owner').call('GET', '/api/v1/cases?limit=1');
    expect(first.body.items).toHaveLength(1);
    const next = await h.station('owner').call('GET', `/api/v1/cases?limit=1&cursor=${first.body.nextCursor}`);
    expect(next.body.items.map((c: CaseView) => c.id)).not.toEqual(first.body.items.map((c: CaseView) => c.id));
    expect(next.body.nextCursor).toBeNull();
  });

  it('given the label photo, then the filer and the reviewer get its bytes with its content type, nobody else', async () => {
    const get = async (role: 'owner' | 'partner' | 'member' | 'none' | 'oem', id = partnerCase.id) => {
      const a = h.station(role).account;
      return sendSignedRequest({ url: h.url, clientId: a.clientId, secret: a.secret }, 'GET', `/api/v1/cases/${id}/photo`, { clock: h.now });
    };
    for (const role of ['partner', 'owner'] as const) {
      const res = await get(role);
      expect(res.status, role).toBe(200);
      expect(res.headers.get('content-type'), role).toBe('image/png');
      expect(Buffer.from(await res.arrayBuffer()).equals(PNG), role).toBe(true);
    }
    const jpeg = await get('oem', oemCase.id);
    expect(jpeg.headers.get('content-type')).toBe('image/jpeg');
    // The member sees the case in its list, not the photo; the others do not learn the case exists.
    expect((await get('member')).status).toBe(403);
    expect(await (await get('none')).json()).toMatchObject({ code: 'CASE_UNKNOWN' });
    expect((await get('oem')).status).toBe(404);
    expect((await get('partner', oemCase.id)).status).toBe(404);
  });

  it('given filings that may not be filed, then each is refused with its code and nothing is written', async () => {
    const dev = eligible(h, 'pqr1cam')[1]!;
    const before = await storeState(h);
    const refusals: Array<[string, 'owner' | 'partner' | 'none', unknown, number, string]> = [
      ['an account that is not a verified installer', 'none', unbindCase(dev.devId), 403, 'NOT_VERIFIED'],
      ['a product the installer may not unbind', 'partner', unbindCase(eligible(h, 'pdvr4ch')[0]!.devId), 403, 'UNAUTHORIZED'],
      ['a device nobody knows', 'partner', unbindCase('pqr1cam-9999'), 404, 'DEVICE_UNKNOWN'],
      ['a photo that is not an image', 'partner', unbindCase(dev.devId, { labelPhoto: b64(Buffer.from('%PDF-1.7 this is a label, honest')) }), 400, 'PHOTO_NOT_IMAGE'],
      ['a photo that is not base64', 'partner', unbindCase(dev.devId, { labelPhoto: 'iVBORw0KGgo!!!' }), 400, 'PHOTO_NOT_BASE64'],
      ['base64 with a newline', 'partner', unbindCase(dev.devId, { labelPhoto: `${b64(PNG).slice(0, 8)}\n${b64(PNG).slice(8)}` }), 400, 'PHOTO_NOT_BASE64'],
      ['no device named', 'partner', { kind: 'unbind', labelPhoto: b64(PNG) }, 400, 'BAD_REQUEST'],
      ['an unbind case with a reset request', 'partner', unbindCase(dev.devId, { resetRequest: 'RST1:x' }), 400, 'BAD_REQUEST'],
      ['an unknown field', 'partner', unbindCase(dev.devId, { force: true }), 400, 'BAD_REQUEST'],
    ];
    for (const [what, role, body, status, code] of refusals) {
      const r = await h.station(role).call('POST', '/api/v1/cases', body);
      expect(r.status, what).toBe(status);
      expect(r.body, what).toEqual({ code, message: expect.any(String) });
    }
    expect(await storeState(h)).toBe(before);
  });

  it('given a photo over 5 MB, then 413 PHOTO_TOO_LARGE; one of exactly 5 MB is filed (the route takes its body)', async () => {
    const dev = eligible(h, 'pqr1cam')[2]!;
    const big = (n: number): Buffer => Buffer.concat([JPEG, Buffer.alloc(n - JPEG.length, 7)]);
    const before = await storeState(h);
    const over = await h.station('partner').call('POST', '/api/v1/cases', unbindCase(dev.devId, { labelPhoto: b64(big(MAX_LABEL_PHOTO_BYTES + 1)) }));
    expect(over.status).toBe(413);
    expect(over.body).toEqual({ code: 'PHOTO_TOO_LARGE', message: expect.stringContaining(String(MAX_LABEL_PHOTO_BYTES)) });
    // A text longer than any 5 MB photo's base64 is refused before it is decoded.
    const longer = await h.station('partner').call('POST', '/api/v1/cases', unbindCase(dev.devId, { labelPhoto: b64(big(MAX_LABEL_PHOTO_BYTES + 4)) }));
    expect(longer.body.code).toBe('BAD_REQUEST');
    expect(await storeState(h)).toBe(before);
    const exact = await h.station('partner').call('POST', '/api/v1/cases', unbindCase(dev.devId, { labelPhoto: b64(big(MAX_LABEL_PHOTO_BYTES)) }));
    expect(exact.status, JSON.stringify(exact.body).slice(0, 200)).toBe(201);
    expect(exact.body.photo.bytes).toBe(MAX_LABEL_PHOTO_BYTES);
    // Any other route keeps its small body limit.
    const huge = await h.station('partner').call('POST', '/api/v1/quota-tickets', { reason: 'x'.repeat(200_000) });
    expect(huge.status).toBe(413);
  });
});

describe('cases: approve and reject (real HTTP, quota in the same transaction)', () => {
  let h: Harness;
  afterEach(() => h?.close());

  const file = async (devId: string): Promise<CaseView> => {
    const r = await h.station('partner').call('POST', '/api/v1/cases', unbindCase(devId));
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body;
  };

  it('given an unbind case, when the owner approves it, then binding and shares are gone, one quota unit is spent and the log says so', async () => {
    h = await startHarness({ fakeClockStart: Date.parse('2026-12-02T10:00:00Z') });
    // A device of the partner's product with shares (every 7th is shared).
    const shared = await Promise.all(eligible(h, 'pqr1cam').map(async (d) => ((await h.authority.store.registry.sharesOf(d.devId)).length > 0 ? d : null)));
    const dev = shared.find((d) => d !== null)!;
    const c = await file(dev.devId);
    const quotaOf = async (role: 'partner' | 'owner') => (await h.station(role).call('GET', '/api/v1/quota')).body;
    const q0 = await quotaOf('partner');
    const r = await h.station('owner').call('POST', `/api/v1/cases/${c.id}/approve`);
    expect(r.status, JSON.stringify(r.body)).toBe(200);
    expect(r.body).toMatchObject({ id: c.id, state: 'approved', reviewer: 'acc-owner', decidedAt: '2026-12-02T10:00:00.000Z', rejectCode: null });
    expect(await h.authority.store.registry.bindingOf(dev.devId)).toBeUndefined();
    expect(await h.authority.store.registry.sharesOf(dev.devId)).toEqual([]);
    const q1 = await quotaOf('partner');
    expect(q1.account.used).toBe(q0.account.used + 1);
    expect(q1.products.find((p: { pid: string }) => p.pid === 'pqr1cam').used).toBe(q0.products.find((p: { pid: string }) => p.pid === 'pqr1cam').used + 1);
    // The partner's history shows the unbind, made by the partner, naming the case.
    const logs = await h.station('partner').call('GET', `/api/v1/device-logs?devId=${dev.devId}`);
    expect(logs.body.items).toEqual([expect.objectContaining({ devId: dev.devId, result: 'UNBOUND', operator: 'acc-partner', batchRef: `case:${c.id}`, tokenId: null })]);
    // The filer sees the new state.
    const seen = await h.station('partner').call('GET', '/api/v1/cases');
    expect(seen.body.items[0]).toMatchObject({ id: c.id, state: 'approved' });
    // Decided once.
    const again = await h.station('owner').call('POST', `/api/v1/cases/${c.id}/approve`);
    expect(again.body).toMatchObject({ code: 'CASE_DECIDED' });
  });

  it('given the filer has one unbind of quota left and two cases, then the first approval unbinds and the second is refused with nothing changed', async () => {
    h = await startHarness({ accountLimit: 1, fakeClockStart: Date.parse('2026-12-02T10:00:00Z') });
    const [a, b] = eligible(h, 'pnvr8ch');
    const c1 = await file(a!.devId);
    const c2 = await file(b!.devId);
    expect((await h.station('owner').call('POST', `/api/v1/cases/${c1.id}/approve`)).status).toBe(200);
    const before = await storeState(h);
    const refused = await h.station('owner').call('POST', `/api/v1/cases/${c2.id}/approve`);
    expect(refused.status).toBe(409);
    expect(refused.body).toEqual({ code: 'QUOTA_ACCOUNT', message: expect.any(String) });
    expect(await storeState(h)).toBe(before);
    expect(await h.authority.store.registry.bindingOf(b!.devId)).toBeDefined();
    expect((await h.station('partner').call('GET', '/api/v1/quota')).body.account).toMatchObject({ used: 1, limit: 1 });
    // The next day the quota is there again, and the same case goes through.
    h.setNow(Date.parse('2026-12-03T10:00:00Z'));
    expect((await h.station('owner').call('POST', `/api/v1/cases/${c2.id}/approve`)).body).toMatchObject({ state: 'approved' });
  });

  it('given one unbind of quota left and two cases approved at the same moment, then exactly one unbinds', async () => {
    h = await startHarness({ accountLimit: 1, fakeClockStart: Date.parse('2026-12-02T10:00:00Z') });
    const devs = eligible(h, 'pnvr8ch').slice(0, 2);
    const cs = await Promise.all(devs.map((d) => file(d.devId)));
    const answers = await Promise.all(cs.map((c) => h.station('owner').call('POST', `/api/v1/cases/${c.id}/approve`)));
    expect(answers.map((a) => a.status).sort()).toEqual([200, 409]);
    const bindings = await Promise.all(devs.map((d) => h.authority.store.registry.bindingOf(d.devId)));
    expect(bindings.filter((b) => b === undefined)).toHaveLength(1);
    expect(await h.scalar("SELECT used FROM quota_usage WHERE scope = 'account' AND key = 'acc-partner'")).toBe(1);
    expect(await h.scalar("SELECT used FROM quota_usage WHERE scope = 'product' AND key = 'pnvr8ch'")).toBe(1);
    expect(await h.scalar("SELECT COUNT(*) FROM device_logs WHERE batch_ref LIKE 'case:%'")).toBe(1);
  });

  it('given approvals that may not be made, then each is refused and nothing changes', async () => {
    h = await startHarness({ fakeClockStart: Date.parse('2026-12-02T10:00:00Z') });
    const unbound = h.devices((d) => d.pid === 'pqr1cam' && !d.bound)[0]!;
    const notBound = await file(unbound.devId);
    const revoked = await file(eligible(h, 'pnvr8ch')[0]!.devId);
    const unverified = await file(eligible(h, 'pqr1cam')[0]!.devId);
    const pending = await file(eligible(h, 'pqr1cam')[1]!.devId);
    expect((await h.station('owner').call('DELETE', '/api/v1/authorizations/partners/pnvr8ch/acc-partner')).status).toBe(200);
    const before = await storeState(h);
    const tries: Array<[string, 'owner' | 'partner' | 'member' | 'none', string, number, string]> = [
      ['a device bound to nobody', 'owner', notBound.id, 409, 'NOT_BOUND'],
      ['a filer whose grant was revoked', 'owner', revoked.id, 409, 'UNAUTHORIZED'],
      ['the filer approving its own case', 'partner', pending.id, 403, 'NOT_OWNER'],
      ['a space role (sees the case, does not review it)', 'member', pending.id, 403, 'NOT_OWNER'],
      ['an account that cannot see it', 'none', pending.id, 404, 'CASE_UNKNOWN'],
      ['an unknown case', 'owner', 'cs-nosuchcase', 404, 'CASE_UNKNOWN'],
    ];
    for (const [what, role, id, status, code] of tries) {
      const r = await h.station(role).call('POST', `/api/v1/cases/${id}/approve`);
      expect(r.status, what).toBe(status);
      expect(r.body, what).toEqual({ code, message: expect.any(String) });
    }
    await h.authority.store.accounts.setVerifiedInstaller('acc-partner', false);
    const r = await h.station('owner').call('POST', `/api/v1/cases/${unverified.id}/approve`);
    expect(r.body).toMatchObject({ code: 'NOT_VERIFIED' });
    expect(await storeState(h)).toBe(before);
  });

  it('given cases to reject, then each reject code is kept with its note, the device stays bound, and a decided case is not decided again', async () => {
    h = await startHarness({ fakeClockStart: Date.parse('2026-12-02T10:00:00Z') });
    const devs = eligible(h, 'pqr1cam').slice(0, 4);
    const codes = ['SERIAL_MISMATCH', 'NOT_BOUND', 'NOT_VERIFIED', 'UNAUTHORIZED'] as const;
    for (const [i, code] of codes.entries()) {
      const c = await file(devs[i]!.devId);
      const r = await h.station('owner').call('POST', `/api/v1/cases/${c.id}/reject`, { reason: code, note: `label says ${i}` });
      expect(r.status, code).toBe(200);
      expect(r.body, code).toMatchObject({ state: 'rejected', rejectCode: code, reviewNote: `label says ${i}`, reviewer: 'acc-owner' });
      expect(await h.authority.store.registry.bindingOf(devs[i]!.devId), code).toBeDefined();
      expect((await h.station('owner').call('POST', `/api/v1/cases/${c.id}/approve`)).body.code).toBe('CASE_DECIDED');
    }
    const c = await file(devs[0]!.devId);
    const before = await storeState(h);
    for (const [body, status, code] of [
      [{ reason: 'BECAUSE' }, 400, 'BAD_REQUEST'],
      [{ note: 'no reason' }, 400, 'BAD_REQUEST'],
      [{ reason: 'NOT_BOUND', note: 'x'.repeat(501) }, 400, 'BAD_REQUEST'],
    ] as const) {
      const r = await h.station('owner').call('POST', `/api/v1/cases/${c.id}/reject`, body);
      expect([r.status, r.body.code]).toEqual([status, code]);
    }
    expect((await h.station('partner').call('POST', `/api/v1/cases/${c.id}/reject`, { reason: 'NOT_BOUND' })).body.code).toBe('NOT_OWNER');
    expect(await storeState(h)).toBe(before);
    expect((await h.station('partner').call('GET', '/api/v1/cases?state=rejected')).body.items).toHaveLength(4);
  });
});

describe('cases: password reset (real HTTP)', () => {
  let h: Harness;
  afterAll(() => h?.close());
  const at = Date.parse('2026-12-02T10:00:00Z');

  it('given a reset case from the XML file or the QR text, when approved, then the reset code is answered to filer and reviewer, and is in no log line and no column', async () => {
    h = await startHarness({ fakeClockStart: at });
    const [d1, d2] = eligible(h, 'pnvr8ch');
    const xml = `<?xml version="1.0" encoding="UTF-8"?>\n<ResetRequest><DeviceSN>${d1!.serial}</DeviceSN><Challenge>chal-AAAA1111</Challenge><IssuedAt>${new Date(at - 3_600_000).toISOString()}</IssuedAt></ResetRequest>`;
    const qr = `RST1:${d2!.devId}:chal-BBBB2222:${at - 47 * 3_600_000}`;
    const codes: string[] = [];
    for (const [dev, text, challenge] of [[d1!, xml, 'chal-AAAA1111'], [d2!, qr, 'chal-BBBB2222']] as const) {
      const filed = await h.station('partner').call('POST', '/api/v1/cases', { kind: 'password-reset', devId: dev.devId, labelPhoto: b64(JPEG), resetRequest: text });
      expect(filed.status, JSON.stringify(filed.body)).toBe(201);
      expect(filed.body.resetRequest).toMatchObject({ challenge });
      expect(filed.body.resetCode).toBeUndefined();
      const approved = await h.station('owner').call('POST', `/api/v1/cases/${filed.body.id}/approve`);
      const expected = computeResetCode(dev.deviceKey, dev.devId, challenge);
      expect(expected).toMatch(/^[A-Z2-7]{12}$/);
      expect(approved.body).toMatchObject({ state: 'approved', resetCode: expected });
      // A reset unbinds nothing and spends no quota.
      expect(await h.authority.store.registry.bindingOf(dev.devId)).toBeDefined();
      const mine = (await h.station('partner').call('GET', '/api/v1/cases')).body.items.find((c: CaseView) => c.id === filed.body.id);
      expect(mine.resetCode).toBe(expected);
      const members = (await h.station('member').call('GET', '/api/v1/cases')).body.items as CaseView[];
      expect(members.every((c) => c.resetCode === undefined)).toBe(true);
      codes.push(expected);
    }
    expect((await h.station('partner').call('GET', '/api/v1/quota')).body.account.used).toBe(0);
    const logText = h.logs.join('');
    expect(logText).toContain('case-approved');
    for (const code of codes) expect(logText).not.toContain(code);
    // Every text and blob column of every table.
    if (h.store === 'sqlite') {
      const ro = new Database(h.authority.services.db.name, { readonly: true });
      try {
        for (const t of ro.prepare<[], string>("SELECT name FROM sqlite_schema WHERE type = 'table'").pluck().all()) {
          const dump = JSON.stringify(ro.prepare(`SELECT * FROM "${t}"`).all(), (_k, v: unknown) => (Buffer.isBuffer(v) ? v.toString('latin1') : v));
          for (const code of codes) expect(dump, t).not.toContain(code);
        }
      } finally {
        ro.close();
      }
    } else {
      // Each table's rows as JSON text (bytea as hex, its text form): how many tables hold one of these texts.
      const tablesHolding = (texts: string[]): Promise<number> =>
        h.scalar(
          `SELECT COUNT(*) FROM information_schema.tables t
            WHERE t.table_schema = 'public' AND t.table_type = 'BASE TABLE'
              AND query_to_xml(format('SELECT to_jsonb(r)::text AS j FROM %I r', t.table_name), true, false, '')::text ILIKE ANY(?::text[])`,
          texts.map((x) => `%${x}%`),
        );
      // The search finds what is there: a text column, and the bytes of a photo.
      expect(await tablesHolding(['chal-AAAA1111'])).toBe(1);
      expect(await tablesHolding([Buffer.from('JFIF label').toString('hex')])).toBe(1);
      expect(await tablesHolding(codes.flatMap((code) => [code, Buffer.from(code).toString('hex')]))).toBe(0);
    }
  });

  it('given reset requests that are late, of another device or malformed, then the case is refused and nothing is written', async () => {
    const dev = eligible(h, 'pnvr8ch')[3]!;
    const before = await storeState(h);
    const xml = (sn: string, issued: string, extra = '') => `<ResetRequest><DeviceSN>${sn}</DeviceSN><Challenge>chal-CCCC3333</Challenge><IssuedAt>${issued}</IssuedAt>${extra}</ResetRequest>`;
    const cases: Array<[string, string, string]> = [
      ['issued 48 h ago', `RST1:${dev.devId}:chal-CCCC3333:${at - 48 * 3_600_000}`, 'RESET_CODE_EXPIRED'],
      ['of another device', xml(eligible(h, 'pnvr8ch')[4]!.serial, String(at)), 'RESET_REQUEST_INVALID'],
      ['not XML', '<ResetRequest><DeviceSN>', 'RESET_REQUEST_INVALID'],
      ['an entity', `<!DOCTYPE r [<!ENTITY x "y">]>${xml(dev.serial, String(at))}`, 'RESET_REQUEST_INVALID'],
      ['an unknown element', xml(dev.serial, String(at), '<Admin>1</Admin>'), 'RESET_REQUEST_INVALID'],
      ['a QR text cut short', `RST1:${dev.devId}:chal-CCCC3333`, 'RESET_REQUEST_INVALID'],
      ['neither form', 'please reset', 'RESET_REQUEST_INVALID'],
    ];
    for (const [what, text, code] of cases) {
      const r = await h.station('partner').call('POST', '/api/v1/cases', { kind: 'password-reset', devId: dev.devId, labelPhoto: b64(PNG), resetRequest: text });
      expect(r.status, what).toBe(400);
      expect(r.body, what).toEqual({ code, message: expect.any(String) });
    }
    const tooLong = await h.station('partner').call('POST', '/api/v1/cases', { kind: 'password-reset', devId: dev.devId, labelPhoto: b64(PNG), resetRequest: `<a>${'x'.repeat(5000)}</a>` });
    expect(tooLong.body.code).toBe('BAD_REQUEST');
    expect(await storeState(h)).toBe(before);
  });
});

describe('cases: due times (office hours Mon–Sat 08:30–17:30 in the authority zone)', () => {
  const z = 'Europe/Berlin';
  const due = (filed: string): string => new Date(caseDueAt(Date.parse(filed), z)).toISOString();
  it('given filings inside and outside office hours, across the weekend and both DST changes, then the due time follows', () => {
    // Wednesday 2026-12-02, CET (UTC+1).
    expect(due('2026-12-02T09:00:00Z')).toBe('2026-12-02T09:10:00.000Z'); // 10:00 local
    expect(due('2026-12-02T06:00:00Z')).toBe('2026-12-02T07:40:00.000Z'); // 07:00 → 08:30 + 10
    expect(due('2026-12-02T07:30:00Z')).toBe('2026-12-02T07:40:00.000Z'); // 08:30 sharp: open
    expect(due('2026-12-02T16:25:00Z')).toBe('2026-12-02T16:35:00.000Z'); // 17:25: inside
    expect(due('2026-12-02T16:30:00Z')).toBe('2026-12-03T07:40:00.000Z'); // 17:30: closed → Thursday
    expect(due('2026-12-05T12:00:00Z')).toBe('2026-12-05T12:10:00.000Z'); // Saturday 13:00: open
    expect(due('2026-12-05T17:00:00Z')).toBe('2026-12-07T07:40:00.000Z'); // Saturday 18:00 → Monday
    expect(due('2026-12-06T10:00:00Z')).toBe('2026-12-07T07:40:00.000Z'); // Sunday → Monday
    expect(due('2026-12-05T23:30:00Z')).toBe('2026-12-07T07:40:00.000Z'); // Sunday 00:30 local, Saturday in UTC
    // Spring forward: Sunday 2026-03-29 02:00 → 03:00; Monday opens at 08:30 CEST = 06:30Z.
    expect(due('2026-03-28T17:00:00Z')).toBe('2026-03-30T06:40:00.000Z');
    // Fall back: Sunday 2026-10-25 03:00 → 02:00; Monday opens at 08:30 CET = 07:30Z.
    expect(due('2026-10-24T16:45:00Z')).toBe('2026-10-26T07:40:00.000Z');
    // Another zone on the same instant: Shanghai (UTC+8, no DST) is open at 17:00Z on Wednesday? 01:00 Thursday: no.
    expect(new Date(caseDueAt(Date.parse('2026-12-02T17:00:00Z'), 'Asia/Shanghai')).toISOString()).toBe('2026-12-03T00:40:00.000Z');
  });

  it('given an authority in Europe/Berlin on a controlled clock, when a case is filed on Saturday evening, then it is due Monday 08:40 local', async () => {
    const h = await startHarness({ timeZone: z, fakeClockStart: Date.parse('2026-12-05T17:00:00Z') });
    try {
      const r = await h.station('partner').call('POST', '/api/v1/cases', unbindCase(eligible(h, 'pqr1cam')[0]!.devId));
      expect(r.body).toMatchObject({ filedAt: '2026-12-05T17:00:00.000Z', dueAt: '2026-12-07T07:40:00.000Z' });
      h.setNow(Date.parse('2026-12-07T09:00:00Z'));
      const r2 = await h.station('partner').call('POST', '/api/v1/cases', unbindCase(eligible(h, 'pqr1cam')[1]!.devId));
      expect(r2.body).toMatchObject({ dueAt: '2026-12-07T09:10:00.000Z' });
    } finally {
      await h.close();
    }
  });
});
