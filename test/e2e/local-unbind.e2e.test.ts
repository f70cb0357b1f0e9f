/// <reference lib="dom" />
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_ADMIN_PASSWORD } from '../../src/cloud/demo.js';
import { runUnbind, type RunningProcess } from '../support/processes.js';
import { launchChromium, POLL_MS, settledShot, shot } from './browser.js';

/**
 * The local unbind of the wired screen (DESIGN §4.8) in Chromium: `unbind start` with 13 wired devices never
 * reset, all selected, one password typed; one of them (number 0007) is on a password of its own in the demo export.
 */
describe('local unbind on the wired screen', () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-local-'));
  let station: RunningProcess;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    station = runUnbind([
      'start', '--port', '0', '--authority-port', '0', '--data', dir, '--bench-devices', '1', '--bench-wired', '24', '--bench-not-reset', '13',
      '--bench-uart', '0', '--mdns-port', '26461', '--sadp-port', '28131', '--log-level', 'warn',
    ]);
    const url = (await station.waitFor(/Unbind Station: (http:\S+)/, 60_000))[1]!;
    browser = await launchChromium();
    page = await (await browser.newContext({ viewport: { width: 1366, height: 1000 } })).newPage();
    await page.goto(url);
    await page.getByTestId('operator-name').fill('Eva');
    await page.locator('[data-testid="demo-account"][data-account-id="acc-owner"]').click();
    await page.getByTestId('dashboard').waitFor();
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await station?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  it('selects the 13 devices not reset, unbinds them with one password: 12 UNBOUND, the one on another password ADMIN_PASSWORD with 4 attempts left', async () => {
    await page.getByTestId('nav-wired').click();
    await page.getByTestId('wired-view').waitFor();
    // One probe asked for; the rest of the sweep arrives as the station's `lan` events, which re-render
    // the rows: wait for that DOM change itself (MutationObserver), not for wall-clock time.
    await page.getByTestId('lan-refresh').click();
    await page.evaluate(
      () =>
        new Promise<void>((resolve) => {
          const all = () => document.querySelectorAll('[data-testid="local-row"]').length === 13;
          if (all()) return resolve();
          const seen = new MutationObserver(() => {
            if (!all()) return;
            seen.disconnect();
            resolve();
          });
          seen.observe(document.body, { childList: true, subtree: true });
        }),
    );
    expect(await page.locator('[data-testid="local-row"]').count()).toBe(13);
    await page.getByTestId('local-select-all').check();
    expect(await page.getByTestId('local-selected-count').innerText()).toContain('13');
    await page.getByTestId('local-password').fill(DEMO_ADMIN_PASSWORD);
    await page.getByTestId('local-start').click();
    // The field forgets the password once the call took it.
    expect(await page.getByTestId('local-password').inputValue()).toBe('');
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="local-result"]').length === 13, undefined, { polling: POLL_MS, timeout: 30_000 });
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="local-result"][data-result="UNBOUND"]').length === 12, undefined, { polling: POLL_MS, timeout: 30_000 });
    const refused = page.locator('[data-testid="local-result"][data-code="ADMIN_PASSWORD"]');
    expect(await refused.count()).toBe(1);
    await refused.getByTestId('local-attempts').waitFor({ timeout: 10_000 });
    expect(await refused.getByTestId('local-attempts').innerText()).toContain('4 attempts left');
    await page.getByTestId('local-unbind').scrollIntoViewIfNeeded();
    await page.screenshot(settledShot('20-local-unbind-results'));
  }, 120_000);

  it('shows the reset request of the device left, as XML to save and a QR code, with the apply form; a wrong code is refused with its message', async () => {
    const row = page.locator('[data-testid="local-row"]').first();
    await row.waitFor({ timeout: 15_000 });
    await row.getByTestId('local-reset-request').click();
    await page.getByTestId('reset-request').waitFor();
    expect(await page.getByTestId('reset-xml').innerText()).toContain('<ResetRequest>');
    expect(await page.locator('[data-testid="reset-qr"] svg').count()).toBe(1);
    await page.getByTestId('reset-code').fill('AAAAAAAAAAAA');
    await page.getByTestId('reset-new-password').fill('Fresh-Admin-77');
    await page.getByTestId('reset-apply').click();
    await page.getByTestId('local-error').waitFor();
    expect(await page.getByTestId('local-error').innerText()).toMatch(/reset code/i);
    await page.getByTestId('local-error').scrollIntoViewIfNeeded();
    await page.screenshot({ path: shot('21-reset-request') });
  }, 60_000);
});
