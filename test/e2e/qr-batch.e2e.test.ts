/// <reference lib="dom" />
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUrlSafe, signDeviceRequest } from '../../src/protocol/index.js';
import { createAuthorityClient } from '../../src/batch/station-authority-client.js';
import type { DemoExport } from '../../src/cloud/demo.js';
import { runUnbind, type RunningProcess } from '../support/processes.js';
import { launchChromium, POLL_MS, settledShot, shot } from './browser.js';

/**
 * The QR method end to end, as an operator does it: `unbind start` (station + embedded authority +
 * virtual bench), Chromium driving the real page, virtual cameras decoding the codes the page shows.
 */
describe('QR batch in the browser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-qr-'));
  let station: RunningProcess;
  let stationUrl: string;
  let authorityUrl: string;
  let demo: DemoExport;
  let browser: Browser;

  beforeAll(async () => {
    station = runUnbind(['start', '--port', '0', '--authority-port', '0', '--data', dir, '--mdns-port', '25454', '--sadp-port', '27121', '--log-level', 'warn']);
    stationUrl = (await station.waitFor(/Unbind Station: (http:\S+)/, 60_000))[1]!;
    authorityUrl = (await station.waitFor(/authority (http:\S+)/))[1]!;
    demo = JSON.parse(readFileSync(join(dir, 'demo-export.json'), 'utf8')) as DemoExport;
    browser = await launchChromium();
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await station?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  async function signIn(accountId: string, operator: string): Promise<Page> {
    const page = await (await browser.newContext({ viewport: { width: 1366, height: 860 }, acceptDownloads: true })).newPage();
    await page.goto(stationUrl);
    // One operator session per station: whoever was signed in before signs out first.
    await page.locator('[data-testid="sign-in"], [data-testid="sign-out"]').first().waitFor();
    if (await page.getByTestId('sign-out').isVisible()) await page.getByTestId('sign-out').click();
    await page.getByTestId('operator-name').fill(operator);
    await page.locator(`[data-testid="demo-account"][data-account-id="${accountId}"]`).click();
    await page.getByTestId('dashboard').waitFor();
    return page;
  }

  async function planQr(page: Page, pid: string, count: number): Promise<void> {
    await page.getByTestId('nav-new-batch').click();
    await page.getByTestId('product-select').selectOption(pid);
    await page.getByTestId('wifi-ssid').fill('bench-lab');
    await page.getByTestId('wifi-password').fill('bench-pass-2024');
    await page.getByTestId('mode-count').check();
    await page.getByTestId('device-count').fill(String(count));
    await page.getByTestId('check-plan').click();
    await page.getByTestId('plan-result').waitFor();
  }

  it('the partner runs a QR batch of 45 devices on two codes; 45 results arrive live; history and CSV hold them', async () => {
    const page = await signIn('acc-partner', 'Ana');
    await page.screenshot({ path: shot('01-dashboard-partner') });
    await planQr(page, 'pqr1cam', 45);
    expect(await page.getByTestId('plan-result').getAttribute('data-ok')).toBe('true');
    expect(await page.getByTestId('plan-codes').innerText()).toMatch(/30\D+15/);
    await page.getByTestId('start-batch').click();

    await page.getByTestId('code-screen').waitFor();
    await page.getByTestId('code-0').locator('img').waitFor();
    await page.getByTestId('code-1').locator('img').waitFor();
    await page.screenshot({ path: shot('02-code-screen-started') });
    // Wait until 45 have reported, then check it is exactly 45: more (a device the batch is not for) fails here, saying so.
    await page.waitForFunction(() => Number(/^(\d+) \//.exec(document.querySelector('[data-testid="progress"]')?.textContent ?? '')?.[1] ?? 0) >= 45, undefined, { polling: POLL_MS, timeout: 90_000 });
    expect(await page.getByTestId('progress').innerText()).toBe('45 / 45');
    expect(await page.getByTestId('tally-unbound').innerText()).toContain('45');
    expect(await page.getByTestId('result-row').count()).toBe(45);
    expect(await page.locator('[data-testid="result-row"][data-result="UNBOUND"]').count()).toBe(45);
    await page.screenshot(settledShot('03-code-screen-45-of-45'));

    await page.getByTestId('nav-history').click();
    await page.getByTestId('history-view').waitFor();
    await page.getByTestId('history-result').selectOption('UNBOUND');
    await page.getByTestId('history-search').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="history-row"]').length >= 45, undefined, { polling: POLL_MS, timeout: 10_000 });
    expect(await page.getByTestId('history-row').count()).toBe(45);
    await page.screenshot({ path: shot('04-history') });

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('csv-download').click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    const rows = parse(csv, { columns: true, skip_empty_lines: true }) as Array<Record<string, string>>;
    expect(rows).toHaveLength(45);
    expect(rows.every((r) => r.result === 'UNBOUND' && r.product === 'pqr1cam' && r.operator === 'Ana' && r.account === 'acc-partner' && r.method === 'qr')).toBe(true);
    expect(new Set(rows.map((r) => r.device)).size).toBe(45);
    expect(csv).not.toContain('bench-pass-2024');
  }, 180_000);

  it('the account with no rights sees that it may unbind nothing and cannot start a batch for the owner products', async () => {
    const page = await signIn('acc-none', 'Bo');
    await page.getByTestId('no-products').waitFor();
    await page.screenshot({ path: shot('05-no-rights-dashboard') });
    await page.getByTestId('nav-new-batch').click();
    await page.getByTestId('new-batch-view').waitFor();
    // No product to pick, so no form and no start button at all.
    await page.getByTestId('new-batch-view').getByTestId('no-products').waitFor();
    expect(await page.getByTestId('batch-form').count()).toBe(0);
    expect(await page.getByTestId('start-batch').count()).toBe(0);
    // The station refuses it too, not only the page.
    const refusal = await page.evaluate(async () => {
      const r = await fetch('/api/batches/plan', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ method: 'qr', pid: 'pqr1cam', deviceCount: 5 }) });
      return r.json();
    });
    expect(refusal).toMatchObject({ ok: false, refusal: { code: 'UNAUTHORIZED' } });
    await page.screenshot({ path: shot('06-no-rights-new-batch') });
  }, 60_000);

  it("with the product's quota nearly used up, the planner refuses and says how many are left", async () => {
    // 45 pqr1cam unbinds so far; the owner unbinds 52 more directly, leaving 3 of the product's 100.
    const owner = demo.accounts.find((a) => a.role === 'owner' && a.region === 'EU')!;
    const bench = new Set(demo.devices.filter((d) => d.pid === 'pqr1cam' && d.bound).slice(0, 64).map((d) => d.devId));
    const ownerClient = createAuthorityClient({ url: authorityUrl, clientId: owner.clientId, secret: owner.secret });
    const spare = demo.devices.filter((d) => d.pid === 'pqr1cam' && d.bound && !bench.has(d.devId)).slice(0, 52);
    for (let i = 0; i < spare.length; i += 30) {
      const token = await ownerClient.issueToken({ capacity: Math.min(30, spare.length - i), channel: 'qr' });
      for (const d of spare.slice(i, i + 30)) {
        const ts = Date.now();
        const nonce = randomUrlSafe(20);
        const res = await fetch(`${authorityUrl}/device/v1/unbind`, {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ devId: d.devId, token: token.token, ts, nonce, sig: signDeviceRequest(d.deviceKey, d.devId, token.token, ts, nonce) }),
        });
        expect(((await res.json()) as { result: string }).result).toBe('UNBOUND');
      }
    }

    const page = await signIn('acc-partner', 'Ana');
    await planQr(page, 'pqr1cam', 10);
    expect(await page.getByTestId('plan-result').getAttribute('data-ok')).toBe('false');
    const refusal = page.getByTestId('plan-refusal');
    expect(await refusal.getAttribute('data-code')).toBe('QUOTA_PRODUCT');
    expect(await refusal.innerText()).toContain('Only 3 unbinds left today');
    expect(await page.getByTestId('start-batch').isDisabled()).toBe(true);
    await page.screenshot({ path: shot('07-quota-refusal') });

    await page.getByTestId('device-count').fill('3');
    await page.getByTestId('check-plan').click();
    await page.waitForFunction(() => document.querySelector('[data-testid="plan-result"]')?.getAttribute('data-ok') === 'true', undefined, { polling: POLL_MS });
  }, 90_000);
});
