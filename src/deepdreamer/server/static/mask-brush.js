// The mask brush: a canvas over the photo. The mask itself (white = dream here, black = keep the
// photo) is an off-screen canvas at the photo's natural size, sent as a PNG; the visible canvas
// only shades the kept parts. Pointer events, so a mouse, a pen and a finger all paint.

const VIEW_MAX = 1600; // px, the visible canvas's long side (the mask itself stays full size)
const KEEP_SHADE = '#05070c';

export class MaskBrush {
  /**
   * @param {HTMLCanvasElement} view  the canvas laid over the photo
   * @param {HTMLElement} ring        a circle that follows the pointer (the brush's size)
   * @param {() => void} onChange     called after each stroke and on clear
   */
  constructor(view, ring, onChange) {
    this.view = view;
    this.ring = ring;
    this.onChange = onChange;
    this.mask = null; // the off-screen canvas at the photo's natural size
    this.width = 0;
    this.height = 0;
    this.enabled = false;
    this.painted = false;
    this.tool = 'keep'; // 'dream' paints white, 'keep' paints black
    this.size = 40; // px on screen
    this.last = null;
    this.pointer = null;
    view.addEventListener('pointerdown', (e) => this.down(e));
    view.addEventListener('pointermove', (e) => this.move(e));
    view.addEventListener('pointerup', (e) => this.up(e));
    view.addEventListener('pointercancel', (e) => this.up(e));
    view.addEventListener('pointerleave', () => {
      if (this.pointer == null) this.ring.hidden = true;
    });
    view.addEventListener('contextmenu', (e) => e.preventDefault());
  }

  /** A new photo: forget the mask (it is made, all white, when the brush is next enabled). */
  reset(width, height) {
    this.width = width;
    this.height = height;
    this.mask = null;
    this.painted = false;
    this.last = null;
    this.pointer = null;
    if (this.enabled && width && height) this.create();
  }

  get ready() {
    return this.width > 0 && this.height > 0;
  }

  create() {
    this.mask = document.createElement('canvas');
    this.mask.width = this.width;
    this.mask.height = this.height;
    this.fillWhite();
    const scale = Math.min(1, VIEW_MAX / Math.max(this.width, this.height));
    this.view.width = Math.max(1, Math.round(this.width * scale));
    this.view.height = Math.max(1, Math.round(this.height * scale));
    this.viewContext().clearRect(0, 0, this.view.width, this.view.height);
  }

  fillWhite() {
    const ctx = this.mask.getContext('2d');
    ctx.globalCompositeOperation = 'source-over';
    ctx.fillStyle = '#fff';
    ctx.fillRect(0, 0, this.mask.width, this.mask.height);
  }

  viewContext() {
    return this.view.getContext('2d');
  }

  /** Turn the brush on: the mask starts all white (dream everywhere) the first time. */
  enable() {
    if (!this.ready) return false;
    this.enabled = true;
    if (!this.mask) this.create();
    this.view.hidden = false;
    return true;
  }

  disable() {
    this.enabled = false;
    this.view.hidden = true;
    this.ring.hidden = true;
  }

  setTool(tool) {
    this.tool = tool === 'dream' ? 'dream' : 'keep';
  }

  setSize(px) {
    this.size = Math.max(1, Number(px) || 40);
  }

  clear() {
    if (!this.mask) return;
    this.fillWhite();
    this.viewContext().clearRect(0, 0, this.view.width, this.view.height);
    this.painted = false;
    this.onChange();
  }

  /** Whether a mask should be sent: the brush is on and something was painted. */
  get active() {
    return this.enabled && this.painted && this.mask != null;
  }

  /** The mask as a PNG Blob at the photo's natural size. */
  toBlob() {
    return new Promise((resolve, reject) => {
      this.mask.toBlob((blob) => (blob ? resolve(blob) : reject(new Error('the mask could not be encoded'))), 'image/png');
    });
  }

