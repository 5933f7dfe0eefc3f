// Generation settings: the drawer (a modal <dialog> holding a form), kept in
// localStorage and turned into each sendprompt's params. The form is the single
// source of limits and defaults (its inputs' min/max/value attributes), so
// "Reset to defaults" is a plain form reset. Nothing secret is stored here.

const KEY = 'lightchat.settings';
const NUMBERS = ['temperature', 'max_tokens', 'top_p', 'frequency_penalty', 'presence_penalty'];

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

export class Settings {
  constructor(dialog, opener) {
    this.dialog = dialog;
    this.form = dialog.querySelector('form');
    this.fields = this.form.elements;
    this.saved = load();
    for (const [name, value] of Object.entries(this.saved)) {
      const f = this.fields[name];
      if (f && name !== 'model' && value != null) f.value = value;
    }
    this.syncRanges();

    this.form.addEventListener('input', ({ target }) => {
      if (target.dataset.for) this.fields[target.dataset.for].value = target.value;
      else this.syncRanges();
      this.save();
    });
    // On leaving a number field, show the value that will actually be sent.
    this.form.addEventListener('change', ({ target }) => {
      if (NUMBERS.includes(target.name)) target.value = numberOf(target);
      this.syncRanges();
      this.save();
    });
    // The reset event comes before the fields are reset.
    this.form.addEventListener('reset', () => setTimeout(() => { this.syncRanges(); this.save(); }));
    opener.addEventListener('click', () => dialog.showModal());
    dialog.querySelector('#settings-close').addEventListener('click', () => dialog.close());
    dialog.addEventListener('close', () => opener.focus());
  }

  /** Fill the model list; the remembered model wins when the server still offers it. */
  setModels(models, def) {
    const select = this.fields.model;
    select.replaceChildren(...models.map((m) => new Option(m, m, m === def)));
    select.value = models.includes(this.saved.model) ? this.saved.model : (def || models[0] || '');
    select.disabled = models.length < 2;
  }

  /** → {params, system} for Chat.send/regenerate. */
  request() {
    const params = {};
    if (this.fields.model.value) params.model_name = this.fields.model.value;
    for (const name of NUMBERS) params[name] = numberOf(this.fields[name]);
    return { params, system: this.fields.system.value.trim() };
  }

  close() { if (this.dialog.open) this.dialog.close(); }

  syncRanges() {
    for (const r of this.form.querySelectorAll('input[data-for]')) r.value = this.fields[r.dataset.for].value;
  }

  save() {
    const { model_name: model = this.saved.model, ...numbers } = this.request().params;
    this.saved = { model, ...numbers, system: this.fields.system.value };
    try { localStorage.setItem(KEY, JSON.stringify(this.saved)); } catch { /* storage disabled: not kept */ }
  }
}
