import type { HistoryStats } from '../../protocol/station-api.js';
import { t } from '../i18n/index.js';
import { formatDay } from './format.js';

/** Chart data independent of the chart library: labels and one or more series. */
export interface ChartSeries {
  label: string;
  data: number[];
  /** One color for the series, or one per bar. */
  color: string | string[];
}
export interface ChartData {
  labels: string[];
  series: ChartSeries[];
}

export const RESULT_COLORS = { unbound: '#2e8540', notBound: '#5b7083', failed: '#c62828' } as const;

/** Results by code, most frequent first: UNBOUND green, NOT_BOUND grey, failure codes red. */
export function byCodeChart(stats: HistoryStats): ChartData {
  const rows = [...stats.byCode].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));
  return {
    labels: rows.map((r) => r.code),
    series: [
      {
        label: t('history.devices'),
        data: rows.map((r) => r.count),
        color: rows.map((r) => (r.code === 'UNBOUND' ? RESULT_COLORS.unbound : r.code === 'NOT_BOUND' ? RESULT_COLORS.notBound : RESULT_COLORS.failed)),
      },
    ],
  };
}

/** Results by day, oldest first, stacked: unbound, not bound, failed. */
export function byDayChart(stats: HistoryStats): ChartData {
  const days = [...stats.byDay].sort((a, b) => a.day.localeCompare(b.day));
  return {
    labels: days.map((d) => formatDay(d.day)),
    series: [
      { label: t('results.label.UNBOUND'), data: days.map((d) => d.unbound), color: RESULT_COLORS.unbound },
      { label: t('results.label.NOT_BOUND'), data: days.map((d) => d.notBound), color: RESULT_COLORS.notBound },
      { label: t('results.label.FAILED'), data: days.map((d) => d.failed), color: RESULT_COLORS.failed },
    ],
  };
}
