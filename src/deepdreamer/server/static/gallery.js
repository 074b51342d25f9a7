// The gallery: GET /api/results (newest first) as thumbnails. Opening an item and deleting it are
// two separate buttons, so a click on the picture never deletes.
import { el } from './dom.js';

const MODE_LABEL = { dream: 'dream', visualize: 'visualise', activations: 'activations', zoom: 'zoom' };

function when(iso) {
  const date = new Date(iso);
  if (Number.isNaN(date.getTime())) return '';
  return date.toLocaleString([], { dateStyle: 'short', timeStyle: 'short' });
}

/**
 * Draw `items` into the <ul>. onOpen(item) reopens one; onDelete(item, li) removes it.
 * `currentId` is outlined (the result on the stage).
 */
export function renderGallery(list, items, { onOpen, onDelete, currentId = null }) {
  list.replaceChildren();
  for (const item of items) {
    const title = item.title || item.mode || 'result';
    const li = el('li', {
      'data-testid': 'gallery-item',
      dataset: { id: item.id, mode: item.mode || '' },
      class: item.id === currentId ? 'current' : null,
    });
    const open = el(
      'button',
      { type: 'button', class: 'gallery-open', 'data-testid': 'gallery-open', title: `Open: ${title}` },
      el('img', { src: item.thumb, alt: title, loading: 'lazy', decoding: 'async', width: '256', height: '256' }),
      el(
        'span',
        { class: 'gallery-caption' },
        el('span', { class: 't', text: title }),
        el('span', { class: 'd', text: [when(item.created), item.width && item.height ? `${item.width}×${item.height}` : ''].filter(Boolean).join(' · ') }),
      ),
    );
    open.addEventListener('click', () => onOpen(item));
    const remove = el('button', {
      type: 'button',
      class: 'gallery-delete',
      'data-testid': 'gallery-delete',
      'aria-label': `Delete ${title}`,
      title: 'Delete',
      text: '×',
    });
    remove.addEventListener('click', (event) => {
      event.stopPropagation();
      onDelete(item, li);
    });
    li.append(open, el('span', { class: 'badge', text: MODE_LABEL[item.mode] || item.mode || '' }), remove);
    list.append(li);
  }
}

/** Outline the item shown on the stage. */
export function markCurrent(list, id) {
  for (const li of list.querySelectorAll('li')) li.classList.toggle('current', li.dataset.id === id);
}
