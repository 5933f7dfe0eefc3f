// The composer: the prompt box (Enter sends, Shift+Enter is a new line, it grows with
// its text), Send/Stop, and "edit your last message" mode. What a send does is left
// to main.js.
//
// Events: send {text, edit} (edit: it replaces the last prompt; text may be empty when
// hasFiles() says files are attached), stop, canceledit (edit mode left without sending)

const $ = (id) => document.getElementById(id);

export class Composer extends EventTarget {
  constructor() {
    super();
    this.prompt = $('prompt');
    this.editing = null;   // {draft}: what was typed before editing, back on cancel
    this.hasFiles = () => false;   // main.js: whether attachments wait in the tray
    $('composer').addEventListener('submit', (ev) => { ev.preventDefault(); this.submit(); });
    this.prompt.addEventListener('input', () => this.autosize());
    this.prompt.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' && !ev.shiftKey && !ev.isComposing) {
        ev.preventDefault();
        this.submit();
      } else if (ev.key === 'Escape' && this.editing) {
        this.cancelEdit();
      }
    });
    $('stop').addEventListener('click', () => this.dispatchEvent(new Event('stop')));
    $('cancel-edit').addEventListener('click', () => { this.cancelEdit(); this.focus(); });
  }

  submit() {
    const text = this.prompt.value.trim();
    if (!text && !this.hasFiles()) return;
    this.dispatchEvent(new CustomEvent('send', { detail: { text, edit: !!this.editing } }));
  }

  /** The prompt went out: empty the box and leave edit mode. */
  sent() {
    this.setEditing(null);
    this.prompt.value = '';
    this.autosize();
  }

  /** A prompt the server refused comes back, unless something new was typed meanwhile. */
  restore(text) {
    if (this.prompt.value.trim()) return;
    this.prompt.value = text;
    this.autosize();
  }

  setBusy(busy) {
    const stopHadFocus = document.activeElement === $('stop');
    $('send').hidden = busy;
    $('stop').hidden = !busy;
    if (!busy && stopHadFocus) this.focus();
  }

  // Edit the last prompt in the composer; whatever was typed there comes back on cancel.
  startEdit(text) {
    this.setEditing(this.editing || { draft: this.prompt.value });
    this.prompt.value = text;
    this.autosize();
    this.focus();
    this.prompt.setSelectionRange(text.length, text.length);
  }

  cancelEdit() {
    if (!this.editing) return;
    this.prompt.value = this.editing.draft;
    this.setEditing(null);
    this.autosize();
    this.dispatchEvent(new Event('canceledit'));
  }

  // The note above the composer also describes the text box, for screen readers.
  setEditing(state) {
    this.editing = state;
    $('editing').hidden = !state;
    this.prompt.setAttribute('aria-describedby', state ? 'editing composer-hint' : 'composer-hint');
  }

  focus() { this.prompt.focus(); }

  autosize() {
    this.prompt.style.height = 'auto';
    this.prompt.style.height = `${Math.min(this.prompt.scrollHeight, 200)}px`;
  }
}
