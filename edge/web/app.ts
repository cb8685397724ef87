/**
 * The page: pick a photo, check it, preview it, reconstruct it as an async job with stage progress
 * (polled, and resumed after a reload), view the GLB,
 * show the UV texture, offer the downloads, explain errors in the user's language.
 */
import { FaceReconApiError as ApiError, FaceReconClient, FaceReconNetworkError, type Reconstruction as ReconstructResponse } from '@facerecon/client';
import { ERROR_SPECS, UPLOAD_LIMITS, type ErrorCode } from '@facerecon/shared';
import { t, type Lang, type StringKey } from './i18n';
import { createViewer, type Viewer } from './viewer';

const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const els = {
  key: $<HTMLInputElement>('api-key'),
  drop: $('drop'),
  file: $<HTMLInputElement>('file'),
  preview: $<HTMLCanvasElement>('crop-preview'),
  note: $('file-note'),
  start: $<HTMLButtonElement>('start'),
  cancel: $<HTMLButtonElement>('cancel'),
  progress: $('progress'),
  error: $('error'),
  errorMessage: $('error-message'),
  errorHint: $('error-hint'),
  results: $('results'),
  uv: $<HTMLImageElement>('uv'),
};

let lang: Lang = (localStorage.getItem('lang') as Lang | null) ?? (navigator.language.toLowerCase().startsWith('zh') ? 'zh' : 'en');
let photo: { blob: Blob; idempotencyKey: string } | undefined;
let lastError: ErrorCode | 'local' | undefined;
let localErrorKey: StringKey | undefined;
let lastRequestId: string | undefined;
let busy = false;
/**
 * Made when the first result is shown, not at load: without WebGL 2 three.js throws, which at load left
 * every control of the page dead; and an idle page does not render 60 frames a second on a phone.
 */
let viewer: Viewer | undefined;
function ensureViewer(): Viewer | undefined {
  if (viewer) return viewer;
  try {
    viewer = createViewer($<HTMLCanvasElement>('viewer'));
  } catch {
    $('viewer').hidden = true;
    $('viewer-note').hidden = false;
  }
  return viewer;
}

const params = new URLSearchParams(location.search);
const keyFromUrl = params.get('key');
if (keyFromUrl) {
  const given = keyFromUrl.trim();
  const saved = localStorage.getItem('apiKey');
  // Asked every time the link's key is not the one saved, a first visit included: a link from someone
  // else would otherwise set their key unseen (the field is a password field), and the next selfies would
  // be reconstructed under, and readable with, their key.
  const ask = () => (saved ? t(lang, 'replaceKey', { given: given.slice(-4), saved: saved.slice(-4) }) : t(lang, 'useLinkKey', { given: given.slice(-4) }));
  if (given && (saved === given || confirm(ask()))) localStorage.setItem('apiKey', given);
  // A key in the address bar would stay in history, bookmarks and screenshots: drop the URL's copy.
  params.delete('key');
  history.replaceState(null, '', `${location.pathname}${params.size ? `?${params}` : ''}${location.hash}`);
}
els.key.value = localStorage.getItem('apiKey') ?? '';
/** The key in use, by its last characters (the field is a password field): a key someone else's link set is seen. */
function showKeyInUse() {
  const k = els.key.value.trim();
  const note = $('key-in-use');
  note.hidden = k.length < 8;
  $('key-in-use-text').textContent = note.hidden ? '' : t(lang, 'keyInUse', { tail: k.slice(-4) });
}
// On every edit, not only on leaving the field: a key cleared and the tab closed must be gone.
els.key.addEventListener('input', () => {
  const k = els.key.value.trim();
  if (k) localStorage.setItem('apiKey', k);
  else localStorage.removeItem('apiKey');
  showKeyInUse();
});

