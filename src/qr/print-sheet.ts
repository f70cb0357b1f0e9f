import { z } from 'zod';
import {
  LIGHT_LEGEND,
  MAX_TOKEN_CAPACITY,
  redactToken,
  tokenStringSchema,
  wifiCredentialsSchema,
  type DeviceState,
  type Light,
  type WifiCredentials,
} from '../protocol/index.js';
import { escapeHtml } from './html-escape.js';
import { pngDataUrl, renderQrPng, renderQrSvg } from './qr-render.js';

/** One code on the sheet: the token the authority issued for it, and what the operator must know. */
export interface SheetCode {
  token: string;
  capacity: number;
  expiresAt: string | Date;
}

/** Every word on the sheet, in one language (the station fills it from the operator's locale). */
export interface PrintSheetText {
  /** BCP 47 tag: the page's `lang` and the language its expiry times are written in. */
  locale: string;
  title: string;
  intro: string;
  codeOf(n: number, total: number): string;
  wifi: string;
  password: string;
  passwordInCode: string;
  devices: string;
  upTo(n: number): string;
  expires: string;
  reference: string;
  /** Per state: how the light looks ("red, fast blink"), the state's name, what it means. */
  legend: Record<DeviceState, { look: string; state: string; meaning: string }>;
}

const PATTERN_WORDS: Record<Light['pattern'], string> = { 'fast-blink': 'fast blink', 'slow-blink': 'slow blink', solid: 'solid' };

export const ENGLISH_SHEET_TEXT: PrintSheetText = {
  locale: 'en',
  title: 'Unbind Station — pairing codes',
  intro: 'Reset each device until its light blinks red fast, then hold the code before it.',
  codeOf: (n, total) => `Code ${n} of ${total}`,
  wifi: 'Wi-Fi',
  password: 'Password',
  passwordInCode: 'in the code, not printed',
  devices: 'Devices',
  upTo: (n) => `up to ${n}`,
  expires: 'Expires',
  reference: 'Reference',
  legend: Object.fromEntries(
    LIGHT_LEGEND.map(({ state, light, meaning }) => [state, { look: `${light.color}, ${PATTERN_WORDS[light.pattern]}`, state, meaning }]),
  ) as PrintSheetText['legend'],
};

export interface PrintSheetInput {
  wifi: WifiCredentials;
  codes: SheetCode[];
  title?: string;
  /** Inline SVG (sharp at any print size, default) or a PNG data URL. */
  image?: 'svg' | 'png';
  /** Pixels per module of the PNG form (default 8). */
  scale?: number;
  /** IANA time zone for expiry times (default UTC): the bench clock the operator reads. */
  timeZone?: string;
  /** The sheet's words (default English); `title` above wins over its title. */
  text?: PrintSheetText;
}

const sheetCodeSchema = z.object({
  token: tokenStringSchema,
  capacity: z.number().int().min(1).max(MAX_TOKEN_CAPACITY),
  expiresAt: z.union([z.string(), z.date()]).transform((v, ctx) => {
    const d = v instanceof Date ? v : new Date(v);
    if (Number.isNaN(d.getTime())) ctx.addIssue({ code: 'custom', message: `expiresAt is not a date: ${String(v)}` });
    return d;
  }),
});
const printSheetInputSchema = z.object({
  wifi: wifiCredentialsSchema,
  codes: z.array(sheetCodeSchema).min(1, 'a sheet needs at least one code'),
  title: z.string().max(200).optional(),
  image: z.enum(['svg', 'png']).optional(),
  scale: z.number().int().min(1).max(64).optional(),
  timeZone: z.string().optional(),
  text: z.custom<PrintSheetText>((v) => typeof v === 'object' && v !== null).optional(),
});

