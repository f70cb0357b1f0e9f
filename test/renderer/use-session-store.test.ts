import { describe, expect, it } from 'vitest';
import { OPERATOR_STORAGE_KEY, useSessionStore } from '../../src/renderer/stores/use-session-store.js';
import { createFakeStationApi, installStores, memoryStorage, SIGNED_OUT, signedIn } from './support/fake-station-api.js';

describe('session store', () => {
  it('remembers the operator name from the last sign-in on this bench', async () => {
    const storage = memoryStorage({ [OPERATOR_STORAGE_KEY]: 'Ana' });
    const api = createFakeStationApi({ getSession: async () => SIGNED_OUT, signIn: async () => signedIn('acc-owner', 'Bo') });
    installStores(api, storage);
    const session = useSessionStore();
    expect(session.operatorName).toBe('Ana');
    expect(api.calls).toEqual([]);

    await session.load();
    session.setOperatorName('  Bo ');
    expect(await session.signInDemo('acc-owner')).toBe(true);
    expect(api.callsOf('signIn')).toEqual([[{ demoAccountId: 'acc-owner', operator: 'Bo' }]]);
    expect(storage.data.get(OPERATOR_STORAGE_KEY)).toBe('Bo');
    expect(session.signedIn).toBe(true);
    expect(session.operator).toBe('Bo');
  });

  it('refuses to sign in without an operator name, without asking the station', async () => {
    const api = createFakeStationApi({ signIn: async () => signedIn() });
    installStores(api);
    const session = useSessionStore();
    session.setOperatorName('   ');
    expect(await session.signInDemo('acc-owner')).toBe(false);
    expect(session.error?.code).toBe('INVALID_SIGN_IN');
    expect(session.error?.message).toMatch(/operator name is required/);
    expect(api.callsOf('signIn')).toEqual([]);
  });

  it('sends client credentials to the station and keeps the secret nowhere', async () => {
    const storage = memoryStorage();
    const api = createFakeStationApi({ signIn: async () => signedIn() });
    installStores(api, storage);
    const session = useSessionStore();
    session.setOperatorName('Ana');
    expect(await session.signInWithCredentials(' client-01 ', 'very-secret-123')).toBe(true);
    expect(api.callsOf('signIn')).toEqual([[{ clientId: 'client-01', secret: 'very-secret-123', operator: 'Ana' }]]);
    expect(JSON.stringify(session.$state)).not.toContain('very-secret-123');
    expect([...storage.data.values()].join()).not.toContain('very-secret-123');
  });

  it('shows the station refusal of credentials', async () => {
    const { StationApiError } = await import('../../src/renderer/api/station-api-error.js');
    const api = createFakeStationApi({
      signIn: async () => {
        throw new StationApiError('SIGN_IN_REFUSED', 'the authority refused these credentials', 401);
      },
    });
    installStores(api);
    const session = useSessionStore();
    session.setOperatorName('Ana');
    expect(await session.signInWithCredentials('client-01', 'wrong-secret')).toBe(false);
    expect(session.error).toEqual({ code: 'SIGN_IN_REFUSED', message: 'the authority refused these credentials' });
  });

  it('follows session events (signed out in the other window)', async () => {
    const api = createFakeStationApi({ getSession: async () => signedIn() });
    installStores(api);
    const session = useSessionStore();
    await session.load();
    session.applySession(SIGNED_OUT);
    expect(session.signedIn).toBe(false);
    expect(session.account).toBeNull();
  });
});
