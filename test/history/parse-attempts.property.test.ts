import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { describeIssues } from '../../src/history/errors.js';
import { newAttemptSchema, parseAttempt, parseAttempts } from '../../src/history/new-attempt.js';

/**
 * parseAttempt checks a row field by field and remembers the values that repeat (new-attempt.ts): it
 * must answer exactly what the whole schema answers, row after row (what it remembered from earlier
 * runs included), good rows and bad, the error's words too.
 */
const whole = (list: unknown[]): { ok: unknown } | { error: string } => {
  const ok: unknown[] = [];
  for (const [i, a] of list.entries()) {
    const r = newAttemptSchema.safeParse(a);
    if (!r.success) return { error: `attempts[${i}] rejected: ${describeIssues(r.error.issues)}` };
    ok.push(r.data);
  }
  return { ok };
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
const inherited = (o: object): object => Object.assign(Object.create({ token: 'EUTOKENX00secret' }), o);

describe('parseAttempts', () => {
  it('given any list of rows (sharing their batch fields or not, good or bad, with keys of their own or inherited), then parseAttempts and parseAttempt answer what the whole schema answers', () => {
    fc.assert(
      fc.property(fc.array(common, { minLength: 1, maxLength: 3 }), fc.array(fc.tuple(fc.nat(2), own, extra), { minLength: 0, maxLength: 6 }), (commons, rows) => {
        const list = rows.map(([c, o, x], i) => {
          const row = { ...commons[c % commons.length], ...o, ...x };
          return i === 5 ? inherited(row) : row;
        });
        expect(once(list)).toEqual(whole(list));
        for (const a of list) {
          const r = newAttemptSchema.safeParse(a);
          if (r.success) expect(parseAttempt(a)).toEqual(r.data);
          else expect(() => parseAttempt(a)).toThrow(`attempt rejected: ${describeIssues(r.error.issues)}`);
        }
      }),
      { numRuns: 2000 },
    );
  });
});
