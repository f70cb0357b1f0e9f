import { MAX_TOKEN_CAPACITY } from '../../protocol/index.js';

/**
 * Which code each camera of the bench sees when the screens show several. The operator holds
 * each code before at most its capacity of devices: cameras are taken in fleet order, the first
 * `capacity[0]` see code 0, the next `capacity[1]` code 1, and so on (with full codes of 30, camera
 * i sees code ⌊i/30⌋). Cameras beyond the total crowd around the last code, as a bench with too
 * many devices would: the authority refuses them (TOKEN_EXHAUSTED); with overflow 'ignore' they see
 * nothing, as on a bench where the operator shows the codes only to the devices the batch is for.
 * -1: no code.
 */
export type Overflow = 'crowd' | 'ignore';

export function assignCamerasToCodes(cameraCount: number, capacities: readonly number[], overflow: Overflow = 'crowd'): number[] {
  const view = new Array<number>(cameraCount).fill(-1);
  if (capacities.length === 0) return view;
  let code = 0;
  let usedInCode = 0;
  const room = (c: number): number => Math.max(1, Math.min(MAX_TOKEN_CAPACITY, capacities[c]!));
  for (let camera = 0; camera < cameraCount; camera++) {
    while (code < capacities.length - 1 && usedInCode >= room(code)) {
      code++;
      usedInCode = 0;
    }
    if (overflow === 'ignore' && usedInCode >= room(code)) break;
    view[camera] = code;
    usedInCode++;
  }
  return view;
}
