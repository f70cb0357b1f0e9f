import { describe, expect, it } from 'vitest';
import QRCode from 'qrcode';
import { decodeQrPayload, encodeQrPayload, MAX_QR_PAYLOAD_BYTES, QrPayloadError, type QrPayload } from '../../src/protocol/qr-payload.js';
import { generateToken } from '../../src/protocol/token.js';

const utf8 = new TextEncoder();
const bytesOf = (s: string): number => utf8.encode(s).length;

function typicalPayload(): QrPayload {
  return { s: 'BenchWiFi-01', p: 'returns-2026', t: generateToken('EU').token };
}

/** Decodes and expects a refusal; returns the error so each test can assert it precisely. */
function refusalOf(raw: Uint8Array | string): string {
  const r = decodeQrPayload(raw);
  if (r.ok) throw new Error(`expected a refusal, got ${JSON.stringify(r.value)}`);
  return r.error;
}

describe('QR payload (DESIGN §4.1)', () => {
  it('given a typical payload, when encoded and decoded (as string and as bytes), then the same payload comes back', () => {
    const p = typicalPayload();
    const text = encodeQrPayload(p);
    expect(decodeQrPayload(text)).toEqual({ ok: true, value: p });
    expect(decodeQrPayload(utf8.encode(text))).toEqual({ ok: true, value: p });
  });

  it('given a payload, when encoded, then it is compact JSON with keys s, p, t in that order and no whitespace', () => {
    const p = { t: 'EUabcdefgh123456', p: 'password', s: 'My Net' };
    expect(encodeQrPayload(p)).toBe('{"s":"My Net","p":"password","t":"EUabcdefgh123456"}');
  });

  it('given a 12-char SSID, a 12-char password and an EU token, when encoded, then it is exactly 62 bytes and fits QR version 4 (ECC M, byte mode)', () => {
    const p = typicalPayload();
    expect(p.s).toHaveLength(12);
    expect(p.p).toHaveLength(12);
    const text = encodeQrPayload(p);
    expect(bytesOf(text)).toBe(62);
    const qr = QRCode.create([{ data: utf8.encode(text), mode: 'byte' }], { errorCorrectionLevel: 'M' });
    expect(qr.version).toBe(4);
  });

  it('given SSIDs and passwords with quotes, backslashes (and a non-ASCII SSID), when round-tripped, then they come back unchanged', () => {
    const p = { s: 'Caf\u00e9 "bench" \\ 1', p: 'p"ss w\\rd~', t: generateToken('AY').token };
    expect(decodeQrPayload(utf8.encode(encodeQrPayload(p)))).toEqual({ ok: true, value: p });
  });

  it('given the worst case (32-byte SSID, 63-char password), when encoded, then it is accepted and decodes back', () => {
    const p = { s: 'S'.repeat(32), p: 'P'.repeat(63), t: generateToken('IN').token };
    const text = encodeQrPayload(p);
    expect(decodeQrPayload(utf8.encode(text))).toEqual({ ok: true, value: p });
    expect(bytesOf(text)).toBeLessThanOrEqual(MAX_QR_PAYLOAD_BYTES);
  });

  it('given a 32-byte SSID made of 2-byte characters (16 chars), then it is accepted', () => {
    const s = '\u00e9'.repeat(16);
    expect(bytesOf(s)).toBe(32);
    const p = { s, p: 'password', t: generateToken('EU').token };
    expect(decodeQrPayload(encodeQrPayload(p))).toEqual({ ok: true, value: p });
  });

  it('given an open network (empty password), then the payload is accepted', () => {
    const p = { s: 'GuestNet', p: '', t: generateToken('EU').token };
    expect(decodeQrPayload(encodeQrPayload(p))).toEqual({ ok: true, value: p });
  });

  it('given an invalid payload, when encoding, then encode throws instead of printing a bad code', () => {
    expect(() => encodeQrPayload({ s: 'x'.repeat(33), p: '', t: generateToken('EU').token })).toThrow(/SSID is longer than 32 bytes/);
    expect(() => encodeQrPayload({ s: 'Net', p: 'short', t: generateToken('EU').token })).toThrow(/shorter than 8 characters/);
  });

  describe('when decoding malformed codes, then each gets a precise reason', () => {
    const token = 'EUabcdefgh123456';

    it('given text that is not JSON', () => {
      expect(refusalOf('WIFI:S:Net;T:WPA;P:secret;;')).toBe('payload is not JSON');
      expect(refusalOf(utf8.encode('{"s":"Net",'))).toBe('payload is not JSON');
    });

    it('given bytes that are not UTF-8 (0xff)', () => {
      expect(refusalOf(new Uint8Array([0x7b, 0x22, 0xff, 0x22, 0x7d]))).toBe('payload is not valid UTF-8');
    });

    it('given more than 512 bytes (as bytes and as text)', () => {
      expect(refusalOf(new Uint8Array(513).fill(0x20))).toBe('payload is 513 bytes, more than 512');
      const longText = JSON.stringify({ s: 'Net', p: 'password', t: token, pad: 'x'.repeat(520) });
      expect(refusalOf(longText)).toBe(`payload is ${bytesOf(longText)} bytes, more than 512`);
    });

    it('given a 512-byte string of 2-byte characters that is only 256 chars long, then the byte limit still applies', () => {
      expect(refusalOf('\u00e9'.repeat(257))).toBe('payload is 514 bytes, more than 512');
    });

    it('given an extra key', () => {
      expect(refusalOf(JSON.stringify({ s: 'Net', p: 'password', t: token, x: 1 }))).toMatch(/^payload object: .*"x"/);
    });

    it('given a missing key (each of s, p, t)', () => {
      expect(refusalOf(JSON.stringify({ p: 'password', t: token }))).toMatch(/^payload s: /);
      expect(refusalOf(JSON.stringify({ s: 'Net', t: token }))).toMatch(/^payload p: /);
      expect(refusalOf(JSON.stringify({ s: 'Net', p: 'password' }))).toMatch(/^payload t: /);
    });

    it('given JSON that is not an object', () => {
      expect(refusalOf('[]')).toMatch(/^payload object: /);
      expect(refusalOf('null')).toMatch(/^payload object: /);
      expect(refusalOf('"EUabcdefgh123456"')).toMatch(/^payload object: /);
    });

    it('given a bad token', () => {
      expect(refusalOf(JSON.stringify({ s: 'Net', p: 'password', t: 'euabcdefgh123456' }))).toBe(
        'payload t: token must be a region followed by URL-safe characters',
      );
      expect(refusalOf(JSON.stringify({ s: 'Net', p: 'password', t: 'EUabc' }))).toBe('payload t: token too short');
    });

    it('given an SSID over 32 bytes, counting multi-byte characters as bytes (17 × "é" = 34 bytes)', () => {
      expect(refusalOf(JSON.stringify({ s: 'x'.repeat(33), p: 'password', t: token }))).toBe('payload s: SSID is longer than 32 bytes');
      expect(refusalOf(JSON.stringify({ s: '\u00e9'.repeat(17), p: 'password', t: token }))).toBe('payload s: SSID is longer than 32 bytes');
      expect(refusalOf(JSON.stringify({ s: '\u{1F4F7}'.repeat(9), p: 'password', t: token }))).toBe('payload s: SSID is longer than 32 bytes');
    });

    it('given an empty SSID', () => {
      expect(refusalOf(JSON.stringify({ s: '', p: 'password', t: token }))).toBe('payload s: SSID is empty');
    });

    it('given a Wi-Fi password of 7, 65 or 64 non-hex characters', () => {
      expect(refusalOf(JSON.stringify({ s: 'Net', p: '1234567', t: token }))).toBe(
        'payload p: Wi-Fi password is shorter than 8 characters (leave it empty for an open network)',
      );
      expect(refusalOf(JSON.stringify({ s: 'Net', p: 'x'.repeat(65), t: token }))).toBe(
        'payload p: Wi-Fi password is longer than 63 characters (or 64 hex digits)',
      );
      expect(refusalOf(JSON.stringify({ s: 'Net', p: 'x'.repeat(64), t: token }))).toBe(
        'payload p: Wi-Fi password of 64 characters is a WPA key and must be hex digits only',
      );
    });
  });

  describe('one set of limits: the encoder refuses what the decoder refuses, with the same message (issue 9)', () => {
    const token = 'EUabcdefgh123456';
    /** The encoder's refusal of a value, next to the decoder's refusal of the same value as JSON. */
    function bothRefusals(p: QrPayload): { encoder: string; decoder: string } {
      let encoder = '(accepted)';
      try {
        encodeQrPayload(p);
      } catch (e) {
        expect(e).toBeInstanceOf(QrPayloadError);
        encoder = (e as Error).message;
      }
      return { encoder, decoder: refusalOf(JSON.stringify(p)) };
    }

    it('given 17 × U+0001 as SSID and a 63-character password of control characters (once 518 bytes), then both refuse it with the same message', () => {
      const p = { s: '\u0001'.repeat(17), p: '\u0001'.repeat(63), t: generateToken('EU').token };
      expect(bytesOf(JSON.stringify(p))).toBe(518);
      const r = bothRefusals(p);
      expect(r.encoder).toBe('payload is 518 bytes, more than 512');
      expect(r.decoder).toBe(r.encoder);
      // Within the size limit, the SSID is what both name.
      const shorter = bothRefusals({ ...p, p: 'password' });
      expect(shorter.encoder).toBe('payload s: SSID has a control character or a lone surrogate (it must be text of printable characters)');
      expect(shorter.decoder).toBe(shorter.encoder);
    });

    it('given SSIDs with a control character (C0, DEL, C1) or a lone surrogate, then both refuse them', () => {
      for (const s of ['a\u0000b', 'tab\there', 'nl\n', 'del\u007f', 'c1\u0085', 'c1\u009f', 'half\ud83d', '\udcf7x']) {
        const r = bothRefusals({ s, p: 'password', t: token });
        expect(r.encoder, JSON.stringify(s)).toMatch(/^payload s: SSID has a control character/);
        expect(r.decoder).toBe(r.encoder);
      }
    });

    it('given passwords that are not printable ASCII (ä, tab, DEL, emoji) or a 64-character non-hex key, then both refuse them', () => {
      for (const pw of ['p\u00e4sswort', 'pass\tword', 'password\u007f', 'password\u{1F511}', 'g'.repeat(64)]) {
        const r = bothRefusals({ s: 'Net', p: pw, t: token });
        expect(r.encoder, JSON.stringify(pw)).toMatch(/^payload p: /);
        expect(r.decoder).toBe(r.encoder);
      }
    });

    it('given the edges that are valid (space and ~ in an 8- and a 63-character passphrase, a 64-hex-digit WPA key), then both accept them', () => {
      for (const pw of [' ~ ~ ~ ~', '~'.repeat(63), ' '.repeat(8), '0123456789abcdefABCDEF'.repeat(3).slice(0, 64)]) {
        const p = { s: 'Net', p: pw, t: token };
        expect(decodeQrPayload(utf8.encode(encodeQrPayload(p)))).toEqual({ ok: true, value: p });
      }
    });

    it('given a payload with a key twice (plainly or escaped), then decode refuses it instead of keeping the last', () => {
      const valid = `{"s":"Net","p":"password","t":"${token}"`;
      expect(refusalOf(`${valid},"s":"Evil"}`)).toBe('payload object: the key "s" appears twice');
      expect(refusalOf(`${valid},"\\u0070":"password"}`)).toBe('payload object: the key "p" appears twice');
      expect(refusalOf(utf8.encode(`{"t":"${token}","t":"${token}","s":"Net","p":""}`))).toBe('payload object: the key "t" appears twice');
      // A brace or a quote inside a string is not structure.
      expect(decodeQrPayload(`{"s":"{\\"s\\":1,\\"s\\":2}","p":"password","t":"${token}"}`).ok).toBe(true);
    });

    it('given a byte-order mark before the JSON, then decode refuses it (the encoder never writes one)', () => {
      const bytes = utf8.encode(encodeQrPayload({ s: 'Net', p: 'password', t: token }));
      expect(refusalOf(Uint8Array.from([0xef, 0xbb, 0xbf, ...bytes]))).toBe('payload is not JSON');
    });
  });

  it('given 2,000 random byte strings and 2,000 mutated valid payloads, when decoded, then decode never throws and every refusal has a reason', () => {
    const valid = utf8.encode(encodeQrPayload(typicalPayload()));
    const inputs: Uint8Array[] = [];
    for (let i = 0; i < 2000; i++) {
      const random = new Uint8Array(Math.floor(Math.random() * 600));
      globalThis.crypto.getRandomValues(random);
      inputs.push(random);
      const mutated = Uint8Array.from(valid);
      const flips = 1 + Math.floor(Math.random() * 4);
      for (let f = 0; f < flips; f++) mutated[Math.floor(Math.random() * mutated.length)] = Math.floor(Math.random() * 256);
      inputs.push(mutated);
    }
    let accepted = 0;
    for (const raw of inputs) {
      let r: ReturnType<typeof decodeQrPayload> | undefined;
      expect(() => {
        r = decodeQrPayload(raw);
      }).not.toThrow();
      if (r!.ok) accepted++;
      else expect(r!.error.length).toBeGreaterThan(0);
    }
    // Random bytes essentially never form a valid payload; most mutations break it.
    expect(accepted).toBeLessThan(inputs.length / 2);
  });
});
