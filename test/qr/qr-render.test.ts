import { randomBytes } from 'node:crypto';
import QRCode from 'qrcode';
import { describe, expect, it } from 'vitest';
import { decodeCameraImage } from '../../src/device/index.js';
import { encodeQrPayload, generateToken } from '../../src/protocol/index.js';
import { QR_QUIET_ZONE_MODULES, qrSymbolFor, renderQrPng, renderQrSvg, UTF8_ECI_DESIGNATOR } from '../../src/qr/index.js';
import { flipPixels, pngToRgba } from '../device/support/pixels.js';

const typical = () => ({ s: 'bench-lab-01', p: 'pass-1234567', t: generateToken('EU').token });
const worst = () => ({ s: 'S'.repeat(16) + 'ß'.repeat(8), p: 'P'.repeat(63), t: generateToken('EU').token }); // 32 bytes of SSID

describe('pairing code rendering', () => {
  it('fits the typical payload (12-char SSID and password, 16-char token) in QR version 4 or less', () => {
    const p = typical();
    expect(p.t).toHaveLength(16);
    const symbol = qrSymbolFor(p);
    expect(symbol.payloadBytes).toBe(new TextEncoder().encode(encodeQrPayload(p)).length);
    expect(symbol.payloadBytes).toBe(62);
    expect(symbol.version).toBeLessThanOrEqual(4);
    expect(symbol.modules).toBe(symbol.version * 4 + 17);
  });

  it('the worst case (32-byte SSID, 63-byte password) still renders, in a larger version', () => {
    const p = worst();
    expect(new TextEncoder().encode(p.s)).toHaveLength(32);
    const symbol = qrSymbolFor(p);
    expect(symbol.payloadBytes).toBeGreaterThan(130);
    expect(symbol.version).toBeGreaterThan(4);
    expect(symbol.version).toBeLessThanOrEqual(10);
  });

  it('draws a PNG with a 4-module quiet zone at the asked pixels per module', async () => {
    for (const scale of [1, 2, 4, 8]) {
      const r = await renderQrPng(typical(), { scale });
      const img = pngToRgba(r.png);
      expect(img.width).toBe((r.modules + 2 * QR_QUIET_ZONE_MODULES) * scale);
      expect(r.imageSize).toBe(img.width);
      // The quiet zone is white: the first 4 modules of rows and columns hold no dark pixel.
      for (let y = 0; y < QR_QUIET_ZONE_MODULES * scale; y++) {
        for (let x = 0; x < img.width; x++) expect(img.data[(y * img.width + x) * 4]).toBe(255);
      }
    }
  });

  it("draws the pixels qrcode's own PNG renderer draws, as an 8-bit greyscale PNG of under a kilobyte", async () => {
    // ASCII payloads: one byte segment, no ECI (the non-ASCII symbol is checked against the SVG below).
    for (const p of [typical(), { s: 'S'.repeat(32), p: 'P'.repeat(63), t: generateToken('EU').token }]) {
      for (const scale of [1, 2, 4, 8]) {
        const r = await renderQrPng(p, { scale });
        // IHDR: bit depth 8, colour type 0 (greyscale), no interlace.
        expect([...r.png.subarray(24, 29)]).toEqual([8, 0, 0, 0, 0]);
        const theirs = await QRCode.toBuffer([{ data: new TextEncoder().encode(encodeQrPayload(p)), mode: 'byte' }], {
          errorCorrectionLevel: 'M',
          margin: QR_QUIET_ZONE_MODULES,
          scale,
          type: 'png',
        });
        const [a, b] = [pngToRgba(r.png), pngToRgba(theirs)];
        expect([a.width, a.height]).toEqual([b.width, b.height]);
        expect(Buffer.compare(Buffer.from(a.data), Buffer.from(b.data))).toBe(0);
      }
    }
    expect((await renderQrPng(typical(), { scale: 4 })).png.length).toBeLessThan(1024);
  });

  it('draws an SVG of the same symbol, sized by the scale', async () => {
    const p = typical();
    const svg = await renderQrSvg(p, { scale: 4 });
    const side = svg.modules + 2 * QR_QUIET_ZONE_MODULES;
    expect(svg.svg.startsWith('<svg')).toBe(true);
    expect(svg.svg).toContain(`viewBox="0 0 ${side} ${side}"`);
    expect(svg.svg).toContain(`width="${side * 4}"`);
    expect(svg.version).toBe(qrSymbolFor(p).version);
  });

  it('puts the UTF-8 ECI before a non-ASCII payload only, and PNG and SVG draw the same symbol (DESIGN §4.1)', async () => {
    expect(qrSymbolFor(typical()).eci).toBeNull();
    const p = { s: 'Café-Läb-Ω', p: 'pass-1234567', t: generateToken('EU').token };
    const symbol = qrSymbolFor(p, { scale: 2 });
    expect(symbol.eci).toBe(UTF8_ECI_DESIGNATOR);
    const [png, svg] = await Promise.all([renderQrPng(p, { scale: 2 }), renderQrSvg(p, { scale: 2 })]);
    expect(png).toMatchObject(symbol);
    expect(svg).toMatchObject(symbol);
    // The same modules: the SVG's dark cells are the PNG's dark modules.
    const img = pngToRgba(png.png);
    const dark = new Set<string>();
    for (let y = 0; y < symbol.modules; y++) {
      for (let x = 0; x < symbol.modules; x++) {
        const px = ((y + QR_QUIET_ZONE_MODULES) * 2 * img.width + (x + QR_QUIET_ZONE_MODULES) * 2) * 4;
        if (img.data[px]! < 128) dark.add(`${x + QR_QUIET_ZONE_MODULES},${y + QR_QUIET_ZONE_MODULES}`);
      }
    }
    const svgDark = new Set<string>();
    const path = /<path[^>]*stroke="#000000"[^>]*d="([^"]+)"/.exec(svg.svg)?.[1] ?? '';
    let x = 0;
    let y = 0;
    for (const [, cmd, a, b] of path.matchAll(/([Mmh])(-?\d+(?:\.\d+)?)(?:[ ,](-?\d+(?:\.\d+)?))?/g)) {
      if (cmd === 'M') [x, y] = [Number(a), Number(b) - 0.5];
      else if (cmd === 'm') [x, y] = [x + Number(a), y + Number(b)];
      else for (let i = 0; i < Number(a); i++) svgDark.add(`${x++},${y}`);
    }
    expect(svgDark.size).toBeGreaterThan(100);
    expect(svgDark).toEqual(dark);
  });

  it('refuses a scale that is not a whole number of pixels', async () => {
    await expect(renderQrPng(typical(), { scale: 1.5 })).rejects.toThrow(/scale/);
    expect(() => qrSymbolFor(typical(), { scale: 0 })).toThrow(/scale/);
  });

  it('refuses a payload outside DESIGN §4.1 (SSID over 32 bytes)', () => {
    expect(() => qrSymbolFor({ s: 'x'.repeat(33), p: 'pass-1234567', t: generateToken('EU').token })).toThrow();
  });
});

describe('a camera decodes rendered codes from pixels with 3 % of them flipped', () => {
  const cases = [
    ['typical', typical],
    ['worst case', worst],
  ] as const;
  for (const [name, make] of cases) {
    for (const scale of [2, 4]) {
      it(`${name} payload at ${scale} px per module, 8 noisy frames`, async () => {
        for (let seed = 1; seed <= 8; seed++) {
          const payload = make();
          const clean = pngToRgba((await renderQrPng(payload, { scale })).png);
          const noisy = flipPixels(clean, 0.03, seed * 7919 + scale);
          const changed = noisy.data.reduce((n, v, i) => (i % 4 === 0 && v !== clean.data[i] ? n + 1 : n), 0);
          expect(changed).toBe(Math.round(clean.width * clean.height * 0.03));
          const decoded = decodeCameraImage(noisy);
          expect(decoded.ok ? decoded.payload : decoded).toEqual(payload);
        }
      });
    }
  }

  it('decodes the clean PNG bytes directly', async () => {
    const payload = typical();
    const decoded = decodeCameraImage((await renderQrPng(payload, { scale: 3 })).png);
    expect(decoded).toMatchObject({ ok: true, payload, pass: 'direct' });
  });
});