// A shared or borrowed computer: the key (and the job saved under it, which needs the key to be read)
// leaves this browser's storage, not only the field. Disabled while a job runs under the key.
const forgetKey = $<HTMLButtonElement>('forget-key');
forgetKey.addEventListener('click', () => {
  localStorage.removeItem('apiKey');
  localStorage.removeItem(JOB_KEY);
  els.key.value = '';
  showKeyInUse();
  els.note.textContent = t(lang, 'keyForgotten');
  els.key.focus();
});

function applyLang(next: Lang) {
  lang = next;
  localStorage.setItem('lang', lang);
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  $('lang-en').setAttribute('aria-pressed', String(lang === 'en'));
  $('lang-zh').setAttribute('aria-pressed', String(lang === 'zh'));
  for (const el of document.querySelectorAll<HTMLElement>('[data-i18n]')) el.textContent = t(lang, el.dataset.i18n as StringKey);
  // What a screen reader says (accessible names, the image's text) and the tab's title, in the same language.
  for (const el of document.querySelectorAll<HTMLElement>('[data-i18n-label]')) el.setAttribute('aria-label', t(lang, el.dataset.i18nLabel as StringKey));
  for (const el of document.querySelectorAll<HTMLImageElement>('[data-i18n-alt]')) el.alt = t(lang, el.dataset.i18nAlt as StringKey);
  document.title = t(lang, 'pageTitle');
  showKeyInUse();
  if (busy) els.start.textContent = t(lang, 'running');
  renderError();
}
$('lang-en').addEventListener('click', () => applyLang('en'));
$('lang-zh').addEventListener('click', () => applyLang('zh'));

function showError(code: ErrorCode | undefined, key?: StringKey, requestId?: string) {
  lastError = code ?? (key ? 'local' : undefined);
  localErrorKey = key;
  lastRequestId = requestId || undefined;
  renderError();
}
/** An error as the page shows it: the API's code, a lost connection, or (anything else) the service unavailable. */
function showFailure(err: unknown) {
  if (err instanceof ApiError) return showError(err.code as ErrorCode, undefined, err.requestId);
  if (err instanceof FaceReconNetworkError) return showError(undefined, 'connectionLost');
  showError('UPSTREAM_UNAVAILABLE');
}
/**
 * The page's own advice where the API's is written for developers (headers, Retry-After,
 * Idempotency-Key, query options): a person at this page acts through its controls.
 */
const PAGE_HINTS: Partial<Record<ErrorCode, StringKey>> = {
  UNAUTHORIZED: 'hintKey',
  HTTPS_REQUIRED: 'hintHttps',
  RATE_LIMITED: 'hintWait',
  IDEMPOTENCY_KEY_REUSED: 'hintPhotoAgain',
  IDEMPOTENCY_IN_PROGRESS: 'hintAgain',
  UPSTREAM_UNAVAILABLE: 'hintAgain',
  MODEL_NOT_INSTALLED: 'hintModel',
  MODEL_UNAVAILABLE: 'hintAgain',
  OVERLOADED: 'hintAgain',
  TIMEOUT: 'hintAgain',
  STORAGE_UNAVAILABLE: 'hintAgain',
  INTERNAL: 'hintAgain',
};

function renderError() {
  els.error.hidden = !lastError;
  if (!lastError) return;
  if (lastError === 'local') {
    els.errorMessage.textContent = t(lang, localErrorKey!);
    els.errorHint.textContent = '';
    return;
  }
  // A code this page does not know (a newer API, a proxy's JSON) is shown as an internal error, not a blank box.
  const spec = (ERROR_SPECS[lastError] ?? ERROR_SPECS.INTERNAL) as { status: number; en: string; zh: string; hint?: { en: string; zh: string } };
  els.errorMessage.textContent = spec[lang];
  // The request id, with which support finds the call, on our side's failures.
  const id = lastRequestId && spec.status >= 500 ? ` ${t(lang, 'requestId', { id: lastRequestId })}` : '';
  const pageHint = PAGE_HINTS[(ERROR_SPECS[lastError] ? lastError : 'INTERNAL') as ErrorCode];
  els.errorHint.textContent = (pageHint ? t(lang, pageHint) : (spec.hint?.[lang] ?? '')) + id;
}

