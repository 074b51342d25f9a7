/*
 * deepdreamer serve — the page's entry module (plain ES modules, no build step, no other host).
 * The HTTP contract it follows is /work/contract.md. Modules beside this one:
 *   api.js             fetch helpers + the contract's URLs; errors carry the server's `detail`
 *   settings-form.js   typed fields, layer rows, look buttons, "what did the user change"
 *   mask-brush.js      the mask canvas over the photo (pointer events)
 *   job-runner.js      POST /api/jobs + the job's server-sent events
 *   gallery.js         GET /api/results thumbnails, open / delete
 *   layer-guide.js     the lazily loaded per-layer pictures
 *   live.js            Live mode: camera frames to /api/live over a WebSocket, their dreams back
 *   dom.js             tiny DOM helpers
 *
 * data-testid of every control a test drives. Each element's id equals its data-testid, except
 * drop-zone (id "stage"), mask-canvas (id "mask-view"), the mode tabs and the two <summary>
 * toggles (no id), and those marked "per", which repeat once per row / layer / gallery item:
 *   mode-dream  mode-visualize  mode-activations  mode-zoom  mode-live   mode tabs (aria-selected="true")
 *   drop-zone (the stage; drop a file on it)  stage-empty  photo-img  mask-canvas
 *   preview-img  result-img  result-video                         stage pictures (hidden when unused)
 *   file-input  sample-button  view-photo  view-result
 *   mask-toggle (aria-pressed)  mask-paint-dream  mask-paint-keep  mask-brush-size  mask-clear
 *   dream-button  cancel-button  progress-bar  progress-text  queue-position  error-text  notice-text
 *   result-bar  download-link  result-meta  reuse-seed  command-text  copy-command
 *   preset-list  preset-none (plain defaults)  preset-<name>       dream/zoom looks (aria-pressed)
 *   visualize-objective-input  visualize-preset-list  visualize-preset-none  visualize-preset-<name>
 *   visualize-size-input  visualize-steps-input  visualize-seed-input
 *   visualize-param-select  visualize-robustness-select  visualize-decay-input
 *   visualize-lr-input  visualize-batch-input  visualize-diversity-input
 *   activations-layer-select  activations-top-input  activations-max-size-input
 *   zoom-frames-input  zoom-zoom-input  zoom-steps-per-frame-input  zoom-rotate-input  zoom-fps-input
 *   guide-input  guide-thumb  guide-clear
 *   advanced-toggle (the Advanced <summary>)  model-select  reset-button  settings-summary
 *   layer-list  layer-add  layer-hint;  per row: layer-row  layer-name (<select>)  layer-weight  layer-remove
 *   objective-input  channels-input  octaves-input  octave-scale-input  steps-input  step-size-input
 *   jitter-input  seed-input  lap-levels-input  rotate-jitter-input  scale-jitter-input  max-size-input
 *   precision-select  keep-colors-input
 *   layer-guide (<details>)  layer-guide-toggle (its <summary>)  guide-grid;  per layer: layer-guide-item (data-layer)
 *   gallery  gallery-empty  gallery-refresh;  per item: gallery-item (<li>, data-id)  gallery-open  gallery-delete
 *   version-text
 *   live (live.js):  live-source-camera (aria-pressed)  live-file-input  live-size-select  live-video
 *   live-canvas  live-start  live-stop  live-status-text  live-fps-text  live-latency-text  live-steps-text
 *   live-record (aria-pressed)  live-download  live-preset-select  live-layer-select
 *   live-strength-input  live-fps-input  live-layers-text
 *
 * What the form sends (settings JSON of POST /api/jobs):
 *   dream / zoom:  `preset` (the look picked; none for "default") plus ONLY the fields whose value
 *                  differs from what the look filled in (defaults from /api/info, the preset's
 *                  settings over them). Why: the server applies the same preset over the same
 *                  defaults, so the run is exactly what the form shows, while the recorded request,
 *                  the gallery title and the command stay the user's intent ("--preset deep --seed
 *                  7", not twenty flags), and reopening a result re-selects the look and re-applies
 *                  just those changes. `layers` are left out when an objective is given (the API
 *                  refuses both; an objective replaces the look's layers). Zoom adds its own motion
 *                  fields in full (frames, zoom, steps_per_frame, rotate, fps): there is no zoom look,
 *                  so the full values are the exact ones, and the page's first zoom is 24 frames
 *                  while the library's default (/api/info zoom_defaults) is 100.
 *   visualize:     the same rule with the visualisation looks; `objective` is always sent.
 *   activations:   layer, top, max_size in full (no looks).
 *   model:         only when it is not the server's default model.
 *   live:          no job: live.js sends its own settings messages (docs/live-protocol.md); the
 *                  photo modes' stage, run bar and result bar are hidden (data-modes), and leaving
 *                  the Live tab stops the session and the camera.
 */
import { $, el, clock, megabytes } from './dom.js';
import { ApiError, del, getBlob, getJSON, urls } from './api.js';
import {
  ACTIVATIONS_FIELDS,
  DREAM_FIELDS,
  FieldGroup,
  LayerList,
  VISUALIZE_FIELDS,
  ZOOM_FIELDS,
  ensureOption,
  renderPresets,
} from './settings-form.js';
import { MaskBrush } from './mask-brush.js';
import { JobRunner } from './job-runner.js';
import { markCurrent, renderGallery } from './gallery.js';
import { LayerGuide } from './layer-guide.js';
import { LiveMode } from './live.js';

const MODES = ['dream', 'visualize', 'activations', 'zoom', 'live'];
const PHOTO_MODES = new Set(['dream', 'activations', 'zoom']); // need a photo
const DREAMING_MODES = new Set(['dream', 'zoom']); // take a look, layers, mask, guide
const ACTION = { dream: 'Dream', visualize: 'Visualise', activations: 'Show activations', zoom: 'Zoom', live: 'Dream' };
const JOB_KEY = 'deepdreamer.job'; // sessionStorage: the running job, found again after a reload

// ---------------------------------------------------------------- state

