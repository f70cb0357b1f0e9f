import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHarness, type Harness } from '../support/authority-harness.js';

/** Quota tickets name real calendar days, `from` not after `to` (issue 9, DESIGN §8), over real HTTP. */
describe('quota ticket dates', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness();
  });
  afterAll(() => h.close());

  const ask = (from: string, to: string) =>
    h.station('partner').call('POST', '/api/v1/quota-tickets', { scope: 'account', pid: 'pqr1cam', limit: 150, from, to, reason: 'returns wave' });
  const tickets = () => h.count('quota_tickets');

  it.each([
    ['2024-06-01', '2024-06-42', 'body.to: 2024-06-42 is not a date of the calendar'],
    ['2024-06-00', '2024-06-30', 'body.from: 2024-06-00 is not a date of the calendar'],
    ['2024-06-01', '2024-06-31', 'body.to: 2024-06-31 is not a date of the calendar'],
    ['2023-02-29', '2023-03-01', 'body.from: 2023-02-29 is not a date of the calendar'],
    ['2024-13-01', '2024-12-31', 'body.from: 2024-13-01 is not a date of the calendar'],
    ['2024-6-1', '2024-06-30', 'body.from: date must be YYYY-MM-DD'],
    ['2024-06-02', '2024-06-01', 'body.to: from must not be after to (2024-06-02 is after 2024-06-01)'],
  ])('given from %s and to %s, then 400 saying %s, and no ticket', async (from, to, message) => {
    const before = await tickets();
    const r = await ask(from, to);
    expect(r.status).toBe(400);
    expect(r.body).toEqual({ code: 'BAD_REQUEST', message: expect.stringContaining(message) });
    expect(await tickets()).toBe(before);
  });

  it.each([
    ['2024-02-29', '2024-02-29'],
    ['2026-12-31', '2027-01-01'],
    ['2024-06-30', '2024-07-31'],
  ])('given from %s and to %s (real days, in order), then the ticket is filed', async (from, to) => {
    const r = await ask(from, to);
    expect(r).toMatchObject({ status: 201, body: { from, to, status: 'pending' } });
  });
});
