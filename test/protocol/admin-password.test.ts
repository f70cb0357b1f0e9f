import { createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { parseResetRequest } from '../../src/cloud/reset-request.js';
import {
  adminProof,
  base32,
  computeResetCode,
  deriveAdminKey,
  deriveAdminKeySync,
  parseResetRequestQrText,
  parseResetRequestXml,
  resetRequestQrText,
  resetRequestXml,
} from '../../src/protocol/index.js';

describe('admin password proof and reset codes (DESIGN §4.8, §4.9)', () => {
  it('base32 is RFC 4648 (its test vectors, unpadded)', () => {
    const vectors: Array<[string, string]> = [['', ''], ['f', 'MY'], ['fo', 'MZXQ'], ['foo', 'MZXW6'], ['foob', 'MZXW6YQ'], ['fooba', 'MZXW6YTB'], ['foobar', 'MZXW6YTBOI']];
    for (const [input, out] of vectors) expect(base32(Buffer.from(input))).toBe(out);
  });

  it('the proof is HMAC-SHA256 keyed with PBKDF2-SHA256(password, salt, 10 000, 32 B) over the challenge; sync and async keys agree', async () => {
    const salt = Buffer.alloc(16, 7).toString('base64url');
    const key = deriveAdminKeySync('Bench-Admin-2024', salt);
    expect(key).toHaveLength(32);
    expect((await deriveAdminKey('Bench-Admin-2024', salt)).equals(key)).toBe(true);
    expect(adminProof(key, 'challenge-0123456789')).toBe(createHmac('sha256', key).update('challenge-0123456789').digest('hex'));
    expect(deriveAdminKeySync('bench-admin-2024', salt).equals(key)).toBe(false);
  });

  it('the reset code is the first 12 base32 characters of HMAC-SHA256(device key, reset|devId|challenge)', () => {
    const mac = createHmac('sha256', 'k3y').update('reset|pnvr8ch-0007|abcdefghijklmnop').digest();
    expect(computeResetCode('k3y', 'pnvr8ch-0007', 'abcdefghijklmnop')).toBe(base32(mac).slice(0, 12));
    expect(computeResetCode('k3y', 'pnvr8ch-0007', 'abcdefghijklmnop')).toMatch(/^[A-Z2-7]{12}$/);
  });

  it('a reset request round-trips through its XML and its QR text; anything else is refused, never thrown', () => {
    const r = { devId: 'pnvr8ch-0007', serial: 'NV8-2611-000007', challenge: 'Q2hhbGxlbmdlLTEyMzQ1Njc4', issuedAt: '2026-12-02T10:00:00.000Z' };
    expect(parseResetRequestXml(resetRequestXml(r))).toEqual(r);
    expect(resetRequestQrText(r)).toBe(`RST1:pnvr8ch-0007:Q2hhbGxlbmdlLTEyMzQ1Njc4:${Date.parse('2026-12-02T10:00:00.000Z')}`);
    // The authority's case form reads the same text (one format, both sides).
    expect(parseResetRequest(resetRequestQrText(r))).toEqual({ ok: true, value: { device: r.devId, challenge: r.challenge, issuedAt: Date.parse(r.issuedAt) } });
    expect(parseResetRequest(resetRequestXml(r))).toMatchObject({ ok: true, value: { challenge: r.challenge, issuedAt: Date.parse(r.issuedAt) } });
    expect(parseResetRequestQrText(resetRequestQrText(r))).toEqual({ devId: r.devId, challenge: r.challenge, issuedAt: r.issuedAt });
    for (const bad of ['', '<ResetRequest/>', resetRequestXml({ ...r, issuedAt: 'yesterday' }), resetRequestXml(r).replace('<DeviceSN>', '<DeviceSN>&lt;'), 'x'.repeat(5000)]) {
      expect(parseResetRequestXml(bad)).toBeNull();
    }
    for (const bad of ['RST1:pnvr8ch-0007:Q2hhbGxlbmdlLTEyMzQ1Njc4:2026-12-02T10:00:00.000Z', 'RST2:pnvr8ch-0007:Q2hhbGxlbmdlLTEyMzQ1Njc4:1764669600000', 'RST1:pnvr8ch-0007:short:2026-12-02T10:00:00.000Z', 'RST1:a:b:c', 'RST1:pnvr8ch-0007:Q2hhbGxlbmdlLTEyMzQ1Njc4:not-a-date']) {
      expect(parseResetRequestQrText(bad)).toBeNull();
    }
  });
});
