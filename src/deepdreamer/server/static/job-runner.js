// One job at a time: POST /api/jobs, then the server-sent events of /api/jobs/{id}/events until a
// terminal event (done, error, cancelled), when the EventSource is closed so the browser does not
// reconnect. A dropped connection is left to EventSource (it resends Last-Event-ID, the server
// replays from there); a refused one falls back to GET /api/jobs/{id}.
import { getJSON, post, urls } from './api.js';

const TYPES = ['queued', 'started', 'progress', 'preview', 'notice', 'done', 'cancelled'];
const TERMINAL = new Set(['done', 'error', 'cancelled']);
const PREVIEW_GAP_MS = 150; // see schedulePreview: about 7 pictures a second, smooth enough to watch

export class JobRunner {
  /**
   * handlers: {queued(data), started(), progress(data), preview(url, data), notice(message),
   *            done(item), error(message), cancelled(), connection(ok)}
   */
  constructor(handlers) {
    this.h = handlers;
    this.id = null;
    this.source = null;
    this.lastEventId = 0;
    this.previewTimer = null;
    this.previewN = 0;
    this.lastPreviewAt = 0;
    this.finished = false;
  }

  get active() {
    return this.id != null && !this.finished;
  }

  /** Send the form; resolves to the server's {id, state, position} (throws ApiError). */
  async submit(form) {
    const answer = await post(urls.jobs, form);
    if (!answer || !answer.id) throw new Error('the server accepted the job but gave no id');
    return answer;
  }

  /** Follow a job's events (a new job, or one found again after a reload). */
  follow(id) {
    this.close();
    this.id = id;
    this.finished = false;
    this.lastEventId = 0;
    this.previewN = 0;
    this.lastPreviewAt = 0;
    this.open();
  }

  open(after = 0) {
    const source = new EventSource(urls.events(this.id, after));
    this.source = source;
    for (const type of TYPES) {
      source.addEventListener(type, (event) => this.receive(type, event));
    }
    // `error` is both the server's event type and EventSource's own connection error
    source.addEventListener('error', (event) => {
      if (event instanceof MessageEvent && typeof event.data === 'string' && event.data !== '') {
        this.receive('error', event);
      } else {
        this.connectionError(source);
      }
    });
    source.addEventListener('open', () => this.h.connection && this.h.connection(true));
  }

  receive(type, event) {
    if (this.finished) return;
    const id = Number(event.lastEventId);
    if (Number.isFinite(id) && id > 0) {
      if (id <= this.lastEventId) return; // a replayed event already handled
      this.lastEventId = id;
    }
    let data = {};
    try {
      data = event.data ? JSON.parse(event.data) : {};
    } catch {
      data = {};
    }
    if (TERMINAL.has(type)) this.finish();
    switch (type) {
      case 'queued':
        this.h.queued(data);
        break;
      case 'started':
        this.h.started(data);
        break;
      case 'progress':
        this.h.progress(data);
        break;
      case 'preview':
        this.schedulePreview(data);
        break;
      case 'notice':
        this.h.notice(data.message || '');
        break;
      case 'done':
        this.h.done(data.result || null);
        break;
      case 'error':
        this.h.error(data.message || 'the job failed');
        break;
      case 'cancelled':
        this.h.cancelled(data);
        break;
      default:
        break;
    }
  }

  /**
   * Previews. The server sends at most five a second and keeps its latest 32 (over six seconds
   * of them), so the newest is always there to fetch. The page shows at most one every
   * PREVIEW_GAP_MS, always the newest known (leading and trailing: the first shows at once, the
   * last is never dropped); a replayed burst loads only its last.
   */
  schedulePreview(data) {
    if (!data || !(data.url || data.image)) return;
    const n = Number(data.n) || this.previewN + 1;
    if (n < this.previewN) return;
    this.previewN = n;
    this.pendingPreview = data;
    if (this.previewTimer) return; // the scheduled call will take this newest one
    const wait = Math.max(0, this.lastPreviewAt + PREVIEW_GAP_MS - Date.now());
    this.previewTimer = setTimeout(() => {
      this.previewTimer = null;
      this.lastPreviewAt = Date.now();
      const latest = this.pendingPreview;
      this.pendingPreview = null;
      // the newest preview of a batch comes with its picture (a data: URL); others by url
      if (!this.finished && latest) this.h.preview(latest.image || latest.url, latest);
    }, wait);
  }

  async connectionError(source) {
    if (this.finished || source !== this.source) return;
    if (source.readyState !== EventSource.CLOSED) {
      this.h.connection && this.h.connection(false); // the browser is reconnecting by itself
      return;
    }
    // The stream was refused (not a reconnectable drop): ask for the job's state instead.
    this.source = null;
    const id = this.id;
    try {
      const job = await getJSON(urls.job(id));
      if (this.finished || id !== this.id) return;
      if (job.state === 'done') {
        this.finish();
        this.h.done(job.result);
      } else if (job.state === 'error') {
        this.finish();
        this.h.error(job.error || 'the job failed');
      } else if (job.state === 'cancelled') {
        this.finish();
        this.h.cancelled({});
      } else {
        setTimeout(() => {
          if (!this.finished && id === this.id) this.open(this.lastEventId);
        }, 1500);
      }
    } catch (err) {
      if (this.finished || id !== this.id) return;
      this.finish();
      this.h.error(`lost the job's progress: ${err.message}`);
    }
  }

  async cancel() {
    if (!this.active) return null;
    return post(urls.cancel(this.id));
  }

  finish() {
    this.finished = true;
    clearTimeout(this.previewTimer);
    this.previewTimer = null;
    this.pendingPreview = null;
    if (this.source) this.source.close();
    this.source = null;
  }

  close() {
    this.finish();
  }
}
