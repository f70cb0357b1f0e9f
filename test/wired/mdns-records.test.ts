import { describe, expect, it } from 'vitest';
import { checkTxt, createLimiter, MdnsRecordCache } from '../../src/wired/index.js';

/** The sweep's record keeping, without a network: TXT checking, the RFC 6762 cache, the limiter. */
const txt = (pairs: Record<string, string>): Buffer[] => Object.entries(pairs).map(([k, v]) => Buffer.from(`${k}=${v}`));
const GOOD = { v: '1', id: 'pnvr8ch-0001', pid: 'pnvr8ch', sn: 'NV8-2611-000001', fw: '4.0.1', rg: 'EU', st: 'waiting' };

describe('TXT records of _iot-unbind._tcp', () => {
  it('given a good record, then it is the checked TXT', () => {
    expect(checkTxt(txt(GOOD))).toMatchObject({ ok: true, txt: GOOD });
  });

  it('given keys in upper case, repeated keys and extra keys, then keys are case-insensitive, the first one counts, extras are kept out', () => {
    const r = checkTxt([...txt({ ...GOOD, ID: GOOD.id }), Buffer.from('st=failed'), Buffer.from('vendor=acme')]);
    expect(r).toMatchObject({ ok: true, txt: GOOD });
    expect(r.ok && 'vendor' in r.txt).toBe(false);
  });

  it.each([
    ['a missing id', (({ id: _id, ...rest }) => txt(rest))(GOOD), /^id missing$/],
    ['a bad st', txt({ ...GOOD, st: 'sleeping' }), /^st="sleeping": /],
    ['v=2', txt({ ...GOOD, v: '2' }), /^v="2": /],
    ['a bad firmware', txt({ ...GOOD, fw: 'latest' }), /^fw="latest": firmware must be a dotted version/],
    ['a string that is not UTF-8', [...txt(GOOD), Buffer.from([0x66, 0x3d, 0xff, 0xfe])], /not UTF-8/],
    ['a string with no key', [...txt(GOOD), Buffer.from('=x')], /has no key/],
    ['data that is not strings', 'v=1', /not a list of strings/],
  ])('given %s, then it is refused, saying why', (_name, data, why) => {
    const r = checkTxt(data);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.why).toMatch(why);
  });
});

