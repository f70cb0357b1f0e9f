import type { Light } from '../../protocol/device-states.js';

/** CSS classes of an indicator dot: its color and, for blink patterns, a CSS animation. */
export function lightClasses(light: Light | null): string[] {
  if (!light) return ['light', 'light--off'];
  return ['light', `light--${light.color}`, `light--${light.pattern}`];
}

export function describeLight(light: Light | null): string {
  if (!light) return 'off';
  return `${light.color}, ${light.pattern.replace('-', ' ')}`;
}
