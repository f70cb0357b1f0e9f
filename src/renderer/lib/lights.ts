import type { Light } from '../../protocol/device-states.js';
import { t } from '../i18n/index.js';

/** CSS classes of an indicator dot: its color and, for blink patterns, a CSS animation. */
export function lightClasses(light: Light | null): string[] {
  if (!light) return ['light', 'light--off'];
  return ['light', `light--${light.color}`, `light--${light.pattern}`];
}

export function describeLight(light: Light | null): string {
  if (!light) return t('lights.off');
  return t('lights.description', { color: t(`lights.color.${light.color}`), pattern: t(`lights.pattern.${light.pattern}`) });
}