const S = {
  info: null,
  mode: 'dream',
  model: null,
  models: new Map(), // name -> Promise<{layers, default, labels, classes}>, fetched once per model
  dreamPreset: null, // a look's name, or null for the plain defaults
  visPreset: null,
  photo: null, // {blob, name, sample, url, width, height, shown}
  photoToken: 0,
  photoLoading: null, // a Promise while a photo is being fetched or decoded
  starting: false, // between the Dream click and the POST's answer
  guideFile: null,
  guideUrl: null,
  job: null, // {id, mode} while one runs
  live: false, // the stage has a live preview of the latest job
  result: null, // the gallery item on the stage
  view: 'photo', // 'photo' | 'result'
  gallery: [],
  lastProgress: null,
};

const ui = {
  stage: $('stage'),
  stageEmpty: $('stage-empty'),
  emptyTitle: $('stage-empty-title'),
  emptySub: $('stage-empty-sub'),
  frame: $('photo-frame'),
  photo: $('photo-img'),
  preview: $('preview-img'),
  resultImg: $('result-img'),
  resultVideo: $('result-video'),
  dropHint: $('drop-hint'),
  dream: $('dream-button'),
  cancel: $('cancel-button'),
  bar: $('progress-bar'),
  progressText: $('progress-text'),
  queue: $('queue-position'),
  error: $('error-text'),
  notice: $('notice-text'),
  resultBar: $('result-bar'),
  download: $('download-link'),
  command: $('command-text'),
  resultMeta: $('result-meta'),
  reuseSeed: $('reuse-seed'),
  summary: $('settings-summary'),
  gallery: $('gallery'),
  galleryEmpty: $('gallery-empty'),
  labels: $('class-labels'),
  modelSelect: $('model-select'),
  actLayer: $('activations-layer-select'),
  maskToggle: $('mask-toggle'),
  maskTools: $('mask-tools'),
  maskView: $('mask-view'),
};

const dreamFields = new FieldGroup(DREAM_FIELDS);
const zoomFields = new FieldGroup(ZOOM_FIELDS);
const visFields = new FieldGroup(VISUALIZE_FIELDS);
const actFields = new FieldGroup(ACTIVATIONS_FIELDS);
const layerList = new LayerList($('layer-list'), () => formChanged());
const mask = new MaskBrush(ui.maskView, $('brush-ring'), () => formChanged());
const guide = new LayerGuide($('layer-guide'), $('guide-grid'), (name) => pickLayer(name));
const liveMode = new LiveMode();
let markDreamPreset = () => {};
let markVisPreset = () => {};

// ---------------------------------------------------------------- messages

function showError(message) {
  ui.error.textContent = String(message).split('\n')[0];
  ui.error.hidden = false;
}

function clearError() {
  ui.error.textContent = '';
  ui.error.hidden = true;
}

function showNotice(message) {
  ui.notice.textContent = message;
  ui.notice.hidden = !message;
}

// ---------------------------------------------------------------- models, layers, labels

function modelData(name) {
  if (!S.models.has(name)) {
    const promise = (async () => {
      const [layers, labels] = await Promise.allSettled([getJSON(urls.layers(name)), getJSON(urls.labels(name))]);
      if (layers.status === 'rejected') throw layers.reason;
      return {
        layers: shallowToDeep(layers.value.layers || []),
        default: layers.value.default || null,
        labels: labels.status === 'fulfilled' ? labels.value.labels || [] : [],
        classes: labels.status === 'fulfilled' ? labels.value.classes || 0 : 0,
      };
    })();
    promise.catch(() => S.models.delete(name)); // try again next time
    S.models.set(name, promise);
  }
  return S.models.get(name);
}

/**
 * Layers shallow to deep. The list is meant to come so, but a catalogue may list a model's stages
 * (blocks.0 ... blocks.6) before their sub-blocks (blocks.0.0, ...). Order: by stride (it only
 * grows with depth); within one stride, names of one family by their numbers, a stage after its
 * own sub-blocks (its output is its last sub-block's); anything else keeps the server's order.
 */
function shallowToDeep(layers) {
  const path = (name) => name.split('.');
  const numeric = (seg) => /^\d+$/.test(seg);
  const compare = (a, b) => {
    if ((a.info.stride || 0) !== (b.info.stride || 0)) return (a.info.stride || 0) - (b.info.stride || 0);
    const pa = path(a.info.name);
    const pb = path(b.info.name);
    if (pa[0] === pb[0] && pa.length > 1 && pb.length > 1) {
      for (let i = 1; i < Math.min(pa.length, pb.length); i += 1) {
        if (pa[i] === pb[i]) continue;
        if (numeric(pa[i]) && numeric(pb[i])) return Number(pa[i]) - Number(pb[i]);
        return a.index - b.index;
      }
      if (pa.length !== pb.length) return pb.length - pa.length; // the stage after its sub-blocks
    }
    return a.index - b.index;
  };
  return layers
    .map((info, index) => ({ info, index }))
    .sort(compare)
    .map((x) => x.info);
}

function fillModels() {
  ui.modelSelect.replaceChildren();
  for (const m of S.info.models || []) {
    ui.modelSelect.append(
      el('option', {
        value: m.name,
        text: m.offline === false && !m.loaded ? `${m.name} (downloads its weights)` : m.name,
        title: m.description || m.name,
      }),
    );
  }
  ensureOption(ui.modelSelect, S.info.model);
}

/** Switch the model everything uses: its layers (rows, activations, guide) and class labels. */
async function useModel(name) {
  let data;
  try {
    data = await modelData(name);
  } catch (err) {
    showError(`cannot load the layers of ${name}: ${err.message}`);
    ui.modelSelect.value = S.model || S.info.model;
    return false;
  }
  const layersUntouched = !layerList.changed();
  S.model = name;
  ensureOption(ui.modelSelect, name);
  ui.modelSelect.value = name;
  layerList.setModelLayers(data.layers, data.default);
  // rows showing "the model's default layer" follow the model and still count as unchanged
  if (layersUntouched && !(dreamBase().layers || []).length) layerList.snapshot();

  const keep = ui.actLayer.value;
  ui.actLayer.replaceChildren(...data.layers.map((l) => el('option', { value: l.name, text: `${l.name} · ${l.channels} ch` })));
  ui.actLayer.value = data.layers.some((l) => l.name === keep) ? keep : data.default || (data.layers[0] && data.layers[0].name) || '';

  fillLabels(data.labels, data.classes);
  guide.setModel(name, data.layers);
  liveMode.setModel(name, data.layers);
  formChanged();
  return true;
}

