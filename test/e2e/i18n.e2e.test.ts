/// <reference lib="dom" />
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FAILURE_HINTS } from '../../src/protocol/failure-codes.js';
import en from '../../src/renderer/locales/en.js';
import es from '../../src/renderer/locales/es.js';
import ru from '../../src/renderer/locales/ru.js';
import vi from '../../src/renderer/locales/vi.js';
import zhCN from '../../src/renderer/locales/zh-CN.js';
import { runUnbind, type RunningProcess } from '../support/processes.js';
import { launchChromium, POLL_MS, settledShot, shot } from './browser.js';

/**
 * The station in Russian and in Chinese, as a clerk whose browser speaks Russian finds it: `unbind start`
 * with QR cameras and wired devices on the bench, Chromium set to ru-RU. A manifest batch whose labels
 * are not the devices' own makes the station flag every result SERIAL_MISMATCH, so a failure hint is
 * on screen; the print sheet and the CSV come in the chosen language; the switch to Chinese is kept.
 */
describe('the station in Russian and Chinese', () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-i18n-'));
  let station: RunningProcess;
  let stationUrl: string;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    station = runUnbind(['start', '--port', '0', '--authority-port', '0', '--data', dir, '--bench-devices', '8', '--bench-wired', '6', '--mdns-port', '26554', '--sadp-port', '28221', '--log-level', 'warn']);
    stationUrl = (await station.waitFor(/Unbind Station: (http:\S+)/, 60_000))[1]!;
    browser = await launchChromium();
    const context = await browser.newContext({ viewport: { width: 1366, height: 860 }, locale: 'ru-RU', acceptDownloads: true });
    page = await context.newPage();
  }, 90_000);
  afterAll(async () => {
    await browser?.close();
    await station?.kill();
    rmSync(dir, { recursive: true, force: true });
  });

  const text = (testId: string): Promise<string> => page.getByTestId(testId).first().innerText();
  /** No word of the English source left where a translation exists (checked on labels that differ). */
  async function expectNoEnglish(words: string[]): Promise<void> {
    const body = await page.locator('body').innerText();
    for (const w of words) expect(body, w).not.toContain(w);
  }

  it('starts in the browser’s language (Russian), runs a manifest batch with failure hints, prints and exports in Russian', async () => {
    await page.goto(stationUrl);
    await page.getByTestId('sign-in').waitFor();
    expect(await page.locator('h1').innerText()).toBe(ru.signIn.title);
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('ru');
    expect(await page.getByTestId('locale-select').inputValue()).toBe('ru');
    await page.screenshot({ path: shot('20-i18n-ru-sign-in') });

    await page.getByTestId('operator-name').fill('Аня');
    await page.locator('[data-testid="demo-account"][data-account-id="acc-partner"]').click();
    await page.getByTestId('dashboard').waitFor();
    await page.getByTestId('products-table').waitFor();
    expect(await text('nav-dashboard')).toBe(ru.nav.dashboard);
    expect(await text('sign-out')).toBe(ru.app.signOut);
    // The day's end through Intl in Russian: "2 дек. 2026 г., 23:59:59".
    expect(await text('quota-ends')).toMatch(/\d{1,2} [а-я]+\.? \d{4} г\., \d{2}:\d{2}:\d{2}/);
    await expectNoEnglish([en.dashboard.productsTitle, en.dashboard.colAllowedBy, en.nav.history, en.dashboard.supported]);
    await page.screenshot({ path: shot('21-i18n-ru-dashboard') });

    // A manifest of 20 labels that are not the bench cameras' own: the 8 cameras' results are flagged
    // SERIAL_MISMATCH, and the code stays on screen for the 12 never seen.
    await page.getByTestId('nav-new-batch').click();
    await page.getByTestId('product-select').selectOption('pqr1cam');
    await page.getByTestId('mode-manifest').check();
    await page.getByTestId('manifest').fill(Array.from({ length: 20 }, (_, i) => `FAKE-LABEL-${String(i + 1).padStart(4, '0')}`).join('\n'));
    expect(await text('manifest-count')).toContain('Серийных номеров: 20');
    await page.getByTestId('check-plan').click();
    await page.getByTestId('plan-result').waitFor();
    expect(await text('plan-codes')).toBe('Кодов: 1 (20)');
    await page.screenshot({ path: shot('22-i18n-ru-new-batch') });
    await page.getByTestId('start-batch').click();

    await page.getByTestId('code-screen').waitFor();
    await page.getByTestId('code-0').locator('img').waitFor();
    const batchId = await text('batch-id');
    expect((await page.getByTestId('code-status-0').textContent())?.trim()).toBe(ru.codes.status.active);
    expect(await page.getByTestId('light-legend').first().innerText()).toContain(ru.lights.meaning.waiting);

    // The print sheet the station renders, asked as the print button does, in Russian.
    const sheet = await page.evaluate(async (id) => (await fetch(`/api/batches/${id}/sheet?locale=ru`)).text(), batchId);
    expect(sheet).toContain('<html lang="ru">');
    expect(sheet).toContain('Код 1 из 1');
    expect(sheet).toContain(ru.printSheet.intro);
    expect(sheet).not.toContain('Reset each device');

    await page.waitForFunction(() => document.querySelectorAll('[data-testid="result-row"]').length >= 8, undefined, { polling: POLL_MS, timeout: 60_000 });
    const flagged = page.locator('[data-testid="result-row"][data-code="SERIAL_MISMATCH"]');
    await flagged.first().waitFor();
    expect(await flagged.first().getByTestId('result-hint').innerText()).toBe(ru.failure.SERIAL_MISMATCH);
    expect(await flagged.first().getByTestId('result-badge').innerText()).toBe(ru.results.label.UNBOUND);
    await expectNoEnglish([FAILURE_HINTS.SERIAL_MISMATCH, en.batch.tallyPending, en.results.title, en.lights.meaning.unbound]);
    await page.screenshot(settledShot('23-i18n-ru-code-screen'));

    await page.getByTestId('nav-wired').click();
    await page.getByTestId('wired-view').waitFor();
    const dhcp = page.locator('[data-testid="lan-row"][data-source="sadp"]').filter({ hasText: '0.0.0.0' });
    await dhcp.first().waitFor({ timeout: 30_000 });
    expect(await dhcp.first().getByTestId('lan-problem-hint').innerText()).toBe(ru.lanProblem.DHCP_FAILED);
    expect(await dhcp.first().getByTestId('lan-dhcp-failed').innerText()).toBe(ru.wired.dhcpFailed);
    await expectNoEnglish([en.wired.intro, en.wired.clearSelection, en.wired.colFirmware]);
    await page.screenshot({ path: shot('24-i18n-ru-wired') });

    await page.getByTestId('nav-history').click();
    await page.getByTestId('history-view').waitFor();
    await page.waitForFunction(() => document.querySelectorAll('[data-testid="history-row"]').length >= 8, undefined, { polling: POLL_MS, timeout: 10_000 });
    await page.waitForFunction(() => document.querySelector('[data-testid="chart-by-code"]') !== null, undefined, { polling: POLL_MS, timeout: 10_000 });
    await expectNoEnglish([en.history.byCode, en.history.colOperator, en.history.downloadCsv]);
    await page.screenshot({ path: shot('25-i18n-ru-history') });

    const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('csv-download').click()]);
    const csv = readFileSync(await download.path(), 'utf8');
    const rows = parse(csv, { columns: true, skip_empty_lines: true, bom: true }) as Array<Record<string, string>>;
    expect(Object.keys(rows[0]!)).toEqual(['time', 'station', 'operator', 'account', 'method', 'batch', 'product', 'device', 'serial', 'result', 'code', 'hint', 'hint_ru']);
    const mismatch = rows.filter((r) => r.code === 'SERIAL_MISMATCH');
    expect(mismatch).toHaveLength(8);
    for (const r of mismatch) expect(r).toMatchObject({ hint: FAILURE_HINTS.SERIAL_MISMATCH, hint_ru: ru.failure.SERIAL_MISMATCH, operator: 'Аня' });
  }, 180_000);

  it('switched to Chinese, the whole UI follows, and the choice is kept on this station across a reload', async () => {
    await page.getByTestId('locale-select').selectOption('zh-CN');
    await page.waitForFunction(() => document.documentElement.lang === 'zh-CN', undefined, { polling: POLL_MS });
    expect(await text('nav-history')).toBe(zhCN.nav.history);
    expect(await page.locator('h1').first().innerText()).toBe(zhCN.history.title);
    // Dates in the history table through Intl in Chinese: "2026年12月2日 01:23:45".
    expect(await page.getByTestId('history-row').first().locator('td').first().innerText()).toMatch(/\d{4}年\d{1,2}月\d{1,2}日 \d{2}:\d{2}:\d{2}/);
    await expectNoEnglish([en.history.byCode, ru.history.byCode]);
    await page.screenshot({ path: shot('26-i18n-zh-history') });

    await page.getByTestId('nav-codes').click();
    await page.getByTestId('code-screen').waitFor();
    const flagged = page.locator('[data-testid="result-row"][data-code="SERIAL_MISMATCH"]');
    await flagged.first().waitFor();
    expect(await flagged.first().getByTestId('result-hint').innerText()).toBe(zhCN.failure.SERIAL_MISMATCH);
    await expectNoEnglish([FAILURE_HINTS.SERIAL_MISMATCH, en.results.title]);
    await page.screenshot(settledShot('27-i18n-zh-code-screen'));

    await page.getByTestId('nav-wired').click();
    const dhcp = page.locator('[data-testid="lan-row"][data-source="sadp"]').filter({ hasText: '0.0.0.0' });
    await dhcp.first().waitFor({ timeout: 30_000 });
    expect(await dhcp.first().getByTestId('lan-problem-hint').innerText()).toBe(zhCN.lanProblem.DHCP_FAILED);
    await page.screenshot({ path: shot('28-i18n-zh-wired') });

    await page.getByTestId('nav-settings').click();
    await page.getByTestId('settings-language').waitFor();
    await page.locator('[data-testid="serial-form"], [data-testid="serial-error"]').first().waitFor();
    await page.screenshot({ path: shot('29-i18n-zh-settings') });

    // Kept on this station: a reload starts in Chinese, whatever the browser says (and resumes the running batch).
    await page.reload();
    await page.getByTestId('code-screen').waitFor();
    expect(await page.evaluate(() => document.documentElement.lang)).toBe('zh-CN');
    await page.getByTestId('nav-dashboard').click();
    await page.getByTestId('products-table').waitFor();
    expect(await page.getByTestId('locale-select').inputValue()).toBe('zh-CN');
    expect(await text('nav-dashboard')).toBe(zhCN.nav.dashboard);
    await expectNoEnglish([en.dashboard.productsTitle, ru.dashboard.productsTitle, en.dashboard.colAllowedBy]);
    await page.screenshot({ path: shot('30-i18n-zh-dashboard') });
  }, 120_000);

  it('in Spanish and Vietnamese too, the longest of the five, the screens hold their text', async () => {
    for (const locale of ['es', 'vi'] as const) {
      await page.getByTestId('locale-select').selectOption(locale);
      await page.waitForFunction((l) => document.documentElement.lang === l, locale, { polling: POLL_MS });
      await page.getByTestId('nav-codes').click();
      await page.locator('[data-testid="result-row"][data-code="SERIAL_MISMATCH"]').first().waitFor();
      const hint = await page.locator('[data-testid="result-row"][data-code="SERIAL_MISMATCH"]').first().getByTestId('result-hint').innerText();
      expect(hint).toBe((locale === 'es' ? es : vi).failure.SERIAL_MISMATCH);
      await page.screenshot(settledShot(`31-i18n-${locale}-code-screen`));
      await page.getByTestId('nav-wired').click();
      await page.locator('[data-testid="lan-row"]').first().waitFor();
      await page.screenshot({ path: shot(`32-i18n-${locale}-wired`) });
      await page.getByTestId('nav-new-batch').click();
      await page.getByTestId('batch-form').waitFor();
      await page.screenshot({ path: shot(`33-i18n-${locale}-new-batch`) });
    }
  }, 90_000);
});
