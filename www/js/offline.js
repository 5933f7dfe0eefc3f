// offline.js - the offline screen: shown while the server cannot be reached (a network
// error, not an HTTP answer, which is the server's and is shown as it is). It asks
// again by itself, soon at first and then less often (2, 4, 8 … 30 s), at once on
// "Try again now" or when the browser says it is online again; the first answer
// hides it.

const FIRST_MS = 2000;
const MAX_MS = 30000;

/**
 * Shows `view` until `probe()` (a function returning a promise that rejects with an
 * error whose `status` is 0 when the server cannot be reached) gives an answer;
 * resolves or rejects as that answer does. `status` shows when it asks next,
 * `retry` asks at once.
 */
export function untilReachable(probe, { view, status, retry }) {
  return new Promise((resolve, reject) => {
    let delay = FIRST_MS;
    let timer = 0;
    let tick = 0;
    let due = 0;
    let asking = false;
    const stopTimers = () => { clearTimeout(timer); clearInterval(tick); };
    const done = () => {
      stopTimers();
      view.hidden = true;
      retry.removeEventListener('click', ask);
      removeEventListener('online', ask);
    };
    const show = () => { status.textContent = `Trying again in ${Math.max(1, Math.ceil((due - Date.now()) / 1000))} s…`; };
    function later() {
      due = Date.now() + delay;
      timer = setTimeout(ask, delay);
      tick = setInterval(show, 1000);
      show();
      delay = Math.min(delay * 2, MAX_MS);
    }
    function ask() {
      if (asking) return;
      asking = true;
      stopTimers();
      status.textContent = 'Trying…';
      probe().then((v) => { done(); resolve(v); }, (e) => {
        if (e && e.status === 0) later();
        else { done(); reject(e); }
      }).finally(() => { asking = false; });
    }
    view.hidden = false;
    retry.addEventListener('click', ask);
    addEventListener('online', ask);
    later();
  });
}
