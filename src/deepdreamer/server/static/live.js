/*
 * Live mode: frames of the camera (or of a looped video file) go to the server over a WebSocket
 * (/api/live, docs/live-protocol.md) and their dreams come back and are drawn on `live-canvas`.
 *
 * Flow control is the page's half of the protocol's: ONE frame in flight. The next frame is
 * captured when a dream comes back (so what is sent is always the newest camera picture and the
 * dreams follow the camera as closely as the server can keep up), or after WAIT_MS without one
 * (so a frame the server dropped or refused never stalls the stream).
 *
 * app.js owns the rest of the page; it hands this module the dream looks (setLooks), the model
 * and its layers (setModel), a layer picked in the layer guide (pickLayer), and says when the
 * Live tab is shown or left (activate / deactivate: leaving stops everything, camera included).
 */
import { $, el, megabytes } from './dom.js';

const WAIT_MS = 1000; // send the next frame anyway after this long without a dream
const RATE_WINDOW_MS = 2000; // the fps readout counts the dreams of the last 2 s
const JPEG_QUALITY = 0.85;
const NOT_READY_RETRY_MS = 100; // the video has no picture yet (a camera warming up)
const MIN_SIDE = 32; // the protocol's smallest frame side (the embedded model's minimum)
const RECORD_TYPES = ['video/webm;codecs=vp8', 'video/webm;codecs=vp9', 'video/webm'];

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * A binary message: 4-byte big-endian header length, the JSON header, the image's bytes. An
 * ArrayBuffer, not a Blob: Chromium sends a Blob after reading it on another thread, and its
 * DevTools (so Playwright, which the browser test reads the frames through) never reports it.
 */
function pack(header, image) {
  const head = encoder.encode(JSON.stringify(header));
  const message = new Uint8Array(4 + head.length + image.byteLength);
  new DataView(message.buffer).setUint32(0, head.length, false);
  message.set(head, 4);
  message.set(new Uint8Array(image), 4 + head.length);
  return message.buffer;
}

/** {header, image: Blob} of a binary message (an ArrayBuffer); throws on a malformed one. */
function unpack(buffer) {
  if (buffer.byteLength < 4) throw new Error('a dream message is shorter than its header length');
  const length = new DataView(buffer).getUint32(0, false);
  if (4 + length > buffer.byteLength) throw new Error('a dream message is shorter than its header');
  const header = JSON.parse(decoder.decode(new Uint8Array(buffer, 4, length)));
  return { header, image: new Blob([new Uint8Array(buffer, 4 + length)], { type: 'image/jpeg' }) };
}

/** The frame size: the source fitted inside the chosen box, its aspect kept. */
function fitInside(width, height, [boxW, boxH]) {
  const k = Math.min(boxW / width, boxH / height);
  return [Math.max(MIN_SIDE, Math.round(width * k)), Math.max(MIN_SIDE, Math.round(height * k))];
}

function canvasBlob(canvas) {
  return new Promise((resolve) => canvas.toBlob(resolve, 'image/jpeg', JPEG_QUALITY));
}

function socketUrl() {
  return `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/api/live`;
}

export class LiveMode {
  constructor() {
    this.ui = {
      stage: $('live-stage'),
      empty: $('live-empty'),
      video: $('live-video'),
      canvas: $('live-canvas'),
      camera: $('live-source-camera'),
      fileInput: $('live-file-input'),
      size: $('live-size-select'),
      start: $('live-start'),
      stop: $('live-stop'),
      record: $('live-record'),
      download: $('live-download'),
      status: $('live-status-text'),
      fps: $('live-fps-text'),
      latency: $('live-latency-text'),
      steps: $('live-steps-text'),
      preset: $('live-preset-select'),
      layer: $('live-layer-select'),
      strength: $('live-strength-input'),
      strengthText: $('live-strength-text'),
      fpsInput: $('live-fps-input'),
      layers: $('live-layers-text'),
    };
    this.capture = document.createElement('canvas'); // the frame sent (not shown)
    this.active = false; // the Live tab is shown
    this.source = null; // 'camera' | 'file'
    this.cameraRequest = null; // the pending getUserMedia, if the browser is asking
    this.stream = null; // the camera's MediaStream while it is on
    this.fileUrl = null;
    this.model = null;
    this.ws = null;
    this.running = false;
    this.nextId = 1;
    this.inFlight = 0; // the id of the frame sent and not yet answered (0: none)
    this.capturing = false;
    this.waitTimer = 0;
    this.retryTimer = 0;
    this.tickTimer = 0;
    this.times = []; // performance.now() of each dream received, the last RATE_WINDOW_MS
    this.firstDreamAt = 0;
    this.newestShown = 0; // the id of the dream on the canvas (decoding is async: order may flip)
    // settings messages sent and not yet answered: while some are, a reply describes an older
    // state than the controls show, so the controls are set from the last reply only
    this.pending = 0;
    this.recorder = null;
    this.downloadUrl = null;
    this.wire();
    this.render();
  }

