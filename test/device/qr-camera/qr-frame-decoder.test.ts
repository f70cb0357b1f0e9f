import { describe, expect, it } from 'vitest';
import { createSharedDecoder, decodeCameraImage, MAX_FRAME_PIXELS } from '../../../src/device/index.js';
import { encodeQrPayload } from '../../../src/protocol/index.js';
import { renderQrPng } from '../../../src/qr/index.js';
import { benchPayload } from '../support/identities.js';
import { compose, pngToRgba, seededRandom } from '../support/pixels.js';

const utf8 = new TextEncoder();

describe('the camera decoder on hostile frames', () => {
  it('a blank frame and a frame of random pixels: NO_CODE', () => {
    expect(decodeCameraImage({ data: new Uint8Array(120 * 80 * 4).fill(255), width: 120, height: 80 })).toMatchObject({ ok: false, reason: 'NO_CODE' });
    const rnd = seededRandom(42);
    const noise = new Uint8Array(160 * 160 * 4).map(() => Math.floor(rnd() * 256));
    expect(decodeCameraImage({ data: noise, width: 160, height: 160 })).toMatchObject({ ok: false, reason: 'NO_CODE' });
  });

  it('bytes that are no image, a truncated PNG, inconsistent RGBA, a huge frame: BAD_IMAGE', async () => {
    const png = (await renderQrPng(benchPayload())).png;
    expect(decodeCameraImage(utf8.encode('GIF89a not a png'))).toMatchObject({ ok: false, reason: 'BAD_IMAGE', detail: 'not a PNG image' });
    expect(decodeCameraImage(png.subarray(0, Math.floor(png.length / 2)))).toMatchObject({ ok: false, reason: 'BAD_IMAGE' });
    expect(decodeCameraImage({ data: new Uint8Array(10), width: 100, height: 100 })).toMatchObject({ ok: false, reason: 'BAD_IMAGE' });
    expect(decodeCameraImage({ data: new Uint8Array(0), width: 0, height: 0 })).toMatchObject({ ok: false, reason: 'BAD_IMAGE' });
    const bomb = Buffer.from(png);
    bomb.writeUInt32BE(50_000, 16); // IHDR width: refused before inflating
    bomb.writeUInt32BE(50_000, 20);
    expect(50_000 * 50_000).toBeGreaterThan(MAX_FRAME_PIXELS);
    expect(decodeCameraImage(bomb)).toMatchObject({ ok: false, reason: 'BAD_IMAGE', detail: expect.stringMatching(/larger than a camera frame/) });
    expect(decodeCameraImage(null as never)).toMatchObject({ ok: false, reason: 'BAD_IMAGE' });
  });

  it('a truncated or garbled payload: BAD_PAYLOAD with the reason', async () => {
    const text = encodeQrPayload(benchPayload());
    const truncated = decodeCameraImage((await renderQrPng(utf8.encode(text.slice(0, 30)), { scale: 4 })).png);
    expect(truncated).toEqual({ ok: false, reason: 'BAD_PAYLOAD', detail: 'payload is not JSON' });
    const wrongShape = decodeCameraImage((await renderQrPng(utf8.encode('{"s":"bench","p":"short","t":"EUabcdefgh1234"}'), { scale: 4 })).png);
    expect(wrongShape).toMatchObject({ ok: false, reason: 'BAD_PAYLOAD', detail: expect.stringMatching(/payload p: Wi-Fi password/) });
    const extraKey = decodeCameraImage((await renderQrPng(utf8.encode(text.replace('}', ',"x":1}')), { scale: 4 })).png);
    expect(extraKey).toMatchObject({ ok: false, reason: 'BAD_PAYLOAD' });
  });

  it('a 2 KB payload decodes from the QR but is refused as too long', async () => {
    const big = utf8.encode(JSON.stringify({ s: 'bench-lab-01', p: 'pass-1234567', t: 'EU' + 'a'.repeat(2000) }));
    expect(big.length).toBeGreaterThan(2000);
    const r = await renderQrPng(big, { scale: 3 });
    expect(r.version).toBeGreaterThan(30);
    expect(decodeCameraImage(r.png)).toEqual({ ok: false, reason: 'BAD_PAYLOAD', detail: `payload is ${big.length} bytes, more than 512` });
  });

  it('bytes that are not UTF-8: BAD_PAYLOAD, decoded from the raw bytes, not from jsQR text', async () => {
    const bytes = Uint8Array.from([0x7b, 0x22, 0x73, 0x22, 0x3a, 0x22, 0xff, 0xfe, 0xc3, 0x28, 0x22, 0x7d]);
    expect(decodeCameraImage((await renderQrPng(bytes, { scale: 4 })).png)).toEqual({ ok: false, reason: 'BAD_PAYLOAD', detail: 'payload is not valid UTF-8' });
  });

  for (const layout of ['h', 'v', 'diag'] as const) {
    it(`two different codes in one frame (${layout}): MULTIPLE_CODES`, async () => {
      for (const scale of [2, 4]) {
        const a = pngToRgba((await renderQrPng(benchPayload(), { scale })).png);
        const b = pngToRgba((await renderQrPng(benchPayload({ s: 'S'.repeat(32), p: 'P'.repeat(63) }), { scale })).png);
        expect(decodeCameraImage(compose(a, b, layout))).toMatchObject({ ok: false, reason: 'MULTIPLE_CODES' });
      }
    });
  }

  it('a large and a small code: jsQR reads one, the look after blanking it finds the other', async () => {
    const big = pngToRgba((await renderQrPng(benchPayload({ s: 'big-screen' }), { scale: 8 })).png);
    const small = pngToRgba((await renderQrPng(benchPayload({ s: 'small-sticker' }), { scale: 2 })).png);
    for (const layout of ['h', 'v', 'diag'] as const) {
      expect(decodeCameraImage(compose(big, small, layout))).toMatchObject({ ok: false, reason: 'MULTIPLE_CODES', detail: 'the frame shows two different codes' });
    }
  });

  it('two copies of the same code are one code', async () => {
    const payload = benchPayload();
    const a = pngToRgba((await renderQrPng(payload, { scale: 3 })).png);
    expect(decodeCameraImage(compose(a, a, 'h'))).toMatchObject({ ok: true, payload });
  });

  it('a code beside other ink (a label) still decodes: only codes count', async () => {
    const payload = benchPayload();
    const code = pngToRgba((await renderQrPng(payload, { scale: 4 })).png);
    const label = { data: new Uint8Array(60 * code.height * 4).fill(255), width: 60, height: code.height };
    for (let y = 40; y < 60; y++) for (let x = 10; x < 50; x++) label.data.fill(0, (y * 60 + x) * 4, (y * 60 + x) * 4 + 3);
    expect(decodeCameraImage(compose(code, label, 'h'))).toMatchObject({ ok: true, payload });
  });

  it('a shared decoder decodes one image object once for every camera', async () => {
    const png = (await renderQrPng(benchPayload())).png;
    const decode = createSharedDecoder();
    const first = decode(png);
    expect(first.ok).toBe(true);
    expect(decode(png)).toBe(first);
    expect(decode(Buffer.from(png))).not.toBe(first);
  });
});
