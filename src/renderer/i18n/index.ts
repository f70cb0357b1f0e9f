import { createI18n } from 'vue-i18n';
import { SOURCE_LOCALE, STATION_LOCALES, type StationLocale } from '../../protocol/station-api/locales.js';
import type { KeyValueStorage } from '../app/station-context.js';
import en from '../locales/en.js';
import es from '../locales/es.js';
import ru from '../locales/ru.js';
import vi from '../locales/vi.js';
import zhCN from '../locales/zh-CN.js';

export const LOCALE_STORAGE_KEY = 'unbind-station.locale';

/** Each language named in itself, as a switch shows them. */
export const LOCALE_NAMES: Record<StationLocale, string> = { en: 'English', 'zh-CN': '简体中文', ru: 'Русский', es: 'Español', vi: 'Tiếng Việt' };

export const MESSAGES = { en, 'zh-CN': zhCN, ru, es, vi } as const;

export function isStationLocale(v: unknown): v is StationLocale {
  return typeof v === 'string' && (STATION_LOCALES as readonly string[]).includes(v);
}

/**
 * The first of the browser's languages the station speaks: `zh`, `zh-CN`, `zh-Hans-*` and `zh-SG` are
 * Simplified Chinese (Traditional is not offered); `ru-RU` is `ru`, and so on; else English.
 */
export function localeFromBrowser(languages: readonly string[]): StationLocale {
  for (const raw of languages) {
    const tag = raw.toLowerCase();
    const [lang, ...rest] = tag.split('-');
    if (lang === 'zh') {
      if (rest.length === 0 || rest.includes('hans') || rest.includes('cn') || rest.includes('sg')) return 'zh-CN';
      continue;
    }
    const hit = STATION_LOCALES.find((l) => l === lang);
    if (hit) return hit;
  }
  return SOURCE_LOCALE;
}

/** The language chosen on this station before, else the browser's. */
export function startLocale(storage: KeyValueStorage, languages: readonly string[]): StationLocale {
  const kept = storage.getItem(LOCALE_STORAGE_KEY);
  return isStationLocale(kept) ? kept : localeFromBrowser(languages);
}

const numberFormat = { integer: { maximumFractionDigits: 0 }, percent: { style: 'percent', maximumFractionDigits: 0 } } as const;

/**
 * The one i18n instance (dates go through Intl in lib/format.ts, numbers through its `n`). The lib helpers (plan text, LAN reasons) use its `t` too, so what they return
 * follows the chosen language; a locale lacking a key shows the English one.
 */
export const i18n = createI18n({
  legacy: false,
  locale: SOURCE_LOCALE,
  fallbackLocale: SOURCE_LOCALE,
  messages: MESSAGES,
  numberFormats: Object.fromEntries(STATION_LOCALES.map((l) => [l, numberFormat])),
  missingWarn: false,
  fallbackWarn: false,
});

export const t = i18n.global.t;

export function currentLocale(): StationLocale {
  const l = i18n.global.locale.value;
  return isStationLocale(l) ? l : SOURCE_LOCALE;
}

/** Switches the UI and keeps the choice on this station (its origin's localStorage, or Electron's). */
export function setLocale(locale: StationLocale, storage?: KeyValueStorage): void {
  i18n.global.locale.value = locale;
  storage?.setItem(LOCALE_STORAGE_KEY, locale);
  if (typeof document !== 'undefined') document.documentElement.lang = locale;
}
