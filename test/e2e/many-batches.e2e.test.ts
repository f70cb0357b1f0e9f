/// <reference lib="dom" />
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUnbind, type RunningProcess } from '../support/processes.js';
import { stationClient } from '../main/station-client.js';
import { launchChromium, POLL_MS, settledShot } from './browser.js';

/**
 * Issue 11 in Chromium: a QR batch and a wired batch running at once, both to their end on screen;
 * a batch stopping itself on a repeated failure (a wired bench whose devices cannot reach the
 * authority), resumed from its banner.
 */
async function openSignedIn(browser: Browser, url: string): Promise<Page> {
  const page = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
  await page.goto(url);
  await page.getByTestId('operator-name').fill('Eva');
  await page.locator('[data-testid="demo-account"][data-account-id="acc-owner"]').click();
  await page.getByTestId('dashboard').waitFor();
  return page;
}
/** A station with its virtual bench, started with `args`, and one Chromium, for the tests of one describe. */
function useStation(prefix: string, args: string[]): { url(): string; browser(): Browser } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  let station: RunningProcess | undefined;
  let url = '';
  let browser: Browser | undefined;
  beforeAll(async () => {
    station = runUnbind(['start', '--port', '0', '--authority-port', '0', '--data', dir, '--bench-uart', '0', '--log-level', 'warn', ...args]);
    url = (await station.waitFor(/Unbind Station: (http:\S+)/, 60_000))[1]!;
    browser = await launchChromium();
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await station?.kill();
    rmSync(dir, { recursive: true, force: true });
  });
  return { url: () => url, browser: () => browser! };
}
const text = (page: Page, testId: string, expected: string, timeout = 30_000) =>
  page.waitForFunction(([id, want]) => document.querySelector(`[data-testid="${id}"]`)?.textContent?.trim() === want, [testId, expected] as const, { polling: POLL_MS, timeout });

describe('many batches in the browser', () => {
  const st = useStation('e2e-many-', ['--bench-devices', '15', '--bench-qr-faults', 'notreset=7', '--bench-wired', '8', '--bench-wired-faults', '', '--mdns-port', '26456', '--sadp-port', '28123']);

  it('a QR batch with 7 devices pending, then a wired batch: both run at once, are switched between, and both reach their end', async () => {
    const page = await openSignedIn(st.browser(), st.url());
    await page.getByTestId('nav-new-batch').click();
    await page.getByTestId('product-select').selectOption('pqr1cam');
    await page.getByTestId('wifi-ssid').fill('bench-lab');
    await page.getByTestId('wifi-password').fill('bench-pass-2024');
    await page.getByTestId('mode-count').check();
    await page.getByTestId('device-count').fill('15');
    await page.getByTestId('check-plan').click();
    await page.getByTestId('plan-result').waitFor();
    await page.getByTestId('start-batch').click();
    await page.getByTestId('code-screen').waitFor();
    const qrId = (await page.getByTestId('batch-id').innerText()).trim();
    await text(page, 'tally-unbound', '8');
    await text(page, 'tally-pending', '7');

    // The wired batch starts while the QR batch waits for its 7 devices.
    await page.getByTestId('nav-wired').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="lan-row"][data-selectable="true"]').length === 8, undefined, { polling: POLL_MS, timeout: 20_000 });
    await page.getByTestId('lan-select-all').click();
    await page.getByTestId('lan-unbind').click();
    await page.waitForFunction((id) => { const b = document.querySelector('[data-testid="batch-id"]')?.textContent?.trim(); return !!b && b !== id; }, qrId, { polling: POLL_MS, timeout: 10_000 });
    const wiredId = (await page.getByTestId('batch-id').innerText()).trim();
    await text(page, 'progress', '8 / 8');
    await page.waitForFunction(() => document.querySelector('[data-testid="batch-status"]')?.getAttribute('data-status') === 'completed', undefined, { polling: POLL_MS, timeout: 30_000 });
    expect(await page.getByTestId('tally-unbound').innerText()).toBe('8');
    // The QR batch did not vanish: it is in the switcher, still running with 7 pending.
    const qrSwitch = page.locator(`[data-testid="batch-switch"][data-batch-id="${qrId}"]`);
    expect(await qrSwitch.getAttribute('data-status')).toBe('running');
    expect(await qrSwitch.innerText()).toContain('8 / 15');
    await page.screenshot(settledShot('40-many-wired-done-qr-running'));

    // The 7 cameras are reset now: they read the QR batch's code, still on the station's screen.
    const s = stationClient(st.url());
    const operating = (await s.call<Array<{ devId: string; pid: string; state: string }>>('GET', '/api/bench')).body.filter((d) => d.pid === 'pqr1cam' && d.state === 'operating');
    expect(operating).toHaveLength(7);
    await qrSwitch.click();
    await page.getByTestId('code-screen').waitFor();
    await text(page, 'batch-id', qrId);
    for (const d of operating) expect((await s.call('POST', `/api/bench/${d.devId}/reset`)).status).toBe(204);
    await text(page, 'progress', '15 / 15');
    await page.waitForFunction(() => document.querySelector('[data-testid="batch-status"]')?.getAttribute('data-status') === 'completed', undefined, { polling: POLL_MS, timeout: 30_000 });
    expect(await page.getByTestId('tally-unbound').innerText()).toBe('15');
    await page.screenshot(settledShot('41-many-qr-done'));

    // The batch list holds both, finished; the wired one reopens with its results.
    await page.getByTestId('nav-dashboard').click();
    const rows = page.getByTestId('batch-list-row');
    await page.waitForFunction(([a, b]) => [a, b].every((id) => document.querySelector(`[data-testid="batch-list-row"][data-batch-id="${id}"]`)?.getAttribute('data-status') === 'completed'), [qrId, wiredId] as const, { polling: POLL_MS, timeout: 10_000 });
    expect(await rows.count()).toBe(2);
    await page.getByTestId('batch-list-method').selectOption('wired');
    expect(await rows.count()).toBe(1);
    await page.screenshot(settledShot('42-many-batch-list'));
    await rows.first().getByTestId('batch-list-open').click();
    await text(page, 'batch-id', wiredId);
    expect(await page.getByTestId('result-row').count()).toBe(8);
  }, 180_000);
});

