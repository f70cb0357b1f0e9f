import { z } from 'zod';

/**
 * The languages of the station's UI, its print sheet and its CSV hints (DESIGN §10): those of the vendor
 * manuals its users read. English is the source; the others fall back to it key by key.
 */
export const STATION_LOCALES = ['en', 'zh-CN', 'ru', 'es', 'vi'] as const;
export const stationLocaleSchema = z.enum(STATION_LOCALES);
export type StationLocale = z.infer<typeof stationLocaleSchema>;
export const SOURCE_LOCALE: StationLocale = 'en';