/**
 * The class-name autocomplete, from the selected model's own labels: `class:NAME`, or
 * `class:INDEX` for a name two classes share; a model whose classes have no names offers
 * `class:0` ... (a feature extractor, no classes, offers nothing).
 */
function fillLabels(labels, classes = 0) {
  if (!labels.length && classes > 0) {
    ui.labels.replaceChildren(
      ...Array.from({ length: Math.min(classes, 1000) }, (_, i) => el('option', { value: `class:${i}` })),
    );
    return;
  }
  const counts = new Map();
  for (const name of labels) counts.set(name, (counts.get(name) || 0) + 1);
  const fragment = document.createDocumentFragment();
  labels.forEach((name, index) => {
    const shared = counts.get(name) > 1;
    fragment.append(
      el('option', shared ? { value: `class:${index}`, label: `${name} (class ${index})` } : { value: `class:${name}` }),
    );
  });
  ui.labels.replaceChildren(fragment);
}

// ---------------------------------------------------------------- looks

function presetNamed(list, name) {
  return (list || []).find((p) => p.name === name) || null;
}

function dreamBase() {
  const preset = presetNamed(S.info && S.info.presets, S.dreamPreset);
  return { ...((S.info && S.info.defaults) || {}), ...(preset ? preset.settings : {}) };
}

function visBase() {
  const preset = presetNamed(S.info.visualize_presets, S.visPreset);
  return { ...(S.info.visualize_defaults || {}), ...(preset ? preset.settings : {}) };
}

/** The look the server names as its default, if any (else the plain defaults). */
function defaultLook(list, defaults) {
  const names = (list || []).map((p) => p.name);
  for (const candidate of [defaults && defaults.preset, S.info.default_preset]) {
    if (candidate && names.includes(candidate)) return candidate;
  }
  const flagged = (list || []).find((p) => p.default === true);
  return flagged ? flagged.name : null;
}

function renderLooks() {
  const plain = {
    name: null,
    testName: 'none',
    label: 'default',
    description: 'no preset: the standard settings and the model’s default layer',
  };
  markDreamPreset = renderPresets($('preset-list'), [plain, ...(S.info.presets || [])], 'preset-', (name) => {
    selectDreamPreset(name);
  });
  const visPlain = { ...plain, description: 'no preset: the standard render' };
  markVisPreset = renderPresets($('visualize-preset-list'), [visPlain, ...(S.info.visualize_presets || [])], 'visualize-preset-', (name) => {
    selectVisPreset(name);
  });
}

/** A look fills every dream field with its settings over the defaults. */
function selectDreamPreset(name) {
  S.dreamPreset = presetNamed(S.info.presets, name) ? name : null;
  const base = dreamBase();
  dreamFields.fill(base);
  layerList.set(layerPairs(base.layers));
  dreamFields.snapshot();
  layerList.snapshot();
  markDreamPreset(S.dreamPreset);
  formChanged();
}

function selectVisPreset(name) {
  S.visPreset = presetNamed(S.info.visualize_presets, name) ? name : null;
  visFields.fill(visBase(), { except: ['objective'] });
  visFields.snapshot();
  markVisPreset(S.visPreset);
  formChanged();
}

const ZOOM_FRAMES = 24; // the page's default: a short first zoom (the library's is 100 frames)

function fillZoomDefaults() {
  zoomFields.fill({ ...(S.info.zoom_defaults || {}), frames: ZOOM_FRAMES });
  zoomFields.snapshot();
}

function fillActivationsDefaults() {
  const d = S.info.activations_defaults || {};
  actFields.fill({ ...d, layer: d.layer || null });
  actFields.snapshot();
}

/** Layers as [[name, weight]] from any form the API accepts: names, "NAME:W", pairs, {name: w}. */
function layerPairs(value) {
  if (!value) return [];
  if (typeof value === 'string') value = [value];
  if (!Array.isArray(value) && typeof value === 'object') value = Object.entries(value);
  return value
    .map((item) => {
      if (typeof item === 'string') {
        const at = item.lastIndexOf(':');
        const weight = at > 0 ? Number(item.slice(at + 1)) : NaN;
        return Number.isFinite(weight) ? [item.slice(0, at), weight] : [item, 1];
      }
      if (Array.isArray(item) && item.length === 2) return [String(item[0]), Number(item[1])];
      return null;
    })
    .filter(Boolean);
}

// ---------------------------------------------------------------- what is sent

/** {settings, errors} for a mode: see the comment at the top for what goes in and why. */
function buildSettings(mode) {
  const settings = {};
  const errors = [];
  if (DREAMING_MODES.has(mode)) {
    if (S.dreamPreset) settings.preset = S.dreamPreset;
    const { values, errors: e } = dreamFields.read();
    errors.push(...e);
    for (const key of dreamFields.changedKeys()) if (key in values) settings[key] = values[key];
    if (!values.objective) {
      const layers = layerList.read();
      errors.push(...layers.errors);
      if (layerList.changed()) settings.layers = layers.value;
    }
    if (mode === 'zoom') {
      const zoom = zoomFields.read();
      errors.push(...zoom.errors);
      Object.assign(settings, zoom.values);
    }
  } else if (mode === 'visualize') {
    if (S.visPreset) settings.preset = S.visPreset;
    const { values, errors: e } = visFields.read();
    errors.push(...e);
    for (const key of visFields.changedKeys()) if (key in values) settings[key] = values[key];
    settings.objective = values.objective;
    if (!values.objective) errors.push('Visualise needs an objective: a class such as class:goldfish, or a channel such as blocks.5:37');
  } else if (mode === 'activations') {
    const { values, errors: e } = actFields.read();
    errors.push(...e);
    Object.assign(settings, values);
    if (!settings.layer) delete settings.layer;
  }
  if (S.model && S.info && S.model !== S.info.model) settings.model = S.model;
  return { settings, errors };
}

