import { describe, expect, it } from 'vitest';
import { generateToken, LIGHT_LEGEND } from '../../src/protocol/index.js';
import { escapeHtml, renderPrintSheet } from '../../src/qr/index.js';

const PASSWORD = 'Sup3r-Secret-Pass';
const HOSTILE_SSID = `<b>"Lab" & 'Co'</b>`;

function codes(n: number) {
  return Array.from({ length: n }, (_, i) => ({ token: generateToken('EU').token, capacity: i === n - 1 ? 15 : 30, expiresAt: new Date(Date.UTC(2026, 0, 2, 9, 41)) }));
}

describe('the printable sheet', () => {
  it('has one tile per code with SSID, capacity, expiry and the light legend', async () => {
    const html = await renderPrintSheet({ wifi: { ssid: 'bench-lab-01', password: PASSWORD }, codes: codes(3) });
    expect(html.match(/<section class="tile">/g)).toHaveLength(3);
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).toContain('Code 3 of 3');
    expect(html).toContain('up to 30');
    expect(html).toContain('up to 15');
    expect(html).toContain('2026-01-02 09:41 UTC');
    for (const { meaning } of LIGHT_LEGEND) expect(html.split(escapeHtml(meaning)).length - 1).toBe(3);
    expect(html).toContain('@media print');
    expect(html).toContain('fast blink');
  });

  it('never prints the Wi-Fi password, and not the token secret either', async () => {
    const list = codes(2);
    for (const image of ['svg', 'png'] as const) {
      const html = await renderPrintSheet({ wifi: { ssid: 'bench-lab-01', password: PASSWORD }, codes: list, image });
      expect(html).not.toContain(PASSWORD);
      for (const c of list) {
        expect(html).not.toContain(c.token);
        expect(html).toContain(c.token.slice(0, 10)); // region + id, as a reference
      }
    }
  });

  it('escapes the SSID and title (operator input)', async () => {
    const html = await renderPrintSheet({ wifi: { ssid: HOSTILE_SSID, password: PASSWORD }, codes: codes(1), title: '<script>alert(1)</script>' });
    expect(html).not.toContain(HOSTILE_SSID);
    expect(html).toContain('&lt;b&gt;&quot;Lab&quot; &amp; &#39;Co&#39;&lt;/b&gt;');
    expect(html).not.toContain('<script>');
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
  });

  it('can embed PNG data URLs instead of inline SVG', async () => {
    const html = await renderPrintSheet({ wifi: { ssid: 'bench-lab-01', password: PASSWORD }, codes: codes(2), image: 'png', scale: 4 });
    expect(html.match(/<img alt="Code \d of 2" src="data:image\/png;base64,iVBORw0KGgo/g)).toHaveLength(2);
    expect(html).not.toContain('<svg');
  });

  it('shows expiry in the bench time zone when asked', async () => {
    const html = await renderPrintSheet({ wifi: { ssid: 'bench-lab-01', password: PASSWORD }, codes: codes(1), timeZone: 'Europe/Berlin' });
    expect(html).toContain('2026-01-02 10:41 (Europe/Berlin)');
  });

  it('refuses an empty sheet, a capacity over 30 and an unreadable expiry', async () => {
    const wifi = { ssid: 'bench-lab-01', password: PASSWORD };
    await expect(renderPrintSheet({ wifi, codes: [] })).rejects.toThrow(/at least one code/);
    await expect(renderPrintSheet({ wifi, codes: [{ ...codes(1)[0]!, capacity: 31 }] })).rejects.toThrow();
    await expect(renderPrintSheet({ wifi, codes: [{ ...codes(1)[0]!, expiresAt: 'soon' }] })).rejects.toThrow(/not a date/);
  });

  it('on a 62 mm label roll, one code and its legend per label, each a page of its own', async () => {
    const html = await renderPrintSheet({ wifi: { ssid: 'bench-lab-01', password: PASSWORD }, codes: codes(3), paper: 'roll62' });
    expect(html.match(/<section class="tile">/g)).toHaveLength(3);
    expect(html).toContain('@page{size:62mm 100mm;margin:0}');
    expect(html).not.toContain('size:A4');
    expect(html).toMatch(/\.tile\{width:62mm;height:100mm;[^}]*break-after:page/);
    for (const { meaning } of LIGHT_LEGEND) expect(html.split(escapeHtml(meaning)).length - 1).toBe(3);
    expect(html).not.toContain(PASSWORD);
    await expect(renderPrintSheet({ wifi: { ssid: 'bench-lab-01', password: PASSWORD }, codes: codes(1), paper: 'letter' as 'a4' })).rejects.toThrow();
  });
});