const LIGHT_COLORS: Record<Light['color'], string> = { red: '#d32f2f', blue: '#1565c0', green: '#2e7d32' };
/** English keeps its ISO-like date; another language writes the date its own way, through Intl. */
function formatTime(d: Date, timeZone: string, locale: string): string {
  if (locale !== 'en') {
    const local = new Intl.DateTimeFormat(locale, { timeZone, year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', hourCycle: 'h23' }).format(d);
    return `${local} ${timeZone === 'UTC' ? 'UTC' : `(${timeZone})`}`;
  }
  const parts = Object.fromEntries(
    new Intl.DateTimeFormat('en-CA', {
      timeZone,
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    })
      .formatToParts(d)
      .map((p) => [p.type, p.value]),
  );
  return `${parts.year}-${parts.month}-${parts.day} ${parts.hour}:${parts.minute} ${timeZone === 'UTC' ? 'UTC' : `(${timeZone})`}`;
}

function legendHtml(text: PrintSheetText): string {
  const rows = LIGHT_LEGEND.map(({ state, light }) => {
    const words = text.legend[state];
    return (
      `<li class="light-${escapeHtml(light.pattern)}"><span class="dot" style="background:${LIGHT_COLORS[light.color]}"></span>` +
      `<b>${escapeHtml(words.look)}</b> — ${escapeHtml(words.state)}: ${escapeHtml(words.meaning)}</li>`
    );
  });
  return `<ul class="legend">${rows.join('')}</ul>`;
}

const STYLE = `
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:16px;color:#111}
h1{font-size:18px;margin:0 0 12px}
.sheet{display:grid;grid-template-columns:repeat(auto-fill,minmax(88mm,1fr));gap:8mm}
.tile{border:1px solid #999;border-radius:3mm;padding:4mm;break-inside:avoid;page-break-inside:avoid}
.tile h2{font-size:15px;margin:0 0 2mm}
.code{display:block;width:60mm;height:60mm;margin:0 auto 2mm}
.code svg,.code img{width:100%;height:100%;image-rendering:pixelated}
dl{display:grid;grid-template-columns:auto 1fr;gap:1mm 3mm;margin:0 0 2mm;font-size:13px}
dt{color:#555}dd{margin:0;overflow-wrap:anywhere}
.legend{list-style:none;padding:0;margin:0;font-size:11px}
.legend li{margin:0.6mm 0}
.dot{display:inline-block;width:3mm;height:3mm;border-radius:50%;margin-right:1.5mm;vertical-align:middle;-webkit-print-color-adjust:exact;print-color-adjust:exact}
@media screen{.light-fast-blink .dot{animation:blink .4s steps(1) infinite}.light-slow-blink .dot{animation:blink 1.6s steps(1) infinite}}
@keyframes blink{50%{opacity:.15}}
@media print{body{margin:0}@page{size:A4;margin:12mm}h1{font-size:14pt}.sheet{grid-template-columns:repeat(2,1fr)}}
`;

/**
 * A printable page, one tile per code: the code, its SSID, capacity, expiry and the light legend
 * (DESIGN §6). The Wi-Fi password is inside the code (unavoidable) and nowhere else on the page:
 * a printed sheet lying on a bench must not hand out the network in clear. Every text is escaped,
 * the SSID and title are operator input.
 */
export async function renderPrintSheet(input: PrintSheetInput): Promise<string> {
  const v = printSheetInputSchema.parse(input);
  const timeZone = v.timeZone ?? 'UTC';
  const text = v.text ?? ENGLISH_SHEET_TEXT;
  const title = v.title ?? text.title;
  const tiles: string[] = [];
  for (const [i, code] of v.codes.entries()) {
    const payload = { s: v.wifi.ssid, p: v.wifi.password, t: code.token };
    const label = text.codeOf(i + 1, v.codes.length);
    const image =
      v.image === 'png'
        ? `<img alt="${escapeHtml(label)}" src="${pngDataUrl((await renderQrPng(payload, { scale: v.scale ?? 8 })).png)}">`
        : (await renderQrSvg(payload, { scale: 4 })).svg;
    tiles.push(
      `<section class="tile"><h2>${escapeHtml(label)}</h2><div class="code">${image}</div><dl>` +
        `<dt>${escapeHtml(text.wifi)}</dt><dd>${escapeHtml(v.wifi.ssid)}</dd>` +
        `<dt>${escapeHtml(text.password)}</dt><dd>${escapeHtml(text.passwordInCode)}</dd>` +
        `<dt>${escapeHtml(text.devices)}</dt><dd>${escapeHtml(text.upTo(code.capacity))}</dd>` +
        `<dt>${escapeHtml(text.expires)}</dt><dd>${escapeHtml(formatTime(code.expiresAt, timeZone, text.locale))}</dd>` +
        `<dt>${escapeHtml(text.reference)}</dt><dd>${escapeHtml(redactToken(code.token))}</dd>` +
        `</dl>${legendHtml(text)}</section>`,
    );
  }
  return (
    `<!doctype html><html lang="${escapeHtml(text.locale)}"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title>` +
    `<style>${STYLE}</style></head><body><h1>${escapeHtml(title)}</h1>` +
    `<p>${escapeHtml(text.intro)}</p>` +
    `<main class="sheet">${tiles.join('')}</main></body></html>`
  );
}