function describe(settings) {
  const parts = Object.entries(settings).map(([key, value]) => {
    if (key === 'layers') return `layers ${value.map(([n, w]) => (w === 1 ? n : `${n}:${w}`)).join(' + ') || '(model default)'}`;
    if (value === null) return key === 'seed' ? 'seed random' : key === 'objective' ? 'objective (needed)' : `${key} none`;
    return `${key} ${typeof value === 'object' ? JSON.stringify(value) : value}`;
  });
  return `Sends: ${parts.join(' · ') || 'the defaults'}`;
}

/** After any change to the form: outlines, the layer rows' state, the summary line. */
function formChanged() {
  if (!S.info) return;
  const objective = dreamFields.get('objective');
  const list = $('layer-list');
  list.classList.toggle('disabled', Boolean(objective));
  list.classList.toggle('changed', layerList.changed() && !objective);
  for (const control of list.querySelectorAll('select, input, button')) control.disabled = Boolean(objective);
  $('layer-add').disabled = Boolean(objective);
  const hint = $('layer-hint');
  if (objective) hint.textContent = 'The objective replaces the layers.';
  else if (!layerList.rows().length) hint.textContent = `No layer: the model’s default (${layerList.defaultName || 'its default'}).`;
  else hint.textContent = 'Further down a list = deeper: strokes and textures first, eyes and animals last. A negative weight dreams a layer away.';
  dreamFields.markChanged();
  visFields.markChanged();
  zoomFields.markChanged();
  actFields.markChanged();
  let summary = describe(buildSettings(S.mode).settings);
  if (DREAMING_MODES.has(S.mode) && mask.active) summary += ' · + the painted mask';
  if (DREAMING_MODES.has(S.mode) && S.guideFile) summary += ' · + the guide image';
  ui.summary.textContent = summary;
  guide.mark(S.mode === 'activations' ? ui.actLayer.value : S.mode === 'live' ? liveMode.layer : objective ? null : layerList.first());
}

/** A layer picked in the guide: the dream's only layer, the activations layer, or an objective. */
function pickLayer(name) {
  if (S.mode === 'live') {
    liveMode.pickLayer(name);
    showNotice(`Layer ${name} chosen.`);
  } else if (DREAMING_MODES.has(S.mode)) {
    dreamFields.set('objective', null);
    layerList.set([[name, 1]]);
    showNotice(`Layer ${name} chosen (see Advanced).`);
  } else if (S.mode === 'activations') {
    ensureOption(ui.actLayer, name);
    ui.actLayer.value = name;
    showNotice(`Layer ${name} chosen.`);
  } else {
    visFields.set('objective', `${name}:0`);
    $('visualize-objective-input').focus();
    showNotice(`Objective ${name}:0 — change the channel number after the colon.`);
  }
  formChanged();
}

// ---------------------------------------------------------------- modes and the stage

function setMode(mode) {
  if (!MODES.includes(mode)) mode = 'dream';
  S.mode = mode;
  if (mode === 'live') liveMode.activate();
  else liveMode.deactivate();
  for (const tab of document.querySelectorAll('.mode-tab')) tab.setAttribute('aria-selected', String(tab.dataset.mode === mode));
  for (const node of document.querySelectorAll('[data-modes]')) node.hidden = !node.dataset.modes.split(' ').includes(mode);
  ui.dream.textContent = ACTION[mode];
  if (location.hash !== `#${mode}`) history.replaceState(null, '', `#${mode}`);
  render();
  formChanged();
}

function render() {
  const photoMode = PHOTO_MODES.has(S.mode);
  const hasPhoto = Boolean(S.photo && S.photo.shown);
  const canResult = S.live || Boolean(S.result);
  let view = S.view;
  if (view === 'result' && !canResult) view = 'photo';
  if (view === 'photo' && !photoMode && canResult) view = 'result';
  const showPhoto = view === 'photo' && photoMode && hasPhoto;
  const showPreview = view === 'result' && S.live;
  const showResult = view === 'result' && !S.live && Boolean(S.result);
  const video = showResult && isVideo(S.result);

  ui.frame.hidden = !showPhoto;
  ui.stageEmpty.hidden = showPhoto || showPreview || showResult;
  ui.preview.hidden = !showPreview;
  ui.resultImg.hidden = !(showResult && !video);
  ui.resultVideo.hidden = !(showResult && video);
  if (ui.resultVideo.hidden) ui.resultVideo.pause();
  else ui.resultVideo.play().catch(() => {});
  if (!showResult) ui.stage.classList.remove('actual');
  ui.photo.classList.toggle('pulse', showPhoto && Boolean(S.job));

  if (!ui.stageEmpty.hidden) {
    if (S.job && !photoMode) {
      ui.emptyTitle.textContent = 'Growing the picture…';
      ui.emptySub.textContent = 'The first preview appears after a few steps.';
    } else if (!photoMode) {
      ui.emptyTitle.textContent = 'Visualise needs no photo';
      ui.emptySub.textContent = 'Type a class (class:goldfish) or a channel (blocks.5:37), then press Visualise.';
    } else if (S.photo && !S.photo.shown) {
      ui.emptyTitle.textContent = S.photo.name || 'Photo chosen';
      ui.emptySub.textContent = 'This browser cannot show this file; it will still be sent to the server.';
    } else {
      ui.emptyTitle.textContent = 'Drop a photo here';
      ui.emptySub.textContent = 'or paste one (Ctrl+V), choose a file, or use the sample photo below.';
    }
  }

  const viewPhoto = $('view-photo');
  const viewResult = $('view-result');
  viewPhoto.hidden = !photoMode;
  viewPhoto.disabled = !hasPhoto;
  viewResult.disabled = !canResult;
  viewPhoto.setAttribute('aria-pressed', String(view === 'photo'));
  viewResult.setAttribute('aria-pressed', String(view === 'result'));

  // the brush only over the photo, in the modes that take a mask
  const brush = mask.enabled && DREAMING_MODES.has(S.mode);
  ui.maskTools.hidden = !(brush && showPhoto);
  ui.maskView.hidden = !(brush && showPhoto);
  ui.maskToggle.setAttribute('aria-pressed', String(mask.enabled));
  ui.maskToggle.disabled = !hasPhoto;
  ui.frame.classList.toggle('masking', brush);

  // on a narrow screen the stage takes the shown picture's shape (see app.css)
  let shape = null;
  if (showPhoto) shape = [S.photo.width, S.photo.height];
  else if (showPreview) shape = [ui.preview.naturalWidth, ui.preview.naturalHeight];
  else if (showResult) shape = [S.result.width, S.result.height];
  if (shape && shape[0] > 0 && shape[1] > 0) ui.stage.style.setProperty('--stage-ar', `${shape[0]} / ${shape[1]}`);
  else ui.stage.style.removeProperty('--stage-ar');
  if (showPhoto) fitPhoto();
}

