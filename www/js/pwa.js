// pwa.js - the installable app's page side: registers the service worker (sw.js, its
// scope the page's directory, so a url_prefix such as /chat/ works), and says when a
// new version of the page took over (a reload shows it). Without service workers
// (a plain-HTTP address other than localhost) the page works as before.

/** Registers sw.js; `banner` (with its `reload` button) is shown after an update. */
export function registerServiceWorker(banner, reload) {
  if (!('serviceWorker' in navigator) || !window.isSecureContext) return;
  const updating = !!navigator.serviceWorker.controller;   // else the first install
  navigator.serviceWorker.addEventListener('controllerchange', () => {
    if (updating) banner.hidden = false;
  });
  reload.addEventListener('click', () => location.reload());
  navigator.serviceWorker.register('sw.js', { scope: './' }).catch(() => { /* no offline copy */ });
}
