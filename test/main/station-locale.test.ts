import { describe, expect, it } from 'vitest';
import { FAILURE_HINTS, generateToken } from '../../src/protocol/index.js';
import { renderPrintSheet } from '../../src/qr/index.js';
import { csvHintColumn, fillMessage, printSheetText } from '../../src/main/station-locale.js';
import ru from '../../src/renderer/locales/ru.js';
import zhCN from '../../src/renderer/locales/zh-CN.js';

/** The station's own texts in the operator's language: the print sheet and the CSV's extra hint column. */
const PASSWORD = 'Sup3r-Secret-Pass';
const codes = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ token: generateToken('EU').token, capacity: i === n - 1 ? 15 : 30, expiresAt: new Date(Date.UTC(2026, 0, 2, 9, 41)) }));

describe('station texts in the chosen language', () => {
  it('fills named placeholders and leaves unknown ones as they are', () => {
    expect(fillMessage('Код {n} из {total}', { n: 1, total: 2 })).toBe('Код 1 из 2');
    expect(fillMessage('a {b} {c}', { b: 'x' })).toBe('a x {c}');
  });

  it('given Russian, then the print sheet is Russian throughout: title, tiles, legend, dates, lang; the password still not in clear', async () => {
    const html = await renderPrintSheet({ wifi: { ssid: 'bench-lab', password: PASSWORD }, codes: codes(2), text: printSheetText('ru', { id: 'b-1', pid: 'pqr1cam' }) });
    expect(html).toContain('<html lang="ru">');
    expect(html).toContain('<title>Партия b-1 — pqr1cam</title>');
    expect(html).toContain('Код 2 из 2');
    expect(html).toContain('до 15');
    expect(html).toContain(ru.printSheet.passwordInCode);
    expect(html).toContain(`${ru.lights.color.red}, ${ru.lights.pattern['fast-blink']}`);
    expect(html).toContain(ru.lights.meaning.waiting);
    expect(html).toContain('2 янв. 2026 г., 09:41 UTC');
    for (const english of ['Reset each device', 'Code 1 of', 'up to', 'fast blink', 'Expires', 'in the code']) expect(html).not.toContain(english);
    expect(html).not.toContain(PASSWORD);
  });

  it('given Chinese, then the dates are written the Chinese way', async () => {
    const html = await renderPrintSheet({ wifi: { ssid: 'bench-lab', password: PASSWORD }, codes: codes(1), timeZone: 'Asia/Shanghai', text: printSheetText('zh-CN', { id: 'b-1', pid: 'pqr1cam' }) });
    expect(html).toContain('二维码 1/1');
    expect(html).toContain('2026年1月2日 17:41 (Asia/Shanghai)');
  });

  it('given English, then the sheet reads as it always did', async () => {
    const html = await renderPrintSheet({ wifi: { ssid: 'bench-lab', password: PASSWORD }, codes: codes(1), text: printSheetText('en', { id: 'b-1', pid: 'pqr1cam' }) });
    expect(html).toContain('<html lang="en">');
    expect(html).toContain('Code 1 of 1');
    expect(html).toContain('2026-01-02 09:41 UTC');
    expect(html).toContain('red, fast blink');
  });

  it('adds no CSV column for English; for another language a hint_<locale> column with the code’s hint in it', () => {
    expect(csvHintColumn(undefined)).toBeNull();
    expect(csvHintColumn('en')).toBeNull();
    const zh = csvHintColumn('zh-CN')!;
    expect(zh.name).toBe('hint_zh-CN');
    expect(zh.hintOf('WIFI_AUTH')).toBe(zhCN.failure.WIFI_AUTH);
    expect(zh.hintOf('WIFI_AUTH')).not.toBe(FAILURE_HINTS.WIFI_AUTH);
  });
});
