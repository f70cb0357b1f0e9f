import assert from 'node:assert/strict';
import fc from 'fast-check';
import { describe, it } from 'vitest';
import { decodeQrPayload, encodeQrPayload, MAX_QR_PAYLOAD_BYTES, type QrPayload } from '../../src/protocol/index.js';
import { nearPayload, validPayload } from '../support/qr-payload-arbitraries.js';

/**
 * Properties of the QR payload codec (DESIGN §4.1, issue 9), 10,000 cases each: every valid payload
 * round-trips byte for byte, and the encoder and the decoder refuse the same values with the same message.
 * Checks use node:assert, not expect: at 10,000 cases expect's bookkeeping costs more than the codec.
 */
const RUNS = 10_000;
const utf8 = new TextEncoder();

type Outcome = { ok: true; text: string } | { ok: false; error: string };

function encodeOutcome(value: unknown): Outcome {
  try {
    return { ok: true, text: encodeQrPayload(value as QrPayload) };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? `${e.name}: ${e.message}` : String(e) };
  }
}

/** The same value as the encoder would write it, for the decoder: s, p, t first, the rest after. */
function asEncoderWouldWrite(value: Record<string, unknown>): string {
  const { s, p, t, ...others } = value;
  return JSON.stringify({ s, p, t, ...others });
}

describe('QR payload properties (fast-check, 10,000 cases each)', () => {
  it('every valid payload (full Unicode SSID within 32 bytes, any valid password and token) encodes, and decodes back to itself', () => {
    fc.assert(
      fc.property(validPayload, (payload) => {
        const text = encodeQrPayload(payload);
        const bytes = utf8.encode(text);
        assert.ok(bytes.length <= MAX_QR_PAYLOAD_BYTES, `${bytes.length} bytes`);
        assert.deepEqual(decodeQrPayload(bytes), { ok: true, value: payload });
        assert.deepEqual(decodeQrPayload(text), { ok: true, value: payload });
        // Canonical: keys s, p, t in that order, no whitespace, so the same payload is always the same bytes.
        assert.equal(text, JSON.stringify({ s: payload.s, p: payload.p, t: payload.t }));
      }),
      { numRuns: RUNS },
    );
  });

  it('any value near a payload is refused by the encoder exactly when the decoder refuses it, with the same message', () => {
    fc.assert(
      fc.property(nearPayload, (value) => {
        const encoded = encodeOutcome(value);
        const decoded = decodeQrPayload(utf8.encode(asEncoderWouldWrite(value)));
        if (decoded.ok) {
          assert.deepEqual(encoded, { ok: true, text: asEncoderWouldWrite(value) });
          assert.deepEqual(decoded.value, value);
        } else {
          assert.deepEqual(encoded, { ok: false, error: `QrPayloadError: ${decoded.error}` });
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('any JSON text is decoded without a throw; what it accepts the encoder writes back, what it refuses for its value the encoder refuses with the same message', () => {
    const keyOrders = fc.constantFrom<Array<'s' | 'p' | 't'>>(['s', 'p', 't'], ['t', 's', 'p'], ['p', 't', 's']);
    const nearPayloadText = fc.tuple(nearPayload, keyOrders, fc.constantFrom(undefined, 1, '\t')).map(([value, order, space]) => {
      const reordered: Record<string, unknown> = {};
      for (const k of [...order, ...Object.keys(value)]) if (k in value) reordered[k] = value[k];
      return JSON.stringify(reordered, null, space);
    });
    fc.assert(
      fc.property(fc.oneof(fc.json({ maxDepth: 2 }), nearPayloadText), (text) => {
        const decoded = decodeQrPayload(text);
        assert.deepEqual(decodeQrPayload(utf8.encode(text)), decoded);
        const value: unknown = JSON.parse(text);
        if (decoded.ok) {
          // Whitespace and key order may differ from the encoder's; the payload does not.
          const again = encodeOutcome(value);
          assert.ok(again.ok, 'the encoder accepts what the decoder accepted');
          assert.deepEqual(decodeQrPayload(again.text), decoded);
        } else if (!decoded.error.startsWith('payload is ')) {
          // A refusal of the value itself (not of the text's size): the encoder refuses it the same way.
          assert.deepEqual(encodeOutcome(value), { ok: false, error: `QrPayloadError: ${decoded.error}` });
        }
      }),
      { numRuns: RUNS },
    );
  });

  it('any bytes are decoded without a throw, and each refusal says why', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
        const r = decodeQrPayload(bytes);
        if (!r.ok) assert.match(r.error, /^payload /);
      }),
      { numRuns: RUNS },
    );
  });
});
