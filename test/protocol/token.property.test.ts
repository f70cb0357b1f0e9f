import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  generateToken,
  parseToken,
  randomUrlSafe,
  redactToken,
  TOKEN_ID_LENGTH,
  TOKEN_MAX_SECRET_LENGTH,
  TOKEN_REGION_LENGTH,
  TOKEN_SECRET_LENGTH,
} from '../../src/protocol/index.js';

/**
 * The unbind token (DESIGN §4.2) as properties: `<region 2><id 8><secret 4+>` in URL-safe characters
 * reads back into its parts; anything else — any string, any value — is refused with a reason, never
 * thrown on; what the authority mints has the full secret length in uniformly random symbols, and a
 * redacted token shows none of the secret.
 */
const RUNS = 10_000;
const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const CAPITALS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ';
const MIN = TOKEN_REGION_LENGTH + TOKEN_ID_LENGTH + 4;
const MAX = TOKEN_REGION_LENGTH + TOKEN_ID_LENGTH + TOKEN_MAX_SECRET_LENGTH;
/** The contract of §4.2 written out independently of the schema it checks. */
const isWellFormed = (s: string): boolean => s.length >= MIN && s.length <= MAX && /^[A-Z]{2}[A-Za-z0-9_-]+$/.test(s);

const chars = (alphabet: string, minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...alphabet), minLength, maxLength });
const region = chars(CAPITALS, 2, 2);
const id = chars(URL_SAFE, TOKEN_ID_LENGTH, TOKEN_ID_LENGTH);
const secret = chars(URL_SAFE, 4, TOKEN_MAX_SECRET_LENGTH);
/** Characters a token must never hold: what URLs, JSON, AT lines and QR payloads would trip on. */
const foreign = fc.oneof(
  fc.constantFrom(' ', '.', '/', '+', '=', '%', '"', '\\', ',', '\r', '\n', '\u0000', 'é', 'Ω', '漢', '😀', '\uD800', '\u200B'),
  fc.string({ unit: 'grapheme', minLength: 1, maxLength: 1 }).filter((c) => ![...c].every((ch) => URL_SAFE.includes(ch))),
);

describe('unbind token as properties (DESIGN §4.2)', () => {
  it('given any region, id and secret of the contract, when the token is parsed, then it reads back into exactly those parts', () => {
    fc.assert(
      fc.property(region, id, secret, (r, i, s) => {
        const token = `${r}${i}${s}`;
        expect(parseToken(token)).toEqual({ ok: true, value: { region: r, id: i, secret: s } });
        expect(encodeURIComponent(token)).toBe(token); // URL-safe: travels in a path, a query or a QR code as is
      }),
      { numRuns: RUNS },
    );
  });

  it('given any string at all, then it parses exactly when it is well formed, and then the parts make up the string; never throws', () => {
    const anyString = fc.oneof(
      fc.string({ maxLength: 90 }),
      fc.string({ unit: 'binary', maxLength: 90 }),
      chars(`${URL_SAFE}.+/= é`, 0, 90),
      fc.tuple(region, chars(URL_SAFE, 0, 80)).map(([r, rest]) => r + rest),
    );
    fc.assert(
      fc.property(anyString, (s) => {
        const r = parseToken(s);
        expect(r.ok).toBe(isWellFormed(s));
        if (r.ok) expect(r.value.region + r.value.id + r.value.secret).toBe(s);
        else expect(r.error.length).toBeGreaterThan(0);
      }),
      { numRuns: RUNS },
    );
  });

  it('given a valid token with one foreign character put anywhere, its region lower-cased, or cut below or past its bounds, then it is refused', () => {
    const token = fc.tuple(region, id, secret).map(([r, i, s]) => `${r}${i}${s}`);
    const spoiled = fc.oneof(
      fc.tuple(token, fc.nat(), foreign).map(([t, at, c]) => {
        const k = at % (t.length + 1);
        return t.slice(0, k) + c + t.slice(k);
      }),
      fc.tuple(token, fc.nat(), foreign).map(([t, at, c]) => {
        const k = at % t.length;
        return t.slice(0, k) + c + t.slice(k + 1);
      }),
      token.map((t) => t.slice(0, 2).toLowerCase() + t.slice(2)),
      fc.tuple(token, fc.nat({ max: MIN - 1 })).map(([t, n]) => t.slice(0, n)),
      fc.tuple(token, chars(URL_SAFE, 1, 20)).map(([t, more]) => (t + more + 'x'.repeat(MAX)).slice(0, MAX + 1 + more.length)),
    );
    fc.assert(
      fc.property(spoiled, (s) => {
        expect(parseToken(s)).toMatchObject({ ok: false, error: expect.any(String) });
      }),
      { numRuns: RUNS },
    );
  });

  it('given any value that is not a string, then it is refused, never thrown on', () => {
    fc.assert(
      fc.property(fc.anything().filter((v) => typeof v !== 'string'), (v) => {
        expect(parseToken(v).ok).toBe(false);
      }),
      { numRuns: RUNS },
    );
  });

  it('given any token, when redacted, then region and id stay and not one character of the secret shows', () => {
    fc.assert(
      fc.property(region, id, secret, (r, i, s) => {
        const shown = redactToken(`${r}${i}${s}`);
        expect(shown).toBe(`${r}${i}****`);
        expect(shown.slice(TOKEN_REGION_LENGTH + TOKEN_ID_LENGTH)).not.toMatch(/[A-Za-z0-9_-]/);
      }),
      { numRuns: RUNS },
    );
  });

  it('given 10,000 minted tokens, then each has the full secret length, all differ, and the symbols are uniform (chi-square)', () => {
    // 6 symbols of 64 are 36 bits of secret, on top of the 48 of the id (DESIGN §4.2; the authority keeps only a hash).
    expect(TOKEN_SECRET_LENGTH * Math.log2(URL_SAFE.length)).toBeGreaterThanOrEqual(36);
    const counts = new Map<string, number>();
    const seen = new Set<string>();
    fc.assert(
      fc.property(region, (r) => {
        const g = generateToken(r);
        expect(g.secret).toHaveLength(TOKEN_SECRET_LENGTH);
        expect(g.id).toHaveLength(TOKEN_ID_LENGTH);
        expect(parseToken(g.token)).toEqual({ ok: true, value: { region: r, id: g.id, secret: g.secret } });
        seen.add(g.token);
        for (const c of g.secret) counts.set(c, (counts.get(c) ?? 0) + 1);
      }),
      { numRuns: RUNS },
    );
    expect(seen.size).toBe(RUNS);
    const n = RUNS * TOKEN_SECRET_LENGTH;
    const expected = n / URL_SAFE.length;
    const chi2 = [...URL_SAFE].reduce((sum, c) => sum + ((counts.get(c) ?? 0) - expected) ** 2 / expected, 0);
    // 63 degrees of freedom: a uniform source exceeds 150 with probability below 1e-8.
    expect(chi2).toBeLessThan(150);
  });

  it('given any length, then randomUrlSafe gives exactly that many URL-safe symbols', () => {
    fc.assert(
      fc.property(fc.nat({ max: 300 }), (n) => {
        const s = randomUrlSafe(n);
        expect(s).toHaveLength(n);
        expect([...s].every((c) => URL_SAFE.includes(c))).toBe(true);
      }),
      { numRuns: RUNS },
    );
  });
});
