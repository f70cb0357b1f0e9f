import { describe, expect, it } from 'vitest';
import { generateToken, parseToken, randomUrlSafe, redactToken } from '../../src/protocol/token.js';

const URL_SAFE = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

describe('unbind token (DESIGN §4.2)', () => {
  it('given region EU, when a token is generated, then it is <region 2><id 8><secret 6> in URL-safe characters', () => {
    const g = generateToken('EU');
    expect(g.token).toMatch(/^EU[A-Za-z0-9_-]{14}$/);
    expect(g.region).toBe('EU');
    expect(g.id).toHaveLength(8);
    expect(g.secret).toHaveLength(6);
    expect(g.token).toBe(`EU${g.id}${g.secret}`);
    expect(encodeURIComponent(g.token)).toBe(g.token);
  });

  it('given 10,000 generated tokens, then all are unique and each parses back to its region, id and secret', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10_000; i++) {
      const g = generateToken('AY');
      seen.add(g.token);
      expect(parseToken(g.token)).toEqual({ ok: true, value: { region: g.region, id: g.id, secret: g.secret } });
    }
    expect(seen.size).toBe(10_000);
  });

  it('given a region that is not two capital letters, when generating, then it throws', () => {
    expect(() => generateToken('eu')).toThrow(/two capital letters/);
    expect(() => generateToken('EUR')).toThrow(/two capital letters/);
  });

  it('given a token with the shortest (4) and longest (64) secret, then both parse', () => {
    expect(parseToken('INabcdefgh1234')).toEqual({ ok: true, value: { region: 'IN', id: 'abcdefgh', secret: '1234' } });
    const long = `AZabcdefgh${'s'.repeat(64)}`;
    expect(parseToken(long)).toEqual({ ok: true, value: { region: 'AZ', id: 'abcdefgh', secret: 's'.repeat(64) } });
  });

  describe('when parsing malformed tokens, then each is refused with its reason', () => {
    it('given a lower-case region', () => {
      expect(parseToken('euabcdefgh123456')).toEqual({ ok: false, error: 'token must be a region followed by URL-safe characters' });
    });
    it('given a token shorter than region + id + 4', () => {
      expect(parseToken('EUabcdefgh123')).toEqual({ ok: false, error: 'token too short' });
      expect(parseToken('')).toEqual({ ok: false, error: 'token too short' });
    });
    it('given characters outside the URL-safe set', () => {
      for (const bad of ['EUabcd.efgh123456', 'EUabcdefgh 23456', 'EUabcdefgh12345/', 'EUabcdefgh1234+=', 'EUabcdéfgh123456']) {
        expect(parseToken(bad), bad).toEqual({ ok: false, error: 'token must be a region followed by URL-safe characters' });
      }
    });
    it('given a secret over 64 characters', () => {
      expect(parseToken(`EUabcdefgh${'s'.repeat(65)}`)).toEqual({ ok: false, error: 'token too long' });
    });
    it('given something that is not a string', () => {
      for (const bad of [undefined, null, 42, { token: 'EUabcdefgh123456' }]) expect(parseToken(bad).ok).toBe(false);
    });
  });

  it('given a token, when redacted, then region and id stay and the secret is masked', () => {
    const g = generateToken('EU');
    const shown = redactToken(g.token);
    expect(shown).toBe(`EU${g.id}****`);
    const longSecret = `EUabcdefgh${'Z'.repeat(40)}`;
    expect(redactToken(longSecret)).toBe('EUabcdefgh****'); // the secret's length is hidden too
  });

  it('given 100,000 random URL-safe characters, then each of the 64 symbols appears and none more than twice its share', () => {
    // 1,000 calls of 100, the way tokens and nonces draw them.
    let sample = '';
    for (let i = 0; i < 1000; i++) sample += randomUrlSafe(100);
    expect(sample).toHaveLength(100_000);
    const counts = new Map<string, number>();
    for (const c of sample) counts.set(c, (counts.get(c) ?? 0) + 1);
    expect([...counts.keys()].sort()).toEqual([...URL_SAFE].sort());
    const expected = 100_000 / 64;
    for (const [symbol, n] of counts) expect(n, symbol).toBeLessThan(2 * expected);
    expect(randomUrlSafe(0)).toBe('');
  });

  it('given a length over 65,536 (the Web Crypto per-call limit), when drawing in one call, then it still returns that many characters', () => {
    expect(randomUrlSafe(100_000)).toHaveLength(100_000);
  });
});
