// Serves a folder on 127.0.0.1 and drives Debian's Chromium (/usr/bin/chromium, through
// puppeteer-core: nothing downloads a browser) on the pages under its try/ folder.
//
//   node tools/wasm/browser.mjs selftest   SITE   the self-test: exit 1 unless every image agrees
//   node tools/wasm/browser.mjs screenshot SITE OUT.png    the demo page, after its first result
//   node tools/wasm/browser.mjs compare    SITE   ours vs onnxruntime-web; prints a Markdown table
//
// SITE is docs/src (after tools/build-wasm.sh) or the built book, docs/book: both hold try/.
import http from 'node:http';
import { mkdtempSync, rmSync, statSync, createReadStream } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import puppeteer from 'puppeteer-core';

const TYPES = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.mjs': 'text/javascript',
  '.css': 'text/css', '.json': 'application/json', '.wasm': 'application/wasm',
  '.png': 'image/png', '.svg': 'image/svg+xml', '.woff2': 'font/woff2',
};

/** A static file server for `root` on 127.0.0.1 at a free port. */
function serve(root) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url, 'http://127.0.0.1');
    let file = path.join(root, decodeURIComponent(url.pathname));
    if (!file.startsWith(path.resolve(root))) { res.writeHead(403).end(); return; }
    try {
      if (statSync(file).isDirectory()) file = path.join(file, 'index.html');
      const size = statSync(file).size;
      res.writeHead(200, {
        'Content-Type': TYPES[path.extname(file)] ?? 'application/octet-stream',
        'Content-Length': size,
      });
      createReadStream(file).pipe(res);
    } catch {
      res.writeHead(404).end('not found');
    }
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

async function withPage(site, pagePath, fn, viewport = { width: 1100, height: 900 }) {
  const server = await serve(path.resolve(site));
  const profile = mkdtempSync(path.join(tmpdir(), 'mu-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    userDataDir: profile,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const page = await browser.newPage();
    await page.setViewport(viewport);
    page.on('console', (m) => console.log(`  [page] ${m.text()}`));
    page.on('pageerror', (e) => console.log(`  [page error] ${e.message}`));
    const url = `http://127.0.0.1:${server.address().port}/${pagePath}`;
    console.log(`== ${await browser.version()}: ${url}`);
    await page.goto(url, { waitUntil: 'load' });
    return await fn(page, browser);
  } finally {
    await browser.close();
    server.close();
    rmSync(profile, { recursive: true, force: true });
  }
}

const [command, site = 'docs/src', out] = process.argv.slice(2);
if (command === 'selftest') {
  const result = await withPage(site, 'try/selftest.html', async (page) => {
    await page.waitForFunction('window.selftest !== undefined', { timeout: 180_000 });
    return page.evaluate('window.selftest');
  });
  for (const line of result.lines) console.log(line);
  console.log(`${result.passed} passed, ${result.failed} failed`);
  process.exit(result.failed === 0 && result.passed > 0 ? 0 : 1);
} else if (command === 'screenshot') {
  await withPage(site, 'try/index.html', async (page) => {
    await page.waitForFunction('window.demoReady === true', { timeout: 120_000 });
    const first = await page.evaluate('window.firstResultMs');
    console.log(`first segmentation shown ${first.toFixed(0)} ms after navigation start`);
    const body = await page.$('main');
    await body.screenshot({ path: out });
    console.log(`wrote ${out}`);
  });
} else if (command === 'compare') {
  const query = process.env.COMPARE_QUERY ?? '';
  const result = await withPage(site, `try/compare.html${query}`, async (page, browser) => {
    await page.waitForFunction('window.comparison !== undefined', { timeout: 3_600_000 });
    return { ...(await page.evaluate('window.comparison')), browser: await browser.version() };
  });
  if (result.error) {
    console.error(result.error);
    process.exit(1);
  }
  console.log(result.markdown.replace('BROWSER', result.browser));
} else {
  console.error('usage: node tools/wasm/browser.mjs selftest|screenshot|compare SITE [OUT.png]');
  process.exit(2);
}
