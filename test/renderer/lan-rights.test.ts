import { describe, expect, it } from 'vitest';
import { lanRightsRefusal, productLabel } from '../../src/renderer/lib/lan-rights.js';
import { DASHBOARD } from './support/fake-station-api.js';

describe('what the signed-in account may unbind on the LAN', () => {
  it('given devices of a product it may not unbind, without mechanism, or below the minimum firmware, then each says why before the click', () => {
    expect(lanRightsRefusal({ pid: 'pnvr8ch', firmware: '4.0.1' }, DASHBOARD.products)).toEqual({ code: 'UNAUTHORIZED', pid: 'pnvr8ch' });
    expect(lanRightsRefusal({ pid: 'oldnvr', firmware: '1.0.0' }, DASHBOARD.products)).toMatchObject({ code: 'UNSUPPORTED_PRODUCT', name: 'Old NVR' });
    expect(lanRightsRefusal({ pid: 'pqr1cam', firmware: '1.9.9' }, DASHBOARD.products)).toMatchObject({ code: 'FIRMWARE_UNSUPPORTED', minFirmware: '2.0.0' });
    expect(lanRightsRefusal({ pid: 'pqr1cam', firmware: '2.0.0' }, DASHBOARD.products)).toBeNull();
    expect(lanRightsRefusal({ pid: null, firmware: null }, DASHBOARD.products)).toBeNull();
  });
  it('names a product with its PID', () => {
    expect(productLabel('pqr1cam', DASHBOARD.products)).toEqual({ name: 'PQR Cam 1', pid: 'pqr1cam' });
    expect(productLabel('pnvr8ch', DASHBOARD.products)).toEqual({ name: null, pid: 'pnvr8ch' });
  });
});
