import { fileURLToPath } from 'node:url';
import vue from '@vitejs/plugin-vue';
import { defineConfig } from 'vite';

/**
 * The renderer (src/renderer) builds to dist/renderer, which the station's web server and the Electron
 * window both load. `base: './'` keeps every asset URL relative, so it works from file:// and any path.
 * For `vite` dev mode against a running station, set UNBIND_STATION_URL (e.g. http://127.0.0.1:8790).
 */
const stationUrl = process.env.UNBIND_STATION_URL;

export default defineConfig({
  root: fileURLToPath(new URL('./src/renderer', import.meta.url)),
  base: './',
  plugins: [vue()],
  build: {
    outDir: fileURLToPath(new URL('./dist/renderer', import.meta.url)),
    emptyOutDir: true,
    target: 'es2022',
    sourcemap: true,
    // One bundle (Vue, Pinia, vue-i18n with five catalogues, Chart.js) of about 600 kB, loaded from this
    // machine (file:// or 127.0.0.1), never over a network: splitting it would buy nothing here.
    chunkSizeWarningLimit: 1024,
  },
  server: stationUrl ? { proxy: { '/api': { target: stationUrl, changeOrigin: false } } } : undefined,
});
