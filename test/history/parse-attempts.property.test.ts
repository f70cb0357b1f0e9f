import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseAttempt, parseAttempts } from '../../src/history/new-attempt.js';

/**
 * parseAttempts checks the fields a batch's rows share once per list: it must answer exactly what
 * checking every row whole answers, for lists that share them and lists that do not, good rows and bad.
 */
const whole = (list: unknown[]): { ok: unknown } | { error: string } => {
  try {
    return { ok: list.map((a, i) => parseAttempt(a, `attempts[${i}]`)) };
  } catch (err) {
    return { error: (err as Error).message };
  }
};
const once = (list: unknown[]): { ok: unknown } | { error: string } => {
  try {
    return { ok: parseAttempts(list) };
  } catch (err) {
    return { error: (err as Error).message };
  }
};

const maybe = <T>(good: fc.Arbitrary<T>, bad: unknown[]): fc.Arbitrary<unknown> => fc.oneof({ weight: 6, arbitrary: good }, { weight: 1, arbitrary: fc.constantFrom(...bad) });
const common = fc.record({
  stationId: maybe(fc.constantFrom('st-1', ' bench station '), ['', 'a\u0007b', 42]),
  operator: maybe(fc.constantFrom('Ana', '  Bo  ', 'Lê Văn'), ['', '\n', null]),
  accountId: maybe(fc.constantFrom('acc-owner', 'acc:2'), ['acc owner', '']),
  method: maybe(fc.constantFrom('qr', 'wired', 'serial'), ['mail']),
  batchId: maybe(fc.constantFrom('b-20261202-abcdef', null, undefined), ['b 1']),
});
const own = fc.record(
  {
    at: maybe(fc.integer({ min: 0, max: 2e12 }), [-1, 1.5, '1']),
    pid: maybe(fc.constantFrom('pqr1cam', null), ['P QR']),
    devId: maybe(fc.constantFrom('dev-1', 'unreported-QC1-1'), ['', 'a b']),
    serial: maybe(fc.constantFrom('QC1-BENCHA-000001', null), [7]),
    result: maybe(fc.constantFrom('UNBOUND', 'NOT_BOUND', 'FAILED'), ['SOLD']),
    code: maybe(fc.constantFrom(null, 'TIMEOUT', 'SERIAL_MISMATCH'), ['NOPE']),
    tokenId: maybe(fc.constantFrom('TOKENX00', null), ['EUTOKENX00secretsecret']),
    seq: maybe(fc.constantFrom(1, 2, null), [-3]),
  },
  { requiredKeys: ['devId', 'result'] },
);
const extra = fc.option(fc.constantFrom({ wifiPassword: 'x' }, { token: 'EUTOKENX00secret' }), { freq: 8, nil: {} });

describe('parseAttempts', () => {
  it('given any list of rows (sharing their batch fields or not, good or bad), then it answers what checking each row whole answers', () => {
    fc.assert(
      fc.property(fc.array(common, { minLength: 1, maxLength: 3 }), fc.array(fc.tuple(fc.nat(2), own, extra), { minLength: 0, maxLength: 6 }), (commons, rows) => {
        const list = rows.map(([c, o, x]) => ({ ...commons[c % commons.length], ...o, ...x }));
        expect(once(list)).toEqual(whole(list));
      }),
      { numRuns: 2000 },
    );
  });
});
