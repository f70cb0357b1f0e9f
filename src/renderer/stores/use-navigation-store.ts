import { defineStore } from 'pinia';
import { ref } from 'vue';

export const VIEWS = ['dashboard', 'new-batch', 'wired', 'codes', 'history', 'settings', 'bench'] as const;
export type ViewName = (typeof VIEWS)[number];

/** Which screen is shown: a state-driven switch, no router needed. */
export const useNavigationStore = defineStore('navigation', () => {
  const view = ref<ViewName>('dashboard');
  function go(next: ViewName): void {
    view.value = next;
  }
  return { view, go };
});
