import { describe, expect, it } from 'vitest';
import { batchForLabel, type LabelCandidate } from '../../src/batch/label-routing.js';

/** Issue 11: the bench's one scanner, several batches running: each label goes to the batch it belongs to. */
const qrCams: LabelCandidate = { id: 'b-new-qr', manifest: null, scanned: [], accepts: false };
const nvrs: LabelCandidate = { id: 'b-mid-nvr', manifest: null, scanned: [], accepts: true };
const listed: LabelCandidate = { id: 'b-old-manifest', manifest: ['NV8-2611-000007'], scanned: [], accepts: true };

describe('which batch a scanned label goes to', () => {
  it('given a newer batch of another product, then the label goes to the batch whose product takes it, not the newest', () => {
    expect(batchForLabel([qrCams, nvrs], 'NV8-2611-000001')).toEqual({ id: 'b-mid-nvr', fits: true });
  });
  it('given a batch whose manifest lists the label, then it goes there before any batch that merely takes the format', () => {
    expect(batchForLabel([qrCams, nvrs, listed], 'NV8-2611-000007')).toEqual({ id: 'b-old-manifest', fits: true });
  });
  it('given a batch with a manifest that does not list it, then that batch does not take it for its format', () => {
    expect(batchForLabel([qrCams, listed], 'NV8-2611-000001')).toEqual({ id: 'b-new-qr', fits: false });
  });
  it('given a label scanned already, then a repeat goes to the batch that has it', () => {
    expect(batchForLabel([qrCams, { ...nvrs, scanned: ['QC1-2611-000001'] }], 'QC1-2611-000001')).toEqual({ id: 'b-mid-nvr', fits: true });
  });
  it('given no batch that takes it, then the newest refuses it; given none running, then none', () => {
    expect(batchForLabel([qrCams, { ...nvrs, accepts: false }], 'garbage')).toEqual({ id: 'b-new-qr', fits: false });
    expect(batchForLabel([], 'NV8-2611-000001')).toBeNull();
  });
});
