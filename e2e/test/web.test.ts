/**
 * The web page in a real browser: Debian's chromium driven by playwright-core, against the real local
 * stack (edge on workerd serving the page and the API, the real gpu-function, the local store).
 * Saves the main states as screenshots under docs/screenshots/.
 */
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium, type Browser, type Dialog, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error gltf-validator ships no types
import * as gltfValidator from 'gltf-validator';
import { createRgbImage } from '@facerecon/shared';
import { encodeImage, readImageFile } from '../../gpu-function/src/adapters/image-io';
import { FIXTURES_DIR, ICT_SOURCE, SHARED_PHOTOS, ictSourceExpressionNames, fixture, hasSharedPhotos, hasIct, ictPackSetting } from '../../gpu-function/test/fixtures';
import { namedExpressionWeights } from '../../gpu-function/src/morph/arkit';
import { tileHorizontally } from '../../gpu-function/test/image-ops';
import { startLocalStack, type LocalStack } from '../../scripts/local-stack';

const SHOTS = resolve(import.meta.dirname, '../../docs/screenshots');
let stack: LocalStack;
let browser: Browser;
let tmp: string;


beforeAll(async () => {
  // The full-head model runs from the team's ICT subset when it is there, and is off otherwise.
  stack = await startLocalStack({ persistTo: mkdtempSync(join(tmpdir(), 'facerecon-wrangler-')), gpuEnv: { FACERECON_ICT_PACK: ictPackSetting() } });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'],
  });
  mkdirSync(SHOTS, { recursive: true });
  tmp = resolve(import.meta.dirname, '../../.cache/web-test');
  mkdirSync(tmp, { recursive: true });
}, 120_000);
afterAll(async () => {
  await browser?.close();
  await stack?.stop();
});

/** Console messages about the page's Content-Security-Policy: the page must work under it. */
const cspViolations: string[] = [];

async function open(viewport = { width: 1280, height: 860 }, locale = 'en-US'): Promise<Page> {
  const ctx = await browser.newContext({ viewport, locale });
  const page = await ctx.newPage();
  page.on('console', (m) => /Content.Security.Policy/i.test(m.text()) && cspViolations.push(m.text()));
  // A fresh context has no saved key: the link's key is asked about once, and taken when the user agrees.
  const prompts: string[] = [];
  const agree = (d: Dialog) => {
    prompts.push(d.message());
    void d.accept();
  };
  page.on('dialog', agree);
  await page.goto(`${stack.edgeUrl}/?key=${encodeURIComponent(stack.apiKey)}`);
  page.off('dialog', agree);
  expect(prompts).toEqual([locale.startsWith('zh') ? expect.stringContaining(`…${stack.apiKey.slice(-4)}`) : expect.stringMatching(new RegExp(`^This link carries an API key \\(ending …${stack.apiKey.slice(-4)}\\)`))]);
  // The key is taken from the link and removed from the address bar (and so from history).
  expect(page.url()).not.toMatch(/key=/);
  expect(await page.inputValue('#api-key')).toBe(stack.apiKey);
  // The key in use is shown by its last characters (the field is a password field).
  expect(await page.textContent('#key-in-use')).toContain(`…${stack.apiKey.slice(-4)}`);
  return page;
}

