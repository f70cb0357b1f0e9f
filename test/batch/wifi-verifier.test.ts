import { describe, expect, it } from 'vitest';
import { wifiPasswordMatches, wifiVerifier } from '../../src/batch/wifi-verifier.js';

describe('the Wi-Fi password verifier', () => {
  it('accepts the password it was made of and refuses any other, including one character off and empty', async () => {
    const v = await wifiVerifier('bench-pass-2024');
    expect(await wifiPasswordMatches(v, 'bench-pass-2024')).toBe(true);
    expect(await wifiPasswordMatches(v, 'bench-pass-2025')).toBe(false);
    expect(await wifiPasswordMatches(v, 'Bench-pass-2024')).toBe(false);
    expect(await wifiPasswordMatches(v, '')).toBe(false);
    // An open network's empty password has a verifier too.
    expect(await wifiPasswordMatches(await wifiVerifier(''), '')).toBe(true);
  });

  it('is salted scrypt at N = 2^15, r = 8, and holds nothing of the password', async () => {
    const [a, b] = [await wifiVerifier('bench-pass-2024'), await wifiVerifier('bench-pass-2024')];
    expect(a).not.toBe(b);
    expect(a).toMatch(/^scrypt\$15\$8\$1\$[\w-]{22}\$[\w-]{43}$/);
    expect(a.includes('bench') || Buffer.from(a.split('$')[5]!, 'base64url').toString('latin1').includes('bench')).toBe(false);
  });

  it('refuses a verifier it cannot read, or one whose cost a tampered file set beyond what the station would choose', async () => {
    const v = await wifiVerifier('bench-pass-2024');
    const [, , r, p, salt, hash] = v.split('$');
    for (const bad of ['', 'plain', v.replace('scrypt', 'bcrypt'), v.slice(0, -1), ['scrypt', 30, r, p, salt, hash].join('$'), ['scrypt', 15, 99, p, salt, hash].join('$')]) {
      expect(await wifiPasswordMatches(bad, 'bench-pass-2024'), bad).toBe(false);
    }
  });
});
