// The layer guide: one small picture per layer (what it paints), shallow to deep. The pictures are
// made by the server on first request (seconds each), so they load only once the panel is open,
// two at a time, each behind a placeholder.
import { el } from './dom.js';
import { urls } from './api.js';

const AT_ONCE = 2;

export class LayerGuide {
  /** onPick(layerName) is called when a picture is clicked. */
  constructor(details, grid, onPick) {
    this.details = details;
    this.grid = grid;
    this.onPick = onPick;
    this.model = null;
    this.layers = [];
    this.built = null; // the model the grid was built for
    this.queue = [];
    this.running = 0;
    this.generation = 0;
    details.addEventListener('toggle', () => {
      if (details.open) this.build();
    });
    grid.addEventListener('click', (event) => {
      const item = event.target.closest('.guide-item');
      if (item) this.onPick(item.dataset.layer);
    });
  }

  /** The current model's layers; the grid is rebuilt now if open, else when next opened. */
  setModel(model, layers) {
    this.model = model;
    this.layers = layers;
    if (this.details.open) this.build();
  }

  build() {
    if (!this.model || this.built === this.model) return;
    this.built = this.model;
    this.generation += 1;
    this.queue = [];
    this.running = 0;
    this.grid.replaceChildren();
    const count = this.layers.length;
    this.layers.forEach((info, index) => {
      const pic = el('div', { class: 'guide-pic loading' }, el('span', { class: 'guide-wait', text: index < AT_ONCE ? 'painting…' : 'waiting…' }));
      const item = el(
        'button',
        {
          type: 'button',
          class: 'guide-item',
          'data-testid': 'layer-guide-item',
          'aria-pressed': 'false',
          title: `${info.name}: ${info.channels} channels, stride ${info.stride}. ${depthHint(index, count)}`,
          dataset: { layer: info.name },
        },
        pic,
        el('span', { class: 'guide-label' }, el('span', { text: info.name }), el('span', { class: 'ch', text: `${info.channels} ch` })),
      );
      this.grid.append(item);
      this.queue.push({ pic, url: urls.guide(this.model, info.name), name: info.name });
    });
    this.pump();
  }

  pump() {
    const generation = this.generation;
    while (this.running < AT_ONCE && this.queue.length) {
      const job = this.queue.shift();
      this.running += 1;
      const wait = job.pic.querySelector('.guide-wait');
      if (wait) wait.textContent = 'painting…';
      const img = new Image();
      img.alt = `What ${job.name} paints`;
      img.decoding = 'async';
      const settle = () => {
        if (generation !== this.generation) return;
        this.running -= 1;
        job.pic.classList.remove('loading');
        this.pump();
      };
      img.addEventListener('load', () => {
        if (generation !== this.generation) return;
        job.pic.replaceChildren(img);
        settle();
      });
      img.addEventListener('error', () => {
        if (generation !== this.generation) return;
        const wait2 = job.pic.querySelector('.guide-wait');
        if (wait2) wait2.textContent = 'no picture';
        settle();
      });
      img.src = job.url;
    }
  }

  /** Outline the layer in use. */
  mark(name) {
    for (const item of this.grid.querySelectorAll('.guide-item')) {
      item.setAttribute('aria-pressed', String(item.dataset.layer === name));
    }
  }
}

function depthHint(index, count) {
  const f = count > 1 ? index / (count - 1) : 0.5;
  if (f < 0.34) return 'A low layer: strokes and textures.';
  if (f < 0.67) return 'A mid layer: patterns, eyes and whorls.';
  return 'A high layer: eyes, snouts and animals.';
}
