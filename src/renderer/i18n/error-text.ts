import { i18n } from './index.js';

const NAMESPACES = ['clientError', 'refusal', 'failure', 'transport'] as const;

/** The key of the operator hint for a refusal's code, looked up in English (the source has every code). */
function hintKey(code: string): string | null {
  for (const ns of NAMESPACES) {
    const key = `${ns}.${code}`;
    if (i18n.global.te(key, 'en')) return key;
  }
  return null;
}

/** What to tell the operator about a refusal, in the chosen language: the hint of its code, else its message. */
export function errorText(e: { code: string; message: string }): string {
  const key = hintKey(e.code);
  if (key) return i18n.global.t(key);
  const http = /^HTTP_(\d+)$/.exec(e.code);
  if (http) return i18n.global.t('error.httpStatus', { status: http[1] });
  return e.message;
}

/**
 * The station's own words, shown beside the hint when they add something (the field a request lacked,
 * the numbers of a quota); null when they only repeat the English hint.
 */
export function errorDetail(e: { code: string; message: string }): string | null {
  const key = hintKey(e.code);
  if (!key || !e.message.trim()) return null;
  return e.message.trim() === i18n.global.t(key, {}, { locale: 'en' }).trim() ? null : e.message.trim();
}
