/// <reference lib="dom" />
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUnbind, type RunningProcess } from '../support/processes.js';
import { launchChromium, POLL_MS, shot } from './browser.js';

/**
 * Quota tickets and the clerk's habits in Chromium, from `unbind start`: the partner over quota is told
 * to ask the owner, asks for a raise; the owner approves it; the partner's planner has the new limit.
 * Then a manifest file with one bad line is refused, line named, and imported once fixed.
 */
describe('quota tickets and the new batch form in Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-tickets-'));
  let station: RunningProcess;
  let stationUrl: string;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    station = runUnbind(['start', '--port', '0', '--authority-port', '0', '--data', dir, '--bench-devices', '1', '--bench-uart', '0', '--no-lan', '--log-level', 'warn']);
    stationUrl = (await station.waitFor(/Unbind Station: (http:\S+)/, 60_000))[1]!;
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1366, height: 900 }, locale: 'en-GB' });
    page = await context.newPage();
    page.setDefaultTimeout(10_000);
    await page.goto(stationUrl);
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await station?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const text = (testId: string): Promise<string> => page.getByTestId(testId).first().innerText();
  async function signInAs(accountId: string): Promise<void> {
    if (await page.getByTestId('sign-out').isVisible()) await page.getByTestId('sign-out').click();
    await page.getByTestId('sign-in').waitFor();
    await page.getByTestId('operator-name').fill('Ina');
    await page.locator(`[data-testid="demo-account"][data-account-id="${accountId}"]`).click();
    await page.getByTestId('dashboard').waitFor();
  }
  async function planFor(count: number): Promise<void> {
    await page.getByTestId('nav-new-batch').click();
    await page.getByTestId('product-select').selectOption('pqr1cam');
    await page.getByTestId('mode-count').check();
    await page.getByTestId('device-count').fill(String(count));
    await page.getByTestId('check-plan').click();
    await page.getByTestId('plan-result').waitFor();
  }

  it('a ticket requested by the partner, approved by the owner, and the partner’s planner showing the new limit', async () => {
    await signInAs('acc-partner');
    await page.getByTestId('nav-new-batch').click();
    await page.getByTestId('product-select').selectOption('pqr1cam');
    // A count of 0 and an empty SSID are said beside their fields; Start says why it is not available.
    await page.getByTestId('device-count').fill('0');
    await page.getByTestId('wifi-ssid').fill('');
    expect(await text('count-error')).toBe('At least 1 device.');
    expect(await text('ssid-error')).toBe('Enter the Wi-Fi name (SSID) the devices join.');
    expect(await page.getByTestId('start-why').getAttribute('data-reason')).toBe('form');
    await page.getByTestId('wifi-ssid').fill('bench-lab');
    await page.getByTestId('device-count').fill('150');
    expect(await text('start-why')).toBe('Press Check plan first: Start needs a plan the station accepted.');
    await page.screenshot({ path: shot('40-tickets-form-why') });

    await page.getByTestId('check-plan').click();
    await page.getByTestId('plan-refusal').waitFor();
    expect(await page.getByTestId('plan-next-step').getAttribute('data-step')).toBe('request-ticket');
    expect(await text('plan-next-step')).toContain('Request a quota ticket from the owner, Acme Devices');
    await page.screenshot({ path: shot('41-tickets-partner-refused') });

    // The refusal leads to the tickets screen; the partner asks for its account's limit to be 300 today.
    await page.getByTestId('open-tickets').click();
    await page.getByTestId('ticket-form').waitFor();
    await page.getByTestId('ticket-scope-account').check();
    await page.getByTestId('ticket-product').selectOption('pqr1cam');
    await page.getByTestId('ticket-limit').fill('0');
    await page.getByTestId('ticket-send').click();
    expect(await text('ticket-limit-error')).toBe('At least 1.');
    expect(await text('ticket-reason-error')).toBe('Required.');
    await page.getByTestId('ticket-limit').fill('300');
    await page.getByTestId('ticket-reason').fill('Returns wave after the sale');
    await page.getByTestId('ticket-send').click();
    await page.getByTestId('ticket-sent').waitFor();
    const row = page.locator('[data-testid^="ticket-row-"]').first();
    expect(await row.getAttribute('data-status')).toBe('pending');
    const id = (await row.getAttribute('data-testid'))!.replace('ticket-row-', '');
    await page.screenshot({ path: shot('42-tickets-partner-requested') });

    // The owner sees it pending, approves it.
    await signInAs('acc-owner');
    await page.getByTestId('nav-tickets').click();
    await page.getByTestId(`ticket-${id}`).waitFor();
    expect(await page.getByTestId(`ticket-${id}`).innerText()).toContain('FixIt Returns');
    await page.getByTestId(`reject-${id}`).click();
    expect(await text(`decision-reason-error-${id}`)).toBe('Say why you reject it: the requester reads it.');
    await page.screenshot({ path: shot('43-tickets-owner-pending') });
    await page.getByTestId(`approve-${id}`).click();
    await page.waitForFunction((tid) => document.querySelector(`[data-testid="ticket-row-${tid}"]`)?.getAttribute('data-status') === 'approved', id, { polling: POLL_MS });
    await page.screenshot({ path: shot('44-tickets-owner-approved') });

    // The partner reads the decision, and its planner counts with 300.
    await signInAs('acc-partner');
    await page.getByTestId('nav-tickets').click();
    await page.waitForFunction((tid) => document.querySelector(`[data-testid="ticket-row-${tid}"]`)?.getAttribute('data-status') === 'approved', id, { polling: POLL_MS });
    await planFor(100);
    expect(await page.getByTestId('plan-result').getAttribute('data-ok')).toBe('true');
    expect(await text('plan-remaining')).toMatch(/account 300/);
    await page.screenshot({ path: shot('45-tickets-partner-planner') });
  });

  it('a manifest file with one bad line is refused with its line number, then imported once fixed', async () => {
    await page.getByTestId('nav-new-batch').click();
    await page.getByTestId('product-select').selectOption('pqr1cam');
    await page.getByTestId('mode-manifest').check();
    const csv = (bad: string) => `RMA;Model;S/N\nR-1;C1;QC1-2611-000001\nR-2;C1;${bad}\nR-3;C1;QC1-2611-000003\n`;
    await page.getByTestId('manifest-file').setInputFiles({ name: 'returns.csv', mimeType: 'text/csv', buffer: Buffer.from(csv('garbage label 😀')) });
    await page.getByTestId('manifest-file-refused').waitFor();
    expect(await page.locator('[data-testid="manifest-file-refused"] li').allInnerTexts()).toEqual(['Line 3: “garbage label 😀” is not a serial label (4–64 letters, digits and . _ - /).']);
    expect(await page.getByTestId('manifest').inputValue()).toBe('');
    await page.screenshot({ path: shot('46-manifest-file-refused') });

    await page.getByTestId('manifest-file').setInputFiles({ name: 'returns.csv', mimeType: 'text/csv', buffer: Buffer.from(csv('QC1-2611-000002')) });
    await page.getByTestId('manifest-file-imported').waitFor();
    expect(await text('manifest-file-imported')).toBe('Imported 3 serials from returns.csv.');
    expect(await page.getByTestId('manifest').inputValue()).toBe('QC1-2611-000001\nQC1-2611-000002\nQC1-2611-000003\n');
    expect(await text('manifest-count')).toContain('3');
    // A line of 200 characters typed in the manifest is named, and does not stretch the page.
    await page.getByTestId('manifest').fill(`QC1-2611-000001\n${'x'.repeat(200)}`);
    await page.getByTestId('manifest-lines').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth)).toBe(true);
    await page.screenshot({ path: shot('47-manifest-file-imported') });
  });
});
