// Small DOM helpers shared by the page's modules (no framework).

/** The element with this id (every control of the page has one equal to its data-testid). */
export const $ = (id) => document.getElementById(id);

/**
 * Make an element: el('button', {class: 'x', text: 'Go', dataset: {id: 3}, onclick: fn}, child...).
 * `on<event>` props are wired with addEventListener (never inline handlers), `text` sets textContent,
 * other props become attributes (true -> present, false/null -> absent).
 */
export function el(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value == null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  node.append(...children.filter((c) => c != null && c !== false));
  return node;
}

/** Show or hide with the `hidden` attribute (the CSS makes [hidden] win over display rules). */
export function show(node, visible = true) {
  node.hidden = !visible;
}

/** Seconds as m:ss (or h:mm:ss). */
export function clock(seconds) {
  const s = Math.max(0, Math.round(Number(seconds) || 0));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** A file size for people: 1.4 MB. */
export function megabytes(bytes) {
  return `${(bytes / (1024 * 1024)).toFixed(1)} MB`;
}
