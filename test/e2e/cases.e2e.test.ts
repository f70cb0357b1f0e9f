/// <reference lib="dom" />
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { PNG } from 'pngjs';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runUnbind, type RunningProcess } from '../support/processes.js';
import { launchChromium, POLL_MS, settledShot } from './browser.js';

/**
 * Cases end to end (issue 12, DESIGN §4.10): one authority, two stations on it (the partner's bench and
 * the owner's desk), Chromium driving both pages. The partner files an unbind case with a photo of the
 * label; the owner opens the photo and approves; the binding is gone in the authority's store and the
 * partner's screen shows the case approved without a reload.
 */
function labelPhoto(): Buffer {
  const png = new PNG({ width: 320, height: 120 });
  for (let y = 0; y < png.height; y++) {
    for (let x = 0; x < png.width; x++) {
      const i = (y * png.width + x) * 4;
      // A white label with a black frame and barcode-like bars.
      const frame = x < 4 || y < 4 || x >= png.width - 4 || y >= png.height - 4;
      const bar = y > 30 && y < 90 && x > 20 && x < 300 && (x * 7) % 11 < 4;
      const v = frame || bar ? 20 : 245;
      png.data[i] = v;
      png.data[i + 1] = v;
      png.data[i + 2] = v;
      png.data[i + 3] = 255;
    }
  }
  return PNG.sync.write(png);
}

describe('cases in the browser', () => {
  const dir = mkdtempSync(join(tmpdir(), 'e2e-cases-'));
  const procs: RunningProcess[] = [];
  let browser: Browser;
  let partner: Page;
  let owner: Page;
  const dbPath = join(dir, 'authority.db');
  const devId = 'pqr1cam-0011';
  let serial = '';

  async function openStation(name: string, demoFile: string, authorityUrl: string, operator: string, account: string): Promise<Page> {
    const station = runUnbind(['start', '--port', '0', '--authority', authorityUrl, '--demo-export', demoFile, '--no-bench', '--no-lan', '--data', join(dir, name), '--log-level', 'warn']);
    procs.push(station);
    const url = (await station.waitFor(/Unbind Station: (http:\S+)/, 60_000))[1]!;
    const page = await (await browser.newContext({ viewport: { width: 1366, height: 900 } })).newPage();
    await page.goto(url);
    await page.getByTestId('operator-name').fill(operator);
    await page.locator(`[data-testid="demo-account"][data-account-id="${account}"]`).click();
    await page.getByTestId('dashboard').waitFor();
    await page.getByTestId('nav-cases').click();
    await page.getByTestId('cases-view').waitFor();
    return page;
  }

  beforeAll(async () => {
    const demoFile = join(dir, 'demo.json');
    const authority = runUnbind(['authority', '--port', '0', '--db', dbPath, '--demo', '--export-demo', demoFile, '--log-level', 'warn']);
    procs.push(authority);
    const authorityUrl = (await authority.waitFor(/listening on (http:\S+)/))[1]!;
    await authority.waitFor(/demo accounts, products and devices written/);
    const ro = new Database(dbPath, { readonly: true });
    serial = (ro.prepare('SELECT serial FROM devices WHERE dev_id = ?').pluck().get(devId) as string) ?? '';
    expect(ro.prepare('SELECT 1 FROM bindings WHERE dev_id = ?').get(devId)).toBeDefined();
    ro.close();
    browser = await launchChromium();
    partner = await openStation('partner-station', demoFile, authorityUrl, 'Pia', 'acc-partner');
    owner = await openStation('owner-station', demoFile, authorityUrl, 'Olga', 'acc-owner');
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
    await Promise.all(procs.map((p) => p.kill()));
    rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a photo that is not an image, with its message', async () => {
    const fake = join(dir, 'label.png');
    writeFileSync(fake, '%PDF-1.7\nthis is a scanned document, not a photo\n');
    await partner.getByTestId('case-serial').fill(serial);
    await partner.getByTestId('case-photo').setInputFiles(fake);
    await partner.getByTestId('case-submit').click();
    const error = partner.getByTestId('case-file-error');
    await error.waitFor();
    expect(await error.locator('[data-code]').getAttribute('data-code')).toBe('PHOTO_NOT_IMAGE');
    expect(await error.innerText()).toContain('must be a JPEG or PNG picture');
    expect(await partner.getByTestId('case-row').count()).toBe(0);
    await partner.screenshot(settledShot('30-case-photo-refused'));
  });

  it('files an unbind case with the label photo; the owner opens it and approves; the binding is gone and the partner sees it approved live', async () => {
    const photo = join(dir, 'label-photo.png');
    writeFileSync(photo, labelPhoto());
    await partner.getByTestId('case-photo').setInputFiles(photo);
    await partner.getByTestId('case-note').fill('Returned by the customer, label photographed at the counter');
    await partner.getByTestId('case-submit').click();
    await partner.getByTestId('case-filed').waitFor();
    const row = partner.locator(`[data-testid="case-row"][data-dev-id="${devId}"]`);
    expect(await row.getAttribute('data-state')).toBe('submitted');
    const caseId = (await row.getAttribute('data-id'))!;
    await partner.screenshot(settledShot('31-case-filed'));

    await owner.getByTestId('cases-refresh').click();
    const ownerRow = owner.locator(`[data-testid="case-row"][data-id="${caseId}"]`);
    await ownerRow.waitFor();
    await ownerRow.getByTestId('case-open-photo').click();
    const img = owner.getByTestId('case-photo-image');
    await img.waitFor();
    await owner.waitForFunction(() => (document.querySelector('[data-testid="case-photo-image"]') as HTMLImageElement | null)?.naturalWidth === 320, undefined, { polling: POLL_MS, timeout: 10_000 });
    await owner.screenshot(settledShot('32-case-owner-review'));
    await ownerRow.getByTestId('case-approve').click();
    await owner.waitForFunction((id) => document.querySelector(`[data-testid="case-row"][data-id="${id}"]`)?.getAttribute('data-state') === 'approved', caseId, { polling: POLL_MS, timeout: 10_000 });

    const ro = new Database(dbPath, { readonly: true });
    try {
      expect(ro.prepare('SELECT 1 FROM bindings WHERE dev_id = ?').get(devId)).toBeUndefined();
      expect(ro.prepare('SELECT result, operator_id, batch_ref FROM device_logs WHERE dev_id = ? ORDER BY id DESC LIMIT 1').get(devId)).toEqual({ result: 'UNBOUND', operator_id: 'acc-partner', batch_ref: `case:${caseId}` });
    } finally {
      ro.close();
    }

    // No reload, no click: the partner's station follows the case and pushes its new state.
    await partner.waitForFunction((id) => document.querySelector(`[data-testid="case-row"][data-id="${id}"]`)?.getAttribute('data-state') === 'approved', caseId, { polling: POLL_MS, timeout: 15_000 });
    expect(await row.getByTestId('case-state').innerText()).toBe('Approved');
    await partner.screenshot(settledShot('33-case-approved-partner'));

    await partner.getByTestId('nav-history').click();
    await partner.getByTestId('history-view').waitFor();
    await partner.waitForFunction(() => document.querySelectorAll('[data-testid="history-row"][data-method="case"]').length === 1, undefined, { polling: POLL_MS, timeout: 10_000 });
    expect(await partner.locator('[data-testid="history-row"][data-method="case"]').innerText()).toContain(devId);
  }, 90_000);
});
