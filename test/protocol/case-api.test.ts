import { createHmac, randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { computeResetCode } from '../../src/cloud/reset-codes.js';
import { parseResetRequest } from '../../src/cloud/reset-request.js';
import { checkLabelPhoto, MAX_LABEL_PHOTO_BYTES } from '../../src/protocol/index.js';

describe('the label photo check (strict base64, magic bytes, 5 MB)', () => {
  it('given random JPEG and PNG bodies of every padding, then they decode to exactly the bytes Node encodes', () => {
    for (let n = 3; n < 200; n++) {
      for (const magic of [[0xff, 0xd8, 0xff], [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]]) {
        const bytes = Buffer.concat([Buffer.from(magic), randomBytes(n)]);
        const r = checkLabelPhoto(bytes.toString('base64'));
        expect(r.ok).toBe(true);
        if (r.ok) expect(Buffer.from(r.bytes).equals(bytes)).toBe(true);
      }
    }
  });
  it('given texts that are not strict base64 or not an image, then each is refused with its code', () => {
    const png = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 1, 2]).toString('base64');
    expect(png.endsWith('=')).toBe(true);
    const codeOf = (s: string) => {
      const r = checkLabelPhoto(s);
      return r.ok ? 'ok' : r.code;
    };
    expect(codeOf(png)).toBe('ok');
    expect(codeOf(png.replace(/=+$/, ''))).toBe('PHOTO_NOT_BASE64'); // unpadded
    expect(codeOf(` ${png.slice(1)}`)).toBe('PHOTO_NOT_BASE64');
    expect(codeOf('_9j_')).toBe('PHOTO_NOT_BASE64'); // base64url is not base64
    expect(codeOf('/9j/\u00e9AAA')).toBe('PHOTO_NOT_BASE64');
    expect(codeOf('/9j/')).toBe('ok'); // FF D8 FF
    expect(codeOf('/9j/=')).toBe('PHOTO_NOT_BASE64');
    expect(codeOf('/9j/4B==')).toBe('PHOTO_NOT_BASE64'); // non-zero bits under the padding
    expect(codeOf('/9j/4A==')).toBe('ok');
    expect(codeOf(Buffer.from('GIF89a....').toString('base64'))).toBe('PHOTO_NOT_IMAGE');
    expect(codeOf(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a]).toString('base64'))).toBe('PHOTO_NOT_IMAGE'); // cut magic
    expect(codeOf(Buffer.concat([Buffer.from([0xff, 0xd8, 0xff]), Buffer.alloc(MAX_LABEL_PHOTO_BYTES - 2)]).toString('base64'))).toBe('PHOTO_TOO_LARGE');
  });
});

describe('reset codes and reset requests (§4.9)', () => {
  it('given a device key, devId and challenge, then the code is the first 12 base32 characters of the HMAC', () => {
    const digest = createHmac('sha256', 'key-1').update('reset|dev-1|chal-1234').digest();
    // RFC 4648 base32 of the digest's first 8 bytes covers its first 12 characters.
    let bits = '';
    for (const b of digest) bits += b.toString(2).padStart(8, '0');
    const want = Array.from({ length: 12 }, (_v, i) => 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567'[parseInt(bits.slice(i * 5, i * 5 + 5), 2)]).join('');
    expect(computeResetCode('key-1', 'dev-1', 'chal-1234')).toBe(want);
    expect(computeResetCode('key-1', 'dev-1', 'chal-1235')).not.toBe(want);
  });
  it('given the XML and the QR forms of one request, then both read the same; hostile XML is refused', () => {
    const xml = parseResetRequest('<ResetRequest><DeviceSN>NV8-2611-000001</DeviceSN><Challenge>abcDEF123456</Challenge><IssuedAt>1764669600000</IssuedAt></ResetRequest>');
    expect(xml).toEqual({ ok: true, value: { device: 'NV8-2611-000001', challenge: 'abcDEF123456', issuedAt: 1764669600000 } });
    expect(parseResetRequest('RST1:pnvr8ch-0001:abcDEF123456:1764669600000')).toEqual({ ok: true, value: { device: 'pnvr8ch-0001', challenge: 'abcDEF123456', issuedAt: 1764669600000 } });
    for (const bad of [
      '<ResetRequest><DeviceSN>a b</DeviceSN><Challenge>abcDEF123456</Challenge><IssuedAt>1764669600000</IssuedAt></ResetRequest>',
      '<ResetRequest><DeviceSN>NV8-1</DeviceSN><Challenge>abc</Challenge><IssuedAt>1764669600000</IssuedAt></ResetRequest>',
      '<ResetRequest><DeviceSN>NV8-2611</DeviceSN><Challenge>abcDEF123456</Challenge><IssuedAt>yesterday</IssuedAt></ResetRequest>',
      '<ResetRequest><ResetRequest><ResetRequest><ResetRequest><ResetRequest>x</ResetRequest></ResetRequest></ResetRequest></ResetRequest></ResetRequest>',
      `<ResetRequest>${'<a>'.repeat(2000)}</ResetRequest>`,
      'RST1:dev:chal:notatime',
      'RST2:pnvr8ch-0001:abcDEF123456:1764669600000',
    ]) {
      expect(parseResetRequest(bad).ok, bad.slice(0, 60)).toBe(false);
    }
  });
});