/** The photo frame is sized in px to the photo's aspect, so the mask canvas lies exactly on it. */
function fitPhoto() {
  if (!S.photo || !S.photo.width) return;
  const w = ui.stage.clientWidth;
  const h = ui.stage.clientHeight;
  if (!w || !h) return;
  const k = Math.min(w / S.photo.width, h / S.photo.height);
  ui.frame.style.width = `${Math.max(1, Math.floor(S.photo.width * k))}px`;
  ui.frame.style.height = `${Math.max(1, Math.floor(S.photo.height * k))}px`;
}

function setView(view) {
  S.view = view;
  render();
}

function isVideo(item) {
  const name = String(item.download_name || item.file || '');
  if (/\.gif$/i.test(name)) return false;
  return item.media === 'video' || /\.(mp4|webm|mov|mkv)$/i.test(name);
}

// ---------------------------------------------------------------- the photo

const EXT = { 'image/png': 'png', 'image/jpeg': 'jpg', 'image/webp': 'webp', 'image/gif': 'gif', 'image/bmp': 'bmp', 'image/tiff': 'tif' };

function fileName(name, blob) {
  const base = name || 'photo';
  if (/\.[a-z0-9]{2,5}$/i.test(base)) return base;
  return `${base}.${EXT[blob.type] || 'png'}`;
}

async function setPhoto(blob, { name = 'photo', sample = false } = {}) {
  if (!blob) return false;
  if (blob.type && !blob.type.startsWith('image/')) {
    showError(`${name} is not an image`);
    return false;
  }
  const limit = maxUploadBytes();
  if (!sample && limit && blob.size > limit) {
    showError(`${name} is ${megabytes(blob.size)}; the server takes up to ${megabytes(limit)}`);
    return false;
  }
  clearError();
  const token = ++S.photoToken;
  if (S.photo && S.photo.url) URL.revokeObjectURL(S.photo.url);
  const url = URL.createObjectURL(blob);
  S.photo = { blob, name: fileName(name, blob), sample, url, width: 0, height: 0, shown: false };
  ui.photo.src = url;
  try {
    await ui.photo.decode();
    if (token !== S.photoToken) return false;
    S.photo.width = ui.photo.naturalWidth;
    S.photo.height = ui.photo.naturalHeight;
    S.photo.shown = true;
  } catch {
    if (token !== S.photoToken) return false;
  }
  mask.reset(S.photo.width, S.photo.height);
  S.view = 'photo';
  render();
  return true;
}

function useSample() {
  const button = $('sample-button');
  button.disabled = true;
  return loading(
    (async () => {
      try {
        const blob = await getBlob(urls.sample);
        await setPhoto(blob, { name: 'sample.jpg', sample: true });
      } catch (err) {
        showError(`cannot load the sample photo: ${err.message}`);
      } finally {
        button.disabled = false;
      }
    })(),
  );
}

/** A photo on its way (the sample, a file, a reopened result's source): Dream waits for it. */
function loading(promise) {
  const tracked = promise.finally(() => {
    if (S.photoLoading === tracked) S.photoLoading = null;
  });
  S.photoLoading = tracked;
  return tracked;
}

function maxUploadBytes() {
  const mb = S.info && S.info.limits && Number(S.info.limits.max_upload_mb);
  return mb > 0 ? mb * 1024 * 1024 : 0;
}

function firstImage(files) {
  return [...(files || [])].find((f) => f && (!f.type || f.type.startsWith('image/'))) || null;
}

/** A photo dropped or pasted in Visualise means the user wants to dream it. */
async function takePhoto(file) {
  if (!file) return;
  if (await loading(setPhoto(file, { name: file.name || 'pasted.png' }))) {
    if (!PHOTO_MODES.has(S.mode)) setMode('dream');
  }
}

function setGuide(file) {
  if (S.guideUrl) URL.revokeObjectURL(S.guideUrl);
  S.guideFile = file || null;
  S.guideUrl = file ? URL.createObjectURL(file) : null;
  const thumb = $('guide-thumb');
  thumb.hidden = !file;
  if (file) thumb.src = S.guideUrl;
  else thumb.removeAttribute('src');
  $('guide-clear').hidden = !file;
  if (!file) $('guide-input').value = '';
  formChanged();
}

// ---------------------------------------------------------------- the mask brush

function toggleMask() {
  if (mask.enabled && ui.frame.hidden && S.photo && S.photo.shown) {
    setView('photo'); // the brush is on but the result is shown: back to the photo to paint
    return;
  }
  if (mask.enabled) {
    mask.disable();
  } else {
    if (!S.photo || !S.photo.shown) {
      showError('Choose a photo first: the mask is painted on it.');
      return;
    }
    mask.enable();
    S.view = 'photo';
  }
  render();
  formChanged();
}

function setTool(tool) {
  mask.setTool(tool);
  $('mask-paint-dream').setAttribute('aria-pressed', String(tool === 'dream'));
  $('mask-paint-keep').setAttribute('aria-pressed', String(tool === 'keep'));
}

// ---------------------------------------------------------------- jobs

function setRunning(running) {
  ui.dream.disabled = running;
  ui.cancel.hidden = !running;
  ui.cancel.disabled = false;
  ui.cancel.textContent = 'Cancel';
  if (!running) ui.queue.hidden = true;
}

async function startJob() {
  if (S.mode === 'live' || runner.active || S.job || S.starting) return; // Ctrl+Enter in Live
  S.starting = true;
  try {
    if (S.photoLoading) await S.photoLoading; // a photo still on its way is the one to dream
    await submitJob();
  } finally {
    S.starting = false;
  }
}

