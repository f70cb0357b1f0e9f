import { describe, expect, it } from 'vitest';
import { checkQrBatchForm, planBlocker, startBlocker, type QrBatchDraft } from '../../src/renderer/lib/new-batch-form.js';
import { DASHBOARD, plan } from './support/fake-station-api.js';

const draft = (over: Partial<QrBatchDraft> = {}): QrBatchDraft => ({ pid: 'pqr1cam', mode: 'count', count: '3', manifestText: '', ssid: 'bench-lab', password: 'bench-pass-2024', ...over });
const check = (over: Partial<QrBatchDraft> = {}) => checkQrBatchForm(draft(over), DASHBOARD.products);

describe('the new QR batch form', () => {
  it('given a count of 0, an empty SSID or a short password, then each field says so beside it', () => {
    expect(check({ count: '0' }).fields).toEqual({ count: 'too-small' });
    expect(check({ count: '' }).fields).toEqual({ count: 'required' });
    expect(check({ count: '2.5' }).fields).toEqual({ count: 'whole-number' });
    expect(check({ count: '10001' }).fields).toEqual({ count: 'too-big' });
    expect(check({ ssid: '' }).fields).toEqual({ ssid: 'empty' });
    expect(check({ ssid: 'x'.repeat(33) }).fields).toEqual({ ssid: 'too-long' });
    expect(check({ password: 'short' }).fields).toEqual({ password: 'too-short' });
    expect(check({ password: '' }).fields).toEqual({});
    expect(check({ pid: 'oldnvr' }).fields).toEqual({ pid: 'not-unbindable' });
    expect(check({ pid: '' }).request).toBeNull();
  });

  it('given a manifest, then lines that are not the product’s serials are listed by line number', () => {
    const c = check({ mode: 'manifest', manifestText: 'PQR-0001\ngarbage label 😀\n\nNV8-0001\nPQR-0001\n' + 'x'.repeat(200) });
    expect(c.fields).toEqual({ manifest: 'bad-lines' });
    expect(c.manifestLines.map((l) => [l.line, l.kind])).toEqual([[2, 'not-a-serial'], [4, 'wrong-format'], [5, 'duplicate'], [6, 'not-a-serial']]);
    expect(c.manifestLines.at(-1)!.text.length).toBeLessThanOrEqual(61);
    expect(check({ mode: 'manifest', manifestText: 'PQR-0001\nPQR-0002\n' })).toMatchObject({ fields: {}, request: { manifest: ['PQR-0001', 'PQR-0002'] } });
  });

  it('Start says why it is not available: the form, the Wi-Fi, no plan yet, a refused plan; Check plan too', () => {
    expect(startBlocker(check({ count: '0' }), null, { planning: false, starting: false })).toBe('form');
    expect(startBlocker(check({ ssid: '' }), plan(), { planning: false, starting: false })).toBe('wifi');
    expect(startBlocker(check(), null, { planning: false, starting: false })).toBe('no-plan');
    expect(startBlocker(check(), plan({ ok: false }), { planning: false, starting: false })).toBe('plan-refused');
    expect(startBlocker(check(), plan(), { planning: false, starting: false })).toBeNull();
    expect(planBlocker(check({ pid: '' }), false)).toBe('product');
    expect(planBlocker(check({ count: '0' }), false)).toBe('devices');
    expect(planBlocker(check(), false)).toBeNull();
  });
});
