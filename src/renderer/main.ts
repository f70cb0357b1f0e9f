import { createPinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { createStationApi } from './api/index.js';
import { provideStationContext, type KeyValueStorage } from './app/station-context.js';
import { startStationApp } from './app/start-station-app.js';
import { i18n, setLocale, startLocale } from './i18n/index.js';

/** localStorage, or a memory stand-in where the browser refuses it (it only remembers the operator's name). */
function benchStorage(): KeyValueStorage {
  try {
    const s = window.localStorage;
    s.getItem('unbind-station.probe');
    return s;
  } catch {
    const m = new Map<string, string>();
    return { getItem: (k) => m.get(k) ?? null, setItem: (k, v) => void m.set(k, v) };
  }
}

const { api, transport } = createStationApi(window);
document.documentElement.dataset.transport = transport;

const storage = benchStorage();
// The language chosen on this station before (its localStorage), else the browser's, else English.
setLocale(startLocale(storage, navigator.languages));

const app = createApp(App);
const pinia = createPinia();
app.use(pinia);
app.use(i18n);
provideStationContext(app, { api, storage });
app.mount('#app');
startStationApp(pinia, api);