describe('the mDNS record cache', () => {
  const SERVICE = '_iot-unbind._tcp.local';
  const fqdn = 'dev1._iot-unbind._tcp.local';
  const answers = (address: string, ttl = 120, st = 'waiting') => [
    { name: SERVICE, type: 'PTR', ttl, data: fqdn },
    { name: fqdn, type: 'SRV', ttl, flush: true, data: { port: 8080, target: 'dev1.local' } },
    { name: fqdn, type: 'TXT', ttl, flush: true, data: txt({ ...GOOD, st }) },
    { name: 'dev1.local', type: 'A', ttl, flush: true, data: address },
  ];

  it('given one of two devices announces again, then only its instance is made anew; the other is the same object as before', () => {
    const c = new MdnsRecordCache(SERVICE);
    const other = answers('127.77.0.2').map((r) => JSON.parse(JSON.stringify(r).replaceAll('dev1', 'dev2')) as Record<string, unknown>);
    other[2]!.data = txt({ ...GOOD, id: 'pnvr8ch-0002' });
    c.ingest([...answers('127.77.0.1'), ...other], '127.0.0.1', 1000);
    const [first, second] = c.instances();
    c.ingest(answers('127.77.0.1', 120, 'unbinding'), '127.0.0.1', 1500);
    const [again, unchanged] = c.instances();
    expect(again).not.toBe(first);
    expect(again).toMatchObject({ fqdn, lastSeen: 1500 });
    expect(unchanged).toBe(second);
  });

  it('given a device whose SRV, TXT or address has not come (lost, or sent apart), then it is not named as a Known Answer until the cache can list it, and no longer past half its TTL', () => {
    const c = new MdnsRecordCache(SERVICE);
    const [ptr, srv, txtRecord, a] = answers('127.77.0.1');
    c.ingest([ptr], '127.0.0.1', 1000);
    expect(c.knownAnswers(1000)).toEqual([]);
    c.ingest([srv, txtRecord], '127.0.0.1', 1000);
    expect(c.knownAnswers(1000)).toEqual([]);
    c.ingest([a], '127.0.0.1', 1000);
    expect(c.knownAnswers(2000)).toEqual([{ name: SERVICE, type: 'PTR', ttl: 119, data: fqdn }]);
    expect(c.knownAnswers(61_001)).toEqual([]);
  });

  it('given an announcement, then the instance has its host, port, TXT and address', () => {
    const c = new MdnsRecordCache(SERVICE);
    expect(c.ingest(answers('127.77.0.1'), '127.0.0.1', 1000)).toBe(true);
    expect(c.instances()).toMatchObject([{ fqdn, instance: 'dev1', host: 'dev1.local', port: 8080, addresses: ['127.77.0.1'], from: '127.0.0.1', lastSeen: 1000, expiresAt: 121_000 }]);
    expect(c.ingest(answers('127.77.0.1'), '127.0.0.1', 2000)).toBe(false); // a repeat changes nothing but the clock
    expect(c.instances()[0]!.lastSeen).toBe(2000);
  });

  it('given a new A record with the cache-flush bit, then it replaces the old address (a device that changed IP)', () => {
    const c = new MdnsRecordCache(SERVICE);
    c.ingest(answers('127.77.0.1'), '127.0.0.1', 1000);
    expect(c.ingest([{ name: 'dev1.local', type: 'A', ttl: 120, flush: true, data: '127.77.0.9' }], '127.0.0.1', 1500)).toBe(true);
    expect(c.instances()[0]!.addresses).toEqual(['127.77.0.9']);
  });

  it('given a goodbye (TTL 0), then the instance is gone at once; given silence, it is gone when its TTL runs out', () => {
    const c = new MdnsRecordCache(SERVICE);
    c.ingest(answers('127.77.0.1'), '127.0.0.1', 1000);
    expect(c.ingest(answers('127.77.0.1', 0), '127.0.0.1', 1001)).toBe(true);
    expect(c.instances()).toEqual([]);
    c.ingest(answers('127.77.0.1', 2), '127.0.0.1', 5000);
    expect(c.expire(6999)).toBe(false);
    expect(c.expire(7000)).toBe(true);
    expect(c.instances()).toEqual([]);
    expect(c.size).toBe(0);
  });

  it('given other services and malformed records on the LAN, then none of them is kept', () => {
    const c = new MdnsRecordCache(SERVICE);
    c.ingest(
      [
        { name: '_http._tcp.local', type: 'PTR', ttl: 120, data: 'printer._http._tcp.local' },
        { name: 'printer._http._tcp.local', type: 'SRV', ttl: 120, data: { port: 80, target: 'printer.local' } },
        { name: 'printer.local', type: 'A', ttl: 120, data: '192.0.2.9' },
        { name: fqdn, type: 'SRV', ttl: 120, data: 'not an SRV' },
        { name: 'dev1.local', type: 'A', ttl: 120, data: 'not an address' },
        null,
        42,
      ],
      '127.0.0.1',
      1000,
    );
    expect(c.size).toBe(0);
  });

  it('given a PTR without its SRV or TXT yet, then there is no instance until they arrive', () => {
    const c = new MdnsRecordCache(SERVICE);
    const [ptr, srv, txtRecord] = answers('127.77.0.1');
    c.ingest([ptr, srv], '127.0.0.1', 1000);
    expect(c.instances()).toEqual([]);
    c.ingest([txtRecord], '127.0.0.1', 1001);
    expect(c.instances()).toHaveLength(1);
    expect(c.instances()[0]!.addresses).toEqual([]); // no A record: the sweep falls back to the sender
  });
});

describe('the request limiter', () => {
  it('given 20 tasks and a limit of 4, then never more than 4 run at once and all finish in order of their results', async () => {
    const limit = createLimiter(4);
    let running = 0;
    let peak = 0;
    const results = await Promise.all(
      Array.from({ length: 20 }, (_, i) =>
        limit(async () => {
          running++;
          peak = Math.max(peak, running);
          await new Promise((r) => setTimeout(r, 5));
          running--;
          if (i === 7) throw new Error('task 7 fails');
          return i;
        }).catch((e: Error) => e.message),
      ),
    );
    expect(peak).toBe(4);
    expect(results[7]).toBe('task 7 fails');
    expect(results.filter((r) => typeof r === 'number')).toHaveLength(19);
    expect(() => createLimiter(0)).toThrow(RangeError);
  });

  it('given tasks waiting, then one queued ahead starts before every one queued without, and those keep their order', async () => {
    const limit = createLimiter(1);
    const started: string[] = [];
    const task = (name: string) => async () => {
      started.push(name);
      await new Promise((r) => setTimeout(r, 1));
    };
    await Promise.all([limit(task('running')), limit(task('check 1')), limit(task('check 2')), limit(task('token 1'), { ahead: true }), limit(task('token 2'), { ahead: true })]);
    expect(started).toEqual(['running', 'token 1', 'token 2', 'check 1', 'check 2']);
  });
});
