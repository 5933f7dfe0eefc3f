// Generation settings: the drawer (a modal <dialog> holding a form), kept in
// localStorage and turned into each sendprompt's params. The form is the single
// source of limits and defaults (its inputs' min/max/value attributes), so
// "Reset to defaults" is a plain form reset. Nothing secret is stored here.
//
// Per model: /api/models says which sampling parameters each model takes and which
// reasoning efforts; the drawer shows only those (a field is a .field[data-param]),
// and a prompt carries only those. Each model keeps its own values: switching model
// puts away the values of the one left and brings back those of the one chosen (a
// model never set keeps the values shown). Stored shape:
//   {model, temperature, max_tokens, top_p, frequency_penalty, presence_penalty,
//    reasoning_effort, system, per: {MODEL: {temperature, …, reasoning_effort}}}
// The flat fields are the chosen model's, as before per-model settings, so an older
// page reads them as it always did.

const KEY = 'lightchat.settings';
const NUMBERS = ['temperature', 'max_tokens', 'top_p', 'frequency_penalty', 'presence_penalty'];
const EFFORT_TEXT = {
  none: 'None', minimal: 'Minimal', low: 'Low', medium: 'Medium', high: 'High', xhigh: 'Extra high',
};
const PER_MAX = 64;   // models whose values are kept: the most recently used ones

function load() {
  try { return JSON.parse(localStorage.getItem(KEY)) || {}; } catch { return {}; }
}

// A number input's value within its min/max; its default when empty or not a number.
function numberOf(input) {
  const v = input.valueAsNumber;
  if (!Number.isFinite(v)) return Number(input.defaultValue);
  const n = Math.min(Number(input.max), Math.max(Number(input.min), v));
  return input.step === '1' ? Math.round(n) : n;
}

/** The line saying an upstream's model list could not be read, or '' when it could. */
export function upstreamTrouble(u) {
  if (!u || u.status !== 'error') return '';
  return `${u.label || u.name}: not reachable${u.error ? ` — ${u.error}` : ''}`;
}