async function submitJob() {
  clearError();
  showNotice('');
  const mode = S.mode;
  const { settings, errors } = buildSettings(mode);
  if (errors.length) {
    showError(errors[0]);
    return;
  }
  if (PHOTO_MODES.has(mode) && !S.photo) {
    showError('Choose a photo first (or use the sample photo).');
    return;
  }
  const form = new FormData();
  form.append('mode', mode);
  form.append('settings', JSON.stringify(settings));
  let bytes = 0;
  if (PHOTO_MODES.has(mode)) {
    if (S.photo.sample) form.append('sample', 'true');
    else {
      form.append('image', S.photo.blob, S.photo.name);
      bytes += S.photo.blob.size;
    }
  }
  if (DREAMING_MODES.has(mode)) {
    if (mask.active) {
      try {
        const blob = await mask.toBlob();
        form.append('mask', blob, 'mask.png');
        bytes += blob.size;
      } catch (err) {
        showError(err.message);
        return;
      }
    }
    if (S.guideFile) {
      form.append('guide', S.guideFile, S.guideFile.name || 'guide.png');
      bytes += S.guideFile.size;
    }
  }
  const limit = maxUploadBytes();
  if (limit && bytes > limit) {
    showError(`the upload is ${megabytes(bytes)}; the server takes up to ${megabytes(limit)}`);
    return;
  }

  setRunning(true);
  ui.progressText.textContent = 'Sending…';
  ui.bar.hidden = false;
  ui.bar.removeAttribute('value'); // indeterminate until the first progress event
  let answer;
  try {
    answer = await runner.submit(form);
  } catch (err) {
    setRunning(false);
    ui.bar.hidden = true;
    ui.progressText.textContent = '';
    showError(err instanceof ApiError ? err.message : `could not start: ${err.message}`);
    return;
  }
  beginFollowing({ id: answer.id, mode }, answer);
}

function beginFollowing(job, answer = null) {
  S.job = job;
  S.live = false;
  S.previewShown = 0; // the newest preview number on the stage
  S.result = null;
  S.lastProgress = null;
  ui.resultBar.hidden = true;
  S.view = PHOTO_MODES.has(job.mode) ? 'photo' : 'result';
  try {
    sessionStorage.setItem(JOB_KEY, JSON.stringify(job));
  } catch {
    /* storage may be off */
  }
  setRunning(true);
  ui.bar.hidden = false;
  if (answer && answer.state === 'queued') onQueued({ position: answer.position });
  else ui.progressText.textContent = 'Starting…';
  render();
  runner.follow(job.id);
}

function endJob() {
  S.job = null;
  try {
    sessionStorage.removeItem(JOB_KEY);
  } catch {
    /* storage may be off */
  }
  setRunning(false);
  render();
}

function onQueued(data) {
  const position = Number(data && data.position) || 0;
  if (position > 0) {
    ui.queue.textContent = `Waiting in the queue: position ${position}`;
    ui.queue.hidden = false;
    ui.progressText.textContent = '';
  } else {
    ui.queue.hidden = true;
    ui.progressText.textContent = 'Starting…';
  }
}

function progressFraction(p) {
  // the server's share of the work done: octaves weighted by their area (the last is half of it)
  if (typeof p.fraction === 'number') return Math.max(0, Math.min(1, p.fraction));
  const part = p.total > 0 ? Math.min(1, p.done / p.total) : p.steps > 0 ? Math.min(1, p.step / p.steps) : 0;
  if (p.frames > 0) {
    // `frame` counts from 1 for the frame being dreamed; the within-frame part fills the rest
    const frame = Math.max(0, Math.min(p.frames, Number(p.frame) || 0));
    return Math.min(1, (Math.max(0, frame - 1) + part) / p.frames);
  }
  return part;
}

function onProgress(p) {
  S.lastProgress = p;
  ui.queue.hidden = true;
  ui.bar.hidden = false;
  ui.bar.value = progressFraction(p);
  const parts = [];
  if (p.frames > 0) parts.push(`frame ${p.frame} of ${p.frames}`);
  if (p.octaves > 1) parts.push(`octave ${p.octave}/${p.octaves}`);
  if (p.steps > 0) parts.push(`step ${p.step}/${p.steps}`);
  parts.push(p.eta == null ? 'estimating the time left…' : `${clock(p.eta)} left`);
  ui.progressText.textContent = parts.join(' · ');
}

function onPreview(url, data) {
  if (!S.job) return;
  const jobId = S.job.id;
  const n = Number(data && data.n) || 0;
  const loader = new Image();
  loader.addEventListener('load', () => {
    if (!S.job || S.job.id !== jobId) return;
    if (n && n < (S.previewShown || 0)) return; // a slower, older load finishing late
    S.previewShown = n;
    ui.preview.src = url;
    const first = !S.live;
    S.live = true;
    if (first) S.view = 'result';
    render();
  });
  loader.src = url;
}

function onDone(item) {
  const elapsed = S.lastProgress && S.lastProgress.elapsed;
  ui.bar.value = 1;
  ui.progressText.textContent = elapsed != null ? `Done in ${clock(elapsed)}.` : 'Done.';
  endJob();
  if (item) showResult(item);
  refreshGallery();
}

function onJobError(message) {
  ui.bar.hidden = true;
  ui.progressText.textContent = '';
  endJob();
  showError(message);
}

function onCancelled() {
  ui.bar.hidden = true;
  ui.progressText.textContent = 'Cancelled.';
  endJob();
}

const runner = new JobRunner({
  queued: onQueued,
  started: () => {
    ui.queue.hidden = true;
    ui.progressText.textContent = 'Started…';
  },
  progress: onProgress,
  preview: onPreview,
  notice: (message) => showNotice(message),
  done: onDone,
  error: onJobError,
  cancelled: onCancelled,
  connection: (ok) => {
    if (!ok && S.job) ui.progressText.textContent = 'Connection lost; reconnecting…';
  },
});

async function cancelJob() {
  if (!runner.active) return;
  ui.cancel.disabled = true;
  ui.cancel.textContent = 'Cancelling…';
  try {
    await runner.cancel();
  } catch (err) {
    ui.cancel.disabled = false;
    ui.cancel.textContent = 'Cancel';
    showError(err.message);
  }
}

