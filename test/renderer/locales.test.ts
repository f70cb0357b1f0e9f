import { describe, expect, it } from 'vitest';
import { FAILURE_CODES } from '../../src/protocol/failure-codes.js';
import { STATION_REFUSALS, TRANSPORT_FAILURES } from '../../src/protocol/station-api/refusals.js';
import { STATION_LOCALES } from '../../src/protocol/station-api/locales.js';
import { i18n, localeFromBrowser, MESSAGES, startLocale } from '../../src/renderer/i18n/index.js';

/**
 * The locale files against the English source: same keys, no more, the same {placeholders}, and a hint
 * for every failure code and station refusal in every language (a code added to the contract and not
 * translated fails here, not in front of a clerk).
 */
type Tree = { [k: string]: string | Tree };

function flatten(tree: Tree, prefix = ''): Map<string, string> {
  const out = new Map<string, string>();
  for (const [k, v] of Object.entries(tree)) {
    const key = prefix ? `${prefix}.${k}` : k;
    if (typeof v === 'string') out.set(key, v);
    else for (const [kk, vv] of flatten(v, key)) out.set(kk, vv);
  }
  return out;
}

const placeholders = (message: string): string[] => [...new Set([...message.matchAll(/\{(\w+)\}/g)].map((m) => m[1]!))].sort();

const english = flatten(MESSAGES.en as unknown as Tree);
const others = STATION_LOCALES.filter((l) => l !== 'en');

/** The differences of one catalogue from English, one readable line each. */
function differences(source: Map<string, string>, target: Map<string, string>): string[] {
  const out: string[] = [];
  for (const key of source.keys()) if (!target.has(key)) out.push(`missing ${key}`);
  for (const key of target.keys()) if (!source.has(key)) out.push(`extra ${key}`);
  for (const [key, message] of target) {
    const want = source.get(key);
    if (want === undefined) continue;
    if (placeholders(want).join(',') !== placeholders(message).join(',')) out.push(`${key}: {${placeholders(message).join('} {')}} instead of {${placeholders(want).join('} {')}}`);
    if (!message.trim()) out.push(`${key}: empty`);
  }
  return out;
}

describe('locale files', () => {
  it('the check itself: a missing key, an extra key and a changed placeholder are each found', () => {
    const source = new Map([['a', 'Hello {name}'], ['b', 'Bye']]);
    expect(differences(source, new Map([['a', 'Hallo {name}'], ['b', 'Tschüss']]))).toEqual([]);
    expect(differences(source, new Map([['a', 'Hallo {name}']]))).toEqual(['missing b']);
    expect(differences(source, new Map([['a', 'Hallo {name}'], ['b', 'x'], ['c', 'y']]))).toEqual(['extra c']);
    expect(differences(source, new Map([['a', 'Hallo {nom}'], ['b', 'x']]))).toEqual(['a: {nom} instead of {name}']);
  });

  it.each(others)('%s has every English key, no other, with the same {placeholders}', (locale) => {
    expect(differences(english, flatten(MESSAGES[locale] as unknown as Tree))).toEqual([]);
  });

  it.each(STATION_LOCALES)('%s has a hint of its own for every failure code, station refusal and transport failure', (locale) => {
    const messages = flatten(MESSAGES[locale] as unknown as Tree);
    const lacking = [
      ...FAILURE_CODES.map((c) => `failure.${c}`),
      ...Object.keys(STATION_REFUSALS).map((c) => `refusal.${c}`),
      ...Object.keys(TRANSPORT_FAILURES).map((c) => `transport.${c}`),
    ].filter((key) => !messages.get(key)?.trim());
    expect(lacking).toEqual([]);
  });

  it('translations are translations: no locale leaves a failure hint in English', () => {
    for (const locale of others) {
      const same = FAILURE_CODES.filter((c) => MESSAGES[locale].failure[c] === MESSAGES.en.failure[c]);
      expect({ locale, same }).toEqual({ locale, same: [] });
    }
  });

  it.each(STATION_LOCALES)('every %s message compiles and fills its placeholders (no stray @ or | that vue-i18n would read as syntax)', (locale) => {
    for (const [key, message] of flatten(MESSAGES[locale] as unknown as Tree)) {
      expect(message, key).not.toMatch(/[@|]/);
      const params = Object.fromEntries(placeholders(message).map((p) => [p, `<${p}>`]));
      const out = i18n.global.t(key, params, { locale });
      expect(out, key).not.toMatch(/\{\w+\}/);
      for (const p of placeholders(message)) expect(out, key).toContain(`<${p}>`);
    }
  });

  it('a key a locale lacks shows the English text', () => {
    expect(i18n.global.fallbackLocale.value).toBe('en');
    i18n.global.mergeLocaleMessage('ru', { test: { onlyEnglish: undefined } });
    i18n.global.mergeLocaleMessage('en', { test: { onlyEnglish: 'Only in English' } });
    expect(i18n.global.t('test.onlyEnglish', {}, { locale: 'ru' })).toBe('Only in English');
  });
});

describe('the language at start', () => {
  it('takes the first browser language the station speaks, else English', () => {
    expect(localeFromBrowser(['ru-RU', 'en-US'])).toBe('ru');
    expect(localeFromBrowser(['de-DE', 'es-MX'])).toBe('es');
    expect(localeFromBrowser(['zh-CN'])).toBe('zh-CN');
    expect(localeFromBrowser(['zh'])).toBe('zh-CN');
    expect(localeFromBrowser(['zh-Hans-CN'])).toBe('zh-CN');
    expect(localeFromBrowser(['zh-TW', 'vi-VN'])).toBe('vi');
    expect(localeFromBrowser(['de-DE', 'fr'])).toBe('en');
    expect(localeFromBrowser([])).toBe('en');
  });

  it('the choice kept on this station wins over the browser; a stored value that is no locale is ignored', () => {
    const store = (v: string | null) => ({ getItem: () => v, setItem: () => undefined });
    expect(startLocale(store('vi'), ['ru-RU'])).toBe('vi');
    expect(startLocale(store(null), ['ru-RU'])).toBe('ru');
    expect(startLocale(store('klingon'), ['es'])).toBe('es');
  });
});
