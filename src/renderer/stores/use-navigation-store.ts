import { defineStore } from 'pinia';
import { ref } from 'vue';
import type { BatchMethod } from '../../protocol/station-api.js';

export const VIEWS = ['dashboard', 'new-batch', 'wired', 'codes', 'device-batch', 'history', 'cases', 'settings', 'bench'] as const;
export type ViewName = (typeof VIEWS)[number];

/** The screen of a batch: the code screen for a QR batch (and when none is open), the devices' screen for a wired or serial one. */
export function batchScreenOf(method: BatchMethod | null | undefined): 'codes' | 'device-batch' {
  return method === 'wired' || method === 'serial' ? 'device-batch' : 'codes';
}

/** Which screen is shown: a state-driven switch, no router needed. */
export const useNavigationStore = defineStore('navigation', () => {
  const view = ref<ViewName>('dashboard');
  function go(next: ViewName): void {
    view.value = next;
  }
  return { view, go };
});