export class Settings {
  constructor(dialog, opener) {
    this.dialog = dialog;
    this.form = dialog.querySelector('form');
    this.fields = this.form.elements;
    this.note = dialog.querySelector('#model-note');
    this.saved = load();
    const per = this.saved.per;
    this.per = per && typeof per === 'object' && !Array.isArray(per) ? per : {};
    this.info = new Map();      // model → its /api/models details (none: an older server)
    this.current = null;        // the model whose values the fields hold
    this.apply(this.saved);
    this.syncRanges();

    this.form.addEventListener('input', ({ target }) => {
      if (target === this.fields.model) {
        this.switchModel();
        return;
      }
      if (target.dataset.for) this.fields[target.dataset.for].value = target.value;
      else this.syncRanges();
      this.save();
    });
    // On leaving a number field, show the value that will actually be sent.
    this.form.addEventListener('change', ({ target }) => {
      if (target === this.fields.model) {
        if (target.value !== this.current) this.switchModel();
        return;
      }
      if (NUMBERS.includes(target.name)) target.value = numberOf(target);
      this.syncRanges();
      this.save();
    });
    // The reset event comes before the fields are reset; it forgets every model's values.
    this.form.addEventListener('reset', () => setTimeout(() => {
      this.per = {};
      this.current = this.fields.model.value || null;
      this.showModel('');
      this.syncRanges();
      this.save();
    }));
    opener.addEventListener('click', () => dialog.showModal());
    dialog.querySelector('#settings-close').addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => opener.focus());
  }

  /**
   * Fill the model list; the remembered model wins when the server still offers it.
   * `details` and `upstreams` are /api/models' (absent from an older server): with more
   * than one upstream the models are grouped by its label; a model whose upstream's
   * listing failed is marked, and so is the upstream, without hiding the others.
   */
  setModels(models, def, details = [], upstreams = []) {
    const select = this.fields.model;
    this.info = new Map((Array.isArray(details) ? details : []).filter((d) => d && d.id).map((d) => [d.id, d]));
    upstreams = Array.isArray(upstreams) ? upstreams : [];
    const option = (m) => {
      const d = this.info.get(m);
      const o = new Option(d && d.available === false ? `${m} (unavailable)` : m, m, m === def);
      if (d && d.available === false) o.title = 'Its API did not answer the last model listing';
      return o;
    };
    if (upstreams.length > 1) {
      const groups = new Map(upstreams.map((u) => {
        const g = document.createElement('optgroup');
        g.label = upstreamTrouble(u) || u.label || u.name;
        return [u.name, g];
      }));
      const other = document.createElement('optgroup');
      other.label = 'Other';
      for (const m of models) {
        const d = this.info.get(m);
        (groups.get(d && d.upstream) || other).append(option(m));
      }
      select.replaceChildren(...[...groups.values(), other].filter((g) => g.children.length));
    } else {
      select.replaceChildren(...models.map(option));
    }
    select.value = models.includes(this.saved.model) ? this.saved.model : (def || models[0] || '');
    select.disabled = models.length < 2;

    const troubles = upstreams.map(upstreamTrouble).filter(Boolean);
    this.note.replaceChildren(...troubles.map((t) => {
      const line = document.createElement('span');
      line.textContent = t;
      return line;
    }));
    this.note.hidden = troubles.length === 0;

    // The fields hold the remembered model's values; another model brings its own.
    const chosen = select.value || null;
    let effort = this.saved.reasoning_effort;
    if (chosen !== this.saved.model && this.per[chosen]) {
      this.apply(this.per[chosen]);
      effort = this.per[chosen].reasoning_effort;
    }
    this.current = chosen;
    this.showModel(effort);
    this.syncRanges();
  }

  /** → {params, system} for Chat.send/regenerate: only what the chosen model takes. */
  request() {
    const params = {};
    if (this.fields.model.value) params.model_name = this.fields.model.value;
    const takes = this.takes();
    for (const name of NUMBERS) if (takes.has(name)) params[name] = numberOf(this.fields[name]);
    const effort = this.fields.reasoning_effort.value;
    if (effort && this.efforts().includes(effort)) params.reasoning_effort = effort;
    return { params, system: this.fields.system.value.trim() };
  }

  close() { if (this.dialog.open) this.dialog.close(); }

  // The sampling parameters the chosen model takes (every one when the server did not say).
  takes() {
    const d = this.info.get(this.fields.model.value);
    return new Set(d && Array.isArray(d.params) ? d.params : NUMBERS);
  }

  efforts() {
    const d = this.info.get(this.fields.model.value);
    return d && Array.isArray(d.reasoning_effort) ? d.reasoning_effort.filter((e) => EFFORT_TEXT[e]) : [];
  }

  // Shows the fields the chosen model takes; the effort list is its efforts, with
  // `effort` chosen when it is one of them ("Model default" otherwise).
  showModel(effort) {
    const takes = this.takes();
    for (const name of NUMBERS) {
      this.form.querySelector(`.field[data-param="${name}"]`).hidden = !takes.has(name);
    }
    const efforts = this.efforts();
    const select = this.fields.reasoning_effort;
    select.replaceChildren(new Option('Model default', '', true),
      ...efforts.map((e) => new Option(EFFORT_TEXT[e], e)));
    select.value = efforts.includes(effort) ? effort : '';
    this.form.querySelector('.field[data-param="reasoning_effort"]').hidden = efforts.length === 0;
  }

  // The model select changed: keep the values of the model left, bring the chosen one's.
  switchModel() {
    if (this.current) this.per[this.current] = this.values();
    this.current = this.fields.model.value || null;
    const mine = this.per[this.current];
    if (mine) this.apply(mine);
    this.showModel(mine ? mine.reasoning_effort : this.fields.reasoning_effort.value);
    this.syncRanges();
    this.save();
  }

  // Puts stored values (numbers, system) into the fields; the effort goes via showModel.
  apply(values) {
    for (const name of [...NUMBERS, 'system']) {
      const f = this.fields[name];
      if (values && values[name] != null) f.value = values[name];
    }
  }

  // The values of the fields that belong to a model.
  values() {
    const v = {};
    for (const name of NUMBERS) v[name] = numberOf(this.fields[name]);
    v.reasoning_effort = this.fields.reasoning_effort.value;
    return v;
  }

  syncRanges() {
    for (const r of this.form.querySelectorAll('input[data-for]')) r.value = this.fields[r.dataset.for].value;
  }

  save() {
    const model = this.fields.model.value || this.saved.model;
    const values = this.values();
    if (model) {
      delete this.per[model];       // re-added last: the most recently used come last
      this.per[model] = values;
      const names = Object.keys(this.per);
      for (const old of names.slice(0, Math.max(0, names.length - PER_MAX))) delete this.per[old];
    }
    this.saved = { model, ...values, system: this.fields.system.value, per: this.per };
    try { localStorage.setItem(KEY, JSON.stringify(this.saved)); } catch { /* storage disabled: not kept */ }
  }
}
