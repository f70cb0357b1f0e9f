import { chromium, type Browser } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO } from '../support/processes.js';

/** Debian's Chromium, headless, with nothing that would reach outside this machine. */
export const CHROMIUM = '/usr/bin/chromium';
export const SCREENSHOTS = join(REPO, 'test-output', 'e2e');

export async function launchChromium(): Promise<Browser> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
}

export const shot = (name: string): string => join(SCREENSHOTS, `${name}.png`);

/**
 * How often a `waitForFunction` looks again. Playwright's default polls on animation frames, which a
 * loaded machine (or a page not painting) delays or stops: the station's state shows up in the DOM
 * whether or not a frame is drawn, so it is looked at on a timer instead.
 */
export const POLL_MS = 100;

/** A screenshot of the page as it settles: transitions are run to their end rather than waited for. */
export const settledShot = (name: string): { path: string; animations: 'disabled' } => ({ path: shot(name), animations: 'disabled' });
