import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { decodeCameraImage } from '../../src/device/index.js';
import { jsQR } from '../../src/device/qr-camera/jsqr.js';
import { encodeQrPayload } from '../../src/protocol/index.js';
import { renderQrPng, UTF8_ECI_DESIGNATOR } from '../../src/qr/index.js';
import { pngToRgba } from '../device/support/pixels.js';
import { validPayload } from '../support/qr-payload-arbitraries.js';

/**
 * Arbitrary valid payloads through the real image path (DESIGN §4.1, issue 9): rendered as a PNG at
 * 2 px per module, read by jsQR and by the virtual camera's decoder, byte for byte. A few hundred
 * cases: an image costs milliseconds, the 10,000-case properties run on the codec itself.
 */
const RUNS = 150;
const utf8 = new TextEncoder();

describe('QR image properties (fast-check)', () => {
  it(`any valid payload rendered at 2 px per module is read back byte for byte by jsQR and the camera decoder (${RUNS} cases)`, async () => {
    await fc.assert(
      fc.asyncProperty(validPayload, async (payload) => {
        const bytes = utf8.encode(encodeQrPayload(payload));
        const ascii = bytes.every((b) => b < 0x80);
        const rendered = await renderQrPng(payload, { scale: 2 });
        assert.equal(rendered.eci, ascii ? null : UTF8_ECI_DESIGNATOR);
        const image = pngToRgba(rendered.png);
        const code = jsQR(new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.byteLength), image.width, image.height);
        assert.ok(code, 'jsQR finds the code');
        assert.deepEqual(Uint8Array.from(code.binaryData), bytes);
        assert.deepEqual(
          code.chunks.filter((c) => c.type === 'eci'),
          ascii ? [] : [{ type: 'eci', assignmentNumber: UTF8_ECI_DESIGNATOR }],
        );
        const seen = decodeCameraImage(rendered.png);
        assert.ok(seen.ok, seen.ok ? '' : `${seen.reason}: ${seen.detail}`);
        assert.deepEqual(seen.payload, payload);
      }),
      { numRuns: RUNS },
    );
  });
});