  // ------------------------------------------------------------ what app.js tells it

  /** The dream looks, from /api/info (`presets`). */
  setLooks(looks) {
    const keep = this.ui.preset.value;
    this.ui.preset.replaceChildren(
      el('option', { value: '', text: 'none' }),
      ...looks.map((p) => el('option', { value: p.name, text: p.name, title: p.description || p.name })),
    );
    this.ui.preset.value = looks.some((p) => p.name === keep) ? keep : '';
  }

  /** The model the page uses and its layers ([{name, channels}], shallow to deep). */
  setModel(name, layers) {
    const changed = this.model !== null && this.model !== name;
    this.model = name;
    const keep = this.ui.layer.value;
    this.ui.layer.replaceChildren(
      el('option', { value: '', text: 'look’s layer' }),
      ...layers.map((l) => el('option', { value: l.name, text: l.channels ? `${l.name} · ${l.channels} ch` : l.name })),
    );
    this.ui.layer.value = layers.some((l) => l.name === keep) ? keep : '';
    // another model's layer names mean nothing to this one: the look's layer again
    if (changed) this.send({ model: name, layer: this.ui.layer.value || null });
  }

  /** A layer clicked in the layer guide. */
  pickLayer(name) {
    if (![...this.ui.layer.options].some((o) => o.value === name)) this.ui.layer.append(el('option', { value: name, text: name }));
    this.ui.layer.value = name;
    this.send({ layer: name });
  }

  /** The layer the controls show (null: the look's). */
  get layer() {
    return this.ui.layer.value || null;
  }

  activate() {
    this.active = true;
    this.render();
  }

  /** The Live tab was left: nothing keeps running, the camera goes off. */
  deactivate() {
    this.active = false;
    if (this.ws || this.running) this.stop();
    this.releaseSource();
  }

  // ------------------------------------------------------------ controls

  wire() {
    const { ui } = this;
    ui.camera.addEventListener('click', () => this.useCamera());
    ui.fileInput.addEventListener('change', () => {
      const file = ui.fileInput.files && ui.fileInput.files[0];
      if (file) this.useFile(file);
      ui.fileInput.value = '';
    });
    ui.video.addEventListener('error', () => {
      if (this.source === 'file') this.status('this browser cannot play that video file', true);
    });
    ui.start.addEventListener('click', () => this.start());
    ui.stop.addEventListener('click', () => this.stop());
    ui.record.addEventListener('click', () => (this.recorder ? this.stopRecording() : this.startRecording()));
    ui.preset.addEventListener('change', () => this.send({ preset: ui.preset.value || null }));
    ui.layer.addEventListener('change', () => this.send({ layer: ui.layer.value || null }));
    ui.strength.addEventListener('input', () => this.showStrength());
    // on release, not on every step of a drag: each message turns the dream
    ui.strength.addEventListener('change', () => this.send({ strength: Number(ui.strength.value) }));
    ui.fpsInput.addEventListener('change', () => {
      const fps = Number(ui.fpsInput.value);
      if (ui.fpsInput.value !== '' && Number.isFinite(fps)) this.send({ fps }); // out of range: the server says so
    });
    // closing the tab ends the session at once rather than when the socket times out
    window.addEventListener('pagehide', () => this.deactivate());
    this.showStrength();
  }

  settings() {
    const { ui } = this;
    return {
      preset: ui.preset.value || null,
      layer: ui.layer.value || null,
      strength: Number(ui.strength.value),
      fps: Number(ui.fpsInput.value) || 10,
      model: this.model,
    };
  }