describe('the stop rule in the browser', () => {
  const st = useStation('e2e-stop-', ['--bench-devices', '1', '--bench-wired', '7', '--bench-wired-faults', 'unreachable=7', '--stop-failures', '3', '--stop-window', '4', '--mdns-port', '26457', '--sadp-port', '28124']);

  it('a wired bench whose devices cannot reach the authority: the batch stops itself after 3 of 4, says why, and goes on when resumed', async () => {
    const page = await openSignedIn(st.browser(), st.url());
    await page.getByTestId('nav-wired').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="lan-row"][data-selectable="true"]').length === 7, undefined, { polling: POLL_MS, timeout: 20_000 });
    await page.getByTestId('lan-select-all').click();
    await page.getByTestId('lan-unbind').click();
    await page.getByTestId('batch-paused').waitFor({ timeout: 30_000 });
    expect(await page.getByTestId('batch-paused-reason').getAttribute('data-code')).toBe('CLOUD_UNREACHABLE');
    expect(await page.getByTestId('batch-status').getAttribute('data-status')).toBe('paused');
    await text(page, 'progress', '4 / 7');
    await page.screenshot(settledShot('43-stop-rule-paused'));
    await page.getByTestId('batch-resume').click();
    await text(page, 'progress', '7 / 7');
    expect(await page.getByTestId('batch-paused').count()).toBe(0);
    expect(await page.getByTestId('tally-failed').innerText()).toBe('7');
    await page.getByTestId('batch-stopped-before').waitFor();
    await page.screenshot(settledShot('44-stop-rule-resumed'));
  }, 120_000);
});

describe('the no-report notice in the browser', () => {
  // The notice after 2 s instead of 60 (the station test drives the 60 s on its own clock).
  const st = useStation('e2e-notice-', ['--bench-devices', '2', '--no-lan', '--no-report-seconds', '2']);

  it('a QR batch started with the wrong Wi-Fi password: the code screen says no device reported, with the likely causes', async () => {
    const page = await openSignedIn(st.browser(), st.url());
    await page.getByTestId('nav-new-batch').click();
    await page.getByTestId('product-select').selectOption('pqr1cam');
    await page.getByTestId('wifi-ssid').fill('bench-lab');
    await page.getByTestId('wifi-password').fill('not-the-bench-password');
    await page.getByTestId('mode-count').check();
    await page.getByTestId('device-count').fill('2');
    await page.getByTestId('check-plan').click();
    await page.getByTestId('plan-result').waitFor();
    await page.getByTestId('start-batch').click();
    await page.getByTestId('code-screen').waitFor();
    await page.getByTestId('no-report-notice').waitFor({ timeout: 20_000 });
    expect(await page.locator('[data-testid="no-report-cause"]').evaluateAll((els) => els.map((e) => e.getAttribute('data-code')))).toEqual(['WIFI_AUTH', 'NOT_WAITING', 'WIFI_NOT_FOUND']);
    expect(await page.getByTestId('tally-pending').innerText()).toBe('2');
    await page.screenshot(settledShot('45-no-report-notice'));
  }, 60_000);
});
