/// <reference lib="dom" />
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUnbind, type RunningProcess } from '../support/processes.js';
import { launchChromium, POLL_MS, settledShot, shot } from './browser.js';

/**
 * The wired screen end to end: `unbind start` with a virtual bench of wired devices on the loopback
 * LAN (real mDNS and SADP, on this test's own ports), Chromium driving the real page.
 */
describe('wired screen in the browser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-wired-'));
  let station: RunningProcess;
  let stationUrl: string;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    station = runUnbind(['start', '--port', '0', '--authority-port', '0', '--data', dir, '--bench-devices', '1', '--bench-wired', '12', '--bench-uart', '2', '--mdns-port', '26454', '--sadp-port', '28121', '--log-level', 'warn']);
    stationUrl = (await station.waitFor(/Unbind Station: (http:\S+)/, 60_000))[1]!;
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1366, height: 860 } })).newPage();
    await page.goto(stationUrl);
    await page.getByTestId('operator-name').fill('Eva');
    await page.locator('[data-testid="demo-account"][data-account-id="acc-owner"]').click();
    await page.getByTestId('dashboard').waitFor();
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await station?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const selectable = () => page.locator('[data-testid="lan-row"][data-selectable="true"]');

  it('lists the bench LAN live, selects the NVRs by product, unbinds them with progress per device, and history holds them', async () => {
    await page.getByTestId('nav-wired').click();
    await page.getByTestId('wired-view').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="lan-row"][data-selectable="true"]').length === 10, undefined, { polling: POLL_MS, timeout: 15_000 });
    await page.getByTestId('lan-refresh').click();
    // The device whose DHCP failed is listed from SADP at 0.0.0.0 with what to do, and cannot be selected.
    const dhcp = page.locator('[data-testid="lan-row"][data-source="sadp"]').filter({ hasText: '0.0.0.0' });
    await dhcp.first().waitFor({ timeout: 20_000 });
    expect(await dhcp.first().getAttribute('data-selectable')).toBe('false');
    expect(await dhcp.first().getByTestId('lan-problem-hint').innerText()).toContain('DHCP');

    await page.getByTestId('lan-product').selectOption('pnvr8ch');
    await page.getByTestId('lan-select-product').click();
    const nvrs = await page.locator('[data-testid="lan-row"][data-selectable="true"]').filter({ hasText: 'pnvr8ch' }).count();
    expect(nvrs).toBeGreaterThan(0);
    expect(await page.getByTestId('lan-selected-count').innerText()).toContain(`Selected: ${nvrs}`);
    await page.screenshot({ path: shot('10-wired-selected') });

    await page.getByTestId('lan-unbind').click();
    await page.getByTestId('code-screen').waitFor();
    expect(await page.getByTestId('batch-method').getAttribute('data-method')).toBe('wired');
    await page.waitForFunction((n) => document.querySelector('[data-testid="progress"]')?.textContent?.includes(`${n} / ${n}`), nvrs, { polling: POLL_MS, timeout: 30_000 });
    await page.waitForFunction((n) => document.querySelector('[data-testid="tally-unbound"]')?.textContent?.trim() === String(n), nvrs, { polling: POLL_MS, timeout: 10_000 });
    expect(await page.locator('[data-testid="device-progress"]').count()).toBe(nvrs);
    await page.screenshot(settledShot('11-wired-batch-done'));

    await page.getByTestId('nav-history').click();
    await page.getByTestId('history-view').waitFor();
    await page.waitForFunction((n) => document.querySelectorAll('[data-testid="history-row"]').length >= n, nvrs, { polling: POLL_MS, timeout: 10_000 });
    // The method is shown in words ("Wired (LAN)"); the row carries its code for programs.
    const methods = await page.locator('[data-testid="history-row"][data-method="wired"]').allInnerTexts();
    expect(methods.filter((t) => t.includes('Wired (LAN)') && t.includes('pnvr8ch'))).toHaveLength(nvrs);
  }, 120_000);

  it('the selectable list shrinks as devices finish: what is left can all be selected and unbound', async () => {
    await page.getByTestId('nav-wired').click();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="lan-row"][data-selectable="true"]').length > 0 && ![...document.querySelectorAll('[data-testid="lan-row"][data-selectable="true"]')].some((r) => r.textContent?.includes('pnvr8ch')), undefined, { polling: POLL_MS, timeout: 15_000 });
    const left = await selectable().count();
    await page.getByTestId('lan-select-all').click();
    expect(await page.getByTestId('lan-selected-count').innerText()).toContain(`Selected: ${left}`);
    await page.getByTestId('lan-unbind').click();
    await page.getByTestId('code-screen').waitFor();
    await page.waitForFunction((n) => document.querySelector('[data-testid="tally-unbound"]')?.textContent?.trim() === String(n), left, { polling: POLL_MS, timeout: 30_000 });
  }, 60_000);

  it('the settings screen lists the UART ports of the bench and unbinds the gateways over them', async () => {
    await page.getByTestId('nav-settings').click();
    await page.getByTestId('settings-view').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="serial-uart-port"]').length >= 2, undefined, { polling: POLL_MS, timeout: 10_000 });
    await page.screenshot({ path: shot('12-serial-settings') });
    await page.getByTestId('serial-unbind').click();
    await page.getByTestId('code-screen').waitFor();
    expect(await page.getByTestId('batch-method').getAttribute('data-method')).toBe('serial');
    await page.waitForFunction(() => document.querySelector('[data-testid="tally-unbound"]')?.textContent?.trim() === '2', undefined, { polling: POLL_MS, timeout: 30_000 });
  }, 60_000);
});