/**
 * A final refusal (4xx but a time-out, a conflict in progress or the rate limit) stays bound to the
 * photo's Idempotency-Key for a day: pressing Start again must be a new request. A failure on our side
 * (5xx) freed the key, and the retry with it is the one never billed twice.
 */
function renewKeyAfter(err: unknown) {
  if (photo && err instanceof ApiError && err.status < 500 && ![408, 409, 429].includes(err.status)) photo = { ...photo, idempotencyKey: crypto.randomUUID() };
}

/** HEIC or AVIF (an ISOBMFF `ftyp` box), as phones save photos. */
function isHeif(head: Uint8Array): boolean {
  return head.length >= 12 && String.fromCharCode(...head.subarray(4, 8)) === 'ftyp' && /^(heic|heix|hevc|heim|heis|mif1|msf1|avif|avis)$/.test(String.fromCharCode(...head.subarray(8, 12)));
}

/** Type by magic bytes, as the API does; size advice before any upload. */
async function checkFile(file: File): Promise<boolean> {
  const head = new Uint8Array(await file.slice(0, 12).arrayBuffer());
  const jpeg = head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
  const png = head[0] === 0x89 && head[1] === 0x50 && head[2] === 0x4e && head[3] === 0x47;
  const webp = String.fromCharCode(...head.subarray(0, 4)) === 'RIFF' && String.fromCharCode(...head.subarray(8, 12)) === 'WEBP';
  if (!jpeg && !png && !webp && !isHeif(head)) {
    showError(undefined, 'badType');
    return false;
  }
  return true;
}

/** A centred square crop of the (EXIF-upright) photo: what the reconstruction will look at. */
function drawPreview(bmp: ImageBitmap, bytes: number) {
  const side = Math.min(bmp.width, bmp.height);
  const ctx = els.preview.getContext('2d')!;
  ctx.drawImage(bmp, (bmp.width - side) / 2, (bmp.height - side) / 2, side, side, 0, 0, els.preview.width, els.preview.height);
  els.preview.hidden = false;
  const kb = Math.round(bytes / 1024);
  els.note.textContent = (bytes > UPLOAD_LIMITS.hintBytes ? `${t(lang, 'big')} ` : '') + t(lang, 'ready', { w: bmp.width, h: bmp.height, kb });
}

/** The long side a photo over the API's limits is sent at: a 12 MP phone photo's, which keeps the face's detail. */
const SHRINK_LONG_SIDE = 4096;

/**
 * A photo over the API's limits (a 48 MP JPEG of 15-25 MB), redrawn upright at SHRINK_LONG_SIDE and sent
 * as a JPEG: a phone user cannot "compress it to 5 MB", and the server would refuse it.
 */
async function shrunk(bmp: ImageBitmap): Promise<{ blob: Blob; width: number; height: number } | undefined> {
  const scale = Math.min(1, SHRINK_LONG_SIDE / Math.max(bmp.width, bmp.height));
  const canvas = document.createElement('canvas');
  canvas.width = Math.round(bmp.width * scale);
  canvas.height = Math.round(bmp.height * scale);
  canvas.getContext('2d')!.drawImage(bmp, 0, 0, canvas.width, canvas.height);
  const blob = await new Promise<Blob | null>((resolve) => canvas.toBlob(resolve, 'image/jpeg', 0.92));
  return blob && blob.size <= UPLOAD_LIMITS.maxBytes ? { blob, width: canvas.width, height: canvas.height } : undefined;
}

