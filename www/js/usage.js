// What the user used of their budget (GET /api/usage), in the settings drawer: this
// month's tokens and cost, each limit that applies with what is left and when it
// resets, or "no limit"; and a warning above the chat once a limit is used past the
// server's warn_percent (80 %), dismissible, shown again only at the next crossing
// (another period, or a higher ten). Read when the drawer opens and after each reply
// ends, never per delta.
import * as api from './api.js';

const PERIOD = { day: 'daily', month: 'monthly' };
const WARNED_KEY = 'lightchat.usageWarned';
const num = (n) => Number(n || 0).toLocaleString();
const money = (n, cur) => `${Number(n || 0).toLocaleString([], { minimumFractionDigits: 2, maximumFractionDigits: 6 })}${cur ? ` ${cur}` : ''}`;

/** A reset time (ISO 8601 with offset) in the reader's locale: "1 January", "3 Dec, 00:00". */
export function resetText(iso, period) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso || '';
  return period === 'month'
    ? d.toLocaleDateString([], { day: 'numeric', month: 'long' })
    : d.toLocaleString([], { weekday: 'short', hour: '2-digit', minute: '2-digit' });
}

// The limits of a usage answer: [{period, unit, used, limit, share}] for each one set.
function limitsOf(u) {
  const out = [];
  for (const period of ['day', 'month']) {
    const p = u[period] || {};
    for (const [unit, used, limit] of [['tokens', p.tokens, p.limit_tokens], ['cost', p.cost, p.limit_cost]]) {
      if (typeof limit === 'number' && limit > 0) {
        out.push({ period, unit, used, limit, share: Math.floor((used * 100) / limit), resets: p.resets_at });
      }
    }
  }
  return out;
}

/** The warning's sentence for a usage answer, or '' when none is due. */
export function warningText(u) {
  if (!u || !u.warn) return '';
  const top = limitsOf(u).sort((a, b) => b.share - a.share)[0];
  const site = u.site && u.site.percent >= u.warn_percent;
  if (site && (!top || u.site.percent >= top.share)) {
    return `The site has used ${u.site.percent} % of its monthly budget.`;
  }
  if (!top) return '';
  const what = top.unit === 'cost' ? 'budget' : 'token budget';
  return top.share >= 100
    ? `You have used all of your ${PERIOD[top.period]} ${what}; it resets ${resetText(top.resets, top.period)}.`
    : `You have used ${top.share} % of your ${PERIOD[top.period]} ${what}.`;
}

export class Usage {
  constructor(dialog, opener, banner) {
    this.body = dialog.querySelector('#usage-body');
    this.error = dialog.querySelector('#usage-error');
    this.banner = banner;
    this.text = banner.querySelector('.usage-text');
    banner.querySelector('button').addEventListener('click', () => this.dismiss());
    opener.addEventListener('click', () => this.refresh());
    this.last = null;
    this.timer = 0;
  }

  // After a reply: once, a moment later (several replies ending together are one read).
  soon() {
    clearTimeout(this.timer);
    this.timer = setTimeout(() => this.refresh(), 300);
  }

  async refresh() {
    let u;
    try { u = await api.usage(); } catch (e) {
      if (e.status === 404) return;           // an older server: no usage to show
      this.error.textContent = e.message;
      this.error.hidden = false;
      return;
    }
    this.error.hidden = true;
    this.last = u;
    this.render(u);
    this.warn(u);
  }

  render(u) {
    const rows = [];
    const line = (text, cls = '') => {
      const p = document.createElement('p');
      p.className = `usage-line ${cls}`.trim();
      p.textContent = text;
      rows.push(p);
      return p;
    };
    const m = u.month || {};
    line(`This month: ${num(m.tokens)} tokens` + (m.cost > 0 ? ` · ${money(m.cost, u.currency)}` : ''));
    const limits = limitsOf(u);
    for (const l of limits) {
      const left = Math.max(0, l.limit - l.used);
      const fmt = l.unit === 'cost' ? (n) => money(n, u.currency) : (n) => `${num(n)} tokens`;
      const row = document.createElement('div');
      row.className = 'usage-limit';
      row.dataset.period = l.period;
      row.dataset.unit = l.unit;
      const label = document.createElement('span');
      label.className = 'small';
      label.textContent = `${l.period === 'day' ? 'Today' : 'This month'}: ${fmt(left)} left of ${fmt(l.limit)}` +
        ` · resets ${resetText(l.resets, l.period)}`;
      const bar = document.createElement('meter');
      bar.min = 0;
      bar.max = l.limit;
      bar.low = (l.limit * u.warn_percent) / 100;
      bar.high = bar.low;
      bar.optimum = 0;
      bar.value = Math.min(l.used, l.limit);
      bar.setAttribute('aria-label', `${l.share} % of the ${PERIOD[l.period]} ${l.unit === 'cost' ? 'budget' : 'token budget'} used`);
      row.append(label, bar);
      rows.push(row);
    }
    if (!limits.length) line('No limit on your usage.', 'muted small');
    if (u.site) line(`The site has used ${u.site.percent} % of its monthly budget.`, 'muted small');
    this.body.replaceChildren(...rows);
  }

  // The warning, unless this crossing (period, limit, tens of percent) was dismissed.
  warn(u) {
    const text = warningText(u);
    const key = text ? `${u.month && u.month.since}|${u.day && u.day.since}|${text.replace(/\d+ %/, (s) => `${Math.floor(parseInt(s, 10) / 10)}0%`)}` : '';
    let dismissed = '';
    try { dismissed = localStorage.getItem(WARNED_KEY) || ''; } catch { /* private mode */ }
    this.key = key;
    this.text.textContent = text;
    this.banner.hidden = !text || dismissed === key;
  }

  dismiss() {
    this.banner.hidden = true;
    try { localStorage.setItem(WARNED_KEY, this.key || ''); } catch { /* private mode */ }
  }
}