/** After a reload: follow the job this tab started, if it still runs. */
async function resumeJob() {
  let saved = null;
  try {
    saved = JSON.parse(sessionStorage.getItem(JOB_KEY) || 'null');
  } catch {
    saved = null;
  }
  if (!saved || !saved.id) return;
  try {
    const job = await getJSON(urls.job(saved.id));
    if (job.state === 'queued' || job.state === 'running') {
      beginFollowing({ id: saved.id, mode: job.mode || saved.mode });
      return;
    }
  } catch {
    /* gone (a restarted server) */
  }
  sessionStorage.removeItem(JOB_KEY);
}

// ---------------------------------------------------------------- results and the gallery

function withQuery(url, query) {
  return `${url}${url.includes('?') ? '&' : '?'}${query}`;
}

function showResult(item) {
  S.result = item;
  S.live = false;
  S.view = 'result';
  if (isVideo(item)) {
    if (ui.resultVideo.getAttribute('src') !== item.file) ui.resultVideo.src = item.file;
  } else if (ui.resultImg.getAttribute('src') !== item.file) {
    ui.resultImg.src = item.file;
  }
  ui.resultImg.alt = item.title || 'The result';
  ui.download.href = withQuery(item.file, 'download=1');
  ui.download.setAttribute('download', item.download_name || '');
  ui.command.textContent = item.command || '';
  ui.resultMeta.textContent = [item.title, item.width && item.height ? `${item.width}×${item.height}` : ''].filter(Boolean).join(' · ');
  const seed = item.settings && item.settings.seed;
  ui.reuseSeed.hidden = !(Number.isInteger(seed) && (DREAMING_MODES.has(item.mode) || item.mode === 'visualize'));
  ui.reuseSeed.dataset.seed = Number.isInteger(seed) ? String(seed) : '';
  ui.reuseSeed.textContent = Number.isInteger(seed) ? `Use seed ${seed}` : 'Use this seed';
  ui.resultBar.hidden = false;
  markCurrent(ui.gallery, item.id);
  render();
}

async function refreshGallery() {
  try {
    const answer = await getJSON(urls.results);
    S.gallery = (answer && answer.items) || [];
  } catch (err) {
    showError(`cannot load the gallery: ${err.message}`);
    return;
  }
  renderGallery(ui.gallery, S.gallery, { onOpen: openItem, onDelete: deleteItem, currentId: S.result && S.result.id });
  ui.galleryEmpty.hidden = S.gallery.length > 0;
}

async function deleteItem(item, li) {
  try {
    await del(urls.result(item.id));
  } catch (err) {
    showError(`cannot delete: ${err.message}`);
    return;
  }
  li.remove();
  S.gallery = S.gallery.filter((x) => x.id !== item.id);
  ui.galleryEmpty.hidden = S.gallery.length > 0;
  if (S.result && S.result.id === item.id) {
    S.result = null;
    ui.resultBar.hidden = true;
    S.view = 'photo';
    render();
  }
}

/** The request an item was made from: {mode, settings}, whatever shape the server stored it in. */
function requestOf(item) {
  let request = item.request || {};
  if (typeof request === 'string') {
    try {
      request = JSON.parse(request);
    } catch {
      request = {};
    }
  }
  let settings = request.settings && typeof request.settings === 'object' ? request.settings : request;
  if (typeof request.settings === 'string') {
    try {
      settings = JSON.parse(request.settings);
    } catch {
      settings = {};
    }
  }
  const mode = MODES.includes(request.mode) ? request.mode : MODES.includes(item.mode) ? item.mode : 'dream';
  const { mode: _ignored, ...rest } = settings || {};
  return { mode, settings: rest };
}

/** Fill the form from a request: its look first, then its own values over it. */
async function applyRequest(mode, s) {
  const model = s.model || S.info.model;
  if (model !== S.model) await useModel(model);
  if (DREAMING_MODES.has(mode)) {
    selectDreamPreset(s.preset || null);
    dreamFields.fill(s);
    if (s.layers !== undefined && !s.objective) layerList.set(layerPairs(s.layers));
    if (mode === 'zoom') {
      fillZoomDefaults();
      zoomFields.fill(s);
    }
  } else if (mode === 'visualize') {
    selectVisPreset(s.preset || null);
    visFields.fill(s);
  } else if (mode === 'activations') {
    fillActivationsDefaults();
    actFields.fill(s);
    if (!s.layer) ui.actLayer.value = layerList.defaultName || ui.actLayer.value;
  }
  formChanged();
}

async function openItem(item) {
  clearError();
  showNotice('');
  const { mode, settings } = requestOf(item);
  await applyRequest(mode, settings);
  setMode(mode);
  mask.disable(); // a mask comes back only with a result that was dreamed with one
  if (item.source && PHOTO_MODES.has(mode)) {
    try {
      const blob = await getBlob(item.source);
      await loading(setPhoto(blob, { name: item.source_name || `source-${item.id}` }));
      // the mask it was dreamed with, if any: item.mask (its URL), else the contract's /mask
      const maskUrl = item.mask || (item.mask === undefined && item.settings && item.settings.mask ? urls.mask(item.id) : null);
      if (DREAMING_MODES.has(mode) && maskUrl && S.photo && S.photo.shown) {
        const maskBlob = await getBlob(maskUrl);
        mask.load(await createImageBitmap(maskBlob));
      }
    } catch (err) {
      showError(`cannot load this result's photo: ${err.message}`);
    }
  }
  if (DREAMING_MODES.has(mode) && item.settings && item.settings.guide) {
    showNotice('This result used a guide image; choose it again to dream with it.');
  }
  showResult(item);
  formChanged();
  ui.stage.scrollIntoView({ block: 'start', behavior: 'smooth' });
}

async function copyCommand() {
  const text = ui.command.textContent;
  const button = $('copy-command');
  let ok = false;
  try {
    await navigator.clipboard.writeText(text);
    ok = true;
  } catch {
    // no clipboard API (a page served over plain http to another machine): select and copy
    const range = document.createRange();
    range.selectNodeContents(ui.command);
    const selection = getSelection();
    selection.removeAllRanges();
    selection.addRange(range);
    try {
      ok = document.execCommand('copy');
    } catch {
      ok = false;
    }
  }
  button.textContent = ok ? 'Copied' : 'Select and copy';
  setTimeout(() => {
    button.textContent = 'Copy';
  }, 1600);
}