async function choose(file: File | undefined) {
  if (!file || busy) return;
  showError(undefined);
  els.note.textContent = '';
  photo = undefined;
  els.start.disabled = true;
  if (!(await checkFile(file))) return;
  let blob: Blob = file;
  try {
    const bmp = await createImageBitmap(file, { imageOrientation: 'from-image' });
    try {
      drawPreview(bmp, file.size);
      if (file.size > UPLOAD_LIMITS.maxBytes || bmp.width * bmp.height > UPLOAD_LIMITS.maxPixels || Math.max(bmp.width, bmp.height) > UPLOAD_LIMITS.maxLongSide) {
        const small = await shrunk(bmp);
        if (!small) return showError(undefined, 'tooBig');
        blob = small.blob;
        els.note.textContent = t(lang, 'shrunk', { w: small.width, h: small.height, kb: Math.round(small.blob.size / 1024) });
      }
    } finally {
      bmp.close();
    }
  } catch {
    // Browsers other than Safari cannot decode HEIC; the API can, so it goes without a preview.
    if (!isHeif(new Uint8Array(await file.slice(0, 12).arrayBuffer()))) {
      showError(undefined, 'unreadable');
      return;
    }
    // Nor shrink it: one over the upload limit cannot be sent.
    if (file.size > UPLOAD_LIMITS.maxBytes) return showError(undefined, 'tooBig');
    els.preview.hidden = true;
    els.note.textContent = t(lang, 'noPreview', { kb: Math.round(file.size / 1024) });
  }
  photo = { blob, idempotencyKey: crypto.randomUUID() }; // one key per photo: a retry is never billed twice
  els.start.disabled = false;
}

els.file.addEventListener('change', () => choose(els.file.files?.[0]));
els.drop.addEventListener('click', (e) => e.target !== els.file && els.file.click());
els.drop.addEventListener('keydown', (e) => (e.key === 'Enter' || e.key === ' ') && els.file.click());
els.drop.addEventListener('dragover', (e) => {
  e.preventDefault();
  els.drop.classList.add('over');
});
els.drop.addEventListener('dragleave', () => els.drop.classList.remove('over'));
// A photo dropped anywhere else must not replace the page (the browser opens a dropped file): the
// result on screen would be lost.
for (const type of ['dragover', 'drop'] as const) document.addEventListener(type, (e) => e.preventDefault());
els.drop.addEventListener('drop', (e) => {
  e.preventDefault();
  els.drop.classList.remove('over');
  void choose(e.dataTransfer?.files[0]);
});

// The third step ends with the last stage (the files exported and stored), not with the texture: all
// three green while the files were still being written said "done" early.
const STAGE_OF: Record<string, string> = { preprocess: 'preprocess', geometry: 'geometry', upload: 'texture' };
function resetProgress() {
  for (const li of els.progress.querySelectorAll('li')) {
    li.className = '';
    li.querySelector('time')!.textContent = '';
  }
  els.progress.querySelector('li')!.classList.add('active');
}
function markStage(stage: string, ms: number) {
  const li = els.progress.querySelector<HTMLElement>(`li[data-stage="${STAGE_OF[stage]}"]`);
  if (!li) return;
  li.className = 'done';
  li.querySelector('time')!.textContent = `${Math.round(ms)} ms`;
  (li.nextElementSibling as HTMLElement | null)?.classList.add('active');
}

function selectedModel(): 'mediapipe' | 'ict' {
  return document.querySelector<HTMLInputElement>('input[name="model"]:checked')?.value === 'ict' ? 'ict' : 'mediapipe';
}

/** One slider per ARKit weight, starting at the fitted value; moving it animates the viewer's GLB. */
function showExpressions(weights: Record<string, number> | undefined) {
  const list = $('expression-list');
  list.replaceChildren();
  $('expressions').hidden = !weights;
  if (!weights) return;
  const names = viewer?.morphTargets().filter((n) => n in weights) ?? [];
  for (const name of names) {
    const label = document.createElement('label');
    const text = document.createElement('span');
    text.textContent = name;
    const input = document.createElement('input');
    Object.assign(input, { type: 'range', min: '0', max: '1', step: '0.01', value: String(weights[name]) });
    input.dataset.expression = name;
    const out = document.createElement('output');
    out.textContent = weights[name].toFixed(2);
    input.addEventListener('input', () => {
      // The GLB's last target, fitResidual, makes its default weights the fitted mesh exactly and is
      // right at those weights only: once a weight moves, the head is driven as a rig, without it.
      viewer?.setMorph('fitResidual', 0);
      viewer?.setMorph(name, Number(input.value));
      out.textContent = Number(input.value).toFixed(2);
    });
    label.append(text, input, out);
    list.append(label);
  }
}

