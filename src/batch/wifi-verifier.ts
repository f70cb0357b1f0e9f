import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * A slow, salted verifier of a batch's Wi-Fi password (scrypt, RFC 7914), kept with the batch so that after
 * a restart the password typed again is checked: a mistyped one would draw codes no device can join with.
 * Never the password itself. Form: `scrypt$<log2 N>$<r>$<p>$<salt>$<hash>` (base64url), so the cost can be
 * raised later while old verifiers still check.
 *
 * N = 2^15, r = 8, p = 1 (OWASP's minimum for scrypt: 32 MiB, about 50–100 ms here); an attacker with the
 * file pays that per guess for each batch's own salt.
 */
const LOG2_N = 15;
const R = 8;
const P = 1;
const KEY_LENGTH = 32;

function derive(password: string, salt: Buffer, log2N: number, r: number, p: number): Promise<Buffer> {
  const N = 2 ** log2N;
  return new Promise((resolve, reject) =>
    scrypt(password, salt, KEY_LENGTH, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key))),
  );
}

export async function wifiVerifier(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await derive(password, salt, LOG2_N, R, P);
  return ['scrypt', LOG2_N, R, P, salt.toString('base64url'), hash.toString('base64url')].join('$');
}

/** True when `password` is the one the verifier was made of; false for another, or a verifier this program cannot read. */
export async function wifiPasswordMatches(verifier: string, password: string): Promise<boolean> {
  const m = /^scrypt\$(\d{1,2})\$(\d{1,2})\$(\d{1,2})\$([\w-]{16,64})\$([\w-]{43})$/.exec(verifier);
  if (!m) return false;
  const [log2N, r, p] = [Number(m[1]), Number(m[2]), Number(m[3])];
  // A tampered file must not make the station burn gigabytes: the cost stays within what it would choose.
  if (log2N < 10 || log2N > 20 || r < 1 || r > 16 || p < 1 || p > 4) return false;
  const expected = Buffer.from(m[5]!, 'base64url');
  const actual = await derive(password, Buffer.from(m[4]!, 'base64url'), log2N, r, p);
  return expected.length === actual.length && timingSafeEqual(expected, actual);
}
