import { DEVICE_STATES, LIGHTS, type FailureCode, type StationLocale } from '../protocol/index.js';
import type { PrintSheetText } from '../qr/index.js';
import type { CsvHintColumn } from '../history/index.js';
import en from '../renderer/locales/en.js';
import es from '../renderer/locales/es.js';
import ru from '../renderer/locales/ru.js';
import vi from '../renderer/locales/vi.js';
import zhCN from '../renderer/locales/zh-CN.js';
import type { LocaleMessages } from '../renderer/locales/en.js';

/**
 * The station's own texts in the operator's language — the print sheet and the CSV's hint column —
 * read from the renderer's locale files (plain data: one catalogue per language for both sides).
 */
const CATALOGUES: Record<StationLocale, LocaleMessages> = { en, 'zh-CN': zhCN, ru, es, vi };

/** A vue-i18n message with named `{placeholders}` filled in (the station's texts use no other syntax). */
export function fillMessage(template: string, params: Record<string, string | number> = {}): string {
  return template.replace(/\{(\w+)\}/g, (whole, name: string) => (name in params ? String(params[name]) : whole));
}

export function printSheetText(locale: StationLocale, batch: { id: string; pid: string }): PrintSheetText {
  const m = CATALOGUES[locale];
  const s = m.printSheet;
  const legend = Object.fromEntries(
    DEVICE_STATES.map((state) => {
      const light = LIGHTS[state];
      const look = fillMessage(m.lights.description, { color: m.lights.color[light.color], pattern: m.lights.pattern[light.pattern] });
      return [state, { look, state: m.lights.state[state], meaning: m.lights.meaning[state] }];
    }),
  ) as PrintSheetText['legend'];
  return {
    locale,
    title: fillMessage(s.batchTitle, { id: batch.id, pid: batch.pid }),
    intro: s.intro,
    codeOf: (n, total) => fillMessage(s.codeOf, { n, total }),
    wifi: s.wifi,
    password: s.password,
    passwordInCode: s.passwordInCode,
    devices: s.devices,
    upTo: (n) => fillMessage(s.upTo, { n }),
    expires: s.expires,
    reference: s.reference,
    legend,
  };
}

/** The CSV's extra column for a language other than English: `hint_<locale>`, the code's hint in it. */
export function csvHintColumn(locale: StationLocale | undefined): CsvHintColumn | null {
  if (!locale || locale === 'en') return null;
  const hints = CATALOGUES[locale].failure;
  return { name: `hint_${locale}`, hintOf: (code: FailureCode) => hints[code] };
}