async function showResult(r: ReconstructResponse) {
  // Every file the MTL names has its link (the full head's material also maps texture_eye.png).
  for (const kind of ['texture_grid', 'texture', 'obj', 'mtl', 'glb', 'texture_head', 'texture_eye'] as const) {
    const a = $<HTMLAnchorElement>(`dl-${kind}`);
    const asset = r.assets[kind];
    a.hidden = !asset;
    if (asset) {
      a.href = asset.url;
      a.dataset.expires = asset.expires_at;
    }
  }
  if (r.assets.texture_grid) els.uv.src = r.assets.texture_grid.url;
  els.results.hidden = false;
  if (r.assets.glb) {
    const glb = await fetch(r.assets.glb.url);
    // An expired or erased link answers a JSON error, which is no model to show.
    // Expired: 410 from the local store, 403 from an S3 presigned URL (the page's own fresh link is not forged).
    if (!glb.ok) throw new ApiError(glb.status, { error: { code: glb.status === 403 || glb.status === 410 ? 'LINK_EXPIRED' : 'NOT_FOUND', message: `the model's link answered ${glb.status}`, message_zh: `模型链接返回 ${glb.status}`, request_id: '' } });
    await ensureViewer()?.show(await glb.arrayBuffer());
  }
  showExpressions(r.morph?.expressions);
}

// A page left open past its links' expiry (24 h): a click would leave the page for the store's own
// error (XML from S3); it says so here instead, in the user's language.
document.querySelector('nav.downloads')!.addEventListener('click', (e) => {
  const a = (e.target as HTMLElement).closest<HTMLAnchorElement>('a[data-expires]');
  if (!a || Date.parse(a.dataset.expires!) > Date.now()) return;
  e.preventDefault();
  showError('LINK_EXPIRED');
});

/** The job in flight, kept across reloads: a reload (or a phone switching apps) resumes it by id. */
const JOB_KEY = 'facerecon.job';
type SavedJob = { id: string; model: 'mediapipe' | 'ict' };
const savedJob = (): SavedJob | undefined => {
  try {
    return JSON.parse(localStorage.getItem(JOB_KEY) ?? 'null') ?? undefined;
  } catch {
    return undefined;
  }
};

/** The job being followed, for the Cancel button. */
let following: { client: FaceReconClient; id: string; canceled: boolean } | undefined;

