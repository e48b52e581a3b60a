// Registers the service worker (the app shell works offline after the first visit), then
// starts the app. Served from the build's own folder, so it is cached for good.
if ('serviceWorker' in navigator) {
  navigator.serviceWorker.register(new URL('../sw.js', import.meta.url), { scope: new URL('../', import.meta.url).pathname })
    .catch((e) => console.warn('service worker not registered', e));
}
import init from './baoxue.js';
const wasm = await init({ module_or_path: new URL('./baoxue_bg.wasm', import.meta.url) });
if (wasm.__wbindgen_start === undefined && wasm.main) wasm.main();
document.getElementById('loading')?.remove();
