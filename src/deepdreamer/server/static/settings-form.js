// The settings form: typed fields, the layer rows, the look (preset) buttons, and the record of
// what each field held when a look filled it in, so the page can send only what the user changed.
import { $, el } from './dom.js';

// [API keyword, element id (== data-testid), kind]
// kinds: int, float, intOrNull (blank = null), text (blank = null), bool, select
export const DREAM_FIELDS = [
  ['objective', 'objective-input', 'text'],
  ['channels', 'channels-input', 'text'],
  ['octaves', 'octaves-input', 'int'],
  ['octave_scale', 'octave-scale-input', 'float'],
  ['steps', 'steps-input', 'int'],
  ['step_size', 'step-size-input', 'float'],
  ['jitter', 'jitter-input', 'int'],
  ['seed', 'seed-input', 'intOrNull'],
  ['lap_levels', 'lap-levels-input', 'int'],
  ['rotate_jitter', 'rotate-jitter-input', 'float'],
  ['scale_jitter', 'scale-jitter-input', 'float'],
  ['max_size', 'max-size-input', 'int'],
  ['precision', 'precision-select', 'select'],
  ['keep_colors', 'keep-colors-input', 'bool'],
];

export const ZOOM_FIELDS = [
  ['frames', 'zoom-frames-input', 'int'],
  ['zoom', 'zoom-zoom-input', 'float'],
  ['steps_per_frame', 'zoom-steps-per-frame-input', 'intOrNull'],
  ['rotate', 'zoom-rotate-input', 'float'],
  ['fps', 'zoom-fps-input', 'float'],
];

export const VISUALIZE_FIELDS = [
  ['objective', 'visualize-objective-input', 'text'],
  ['size', 'visualize-size-input', 'int'],
  ['steps', 'visualize-steps-input', 'int'],
  ['seed', 'visualize-seed-input', 'intOrNull'],
  ['param', 'visualize-param-select', 'select'],
  ['robustness', 'visualize-robustness-select', 'select'],
  ['decay', 'visualize-decay-input', 'float'],
  ['lr', 'visualize-lr-input', 'float'],
  ['batch', 'visualize-batch-input', 'int'],
  ['diversity', 'visualize-diversity-input', 'float'],
];

export const ACTIVATIONS_FIELDS = [
  ['layer', 'activations-layer-select', 'select'],
  ['top', 'activations-top-input', 'int'],
  ['max_size', 'activations-max-size-input', 'int'],
];

/** {ok, value} or {ok: false, why} for one control. */
function parse(kind, node) {
  if (kind === 'bool') return { ok: true, value: node.checked };
  if (node.validity && node.validity.badInput) return { ok: false, why: 'is not a number' };
  const raw = String(node.value).trim();
  if (kind === 'select') return { ok: true, value: raw };
  if (kind === 'text') return { ok: true, value: raw === '' ? null : raw };
  if (raw === '') return kind === 'intOrNull' ? { ok: true, value: null } : { ok: false, why: 'needs a number' };
  const n = Number(raw);
  if (!Number.isFinite(n)) return { ok: false, why: 'needs a number' };
  if (kind !== 'float' && !Number.isInteger(n)) return { ok: false, why: 'needs a whole number' };
  return { ok: true, value: n };
}

function write(kind, node, value) {
  if (kind === 'bool') {
    node.checked = Boolean(value);
  } else if (kind === 'select') {
    if (value == null) return;
    ensureOption(node, String(value));
    node.value = String(value);
  } else {
    node.value = value == null ? '' : String(value);
  }
}

/** A <select> gets an option for a value it lacks (a setting reopened from an older result). */
export function ensureOption(select, value, label = value) {
  if (![...select.options].some((o) => o.value === value)) select.append(el('option', { value, text: label }));
}

function labelOf(node) {
  if (node.dataset.label) return node.dataset.label;
  const label = node.closest('label');
  if (!label) return node.id;
  const walker = document.createTreeWalker(label, NodeFilter.SHOW_TEXT);
  for (let t = walker.nextNode(); t; t = walker.nextNode()) {
    const text = t.textContent.trim();
    if (text) return text;
  }
  return node.id;
}

/** Comparable form of a control's value: equal tokens = same setting. */
function token(field) {
  const r = parse(field.kind, field.el);
  return r.ok ? JSON.stringify(r.value) : `bad:${field.el.value}`;
}

/**
 * A set of typed controls. `fill` writes API values into them, `snapshot` records what they hold
 * (the look's values), `changedKeys` lists those the user has changed since.
 */
export class FieldGroup {
  constructor(specs) {
    this.fields = specs.map(([key, id, kind]) => {
      const node = $(id);
      return { key, kind, el: node, label: labelOf(node) };
    });
    this.snap = new Map();
  }

  has(key) {
    return this.fields.some((f) => f.key === key);
  }

  field(key) {
    return this.fields.find((f) => f.key === key);
  }

  /** Write the values this group has keys for (others are ignored). */
  fill(values, { except = [] } = {}) {
    for (const f of this.fields) {
      if (values && Object.prototype.hasOwnProperty.call(values, f.key) && !except.includes(f.key)) {
        write(f.kind, f.el, values[f.key]);
      }
    }
  }

  set(key, value) {
    const f = this.field(key);
    if (f) write(f.kind, f.el, value);
  }

  get(key) {
    const f = this.field(key);
    const r = f ? parse(f.kind, f.el) : { ok: false };
    return r.ok ? r.value : undefined;
  }

