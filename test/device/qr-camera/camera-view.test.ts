import { describe, expect, it } from 'vitest';
import { assignCamerasToCodes } from '../../../src/device/index.js';

const counts = (view: number[]) => view.reduce<Record<number, number>>((m, c) => ({ ...m, [c]: (m[c] ?? 0) + 1 }), {});

describe('which camera sees which code', () => {
  it('one code: every camera sees it, the crowd beyond its capacity too', () => {
    expect(counts(assignCamerasToCodes(31, [30]))).toEqual({ 0: 31 });
  });

  it('full codes of 30: camera i sees code ⌊i/30⌋', () => {
    const view = assignCamerasToCodes(75, [30, 30, 15]);
    view.forEach((code, i) => expect(code).toBe(Math.floor(i / 30)));
  });

  it('uneven capacities are honoured in order', () => {
    expect(counts(assignCamerasToCodes(45, [23, 22]))).toEqual({ 0: 23, 1: 22 });
  });

  it('no code on the screens: no camera sees anything', () => {
    expect(assignCamerasToCodes(3, [])).toEqual([-1, -1, -1]);
  });

  it('with overflow "ignore", cameras beyond the codes\' capacity see nothing', () => {
    expect(counts(assignCamerasToCodes(64, [30, 15], 'ignore'))).toEqual({ 0: 30, 1: 15, [-1]: 19 });
  });
});