/** Follows a job to its end with stage progress, then shows it; the saved id goes when it ended. */
async function follow(client: FaceReconClient, job: SavedJob, opts: { resumed?: boolean } = {}) {
  busy = true;
  els.file.disabled = true;
  forgetKey.disabled = true;
  following = { client, id: job.id, canceled: false };
  els.cancel.hidden = false;
  els.cancel.disabled = false;
  els.start.disabled = true;
  els.start.textContent = t(lang, 'running');
  document.body.dataset.state = 'running';
  document.body.dataset.job = job.id;
  showError(undefined);
  resetProgress();
  try {
    // A queued job may wait up to an hour (the edge fails it after that): the SDK's 3 minutes would say
    // the service failed while the job was still on its way, and billed.
    const done = await client.wait(job.id, { onStage: markStage, timeoutMs: 3_600_000 });
    localStorage.removeItem(JOB_KEY);
    await showResult(done.result!);
    document.body.dataset.state = 'done';
  } catch (err) {
    // Canceled by the user (not billed): said as such, not as a failure.
    if (following?.canceled && err instanceof ApiError && err.code === 'CANCELED') {
      localStorage.removeItem(JOB_KEY);
      resetProgress();
      if (photo) photo = { ...photo, idempotencyKey: crypto.randomUUID() }; // the key now replays the cancel
      els.note.textContent = t(lang, 'canceled');
      document.body.dataset.state = 'canceled';
      return;
    }
    if (err instanceof ApiError) {
      localStorage.removeItem(JOB_KEY); // it ended, badly: nothing to resume
      // A job saved by an earlier visit that is gone (past its 24 h, or another key's): nothing to show.
      if (opts.resumed && err.code === 'NOT_FOUND') {
        document.body.dataset.state = 'idle';
        resetProgress();
        return;
      }
      renewKeyAfter(err); // a 408, 409 or 429 while polling is no failure of the job: the key stays
    }
    els.progress.querySelector('li.active')?.classList.replace('active', 'failed');
    showFailure(err);
    document.body.dataset.state = 'error';
  } finally {
    busy = false;
    following = undefined;
    els.cancel.hidden = true;
    els.file.disabled = false;
    forgetKey.disabled = false;
    els.start.disabled = !photo;
    els.start.textContent = t(lang, 'start');
  }
}

// A wrong selfie need not be waited for and paid: DELETE cancels a queued or running job, unbilled; the
// wait then ends with the job canceled.
els.cancel.addEventListener('click', async () => {
  if (!following) return;
  els.cancel.disabled = true;
  following.canceled = true;
  try {
    // DELETE of a job that has just ended would erase its paid result: only one still queued or running.
    const now = await following.client.get(following.id);
    if (now.status === 'queued' || now.status === 'running') await following.client.cancel(following.id);
  } catch (err) {
    if (following) following.canceled = false;
    showFailure(err);
  }
});

els.start.addEventListener('click', async () => {
  const apiKey = els.key.value.trim();
  if (!apiKey) return showError(undefined, 'needKey');
  if (!photo || busy) return;
  // The language as Accept-Language only: in the query it would make the same photo another request
  // after a switch of language, refused under its key (IDEMPOTENCY_KEY_REUSED) until a new photo.
  const client = new FaceReconClient({ baseUrl: location.origin, apiKey, lang });
  const model = selectedModel();
  busy = true;
  els.start.disabled = true;
  // A photo chosen while one is on its way was ignored while the picker showed its name.
  els.file.disabled = true;
  forgetKey.disabled = true;
  try {
    // An async job: the page polls it, so a reload or a dropped connection loses nothing. The
    // idempotency key identifies the photo; another model is another call.
    const job = await client.create({ photo: photo.blob, idempotencyKey: `${photo.idempotencyKey}-${model}`, model });
    localStorage.setItem(JOB_KEY, JSON.stringify({ id: job.id, model } satisfies SavedJob));
    await follow(client, { id: job.id, model });
  } catch (err) {
    renewKeyAfter(err);
    showFailure(err);
    document.body.dataset.state = 'error';
    busy = false;
    els.file.disabled = false;
    forgetKey.disabled = false;
    els.start.disabled = !photo;
  }
});

$('reset-view').addEventListener('click', () => viewer?.reset());
$('toggle-wire').addEventListener('click', (e) => {
  const b = e.currentTarget as HTMLButtonElement;
  const on = b.getAttribute('aria-pressed') !== 'true';
  b.setAttribute('aria-pressed', String(on));
  viewer?.setWireframe(on);
});
$('toggle-texture').addEventListener('click', (e) => {
  const b = e.currentTarget as HTMLButtonElement;
  const on = b.getAttribute('aria-pressed') !== 'true';
  b.setAttribute('aria-pressed', String(on));
  viewer?.setTextured(on);
});

applyLang(lang);
document.body.dataset.state = 'idle';
const pending = savedJob();
if (pending && els.key.value) void follow(new FaceReconClient({ baseUrl: location.origin, apiKey: els.key.value.trim(), lang }), pending, { resumed: true });
