import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  SIGN_METHOD,
  sha256Hex,
  signaturesEqual,
  signDeviceRequest,
  signStationRequest,
  stationRequestHeaders,
  stationStringToSign,
} from '../../src/protocol/signing.js';

const EMPTY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

describe('device request signature (DESIGN §4.3)', () => {
  const devId = 'dev-0001';
  const token = 'EUabcdefgh123456';
  const ts = 1_767_225_600_000;
  const nonce = 'nonce-0123456789abcdef';

  it('given a device key, when a request is signed, then sig is the lower-hex HMAC-SHA256 of devId|token|ts|nonce', () => {
    const sig = signDeviceRequest('device-key-1', devId, token, ts, nonce);
    const expected = createHmac('sha256', Buffer.from('device-key-1', 'utf8')).update(`${devId}|${token}|${ts}|${nonce}`, 'utf8').digest('hex');
    expect(sig).toBe(expected);
    expect(sig).toMatch(/^[0-9a-f]{64}$/);
    // Frozen vector, computed with `openssl dgst -sha256 -hmac device-key-1`.
    expect(sig).toBe('e3551439205b0713a398a9bc461c5b023aa3512133f4a1e34051cb1cea765c9a');
  });

  it('given a non-ASCII device key, then the key is used as its UTF-8 bytes', () => {
    const sig = signDeviceRequest('clé-ü', devId, token, ts, nonce);
    expect(sig).toBe(createHmac('sha256', Buffer.from('clé-ü', 'utf8')).update(`${devId}|${token}|${ts}|${nonce}`).digest('hex'));
  });

  it('given one changed field (key, devId, token, ts or nonce), then the signature changes', () => {
    const base = signDeviceRequest('k', devId, token, ts, nonce);
    const variants = [
      signDeviceRequest('k2', devId, token, ts, nonce),
      signDeviceRequest('k', 'dev-0002', token, ts, nonce),
      signDeviceRequest('k', devId, 'EUabcdefgh123457', ts, nonce),
      signDeviceRequest('k', devId, token, ts + 1, nonce),
      signDeviceRequest('k', devId, token, ts, `${nonce}x`),
    ];
    for (const v of variants) expect(v).not.toBe(base);
  });
});

describe('station request signature (DESIGN §4.4)', () => {
  const body = '{"capacity":30,"channel":"qr"}';
  const path = '/api/v1/unbind-tokens?x=2&a=1';

  it('given no body, then the body hash is the SHA-256 of "" (e3b0c442…)', () => {
    expect(sha256Hex('')).toBe(EMPTY_SHA256);
    expect(stationStringToSign('GET', '/api/v1/me')).toBe(`GET\n${EMPTY_SHA256}\n\n/api/v1/me`);
  });

  it('given a lower-case method, a body and a query, then stringToSign is METHOD\\nsha256(body)\\n\\npath?query with the query exactly as sent', () => {
    const bodyHash = createHash('sha256').update(body, 'utf8').digest('hex');
    expect(bodyHash).toBe('0b0bfd550df4be1a0c7012d651d83582cd96ab91f47a46151eff4972cc000523');
    expect(stationStringToSign('post', path, body)).toBe(`POST\n${bodyHash}\n\n${path}`);
  });

  it('given secret, client_id, t, nonce and stringToSign, then sign is the upper-hex HMAC-SHA256 of their concatenation', () => {
    const sts = stationStringToSign('POST', path, body);
    const sign = signStationRequest('account-secret', 'client-1', 1_767_225_600_000, 'nonce-abcdef0123456789', sts);
    const expected = createHmac('sha256', 'account-secret')
      .update(`client-1${'1767225600000'}nonce-abcdef0123456789${sts}`)
      .digest('hex')
      .toUpperCase();
    expect(sign).toBe(expected);
    expect(sign).toMatch(/^[0-9A-F]{64}$/);
    // Frozen vector, computed with openssl over the same bytes.
    expect(sign).toBe('C5DA7B525E6C21C6978673D2C5F2AB418797FD64022937BBAF7DB119819012D2');
  });

  it('given t as a number or as its string, then the signature is the same', () => {
    const sts = stationStringToSign('GET', '/api/v1/quota');
    expect(signStationRequest('s', 'c', 1700000000000, 'n'.repeat(16), sts)).toBe(signStationRequest('s', 'c', '1700000000000', 'n'.repeat(16), sts));
  });

  it('given a request, when headers are built, then they carry client_id, t, nonce, sign_method and a sign the authority can recompute', () => {
    const h = stationRequestHeaders({
      clientId: 'client-1',
      secret: 'account-secret',
      method: 'post',
      pathWithQuery: path,
      body,
      nonce: 'nonce-abcdef0123456789',
      now: 1_767_225_600_000,
    });
    expect(h).toEqual({
      client_id: 'client-1',
      t: '1767225600000',
      nonce: 'nonce-abcdef0123456789',
      sign_method: 'HMAC-SHA256',
      sign: 'C5DA7B525E6C21C6978673D2C5F2AB418797FD64022937BBAF7DB119819012D2',
    });
    expect(SIGN_METHOD).toBe('HMAC-SHA256');
  });

  it('given the same request with the query reordered, then the sign differs (path and query are signed as sent)', () => {
    const common = { clientId: 'c', secret: 's', method: 'GET', nonce: 'n'.repeat(16), now: 1 };
    expect(stationRequestHeaders({ ...common, pathWithQuery: '/api/v1/device-logs?a=1&b=2' }).sign).not.toBe(
      stationRequestHeaders({ ...common, pathWithQuery: '/api/v1/device-logs?b=2&a=1' }).sign,
    );
  });
});

describe('signaturesEqual', () => {
  it('given equal signatures, then true', () => {
    const s = signDeviceRequest('k', 'dev-1', 'EUabcdefgh123456', 1, 'n'.repeat(16));
    expect(signaturesEqual(s, String(s))).toBe(true);
  });
  it('given signatures that differ in one character, in case, or in length, then false without throwing', () => {
    const s = signDeviceRequest('k', 'dev-1', 'EUabcdefgh123456', 1, 'n'.repeat(16));
    const flipped = (s[0] === '0' ? '1' : '0') + s.slice(1);
    expect(signaturesEqual(s, flipped)).toBe(false);
    expect(signaturesEqual(s, s.toUpperCase())).toBe(s === s.toUpperCase());
    expect(signaturesEqual(s, s.slice(0, 63))).toBe(false);
    expect(signaturesEqual(s, '')).toBe(false);
    expect(signaturesEqual('', '')).toBe(true);
  });
});
