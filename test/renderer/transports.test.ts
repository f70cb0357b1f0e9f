import { describe, expect, it } from 'vitest';
import type { StationEvent } from '../../src/protocol/station-api.js';
import type { BridgeResult, StationBridge } from '../../src/protocol/station-bridge.js';
import { createHttpStationApi, historyQueryString, routePath } from '../../src/renderer/api/http-station-api.js';
import { createIpcStationApi } from '../../src/renderer/api/ipc-station-api.js';
import { StationApiError } from '../../src/renderer/api/station-api-error.js';
import { batchView, DASHBOARD, lanDevice, result, resultEvent, sadpDevice, serialStatus, SIGNED_OUT, signedIn } from './support/fake-station-api.js';

interface Sent {
  url: string;
  method: string;
  body: unknown;
  credentials: string | undefined;
  contentType: string | null;
}

/** A fetch that answers from a table of `METHOD url` → [status, body] and records what was sent. */
function fakeFetch(routes: Record<string, [number, unknown] | [number, string, 'text']>) {
  const sent: Sent[] = [];
  const fetchImpl: typeof fetch = async (input, init) => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    const headers = new Headers(init?.headers);
    sent.push({ url, method, body: typeof init?.body === 'string' ? JSON.parse(init.body) : undefined, credentials: init?.credentials, contentType: headers.get('content-type') });
    const answer = routes[`${method} ${url}`];
    if (!answer) return new Response(JSON.stringify({ code: 'NOT_FOUND', message: `no route ${method} ${url}` }), { status: 404 });
    const [status, body, kind] = answer;
    if (status === 204) return new Response(null, { status });
    return new Response(kind === 'text' ? String(body) : JSON.stringify(body), { status });
  };
  return { fetchImpl, sent };
}

function fakeEventStream() {
  const opened: string[] = [];
  let push: (data: string) => void = () => undefined;
  let closed = 0;
  return {
    opened,
    push: (data: string) => push(data),
    closed: () => closed,
    open: (url: string, onData: (data: string) => void) => {
      opened.push(url);
      push = onData;
      return () => {
        closed++;
      };
    },
  };
}