  /** Load a mask picture (a reopened result's): scaled to the photo, shown, counted as painted. */
  load(image) {
    if (!this.ready) return;
    this.enabled = true;
    this.create();
    const ctx = this.mask.getContext('2d');
    ctx.drawImage(image, 0, 0, this.width, this.height);
    // the view shades in proportion to how dark the mask is
    const w = this.view.width;
    const h = this.view.height;
    const small = document.createElement('canvas');
    small.width = w;
    small.height = h;
    const sctx = small.getContext('2d');
    sctx.drawImage(this.mask, 0, 0, w, h);
    const data = sctx.getImageData(0, 0, w, h);
    const px = data.data;
    for (let i = 0; i < px.length; i += 4) {
      const lum = (px[i] * 0.299 + px[i + 1] * 0.587 + px[i + 2] * 0.114) | 0;
      px[i] = 5;
      px[i + 1] = 7;
      px[i + 2] = 12;
      px[i + 3] = 255 - lum;
    }
    this.viewContext().putImageData(data, 0, 0);
    this.view.hidden = false;
    this.painted = true;
  }

  // ----- painting -----

  /** Pointer position as a fraction of the photo, and the brush's radius in mask pixels. */
  locate(event) {
    const rect = this.view.getBoundingClientRect();
    return {
      fx: (event.clientX - rect.left) / rect.width,
      fy: (event.clientY - rect.top) / rect.height,
      rect,
    };
  }

  moveRing(event) {
    const rect = this.view.getBoundingClientRect();
    const parent = this.view.offsetParent ? this.view.offsetParent.getBoundingClientRect() : rect;
    this.ring.style.width = `${this.size}px`;
    this.ring.style.height = `${this.size}px`;
    this.ring.style.left = `${event.clientX - parent.left}px`;
    this.ring.style.top = `${event.clientY - parent.top}px`;
    this.ring.hidden = !(event.clientX >= rect.left && event.clientX <= rect.right && event.clientY >= rect.top && event.clientY <= rect.bottom);
  }

  down(event) {
    if (!this.enabled || !this.mask) return;
    if (event.button !== undefined && event.button > 0) return; // primary button / touch / pen only
    event.preventDefault();
    this.pointer = event.pointerId;
    try {
      this.view.setPointerCapture(event.pointerId);
    } catch {
      /* some synthetic events cannot be captured */
    }
    const p = this.locate(event);
    this.last = p;
    this.stroke(p, p);
    this.moveRing(event);
  }

  move(event) {
    if (!this.enabled) return;
    this.moveRing(event);
    if (this.pointer !== event.pointerId || !this.last) return;
    event.preventDefault();
    const events = typeof event.getCoalescedEvents === 'function' ? event.getCoalescedEvents() : [];
    for (const e of events.length ? events : [event]) {
      const p = this.locate(e);
      this.stroke(this.last, p);
      this.last = p;
    }
  }

  up(event) {
    if (this.pointer !== event.pointerId) return;
    this.pointer = null;
    this.last = null;
    try {
      this.view.releasePointerCapture(event.pointerId);
    } catch {
      /* already released */
    }
    if (event.pointerType !== 'mouse') this.ring.hidden = true;
    this.onChange();
  }

  /** One segment on both canvases (a dot when a == b). */
  stroke(a, b) {
    const screenWidth = a.rect.width || 1;
    const keep = this.tool === 'keep';
    const draw = (ctx, w, h, colour, mode) => {
      const lw = (this.size * w) / screenWidth;
      ctx.save();
      ctx.globalCompositeOperation = mode;
      ctx.strokeStyle = colour;
      ctx.fillStyle = colour;
      ctx.lineCap = 'round';
      ctx.lineJoin = 'round';
      ctx.lineWidth = lw;
      ctx.beginPath();
      if (a.fx === b.fx && a.fy === b.fy) {
        ctx.arc(a.fx * w, a.fy * h, lw / 2, 0, Math.PI * 2);
        ctx.fill();
      } else {
        ctx.moveTo(a.fx * w, a.fy * h);
        ctx.lineTo(b.fx * w, b.fy * h);
        ctx.stroke();
      }
      ctx.restore();
    };
    draw(this.mask.getContext('2d'), this.width, this.height, keep ? '#000' : '#fff', 'source-over');
    draw(this.viewContext(), this.view.width, this.view.height, KEEP_SHADE, keep ? 'source-over' : 'destination-out');
    this.painted = true;
  }
}