describe('the web page', () => {
  it('a link carrying another API key does not replace the saved one unless the user agrees', async () => {
    const page = await open();
    const other = 'fr_live_' + '0'.repeat(56) + 'beef';
    // One handler records every dialog (a `once` one would let a second prompt pass unseen) and answers as told.
    const dialogs: string[] = [];
    let answer: 'dismiss' | 'accept' = 'dismiss';
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void (answer === 'accept' ? d.accept() : d.dismiss());
    });
    await page.goto(`${stack.edgeUrl}/?key=${other}`);
    expect(dialogs).toHaveLength(1);
    expect(dialogs[0]).toMatch(/another API key \(ending …beef\)/);
    expect(page.url()).not.toMatch(/key=/);
    expect(await page.inputValue('#api-key')).toBe(stack.apiKey);
    expect(await page.evaluate(() => localStorage.getItem('apiKey'))).toBe(stack.apiKey);
    // The same key again asks nothing; agreeing takes the other one.
    await page.goto(`${stack.edgeUrl}/?key=${encodeURIComponent(stack.apiKey)}`);
    expect(dialogs).toHaveLength(1);
    answer = 'accept';
    await page.goto(`${stack.edgeUrl}/?key=${other}`);
    expect(dialogs).toHaveLength(2);
    expect(await page.inputValue('#api-key')).toBe(other);
    expect(await page.textContent('#key-in-use')).toContain('…beef');
    // "Forget this key" takes it, and a job saved under it, out of the browser's storage (a shared computer).
    await page.evaluate(() => localStorage.setItem('facerecon.job', JSON.stringify({ id: 'x', model: 'mediapipe' })));
    await page.click('#forget-key');
    expect(await page.inputValue('#api-key')).toBe('');
    expect(await page.evaluate(() => [localStorage.getItem('apiKey'), localStorage.getItem('facerecon.job')])).toEqual([null, null]);
    expect(await page.isHidden('#key-in-use')).toBe(true);
    expect(await page.textContent('#file-note')).toMatch(/removed from this browser/);
    await page.reload();
    expect(await page.inputValue('#api-key')).toBe('');
    // A first visit (nothing saved) is asked too, and declining keeps the page without a key.
    await page.evaluate(() => localStorage.removeItem('apiKey'));
    answer = 'dismiss';
    await page.goto(`${stack.edgeUrl}/?key=${other}`);
    expect(dialogs).toHaveLength(3);
    expect(dialogs[2]).toMatch(/^This link carries an API key \(ending …beef\)/);
    expect(page.url()).not.toMatch(/key=/);
    expect(await page.inputValue('#api-key')).toBe('');
    expect(await page.evaluate(() => localStorage.getItem('apiKey'))).toBeNull();
    expect(await page.isHidden('#key-in-use')).toBe(true);
    await page.context().close();
  });

  it('uploads a real photo, shows three timed stages, the 3D viewer, the UV image and working downloads', async () => {
    const page = await open();
    expect(await page.locator('#start').isDisabled()).toBe(true);
    await page.screenshot({ path: join(SHOTS, 'idle.png') });
    const photo = hasSharedPhotos ? join(SHARED_PHOTOS, 'deep3d/015309.jpg') : fixture('astronaut.png');
    await page.setInputFiles('#file', photo);
    await page.waitForFunction(() => !(document.getElementById('start') as HTMLButtonElement).disabled);
    expect(await page.locator('#crop-preview').isVisible()).toBe(true);
    await page.click('#start');
    expect(await page.locator('#start').isDisabled()).toBe(true); // no double submission while it runs
    await page.screenshot({ path: join(SHOTS, 'running.png') });
    await page.waitForFunction(() => document.body.dataset.state === 'done', undefined, { timeout: 60_000 });
    expect(cspViolations).toEqual([]);
    const stages = await page.$$eval('#progress li', (lis) => lis.map((li) => ({ cls: li.className, time: li.querySelector('time')!.textContent })));
    expect(stages.map((s) => s.cls)).toEqual(['done', 'done', 'done']);
    for (const s of stages) expect(s.time).toMatch(/^\d+ ms$/);
    expect(await page.locator('#start').isDisabled()).toBe(false);
    // The UV image loaded.
    await page.waitForFunction(() => (document.getElementById('uv') as HTMLImageElement).naturalWidth > 0);
    expect(await page.$eval('#uv', (img) => (img as HTMLImageElement).naturalWidth)).toBeGreaterThanOrEqual(512);
    // The viewer drew a face: many distinct colours in the canvas, not a flat background.
    await page.waitForTimeout(500);
    const canvasShot = await page.locator('#viewer').screenshot({ path: join(tmp, 'viewer.png') });
    const { image } = await readImageFile(join(tmp, 'viewer.png'));
    const colours = new Set<number>();
    for (let i = 0; i < image.data.length; i += 3 * 7) colours.add((image.data[i] >> 3) * 1024 + (image.data[i + 1] >> 3) * 32 + (image.data[i + 2] >> 3));
    expect(canvasShot.byteLength).toBeGreaterThan(1000);
    expect(colours.size).toBeGreaterThan(200);
    // Wireframe toggle changes the picture.
    await page.click('#toggle-wire');
    await page.waitForTimeout(300);
    const wire = await page.locator('#viewer').screenshot();
    expect(Buffer.compare(wire, canvasShot)).not.toBe(0);
    await page.click('#toggle-wire');
    await page.screenshot({ path: join(SHOTS, 'done.png'), fullPage: true });
    // Every download link serves the right type and a valid file.
    const links = await page.$$eval('.downloads a:not([hidden])', (as) => as.map((a) => ({ id: a.id, href: (a as HTMLAnchorElement).href })));
    expect(links.map((l) => l.id).sort()).toEqual(['dl-glb', 'dl-mtl', 'dl-obj', 'dl-texture', 'dl-texture_grid']);
    for (const { id, href } of links) {
      const res = await fetch(href);
      expect(res.status, id).toBe(200);
      const bytes = new Uint8Array(await res.arrayBuffer());
      const type = res.headers.get('content-type')!;
      if (id.startsWith('dl-texture')) {
        expect(type).toBe('image/png');
        expect(Array.from(bytes.subarray(0, 4))).toEqual([0x89, 0x50, 0x4e, 0x47]);
      } else if (id === 'dl-glb') {
        expect(type).toBe('model/gltf-binary');
        expect((await gltfValidator.validateBytes(bytes)).issues.numErrors).toBe(0);
      } else if (id === 'dl-obj') {
        expect(new TextDecoder().decode(bytes)).toMatch(/^mtllib face\.mtl$/m);
      } else {
        expect(new TextDecoder().decode(bytes)).toMatch(/^map_Kd texture\.png$/m);
      }
    }
    // The page left open for a day: the links have expired, and a click says so here rather than
    // leaving for the store's own error page.
    const at = page.url();
    await page.evaluate(() => {
      const real = Date.now;
      Date.now = () => real() + 25 * 3600 * 1000;
    });
    await page.click('#dl-obj');
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.textContent('#error-message')).toBe('This download link has expired: run the reconstruction again');
    expect(page.url()).toBe(at);
    await page.context().close();
  });

  it('a reload mid-job resumes the same job by id: no second upload, one charge, the stages and the result', async () => {
    const usage = async () => ((await (await fetch(`${stack.edgeUrl}/v1/usage`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).json()) as { billable_calls: number }).billable_calls;
    const before = await usage();
    const page = await open();
    const posts: string[] = [];
    page.on('request', (r) => r.method() === 'POST' && r.url().includes('/v1/reconstructions') && posts.push(r.url()));
    await page.setInputFiles('#file', fixture('astronaut.png'));
    await page.waitForFunction(() => !(document.getElementById('start') as HTMLButtonElement).disabled);
    // The gpu-function is stopped before the job is created (a warm one reconstructs the astronaut in a
    // fraction of a second, faster than the page can be reloaded): the job cannot have finished, and the
    // reloaded page must pick up an unfinished job. The queue retries it until the gpu-function is back.
    await stack.stopGpu();
    let id: string;
    try {
      await page.click('#start');
      // The job id is on the page (and saved) once the 202 came back.
      id = await page.waitForFunction(() => document.body.dataset.job).then((h) => h.jsonValue() as Promise<string>);
      expect(id).toMatch(/^[0-9a-f]{32}$/);
      const job = (await (await fetch(`${stack.edgeUrl}/v1/reconstructions/${id}`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).json()) as { status: string };
      expect(['queued', 'running']).toContain(job.status);
      await page.reload();
      await page.waitForFunction((jobId) => document.body.dataset.job === jobId, id, { timeout: 20_000 });
      expect(await page.evaluate(() => document.body.dataset.state)).not.toBe('done');
    } finally {
      await stack.restartGpu();
    }
    await page.waitForFunction(() => document.body.dataset.state === 'done', undefined, { timeout: 90_000 });
    expect(await page.evaluate(() => document.body.dataset.job)).toBe(id);
    expect(await page.evaluate(() => localStorage.getItem('facerecon.job'))).toBeNull();
    const stages = await page.$$eval('#progress li', (lis) => lis.map((li) => li.className));
    expect(stages).toEqual(['done', 'done', 'done']);
    await page.waitForFunction(() => (document.getElementById('uv') as HTMLImageElement).naturalWidth > 0);
    expect(posts).toHaveLength(1);
    expect(await usage()).toBe(before + 1);
    await page.context().close();
  }, 180_000);

  it(`the full-head model: ${hasIct ? 'an animated head, one slider per ARKit weight driving its morph targets' : 'a clear "not installed" message (../shared/ict-facekit absent, so the stack runs without the pack)'}`, async () => {
    const page = await open();
    await page.setInputFiles('#file', hasSharedPhotos ? join(SHARED_PHOTOS, 'deep3d/000031.jpg') : fixture('astronaut.png'));
    await page.waitForFunction(() => !(document.getElementById('start') as HTMLButtonElement).disabled);
    await page.check('input[name="model"][value="ict"]');
    await page.click('#start');
    await page.waitForFunction(() => document.body.dataset.state !== 'idle' && !(document.getElementById('start') as HTMLButtonElement).disabled, undefined, { timeout: 60_000 });
    if (!hasIct) {
      expect(await page.evaluate(() => document.body.dataset.state)).toBe('error');
      expect(await page.textContent('#error-message')).toBe('The requested face model is not installed on this service');
      expect(await page.textContent('#error-hint')).toMatch(/Choose the Face model/); // the page's words, not the API's model=mediapipe
      await page.context().close();
      return;
    }
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('done');
    expect(await page.locator('#dl-texture_head').isVisible()).toBe(true);
    // Everything the full head's MTL names can be downloaded from the page (a missing eye texture leaves
    // pink eyeballs in Blender).
    const offered = await page.$$eval('.downloads a:not([hidden])', (as) => as.map((a) => new URL((a as HTMLAnchorElement).href).pathname.split('/').pop()!));
    const mtl = await (await fetch(await page.getAttribute('#dl-mtl', 'href') as string)).text();
    const mapped = [...mtl.matchAll(/^(?:map_\w+|norm|bump)\s+(\S+)$/gm)].map((m) => m[1]);
    expect(mapped).toContain('texture_eye.png');
    expect(mapped.filter((f) => !offered.includes(f))).toEqual([]);
    const sliders = page.locator('#expression-list input[type="range"]');
    // The model's ICT shapes under ARKit's names: the two split pairs fold into one each; shapes ARKit
    // has no name for are extras, which get no slider.
    const ictNames = ictSourceExpressionNames();
    const named = namedExpressionWeights(ictNames, ictNames.map(() => 0), 'arkit');
    const arkit = Object.keys(named.expressions);
    expect(arkit.length + Object.keys(named.extras).length).toBe(ictNames.length - 2);
    expect(await sliders.count()).toBe(arkit.length);
    const smile = page.locator('input[data-expression="mouthSmileLeft"]');
    expect(Number(await smile.inputValue())).toBeGreaterThan(0.5); // she smiles broadly
    await page.waitForTimeout(500);
    const before = await page.locator('#viewer').screenshot();
    // Dragging jawOpen to 1 opens the mouth of the head in the viewer: the picture changes.
    await page.locator('input[data-expression="jawOpen"]').fill('1');
    await page.waitForTimeout(300);
    const after = await page.locator('#viewer').screenshot();
    expect(Buffer.compare(before, after)).not.toBe(0);
    expect(await page.textContent('label:has(input[data-expression="jawOpen"]) output')).toBe('1.00');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(1280); // the slider panel fits
    await page.screenshot({ path: join(SHOTS, 'full-head.png'), fullPage: true });
    await page.context().close();
  });

  it('a phone\'s HEIC photo: no preview in this browser, but the reconstruction comes back', async () => {
    const page = await open();
    await page.setInputFiles('#file', join(FIXTURES_DIR, 'astronaut.heic'));
    await page.waitForFunction(() => !(document.getElementById('start') as HTMLButtonElement).disabled);
    expect(await page.locator('#file-note').textContent()).toMatch(/HEIC/);
    await page.click('#start');
    await page.waitForFunction(() => document.body.dataset.state === 'done' || document.body.dataset.state === 'error', undefined, { timeout: 60_000 });
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('done');
    expect(cspViolations).toEqual([]);
    await page.context().close();
  });

  it('a browser without WebGL still gets its result and its files; after a switch of language, Start again on the same photo replays it (no 422)', async () => {
    const page = await open();
    // As a browser with WebGL blocklisted or disabled: every WebGL context refused.
    await page.addInitScript(() => {
      const get = HTMLCanvasElement.prototype.getContext;
      HTMLCanvasElement.prototype.getContext = function (this: HTMLCanvasElement, type: string, ...rest: unknown[]) {
        return /webgl/i.test(type) ? null : (get as (...a: unknown[]) => RenderingContext | null).call(this, type, ...rest);
      } as typeof get;
    });
    await page.reload();
    await page.setInputFiles('#file', fixture('astronaut.png'));
    await page.waitForFunction(() => !(document.getElementById('start') as HTMLButtonElement).disabled);
    await page.click('#start');
    await page.waitForFunction(() => document.body.dataset.state === 'done', undefined, { timeout: 60_000 });
    expect(await page.isVisible('#viewer-note')).toBe(true);
    expect(await page.textContent('#viewer-note')).toMatch(/no WebGL 2/);
    expect(await page.$$eval('.downloads a:not([hidden])', (as) => as.map((a) => a.id))).toEqual(expect.arrayContaining(['dl-glb', 'dl-obj', 'dl-texture']));
    const usage = async () => ((await (await fetch(`${stack.edgeUrl}/v1/usage`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).json()) as { billable_calls: number }).billable_calls;
    const billed = await usage();
    await page.click('#lang-zh');
    await page.click('#start');
    await page.waitForFunction(() => document.body.dataset.state !== 'running' && !(document.getElementById('start') as HTMLButtonElement).disabled, undefined, { timeout: 60_000 });
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('done');
    expect(await usage()).toBe(billed); // the same photo's stored result, not a second call
    await page.context().close();
  });

  it('a photo over the upload limit (a 48 MP phone JPEG) is shrunk in the page and reconstructed, not refused', async () => {
    // The astronaut at 4096 x 4096 with per-pixel noise: a PNG of well over 10 MB, as a phone's largest photos are.
    const { image } = await readImageFile(fixture('astronaut.png'));
    const big = createRgbImage(4096, 4096);
    let seed = 11;
    for (let y = 0; y < 4096; y++) {
      for (let x = 0; x < 4096; x++) {
        const o = 3 * (y * 4096 + x);
        const i = 3 * ((y >> 3) * 512 + (x >> 3));
        for (let c = 0; c < 3; c++) big.data[o + c] = Math.max(0, Math.min(255, image.data[i + c] + (((seed = (seed * 1103515245 + 12345) >>> 0) >>> 24) & 15) - 8));
      }
    }
    const path = join(tmp, 'big.png');
    writeFileSync(path, await encodeImage(big, 'png'));
    expect(statSync(path).size).toBeGreaterThan(10 * 1024 * 1024);
    const page = await open();
    await page.setInputFiles('#file', path);
    await page.waitForFunction(() => !(document.getElementById('start') as HTMLButtonElement).disabled, undefined, { timeout: 30_000 });
    expect(await page.textContent('#file-note')).toMatch(/sent as a 4096 x 4096 JPEG/);
    await page.click('#start');
    await page.waitForFunction(() => document.body.dataset.state === 'done' || document.body.dataset.state === 'error', undefined, { timeout: 90_000 });
    expect(await page.evaluate(() => document.body.dataset.state), await page.textContent('#error-message') ?? '').toBe('done');
    await page.context().close();
  }, 120_000);

  it('Cancel stops a job the user does not want: canceled, not billed, and the photo can be started again', async () => {
    const usage = async () => ((await (await fetch(`${stack.edgeUrl}/v1/usage`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).json()) as { billable_calls: number; in_flight: number });
    const before = await usage();
    const page = await open();
    await page.setInputFiles('#file', fixture('astronaut.png'));
    await page.waitForFunction(() => !(document.getElementById('start') as HTMLButtonElement).disabled);
    expect(await page.isHidden('#cancel')).toBe(true);
    // The gpu-function stopped: the job waits in the queue (a warm one would finish before the click).
    await stack.stopGpu();
    try {
      await page.click('#start');
      const id = await page.waitForFunction(() => document.body.dataset.job).then((h) => h.jsonValue() as Promise<string>);
      await page.click('#cancel');
      await page.waitForFunction(() => document.body.dataset.state === 'canceled', undefined, { timeout: 30_000 });
      expect(await page.textContent('#file-note')).toMatch(/nothing was billed/);
      expect(await page.isHidden('#error')).toBe(true);
      const job = (await (await fetch(`${stack.edgeUrl}/v1/reconstructions/${id}`, { headers: { authorization: `Bearer ${stack.apiKey}` } })).json()) as { status: string };
      expect(job.status).toBe('canceled');
      expect(await usage()).toMatchObject({ billable_calls: before.billable_calls, in_flight: 0 });
      expect(await page.locator('#start').isDisabled()).toBe(false);
    } finally {
      await stack.restartGpu();
    }
    await page.context().close();
  }, 120_000);

  it('a job saved by an earlier visit that is gone (past its 24 h) is dropped quietly, not shown as an error', async () => {
    const page = await open();
    await page.evaluate(() => localStorage.setItem('facerecon.job', JSON.stringify({ id: '0'.repeat(32), model: 'mediapipe' })));
    await page.reload();
    await page.waitForFunction(() => localStorage.getItem('facerecon.job') === null, undefined, { timeout: 30_000 });
    expect(await page.evaluate(() => document.body.dataset.state)).toBe('idle');
    expect(await page.isHidden('#error')).toBe(true);
    await page.context().close();
  });

  it('a photo with two faces shows the multi-face message in English and in Chinese', async () => {
    const page = await open();
    const two = join(tmp, 'two-faces.jpg');
    if (hasSharedPhotos) {
      await page.setInputFiles('#file', join(SHARED_PHOTOS, '3ddfa/trump_hillary.jpg'));
    } else {
      const { image } = await readImageFile(fixture('astronaut.png'));
      const { writeFileSync } = await import('node:fs');
      writeFileSync(two, await encodeImage(tileHorizontally(image, image), 'jpeg'));
      await page.setInputFiles('#file', two);
    }
    await page.waitForFunction(() => !(document.getElementById('start') as HTMLButtonElement).disabled);
    await page.click('#start');
    await page.waitForFunction(() => document.body.dataset.state === 'error', undefined, { timeout: 60_000 });
    expect(await page.textContent('#error-message')).toBe('Several faces found: upload a photo of one person');
    await page.screenshot({ path: join(SHOTS, 'error.png') });
    await page.click('#lang-zh');
    expect(await page.textContent('#error-message')).toBe('检测到多人，请上传单人照片');
    expect(await page.textContent('#start')).toBe('开始 3D 重建');
    // What a screen reader reads switches too: accessible names, the image's text, the tab's title.
    const names = await page.evaluate(() => ({
      labels: Array.from(document.querySelectorAll('[aria-label]'), (e) => e.getAttribute('aria-label')!),
      alt: (document.getElementById('uv') as HTMLImageElement).alt,
      title: document.title,
    }));
    expect(names.labels.length).toBeGreaterThanOrEqual(7);
    for (const text of [...names.labels, names.alt, names.title]) expect(text, text).toMatch(/[\u4e00-\u9fff]/);
    expect(names.labels).toContain('3D 人脸查看器：拖动旋转，滚动缩放');
    await page.context().close();
  });

  it('checks type and size before sending, and fits a phone-sized screen', async () => {
    const page = await open({ width: 390, height: 844 }, 'zh-CN');
    expect(await page.textContent('#start')).toBe('开始 3D 重建'); // language from the browser
    const gif = join(tmp, 'x.gif');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(gif, Buffer.from('GIF89a\x10\x00\x10\x00\x00\x00\x00;', 'binary'));
    await page.setInputFiles('#file', gif);
    await page.waitForSelector('#error:not([hidden])');
    expect(await page.textContent('#error-message')).toMatch(/JPEG、PNG、WebP、HEIC 或 AVIF/);
    expect(await page.locator('#start').isDisabled()).toBe(true);
    // A wrong key: the API's message, and advice in the page's own terms (not "Send Authorization: Bearer").
    await page.fill('#api-key', 'fr_live_not-a-key');
    await page.setInputFiles('#file', fixture('astronaut.png'));
    await page.waitForFunction(() => !(document.getElementById('start') as HTMLButtonElement).disabled);
    await page.click('#start');
    await page.waitForFunction(() => document.body.dataset.state === 'error', undefined, { timeout: 30_000 });
    expect(await page.textContent('#error-message')).toBe('API 密钥缺失或无效');
    expect(await page.textContent('#error-hint')).toBe('请检查上方的 API 密钥：粘贴完整的密钥（以 fr_live_ 开头）。');
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    expect(width).toBeLessThanOrEqual(390);
    expect(readFileSync(join(SHOTS, 'idle.png')).byteLength).toBeGreaterThan(1000);
    await page.context().close();
  });
});