// ---------------------------------------------------------------- wiring

function wire() {
  for (const tab of document.querySelectorAll('.mode-tab')) tab.addEventListener('click', () => setMode(tab.dataset.mode));

  // the photo: choose, sample, drop anywhere on the page, paste
  $('file-input').addEventListener('change', (event) => {
    const file = firstImage(event.target.files) || (event.target.files && event.target.files[0]);
    if (file) loading(setPhoto(file, { name: file.name }));
    event.target.value = '';
  });
  $('sample-button').addEventListener('click', useSample);
  let dragDepth = 0;
  const hasFiles = (event) => event.dataTransfer && [...event.dataTransfer.types].includes('Files');
  window.addEventListener('dragenter', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    dragDepth += 1;
    ui.stage.classList.add('dragging');
    ui.dropHint.hidden = false;
  });
  window.addEventListener('dragover', (event) => {
    if (!hasFiles(event)) return;
    event.preventDefault();
    event.dataTransfer.dropEffect = 'copy';
  });
  window.addEventListener('dragleave', (event) => {
    if (!hasFiles(event)) return;
    dragDepth = Math.max(0, dragDepth - 1);
    if (!dragDepth) {
      ui.stage.classList.remove('dragging');
      ui.dropHint.hidden = true;
    }
  });
  window.addEventListener('drop', (event) => {
    if (!hasFiles(event)) return;
    dragDepth = 0;
    ui.stage.classList.remove('dragging');
    ui.dropHint.hidden = true;
    if (event.target.closest && event.target.closest('#guide-input')) return; // the input takes it
    event.preventDefault();
    const file = firstImage(event.dataTransfer.files);
    if (file) takePhoto(file);
    else showError('That is not an image.');
  });
  document.addEventListener('paste', (event) => {
    const items = [...((event.clipboardData && event.clipboardData.items) || [])];
    const file = items.filter((i) => i.kind === 'file' && i.type.startsWith('image/')).map((i) => i.getAsFile()).find(Boolean);
    if (!file) return; // text pastes into fields as usual
    const typing = event.target.closest && event.target.closest('input, textarea');
    if (typing && items.some((i) => i.kind === 'string' && i.type === 'text/plain')) return;
    event.preventDefault();
    takePhoto(file);
  });

  // the stage
  $('view-photo').addEventListener('click', () => setView('photo'));
  $('view-result').addEventListener('click', () => setView('result'));
  ui.resultImg.addEventListener('click', () => ui.stage.classList.toggle('actual'));
  new ResizeObserver(() => {
    if (!ui.frame.hidden) fitPhoto();
  }).observe(ui.stage);

  // the mask
  ui.maskToggle.addEventListener('click', toggleMask);
  $('mask-paint-dream').addEventListener('click', () => setTool('dream'));
  $('mask-paint-keep').addEventListener('click', () => setTool('keep'));
  $('mask-brush-size').addEventListener('input', (event) => mask.setSize(event.target.value));
  $('mask-clear').addEventListener('click', () => mask.clear());
  mask.setSize($('mask-brush-size').value);
  setTool('keep');

  // the guide image
  $('guide-input').addEventListener('change', (event) => {
    const file = event.target.files && event.target.files[0];
    if (file && file.type && !file.type.startsWith('image/')) {
      showError(`${file.name} is not an image`);
      setGuide(null);
      return;
    }
    setGuide(file || null);
  });
  $('guide-clear').addEventListener('click', () => setGuide(null));

  // the settings
  const controls = document.querySelector('.controls');
  controls.addEventListener('input', () => formChanged());
  controls.addEventListener('change', () => formChanged());
  ui.modelSelect.addEventListener('change', () => useModel(ui.modelSelect.value));
  $('layer-add').addEventListener('click', () => layerList.add());
  $('reset-button').addEventListener('click', () => {
    if (S.mode === 'visualize') selectVisPreset(S.visPreset);
    else if (S.mode === 'activations') fillActivationsDefaults();
    else {
      selectDreamPreset(S.dreamPreset);
      if (S.mode === 'zoom') fillZoomDefaults();
    }
    formChanged();
  });

  // running
  ui.dream.addEventListener('click', startJob);
  ui.cancel.addEventListener('click', cancelJob);
  document.addEventListener('keydown', (event) => {
    if (event.key === 'Enter' && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      startJob();
    }
  });

  // results
  $('copy-command').addEventListener('click', copyCommand);
  ui.reuseSeed.addEventListener('click', () => {
    const seed = ui.reuseSeed.dataset.seed;
    if (!seed) return;
    if (S.mode === 'visualize') visFields.set('seed', Number(seed));
    else dreamFields.set('seed', Number(seed));
    formChanged();
    showNotice(`Seed ${seed} set: the next run repeats this one's randomness.`);
  });
  $('gallery-refresh').addEventListener('click', refreshGallery);
}

async function boot() {
  wire();
  setMode((location.hash || '').slice(1));
  try {
    S.info = await getJSON(urls.info);
  } catch (err) {
    showError(`cannot load the server's settings: ${err.message}`);
    ui.dream.disabled = true;
    return;
  }
  $('version-text').textContent = S.info.version ? `deepdreamer ${S.info.version}` : '';
  fillModels();
  S.model = S.info.model;
  renderLooks();
  liveMode.setLooks(S.info.presets || []);
  selectDreamPreset(defaultLook(S.info.presets, S.info.defaults));
  selectVisPreset(defaultLook(S.info.visualize_presets, S.info.visualize_defaults));
  fillZoomDefaults();
  fillActivationsDefaults();
  await useModel(S.info.model);
  // the look's layers were set before the model's layer list arrived: set them again now
  selectDreamPreset(S.dreamPreset);
  fillActivationsDefaults();
  if (!ui.actLayer.value) ui.actLayer.value = layerList.defaultName || '';
  setMode(S.mode);
  refreshGallery();
  resumeJob();
}

boot();