describe('web transport (HTTP + server-sent events)', () => {
  it('fills route parameters from the API table, encoded', () => {
    expect(routePath('getCodeSvg', { id: 'b-1', n: 0 })).toBe('/api/batches/b-1/codes/0.svg');
    expect(routePath('resetBenchDevice', { id: 'a/b' })).toBe('/api/bench/a%2Fb/reset');
    expect(() => routePath('getBatch')).toThrow(/needs the parameter id/);
  });

  it('writes history queries in a fixed order, without empty values', () => {
    expect(historyQueryString({ text: 'SN 1', pid: 'pqr1cam', limit: 50, operator: '' })).toBe('pid=pqr1cam&text=SN+1&limit=50');
    expect(historyQueryString({})).toBe('');
  });

  it('calls each route with its method, a JSON body, same-origin credentials, and checks the answers', async () => {
    const view = batchView();
    const { fetchImpl, sent } = fakeFetch({
      'GET /api/session': [200, SIGNED_OUT],
      'POST /api/session': [200, signedIn()],
      'GET /api/dashboard': [200, DASHBOARD],
      'POST /api/batches/b-20250301-abc123/labels': [200, view],
      'POST /api/batches/b-20250301-abc123/unlock': [200, view],
      'GET /api/batches/b-20250301-abc123/codes/1.svg': [200, '<svg/>', 'text'],
      'PUT /api/screen': [204, null],
      'GET /api/history?pid=pqr1cam&limit=50': [200, { items: [], nextCursor: null }],
      'GET /api/bench': [200, null],
    });
    const api = createHttpStationApi({ fetch: fetchImpl, openEventStream: fakeEventStream().open });

    expect(await api.getSession()).toEqual(SIGNED_OUT);
    expect((await api.signIn({ demoAccountId: 'acc-owner', operator: 'Ana' })).signedIn).toBe(true);
    expect((await api.getDashboard()).products).toHaveLength(2);
    expect((await api.scanLabel(view.id, 'SN-0001')).id).toBe(view.id);
    await api.unlockCodes(view.id, { ssid: 'bench-wifi', password: 'secret-pass-1' });
    expect(await api.getCodeSvg(view.id, 1)).toBe('<svg/>');
    await api.showCodes(view.id, [0, 1]);
    expect(await api.queryHistory({ pid: 'pqr1cam', limit: 50 })).toEqual({ items: [], nextCursor: null });
    expect(await api.getBench()).toBeNull();

    expect(sent.map((s) => `${s.method} ${s.url}`)).toEqual([
      'GET /api/session',
      'POST /api/session',
      'GET /api/dashboard',
      'POST /api/batches/b-20250301-abc123/labels',
      'POST /api/batches/b-20250301-abc123/unlock',
      'GET /api/batches/b-20250301-abc123/codes/1.svg',
      'PUT /api/screen',
      'GET /api/history?pid=pqr1cam&limit=50',
      'GET /api/bench',
    ]);
    expect(sent.every((s) => s.credentials === 'same-origin')).toBe(true);
    expect(sent[1]).toMatchObject({ body: { demoAccountId: 'acc-owner', operator: 'Ana' }, contentType: 'application/json' });
    expect(sent[3]?.body).toEqual({ label: 'SN-0001' });
    expect(sent[4]?.body).toEqual({ wifi: { ssid: 'bench-wifi', password: 'secret-pass-1' } });
    expect(sent[6]?.body).toEqual({ batchId: view.id, codeIndexes: [0, 1] });
    expect(sent[0]?.contentType).toBeNull();
  });

  it('throws a typed error with the station code and status for a refusal', async () => {
    const { fetchImpl } = fakeFetch({ 'POST /api/batches/plan': [409, { code: 'QUOTA_PRODUCT', message: 'Only 3 unbinds left today' }] });
    const api = createHttpStationApi({ fetch: fetchImpl, openEventStream: fakeEventStream().open });
    const err = await api.planBatch({ method: 'qr', pid: 'pqr1cam', deviceCount: 45 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StationApiError);
    expect(err).toMatchObject({ code: 'QUOTA_PRODUCT', message: 'Only 3 unbinds left today', status: 409 });
  });

  it('reports an answer that breaks the contract, and a station that does not answer', async () => {
    const { fetchImpl } = fakeFetch({ 'GET /api/session': [200, { signedIn: 'yes' }], 'GET /api/dashboard': [502, 'Bad Gateway', 'text'] });
    const api = createHttpStationApi({ fetch: fetchImpl, openEventStream: fakeEventStream().open });
    await expect(api.getSession()).rejects.toMatchObject({ code: 'BAD_ANSWER' });
    await expect(api.getDashboard()).rejects.toMatchObject({ code: 'HTTP_502', status: 502, message: 'Bad Gateway' });
    const down = createHttpStationApi({
      fetch: async () => {
        throw new TypeError('fetch failed');
      },
      openEventStream: fakeEventStream().open,
    });
    await expect(down.getSession()).rejects.toMatchObject({ code: 'STATION_UNREACHABLE' });
  });

  it('gives the CSV export as a link with the filters and no paging, without a request', async () => {
    const { fetchImpl, sent } = fakeFetch({});
    const api = createHttpStationApi({ fetch: fetchImpl, openEventStream: fakeEventStream().open });
    expect(await api.exportHistoryCsv({ result: 'FAILED', cursor: 'c3', limit: 50 })).toEqual({ url: '/api/history.csv?result=FAILED', savedTo: null });
    expect(await api.exportHistoryCsv({})).toEqual({ url: '/api/history.csv', savedTo: null });
    expect(sent).toEqual([]);
  });

  it('subscribes on /api/events and passes on only well-formed events', () => {
    const stream = fakeEventStream();
    const warnings: string[] = [];
    const api = createHttpStationApi({ fetch: fakeFetch({}).fetchImpl, openEventStream: stream.open, warn: (m) => warnings.push(m) });
    const got: StationEvent[] = [];
    const stop = api.subscribe((e) => got.push(e));
    expect(stream.opened).toEqual(['/api/events']);

    stream.push(JSON.stringify(resultEvent('b1', result('dev-a'), { unbound: 1, notBound: 0, failed: 0, pending: 0 })));
    stream.push('not json');
    stream.push(JSON.stringify({ type: 'mystery' }));
    stream.push(JSON.stringify({ type: 'result', batchId: 'b1', result: { devId: 'dev-b' } }));
    stream.push(JSON.stringify({ type: 'session', session: SIGNED_OUT }));

    expect(got.map((e) => e.type)).toEqual(['result', 'session']);
    expect(warnings).toHaveLength(3);
    stop();
    expect(stream.closed()).toBe(1);
  });
});

describe('web transport: LAN sweep, serial line, new events', () => {
  it('calls the LAN and serial routes of the API table with their methods and bodies', async () => {
    const lan = [lanDevice('nvr-0001'), sadpDevice('DS-1')];
    const settings = { scannerPort: '/dev/ttyUSB0', uartPorts: ['/dev/ttyUSB1'] };
    const { fetchImpl, sent } = fakeFetch({
      'GET /api/lan': [200, lan],
      'POST /api/lan/refresh': [200, lan.slice(0, 1)],
      'GET /api/serial': [200, serialStatus()],
      'PUT /api/serial': [200, serialStatus({ settings })],
      'POST /api/batches': [200, batchView({ method: 'wired', codes: [], ssid: null })],
    });
    const api = createHttpStationApi({ fetch: fetchImpl, openEventStream: fakeEventStream().open });

    expect(await api.getLanDevices()).toEqual(lan);
    expect(await api.refreshLan()).toHaveLength(1);
    expect((await api.getSerialStatus()).ports).toHaveLength(3);
    expect((await api.setSerialSettings(settings)).settings).toEqual(settings);
    expect((await api.startBatch({ method: 'wired', devIds: ['nvr-0001'] })).method).toBe('wired');

    expect(sent.map((s) => `${s.method} ${s.url}`)).toEqual(['GET /api/lan', 'POST /api/lan/refresh', 'GET /api/serial', 'PUT /api/serial', 'POST /api/batches']);
    expect(sent[1]).toMatchObject({ body: undefined, contentType: null });
    expect(sent[3]).toMatchObject({ body: settings, contentType: 'application/json', credentials: 'same-origin' });
    expect(sent[4]?.body).toEqual({ method: 'wired', devIds: ['nvr-0001'] });
  });

  it('checks LAN and serial answers against the contract', async () => {
    const { fetchImpl } = fakeFetch({
      'GET /api/lan': [200, [{ ...lanDevice('nvr-0001'), state: 'dancing' }]],
      'GET /api/serial': [200, { ...serialStatus(), scanner: { state: 'open' } }],
    });
    const api = createHttpStationApi({ fetch: fetchImpl, openEventStream: fakeEventStream().open });
    await expect(api.getLanDevices()).rejects.toMatchObject({ code: 'BAD_ANSWER', message: expect.stringContaining('0.state') });
    await expect(api.getSerialStatus()).rejects.toMatchObject({ code: 'BAD_ANSWER', message: expect.stringContaining('scanner.labels') });
  });

  it('passes on well-formed lan, progress, serial and label events, and drops malformed ones', () => {
    const stream = fakeEventStream();
    const warnings: string[] = [];
    const api = createHttpStationApi({ fetch: fakeFetch({}).fetchImpl, openEventStream: stream.open, warn: (m) => warnings.push(m) });
    const got: StationEvent[] = [];
    api.subscribe((e) => got.push(e));

    const good: StationEvent[] = [
      { type: 'lan', devices: [lanDevice('nvr-0001'), sadpDevice('DS-1')] },
      { type: 'progress', progress: { batchId: 'b1', devId: 'nvr-0001', stage: 'sending' } },
      { type: 'serial', status: serialStatus() },
      { type: 'label', batchId: null, label: 'SN-0001' },
      { type: 'label', batchId: 'b1', label: 'SN-0002' },
    ];
    for (const e of good) stream.push(JSON.stringify(e));
    stream.push(JSON.stringify({ type: 'progress', progress: { batchId: 'b1', devId: 'nvr-0001', stage: 'teleporting' } }));
    stream.push(JSON.stringify({ type: 'lan', devices: [{ key: 'x' }] }));
    stream.push(JSON.stringify({ type: 'label', label: 'SN-0003' }));
    stream.push(JSON.stringify({ type: 'serial', status: { ...serialStatus(), ports: null } }));

    expect(got).toEqual(good);
    expect(warnings).toHaveLength(4);
  });
});

describe('Electron transport (preload bridge)', () => {
  const ok = <T>(value: T): Promise<BridgeResult<T>> => Promise.resolve({ ok: true, value });
  const refused = (code: string, message: string): Promise<BridgeResult<never>> => Promise.resolve({ ok: false, error: { code, message } });

  function bridge(over: Partial<StationBridge> = {}): StationBridge & { listeners: Array<(e: StationEvent) => void> } {
    const listeners: Array<(e: StationEvent) => void> = [];
    const notUsed = () => refused('NOT_USED', 'not used in this test');
    const base: StationBridge = {
      getSession: () => ok(SIGNED_OUT),
      signIn: () => ok(signedIn()),
      signOut: () => ok(SIGNED_OUT),
      getDashboard: () => ok(DASHBOARD),
      planBatch: notUsed,
      startBatch: notUsed,
      listBatches: () => ok([]),
      getBatch: () => ok(batchView()),
      cancelBatch: notUsed,
      resumeBatch: notUsed,
      scanLabel: notUsed,
      unlockCodes: notUsed,
      getCodeSvg: () => ok('<svg/>'),
      getPrintSheet: () => ok('<html></html>'),
      showCodes: () => ok(undefined),
      queryHistory: notUsed,
      historyStats: notUsed,
      exportHistoryCsv: () => ok({ url: null, savedTo: '/tmp/history.csv' }),
      getLanDevices: () => ok([]),
      refreshLan: notUsed,
      startLocalUnbind: notUsed,
      getLocalUnbind: notUsed,
      getResetRequest: notUsed,
      applyResetCode: notUsed,
      getSerialStatus: notUsed,
      setSerialSettings: notUsed,
      getSerialResetRequest: notUsed,
      getBench: () => ok(null),
      resetBenchDevice: () => ok(undefined),
      listTickets: notUsed,
      requestTicket: notUsed,
      decideTicket: notUsed,
      fileCase: notUsed,
      listCases: notUsed,
      getCasePhoto: notUsed,
      approveCase: notUsed,
      rejectCase: notUsed,
      onEvent(listener) {
        listeners.push(listener);
        return () => listeners.splice(listeners.indexOf(listener), 1);
      },
    };
    return Object.assign(base, over, { listeners });
  }

  it('unwraps answers and checks them like the web transport', async () => {
    const api = createIpcStationApi(bridge());
    expect(await api.getSession()).toEqual(SIGNED_OUT);
    expect((await api.getBatch('b-20250301-abc123')).codes).toHaveLength(2);
    expect(await api.getCodeSvg('b-20250301-abc123', 0)).toBe('<svg/>');
    expect(await api.exportHistoryCsv({})).toEqual({ url: null, savedTo: '/tmp/history.csv' });
    await expect(api.showCodes(null, [])).resolves.toBeUndefined();
  });

  it('turns a refusal envelope into a typed error that keeps its code', async () => {
    const api = createIpcStationApi(bridge({ cancelBatch: () => refused('BATCH_ENDED', 'batch b1 is already completed') }));
    const err = await api.cancelBatch('b1').catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StationApiError);
    expect(err).toMatchObject({ code: 'BATCH_ENDED', message: 'batch b1 is already completed', status: null });
  });

  it('calls the LAN and serial functions of the bridge and checks what they answer', async () => {
    const calls: unknown[][] = [];
    const settings = { scannerPort: null, uartPorts: ['/dev/ttyUSB1'] };
    const b = bridge({
      getLanDevices: () => ok([lanDevice('nvr-0001')]),
      refreshLan: () => ok([lanDevice('nvr-0001'), sadpDevice('DS-1')]),
      getSerialStatus: () => ok(serialStatus()),
      setSerialSettings: (s) => {
        calls.push(['setSerialSettings', s]);
        return ok(serialStatus({ settings: s }));
      },
    });
    const api = createIpcStationApi(b);
    expect(await api.getLanDevices()).toEqual([lanDevice('nvr-0001')]);
    expect(await api.refreshLan()).toHaveLength(2);
    expect((await api.getSerialStatus()).scanner.state).toBe('off');
    expect((await api.setSerialSettings(settings)).settings).toEqual(settings);
    expect(calls).toEqual([['setSerialSettings', settings]]);

    const refusing = createIpcStationApi(bridge({ setSerialSettings: () => refused('PORT_BUSY', '/dev/ttyUSB1 is busy') }));
    await expect(refusing.setSerialSettings(settings)).rejects.toMatchObject({ code: 'PORT_BUSY', message: '/dev/ttyUSB1 is busy', status: null });
    const lying = createIpcStationApi(bridge({ getLanDevices: () => ok(JSON.parse('[{"key":"nvr-0001"}]')) }));
    await expect(lying.getLanDevices()).rejects.toMatchObject({ code: 'BAD_ANSWER' });
  });

  it('passes on only well-formed events, and unsubscribes', () => {
    const b = bridge();
    const warnings: string[] = [];
    const api = createIpcStationApi(b, (m) => warnings.push(m));
    const got: StationEvent[] = [];
    const stop = api.subscribe((e) => got.push(e));
    b.listeners[0]?.({ type: 'bench', devices: [] });
    // What crosses the process boundary is checked, whatever its static type says.
    b.listeners[0]?.(JSON.parse('{"type":"bench","devices":"none"}'));
    expect(got).toEqual([{ type: 'bench', devices: [] }]);
    expect(warnings).toHaveLength(1);
    stop();
    expect(b.listeners).toHaveLength(0);
  });
});
