// versions.js - a message's versions (the server keeps every regenerated reply and
// every edited prompt as a sibling): the "‹ 2 / 3 ›" control on a message that has
// others, and what its buttons ask. No state here: the versions come with the REST
// messages (`siblings`: {index, count, ids}), and a switch is the server's (the
// `switch` action; the page reads the conversation again when it is done).

/** Mark a message's element with its stored id and put the control in its foot. */
export function paintVersions(el, foot, msg) {
  if (msg.sid) el.dataset.sid = String(msg.sid); else delete el.dataset.sid;
  foot.querySelector(':scope > .versions')?.remove();
  const v = msg.versions;
  if (!v || !Array.isArray(v.ids) || v.count < 2) return;
  const nav = document.createElement('span');
  nav.className = 'versions';
  nav.setAttribute('role', 'group');
  nav.setAttribute('aria-label', 'Versions');
  const label = document.createElement('span');
  label.className = 'versions-count';
  label.textContent = `${v.index + 1} / ${v.count}`;
  nav.append(button('‹', 'Previous version', v.ids[v.index - 1]), label,
    button('›', 'Next version', v.ids[v.index + 1]));
  foot.firstChild.after(nav);   // after the notes (the first child), before the actions
}

function button(text, title, target) {
  const b = document.createElement('button');
  b.type = 'button';
  b.className = 'ver';
  b.textContent = text;
  b.title = title;
  b.setAttribute('aria-label', title);
  if (target == null) b.disabled = true;
  else b.dataset.target = String(target);
  return b;
}

/** A click in the message list: the id of the version asked for, or null. */
export function versionClicked(ev) {
  const b = ev.target.closest('button.ver');
  const id = b && !b.disabled ? Number(b.dataset.target) : NaN;
  return Number.isSafeInteger(id) && id > 0 ? id : null;
}
