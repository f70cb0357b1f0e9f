import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { signInRequestSchema, type SessionView, type SignInRequest, type StationError } from '../../protocol/station-api.js';
import { useStationContext } from '../app/station-context.js';
import { runStationCall } from './run-station-call.js';

export const OPERATOR_STORAGE_KEY = 'unbind-station.operator';

/** Who is at the bench: the station's session (account, demo mode) and the operator's name. */
export const useSessionStore = defineStore('session', () => {
  const { api, storage } = useStationContext();

  const session = ref<SessionView | null>(null);
  const loading = ref(false);
  const busy = ref(false);
  const error = ref<StationError | null>(null);
  /** Remembered across starts on this bench; never a secret. */
  const operatorName = ref(storage.getItem(OPERATOR_STORAGE_KEY) ?? '');

  const signedIn = computed(() => session.value?.signedIn === true);
  const demo = computed(() => session.value?.demo === true);
  const stationId = computed(() => session.value?.stationId ?? '');
  const account = computed(() => session.value?.account ?? null);
  const operator = computed(() => session.value?.operator ?? null);
  const demoAccounts = computed(() => session.value?.demoAccounts ?? []);

  async function load(): Promise<void> {
    await runStationCall(async () => {
      session.value = await api.getSession();
    }, { busy: loading, error });
  }

  function setOperatorName(name: string): void {
    operatorName.value = name;
  }

  async function signIn(req: SignInRequest): Promise<boolean> {
    const checked = signInRequestSchema.safeParse(req);
    if (!checked.success) {
      const issue = checked.error.issues[0];
      error.value = { code: 'INVALID_SIGN_IN', message: issue?.message ?? 'check the sign-in fields' };
      return false;
    }
    const answered = await runStationCall(async () => {
      session.value = await api.signIn(checked.data);
      storage.setItem(OPERATOR_STORAGE_KEY, checked.data.operator);
    }, { busy, error });
    return answered.ok;
  }

  function signInDemo(demoAccountId: string): Promise<boolean> {
    return signIn({ demoAccountId, operator: operatorName.value.trim() });
  }

  /** The secret goes to the station and nowhere else: not kept in the store. */
  function signInWithCredentials(clientId: string, secret: string): Promise<boolean> {
    return signIn({ clientId: clientId.trim(), secret, operator: operatorName.value.trim() });
  }

  async function signOut(): Promise<void> {
    await runStationCall(async () => {
      session.value = await api.signOut();
    }, { busy, error });
  }

  /** A `session` event from the station (signed in or out elsewhere, e.g. in the other window). */
  function applySession(s: SessionView): void {
    session.value = s;
  }

  return {
    session,
    loading,
    busy,
    error,
    operatorName,
    signedIn,
    demo,
    stationId,
    account,
    operator,
    demoAccounts,
    load,
    setOperatorName,
    signIn,
    signInDemo,
    signInWithCredentials,
    signOut,
    applySession,
  };
});