  snapshot() {
    for (const f of this.fields) this.snap.set(f.key, token(f));
  }

  /** {values, errors}: every field's API value; an error line per field that does not parse. */
  read() {
    const values = {};
    const errors = [];
    for (const f of this.fields) {
      const r = parse(f.kind, f.el);
      if (r.ok) values[f.key] = r.value;
      else errors.push(`${f.label} ${r.why}`);
    }
    return { values, errors };
  }

  changedKeys() {
    return this.fields.filter((f) => token(f) !== this.snap.get(f.key)).map((f) => f.key);
  }

  /** Outline the fields that differ from the look. */
  markChanged() {
    const changed = new Set(this.changedKeys());
    for (const f of this.fields) {
      const target = f.kind === 'bool' ? f.el.closest('label') || f.el : f.el;
      target.classList.toggle('changed', changed.has(f.key));
    }
  }
}

/** The layer rows: [[name, weight], ...] with names from the model's layer list. */
export class LayerList {
  constructor(container, onChange) {
    this.container = container;
    this.onChange = onChange;
    this.layers = []; // [{name, channels, stride}]
    this.defaultName = null;
    this.snap = '[]';
    container.addEventListener('input', () => this.onChange());
    container.addEventListener('change', () => this.onChange());
    container.addEventListener('click', (event) => {
      const remove = event.target.closest('[data-testid="layer-remove"]');
      if (remove) {
        remove.closest('.layer-row').remove();
        this.onChange();
      }
    });
  }

  /** The model's layers (shallow to deep). Rows naming a layer the model lacks get the default. */
  setModelLayers(layers, defaultName) {
    this.layers = layers;
    this.defaultName = defaultName || (layers[0] && layers[0].name) || null;
    const names = new Set(layers.map((l) => l.name));
    const kept = this.rows().map(([name, weight]) => [names.has(name) ? name : this.defaultName, weight]);
    this.set(kept);
  }

  knows(name) {
    return this.layers.some((l) => l.name === name);
  }

  optionLabel(info) {
    return `${info.name} · ${info.channels} ch`;
  }

  /** Rows for these pairs; none given (the API's "the model's default layer") shows the default. */
  set(pairs) {
    this.container.replaceChildren();
    const list = pairs && pairs.length ? pairs : this.defaultName ? [[this.defaultName, 1]] : [];
    for (const [name, weight] of list) this.add(name, weight, { quiet: true });
  }

  add(name = null, weight = 1, { quiet = false } = {}) {
    const select = el('select', { 'data-testid': 'layer-name', 'aria-label': 'Layer' });
    for (const info of this.layers) select.append(el('option', { value: info.name, text: this.optionLabel(info) }));
    const chosen = name || this.defaultName;
    if (chosen) {
      ensureOption(select, chosen);
      select.value = chosen;
    }
    const row = el(
      'div',
      { class: 'layer-row', 'data-testid': 'layer-row' },
      select,
      el('input', {
        type: 'number',
        step: 'any',
        value: String(weight),
        inputmode: 'decimal',
        'data-testid': 'layer-weight',
        'aria-label': 'Weight',
        title: 'Weight (negative: dream it away)',
      }),
      el('button', { type: 'button', class: 'button small', 'data-testid': 'layer-remove', 'aria-label': 'Remove layer', title: 'Remove', text: '×' }),
    );
    this.container.append(row);
    if (!quiet) this.onChange();
    return row;
  }

  /** [[name, weight]] as the rows read (weights may be NaN when mistyped; see read()). */
  rows() {
    return [...this.container.querySelectorAll('.layer-row')].map((row) => [
      row.querySelector('select').value,
      Number(row.querySelector('input').value),
    ]);
  }

  read() {
    const errors = [];
    const value = [...this.container.querySelectorAll('.layer-row')].map((row) => {
      const name = row.querySelector('select').value;
      const raw = row.querySelector('input').value.trim();
      const weight = Number(raw);
      if (raw === '' || !Number.isFinite(weight)) errors.push(`the weight of ${name} needs a number`);
      return [name, weight];
    });
    return { value, errors };
  }

  snapshot() {
    this.snap = JSON.stringify(this.rows());
  }

  changed() {
    return JSON.stringify(this.rows()) !== this.snap;
  }

  first() {
    const rows = this.rows();
    return rows.length ? rows[0][0] : this.defaultName;
  }
}

/**
 * Look buttons. `items`: [{name, description}]; `prefix` builds each data-testid (preset-<name>).
 * Returns a function that marks the selected one.
 */
export function renderPresets(container, items, prefix, onPick) {
  container.replaceChildren();
  for (const item of items) {
    const button = el(
      'button',
      {
        type: 'button',
        class: 'preset',
        'data-testid': `${prefix}${item.testName || item.name}`,
        'aria-pressed': 'false',
        title: item.description || item.name,
        dataset: { preset: item.name ?? '' },
      },
      el('span', { class: 'preset-name', text: item.label || item.name }),
      el('span', { class: 'preset-desc', text: item.description || '' }),
    );
    button.addEventListener('click', () => onPick(item.value === undefined ? item.name : item.value));
    container.append(button);
  }
  return (name) => {
    for (const button of container.querySelectorAll('.preset')) {
      const value = button.dataset.preset || null;
      button.setAttribute('aria-pressed', String(value === (name ?? null)));
    }
  };
}