  /** A settings message, if a session is open; the controls keep the value until then. */
  send(changes) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return;
    this.pending += 1;
    this.ws.send(JSON.stringify({ type: 'settings', ...changes }));
  }

  /** The settings in force, as the server described them. */
  showSettings(s) {
    const { ui } = this;
    const select = (node, value) => {
      const v = value == null ? '' : String(value);
      if (![...node.options].some((o) => o.value === v)) node.append(el('option', { value: v, text: v }));
      node.value = v;
    };
    if ('preset' in s) select(ui.preset, s.preset);
    if ('layer' in s) select(ui.layer, s.layer);
    if (typeof s.strength === 'number') {
      ui.strength.value = String(s.strength);
      this.showStrength();
    }
    if (typeof s.fps === 'number') ui.fpsInput.value = String(s.fps);
    const layers = (s.layers || []).map(([name, weight]) => (weight === 1 ? name : `${name}:${weight}`));
    ui.layers.textContent = layers.length ? `Dreaming ${layers.join(' + ')}${s.step_size != null ? ` · step ${s.step_size}` : ''}` : '';
  }

  showStrength() {
    this.ui.strengthText.textContent = Number(this.ui.strength.value).toFixed(2);
  }

  /** The one status line: what it is doing, or (`problem`) what went wrong. */
  status(text, problem = false) {
    this.ui.status.textContent = text;
    this.ui.status.classList.toggle('problem', problem);
  }

  render() {
    const { ui } = this;
    const connected = Boolean(this.ws);
    ui.start.disabled = connected;
    ui.stop.hidden = !connected;
    ui.record.disabled = !this.running;
    ui.record.setAttribute('aria-pressed', String(Boolean(this.recorder)));
    ui.record.textContent = this.recorder ? 'Stop recording' : 'Record';
    ui.camera.setAttribute('aria-pressed', String(this.source === 'camera'));
    const hasVideo = Boolean(this.stream || this.fileUrl);
    ui.video.hidden = !hasVideo;
    ui.canvas.hidden = !this.newestShown;
    ui.empty.hidden = hasVideo || Boolean(this.newestShown);
    // the source big until the first dream, then small in a corner beside it
    ui.stage.classList.toggle('dreaming', Boolean(this.newestShown));
  }

  // ------------------------------------------------------------ the source

  /** The camera as the source; false (and a line saying why) when it cannot be had. */
  useCamera() {
    if (this.stream && this.stream.active) return Promise.resolve(true);
    if (!this.cameraRequest) {
      this.cameraRequest = this.askCamera().finally(() => {
        this.cameraRequest = null;
      });
    }
    return this.cameraRequest; // a second click while the browser asks waits for the same answer
  }

  async askCamera() {
    if (!navigator.mediaDevices || !navigator.mediaDevices.getUserMedia) {
      // browsers offer the camera only to https pages and to localhost
      this.status('this browser offers no camera to this page (it needs https or localhost); choose a video file', true);
      return false;
    }
    let stream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: { ideal: 640 }, height: { ideal: 480 } }, audio: false });
    } catch (err) {
      this.status(`cannot use the camera: ${err.message || err.name}`, true);
      return false;
    }
    if (!this.active) {
      for (const track of stream.getTracks()) track.stop(); // the tab was left while it was asked for
      return false;
    }
    this.dropFile();
    this.stream = stream;
    this.source = 'camera';
    this.ui.video.srcObject = stream;
    this.ui.video.play().catch(() => {});
    this.render();
    return true;
  }

  useFile(file) {
    if (file.type && !file.type.startsWith('video/')) {
      this.status(`${file.name} is not a video`, true);
      return;
    }
    this.stopCamera();
    this.dropFile();
    this.fileUrl = URL.createObjectURL(file);
    this.source = 'file';
    const { video } = this.ui;
    video.srcObject = null;
    video.src = this.fileUrl; // looped and muted by its attributes in index.html
    video.play().catch(() => {});
    this.status(`${file.name}${this.running ? '' : ': press Start'}`);
    this.render();
  }

  stopCamera() {
    if (!this.stream) return;
    for (const track of this.stream.getTracks()) track.stop();
    this.stream = null;
    if (this.ui.video.srcObject) this.ui.video.srcObject = null;
  }

  dropFile() {
    if (!this.fileUrl) return;
    this.ui.video.pause();
    this.ui.video.removeAttribute('src');
    this.ui.video.load();
    URL.revokeObjectURL(this.fileUrl);
    this.fileUrl = null;
  }

  /** The camera off (its light too); a chosen file stays chosen, paused. */
  releaseSource() {
    this.stopCamera();
    if (this.fileUrl) this.ui.video.pause();
    this.render();
  }

  // ------------------------------------------------------------ the session

  async start() {
    if (this.ws) return;
    if (this.source === 'file' && this.fileUrl) this.ui.video.play().catch(() => {});
    else if (!(await this.useCamera())) return; // the camera unless a file was chosen
    if (this.ws || !this.active) return; // a second click, or the tab left, while the camera was asked for
    this.status('connecting…');
    const ws = new WebSocket(socketUrl());
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.pending = 0;
    this.inFlight = 0;
    this.times = [];
    this.firstDreamAt = 0;
    ws.addEventListener('open', () => {
      if (ws === this.ws) this.status('loading the model…');
    });
    ws.addEventListener('message', (event) => {
      if (ws === this.ws) this.onMessage(event.data);
    });
    ws.addEventListener('close', (event) => {
      if (ws !== this.ws) return; // closed by stop(), which said why
      this.ws = null;
      this.stop({ quiet: true });
      if (event.code === 1000 || event.code === 1005) this.status('stopped');
      else this.status(`stopped: the connection closed (${event.code})`, true);
    });
    this.showReadouts();
    this.render();
  }

  /** Stops capturing, the recording and the session, and the camera; `quiet` keeps the status line. */
  stop({ quiet = false } = {}) {
    this.running = false;
    clearTimeout(this.waitTimer);
    clearTimeout(this.retryTimer);
    clearInterval(this.tickTimer);
    this.inFlight = 0;
    if (this.recorder) this.stopRecording();
    const ws = this.ws;
    this.ws = null;
    if (ws && ws.readyState <= WebSocket.OPEN) ws.close(1000);
    this.releaseSource();
    if (!quiet) this.status('stopped');
    this.render();
  }

  onMessage(data) {
    if (data instanceof ArrayBuffer) {
      this.onDream(data);
      return;
    }
    let message;
    try {
      message = JSON.parse(data);
    } catch {
      return;
    }
    if (message.type === 'ready') {
      this.status('starting: the first frame takes a few seconds…');
      // the page's controls win over the server's defaults: they are what the user picked
      this.send(this.settings());
      this.running = true;
      this.tickTimer = setInterval(() => this.showReadouts(), 500);
      this.render();
      this.pump();
    } else if (message.type === 'settings') {
      this.pending = Math.max(0, this.pending - 1);
      if (!this.pending) this.showSettings(message.settings || {});
    } else if (message.type === 'error') {
      this.status(String(message.detail || 'error').split('\n')[0], true);
      if (this.pending) {
        // probably refused settings (the protocol does not say which message an error is
        // about): an empty settings message brings the ones in force back to the controls
        this.pending -= 1;
        this.send({});
      }
    } else if (message.type === 'busy') {
      this.status(String(message.detail || 'the server is busy').split('\n')[0], true);
      this.stop({ quiet: true }); // the busy line stays
    }
  }

  onDream(buffer) {
    let dream;
    try {
      dream = unpack(buffer);
    } catch (err) {
      this.status(err.message, true);
      return;
    }
    const { header, image } = dream;
    const now = performance.now();
    this.times.push(now);
    if (!this.firstDreamAt) {
      this.firstDreamAt = now;
      this.status('dreaming');
    }
    const id = Number(header.id) || 0;
    if (this.inFlight && id >= this.inFlight) {
      clearTimeout(this.waitTimer);
      this.inFlight = 0;
      this.pump();
    }
    if (typeof header.t === 'number') this.ui.latency.textContent = `${Math.round(now - header.t)} ms`;
    if (header.steps != null) this.ui.steps.textContent = `${header.steps} steps/frame`;
    this.showReadouts();
    createImageBitmap(image).then(
      (bitmap) => this.draw(id, bitmap),
      () => this.status('a dream could not be decoded', true),
    );
  }

  draw(id, bitmap) {
    if (id < this.newestShown) {
      bitmap.close(); // a newer one is already shown
      return;
    }
    const { canvas, stage } = this.ui;
    if (canvas.width !== bitmap.width || canvas.height !== bitmap.height) {
      canvas.width = bitmap.width;
      canvas.height = bitmap.height;
      stage.style.setProperty('--stage-ar', `${bitmap.width} / ${bitmap.height}`);
    }
    canvas.getContext('2d').drawImage(bitmap, 0, 0);
    bitmap.close();
    const first = !this.newestShown;
    this.newestShown = id;
    if (first) this.render();
  }

  /** fps over the last RATE_WINDOW_MS (less at the start: what there is). */
  showReadouts() {
    const now = performance.now();
    while (this.times.length && this.times[0] <= now - RATE_WINDOW_MS) this.times.shift();
    const since = this.firstDreamAt ? now - this.firstDreamAt : 0;
    let text = '– fps';
    if (since >= RATE_WINDOW_MS) text = `${((this.times.length * 1000) / RATE_WINDOW_MS).toFixed(1)} fps`;
    else if (since > 0 && this.times.length > 1) text = `${(((this.times.length - 1) * 1000) / since).toFixed(1)} fps`;
    this.ui.fps.textContent = text;
    if (!this.firstDreamAt) {
      this.ui.latency.textContent = '– ms';
      this.ui.steps.textContent = '';
    }
  }

  /** Capture and send a frame, unless one is in flight. */
  async pump() {
    if (!this.running || this.inFlight || this.capturing) return;
    const { video } = this.ui;
    if (video.readyState < 2 || !video.videoWidth) {
      clearTimeout(this.retryTimer);
      this.retryTimer = setTimeout(() => this.pump(), NOT_READY_RETRY_MS);
      return;
    }
    const box = this.ui.size.value.split('x').map(Number);
    const [width, height] = fitInside(video.videoWidth, video.videoHeight, box);
    const canvas = this.capture;
    if (canvas.width !== width || canvas.height !== height) {
      canvas.width = width;
      canvas.height = height;
    }
    const t = performance.now(); // the capture time: latency counts the JPEG encoding too
    canvas.getContext('2d').drawImage(video, 0, 0, width, height);
    const id = this.nextId++;
    const ws = this.ws;
    this.capturing = true;
    const blob = await canvasBlob(canvas);
    const jpeg = blob ? await blob.arrayBuffer() : null;
    this.capturing = false;
    if (!this.running || ws !== this.ws || !jpeg) return;
    ws.send(pack({ id, t }, jpeg));
    this.inFlight = id;
    clearTimeout(this.waitTimer);
    this.waitTimer = setTimeout(() => {
      if (this.inFlight !== id) return;
      this.inFlight = 0; // dropped or refused: do not wait forever
      this.pump();
    }, WAIT_MS);
  }

  // ------------------------------------------------------------ recording

  startRecording() {
    if (!this.running || this.recorder) return;
    if (typeof MediaRecorder === 'undefined') {
      this.status('this browser cannot record video', true);
      return;
    }
    const mimeType = RECORD_TYPES.find((type) => MediaRecorder.isTypeSupported(type));
    const stream = this.ui.canvas.captureStream(); // a frame whenever a dream is drawn
    let recorder;
    try {
      recorder = new MediaRecorder(stream, mimeType ? { mimeType } : undefined);
    } catch (err) {
      this.status(`cannot record: ${err.message}`, true);
      return;
    }
    const chunks = [];
    recorder.addEventListener('dataavailable', (event) => {
      if (event.data && event.data.size) chunks.push(event.data);
    });
    recorder.addEventListener('stop', () => {
      for (const track of stream.getTracks()) track.stop();
      this.offerRecording(new Blob(chunks, { type: 'video/webm' }));
    });
    recorder.start(1000); // a chunk a second: a long recording is not gathered at the end
    this.recorder = recorder;
    this.ui.download.hidden = true;
    this.render();
  }

  stopRecording() {
    const recorder = this.recorder;
    this.recorder = null;
    if (recorder && recorder.state !== 'inactive') recorder.stop(); // its last chunk, then 'stop'
    this.render();
  }

  offerRecording(blob) {
    const link = this.ui.download;
    if (this.downloadUrl) URL.revokeObjectURL(this.downloadUrl);
    this.downloadUrl = URL.createObjectURL(blob);
    link.href = this.downloadUrl;
    link.download = 'deepdreamer-live.webm';
    link.textContent = `Download the recording (${megabytes(blob.size)})`;
    link.hidden = !blob.size;
  }
}
