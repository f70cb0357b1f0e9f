import type { Pinia } from 'pinia';
import { watch } from 'vue';
import type { StationApi } from '../../protocol/station-api.js';
import { useBenchStore } from '../stores/use-bench-store.js';
import { useCodeScreenStore } from '../stores/use-code-screen-store.js';
import { useBatchListStore } from '../stores/use-batch-list-store.js';
import { useCurrentBatchStore } from '../stores/use-current-batch-store.js';
import { useDashboardStore } from '../stores/use-dashboard-store.js';
import { useDeviceProgressStore } from '../stores/use-device-progress-store.js';
import { useHistoryStore } from '../stores/use-history-store.js';
import { useLanStore } from '../stores/use-lan-store.js';
import { batchScreenOf, useNavigationStore } from '../stores/use-navigation-store.js';
import { useNewBatchStore } from '../stores/use-new-batch-store.js';
import { useSerialStore } from '../stores/use-serial-store.js';
import { useSessionStore } from '../stores/use-session-store.js';
import { useCasesStore } from '../stores/use-cases-store.js';
import { useTicketsStore } from '../stores/use-tickets-store.js';
import { startEventDispatch } from './event-dispatch.js';

/**
 * What the app does once it is mounted: follow the station's events, load the session, and on each
 * sign-in load the account's dashboard and resume its running batch; on sign-out forget it all.
 * Returns the function that stops it.
 */
export function startStationApp(pinia: Pinia, api: StationApi): () => void {
  const session = useSessionStore(pinia);
  const dashboard = useDashboardStore(pinia);
  const batch = useCurrentBatchStore(pinia);
  const batchList = useBatchListStore(pinia);
  const newBatch = useNewBatchStore(pinia);
  const progress = useDeviceProgressStore(pinia);
  const codeScreen = useCodeScreenStore(pinia);
  const history = useHistoryStore(pinia);
  const bench = useBenchStore(pinia);
  const lan = useLanStore(pinia);
  const serial = useSerialStore(pinia);
  const nav = useNavigationStore(pinia);
  const cases = useCasesStore(pinia);
  const tickets = useTicketsStore(pinia);

  const stopEvents = startEventDispatch(api, { session, batch, batchList, progress, bench, lan, serial, cases, tickets });

  const stopWatch = watch(
    () => (session.signedIn ? (session.account?.accountId ?? '') : null),
    async (accountId, previous) => {
      if (accountId === previous) return;
      batch.clear();
      batchList.clear();
      newBatch.clear();
      progress.clear();
      codeScreen.clear();
      dashboard.clear();
      history.reset();
      bench.clear();
      lan.clear();
      serial.clear();
      cases.clear();
      nav.go('dashboard');
      if (accountId === null) return;
      await dashboard.load();
      void batchList.load();
      if (accountId && (await batch.resumeRunning(accountId))) nav.go(batchScreenOf(batch.current?.method));
    },
  );

  void session.load();

  return () => {
    stopWatch();
    stopEvents();
  };
}
