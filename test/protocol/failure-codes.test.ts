import { describe, expect, it } from 'vitest';
import { canTransition, DEVICE_STATES, DEVICE_TRANSITIONS, LIGHT_LEGEND, LIGHTS, type DeviceState } from '../../src/protocol/device-states.js';
import { FAILURE_CODES, FAILURE_HINTS, failureCodeSchema, hintFor, UNBIND_RESULTS, unbindResultSchema } from '../../src/protocol/failure-codes.js';

// DESIGN §5, copied by hand: the contract the code must honour.
const DESIGN_CODES = [
  'UNAUTHORIZED', 'QUOTA_ACCOUNT', 'QUOTA_PRODUCT', 'TOKEN_INVALID', 'TOKEN_EXPIRED', 'TOKEN_EXHAUSTED', 'TOKEN_REUSED',
  'REGION_MISMATCH', 'DEVICE_UNKNOWN', 'DEVICE_AUTH', 'REPLAY', 'UNSUPPORTED_PRODUCT', 'FIRMWARE_UNSUPPORTED',
  'SERIAL_MISMATCH', 'NOT_WAITING', 'WIFI_AUTH', 'WIFI_NOT_FOUND', 'DHCP_FAILED', 'NETWORK_CHANGED', 'CLOUD_UNREACHABLE',
  'NO_REPORT', 'TIMEOUT',
] as const;

describe('failure codes (DESIGN §5)', () => {
  it.each(DESIGN_CODES)('given %s from the design, then it is a failure code with an operator hint', (code) => {
    expect(FAILURE_CODES).toContain(code);
    expect(failureCodeSchema.safeParse(code).success).toBe(true);
    const hint = hintFor(code);
    expect(hint.trim().length).toBeGreaterThan(20);
    expect(hint).toBe(FAILURE_HINTS[code]);
  });

  it('given every code in the enum, then each has a distinct non-empty hint', () => {
    const hints = FAILURE_CODES.map((c) => hintFor(c));
    for (const h of hints) expect(h.trim()).not.toBe('');
    expect(new Set(hints).size).toBe(hints.length);
  });

  it('given the hints the design spells out, then they say what the operator must know', () => {
    expect(hintFor('DEVICE_AUTH')).toMatch(/device rejected/i);
    expect(hintFor('UNSUPPORTED_PRODUCT')).toMatch(/service center/i);
    expect(hintFor('DHCP_FAILED')).toContain('0.0.0.0');
    expect(hintFor('TOKEN_EXHAUSTED')).toContain('30');
    expect(hintFor('NO_REPORT')).toMatch(/Wi-Fi password/i);
    expect(hintFor('NO_REPORT')).toMatch(/DHCP/);
    expect(hintFor('NOT_WAITING')).toMatch(/reset/i);
  });

  it('given NOT_BOUND, then it is a result and not a failure code', () => {
    expect(failureCodeSchema.safeParse('NOT_BOUND').success).toBe(false);
    expect(UNBIND_RESULTS).toEqual(['UNBOUND', 'NOT_BOUND', 'FAILED']);
    expect(unbindResultSchema.safeParse('NOT_BOUND').success).toBe(true);
  });

  it('given an unknown or lower-case code, then the schema refuses it', () => {
    for (const bad of ['timeout', 'ON_FIRE', '', 'UNBOUND']) expect(failureCodeSchema.safeParse(bad).success, bad).toBe(false);
  });
});

describe('device states and the indicator light (DESIGN §6)', () => {
  it('given the states, then they are waiting, unbinding, unbound and failed', () => {
    expect([...DEVICE_STATES]).toEqual(['waiting', 'unbinding', 'unbound', 'failed']);
  });

  it('given each state, then its light is the one the design specifies', () => {
    expect(LIGHTS).toEqual({
      waiting: { color: 'red', pattern: 'fast-blink' },
      unbinding: { color: 'blue', pattern: 'slow-blink' },
      unbound: { color: 'green', pattern: 'solid' },
      failed: { color: 'red', pattern: 'solid' },
    });
  });

  it('given two states, then no two share a light (an operator can tell them apart)', () => {
    const seen = new Set(DEVICE_STATES.map((s) => `${LIGHTS[s].color}/${LIGHTS[s].pattern}`));
    expect(seen.size).toBe(DEVICE_STATES.length);
  });

  it('given the legend beside every QR code, then it lists every state once, in flow order, with its light and a meaning', () => {
    expect(LIGHT_LEGEND.map((e) => e.state)).toEqual(['waiting', 'unbinding', 'unbound', 'failed']);
    for (const e of LIGHT_LEGEND) {
      expect(e.light).toEqual(LIGHTS[e.state]);
      expect(e.meaning.length).toBeGreaterThan(0);
    }
  });

  it.each<[DeviceState, DeviceState]>([
    ['waiting', 'unbinding'],
    ['unbinding', 'unbound'],
    ['unbinding', 'failed'],
    ['unbound', 'waiting'],
    ['failed', 'waiting'],
  ])('given a device in %s, when it moves to %s (the design flow), then the transition is allowed', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
  });

  it.each<[DeviceState, DeviceState]>([
    ['waiting', 'unbound'],
    ['unbound', 'failed'],
    ['failed', 'unbound'],
    ['unbound', 'unbinding'],
    ['failed', 'unbinding'],
  ])('given a device in %s, when it jumps to %s, then the transition is refused', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
  });

  it('given any state, then it never transitions to itself, and every state is reachable from another', () => {
    for (const s of DEVICE_STATES) expect(canTransition(s, s), s).toBe(false);
    const targets = new Set(Object.values(DEVICE_TRANSITIONS).flat());
    for (const s of DEVICE_STATES) expect(targets.has(s), s).toBe(true);
  });
});
