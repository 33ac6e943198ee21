// E2E: the DICOM viewer in an untrusted folder (VS Code Workspace Trust on, the folder in Restricted Mode):
// images are shown, no model runs and the editor says why (issue 8 item 6); and the viewer page's Content
// Security Policy holds in the real webview — no script without the nonce runs, nothing can be fetched (eval is
// refused by the policy text; it cannot be probed from the test, whose DevTools evaluation is allowed to eval).
// Screenshot test-output/e2e/40-untrusted.png.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, before, test } from 'node:test';
import { OUT_DIR, cli, quickOpen, screenshot, startWorkbench, viewerFrame, waitForDataset, waitForState } from './harness.mjs';
import { ensureCodeServer } from '../../scripts/code-server.mjs';

const TEST = { timeout: 120_000 };
const WS = path.join(OUT_DIR, 'untrusted-workspace');
let wb;
let frame;

before(async () => {
  await ensureCodeServer({ log: (m) => console.error(`[code-server] ${m}`) });
  fs.rmSync(WS, { recursive: true, force: true });
  await cli('sample', '--out', path.join(WS, 'rsna'), '--studies', '1', '--slices', '16-16', '--seed', '11', '--fracture-rate', '1');
  wb = await startWorkbench({ workspace: WS, workspaceTrust: true });
}, { timeout: 300_000 });

after(async () => {
  await wb?.close();
});

test('an untrusted folder shows the images but runs no model, and the editor says why', TEST, async () => {
  const images = path.join(WS, 'rsna', 'train_images');
  const uid = fs.readdirSync(images)[0];
  await quickOpen(wb.page, `rsna/train_images/${uid}/8.dcm`);
  frame = await viewerFrame(wb.page, { timeout: 30_000 });
  let ds = await waitForState(frame, ['ready', 'error']);
  assert.equal(ds.state, 'ready', 'the slice is shown');
  ds = await waitForDataset(frame, (d) => d.models !== undefined && d.drawn !== undefined && d.drawn !== '-1', 'the model state', { timeout: 30_000 });
  assert.equal(ds.models, 'untrusted');
  assert.match(await frame.locator('#models-status').innerText(), /untrusted/i);
  // Nothing ran: no overlay, no study pass, the overlay controls disabled.
  await wb.page.waitForTimeout(1500);
  ds = await frame.evaluate(() => ({ ...document.body.dataset }));
  assert.equal(ds.overlay, undefined, 'no overlay was asked for');
  assert.equal(ds.analysed, undefined, 'no background pass');
  assert.equal(await frame.locator('#toggle-boxes').isDisabled(), true);
  // The workbench itself is in Restricted Mode.
  assert.ok(await wb.page.getByText('Restricted Mode').first().isVisible(), 'VS Code shows Restricted Mode');
  await screenshot(wb.page, '40-untrusted');
  // Still a working viewer: the next slice.
  await frame.locator('#stage').focus();
  await wb.page.keyboard.press('ArrowDown');
  await waitForDataset(frame, (d) => d.drawn === String(Number(ds.slice) + 1), 'the next slice drawn');
});

test('the viewer page\'s CSP: default-src none, scripts only by nonce, no eval; an injected script and a fetch are refused', TEST, async () => {
  const csp = await frame.evaluate(() => document.querySelector('meta[http-equiv="Content-Security-Policy"]')?.getAttribute('content') ?? '');
  const directives = Object.fromEntries(csp.split(';').map((d) => d.trim().split(/\s+/)).filter((d) => d[0]).map(([k, ...v]) => [k, v]));
  assert.deepEqual(directives['default-src'], ["'none'"]);
  assert.equal(directives['script-src'].length, 1);
  assert.match(directives['script-src'][0], /^'nonce-[A-Za-z0-9+/=]{16,}'$/);
  assert.ok(!/unsafe-inline|unsafe-eval/.test(csp), `no unsafe sources: ${csp}`);
  assert.ok(!csp.split(/[\s;]+/).some((t) => t === '*' || t === 'https:' || t === 'http:'), `no bare wildcard or scheme sources: ${csp}`);
  assert.equal(directives['connect-src'], undefined, 'no connect-src: fetches fall back to none');
  const probe = await frame.evaluate(async () => {
    const violations = [];
    document.addEventListener('securitypolicyviolation', (e) => violations.push(e.violatedDirective));
    const s = document.createElement('script');
    s.textContent = 'window.__injected = true';
    document.body.append(s);
    let fetched = 'refused';
    try {
      await fetch('https://example.com/');
      fetched = 'allowed';
    } catch { /* refused by the CSP */ }
    await new Promise((r) => setTimeout(r, 100));
    return { injected: window.__injected === true, fetched, violations };
  });
  assert.equal(probe.injected, false, 'an inline script without the nonce does not run');
  assert.equal(probe.fetched, 'refused', 'no network from the viewer');
  assert.ok(probe.violations.some((v) => v.startsWith('script-src')), `violations reported: ${probe.violations}`);
});
