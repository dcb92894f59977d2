// The browser comparison (see compare.html). Publishes window.comparison = { markdown, rows }
// or { error } for tools/wasm/browser.mjs compare.
import { Engine, fetchBytes } from './engine.js';
import * as ort from './pkg/ort/ort.wasm.min.mjs';

const params = new URLSearchParams(location.search);
const ROUNDS = Number(params.get('rounds') ?? 7);
const RUNS = Number(params.get('runs') ?? 10);
const WARMUP = 3;

const NETWORKS = [
  { name: "seed's network, 224x224 (alpha 1.0, 2 classes, random weights)", size: 224,
    weights: 'pkg/compare/seed_224.safetensors', onnx: 'pkg/compare/seed_224.onnx' },
  { name: 'default model, 128x128 (alpha 0.5, 4 classes)', size: 128,
    weights: 'pkg/mobilenet_unet_shapes.safetensors', onnx: 'pkg/compare/shipped_128.onnx' },
];

const status = (text) => { document.getElementById('status').textContent = text; };
const median = (xs) => { const s = [...xs].sort((a, b) => a - b); return s[s.length >> 1]; };

/** A seeded RGBA image, and the same pixels as the network's input (both models divide by 255). */
function inputs(size) {
  let state = 12345;
  const next = () => { state = (state * 1103515245 + 12345) >>> 0; return state >>> 24; };
  const rgba = new Uint8ClampedArray(size * size * 4);
  const x = new Float32Array(size * size * 3);
  for (let p = 0; p < size * size; p++) {
    for (let c = 0; c < 3; c++) {
      rgba[4 * p + c] = next();
      x[3 * p + c] = rgba[4 * p + c] / 255;
    }
    rgba[4 * p + 3] = 255;
  }
  return { image: { data: rgba, width: size, height: size }, tensor: new ort.Tensor('float32', x, [1, size, size, 3]) };
}

async function engines(net) {
  const ours = await Engine.load('pkg/mobilenet_unet_wasm.wasm', await fetchBytes(net.weights));
  const session = await ort.InferenceSession.create(await fetchBytes(net.onnx), {
    executionProviders: ['wasm'], graphOptimizationLevel: 'all',
  });
  const { image, tensor } = inputs(net.size);
  return {
    ours: () => ours.segment(image, { probabilities: true }).probabilities,
    'onnxruntime-web': async () => (await session.run({ input: tensor })).probabilities.data,
    info: ours.info,
  };
}

/** One round of one engine: warm-up runs, then the median of the timed runs (ms). */
async function round(run) {
  for (let i = 0; i < WARMUP; i++) await run();
  const times = [];
  for (let i = 0; i < RUNS; i++) {
    const t0 = performance.now();
    await run();
    times.push(performance.now() - t0);
  }
  return median(times);
}

async function main() {
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = new URL('pkg/ort/', location.href).href;
  const rows = [];
  let tier = '';
  for (const net of NETWORKS) {
    status(`preparing ${net.name}…`);
    const e = await engines(net);
    tier = `${e.info.tier} (${e.info.gemm_kernel})`;
    const [a, b] = [await e.ours(), await e['onnxruntime-web']()];
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i] - b[i]));
    if (a.length !== b.length || !(maxDiff < 1e-3)) {
      throw new Error(`${net.name}: the engines disagree (max |Δp| ${maxDiff}, ${a.length} vs ${b.length} values)`);
    }
    const names = ['ours', 'onnxruntime-web'];
    const medians = { ours: [], 'onnxruntime-web': [] };
    for (let r = 0; r < ROUNDS; r++) {
      status(`${net.name}: round ${r + 1} of ${ROUNDS}`);
      const order = r % 2 === 0 ? names : [...names].reverse();
      for (const name of order) medians[name].push(await round(e[name]));
    }
    const ours = median(medians.ours);
    const ortMs = median(medians['onnxruntime-web']);
    for (const name of names) {
      const m = medians[name];
      rows.push({ network: net.name, engine: name, ms: median(m), min: Math.min(...m), max: Math.max(...m),
        ratio: name === 'ours' ? ours / ortMs : null, maxDiff });
    }
  }
  const md = [
    `Browser: BROWSER, ${navigator.userAgent.includes('Headless') ? 'headless' : 'headed'}; ours: ${tier}; ` +
      `onnxruntime-web ${ort.env.versions.web} (wasm backend, SIMD, 1 thread); ` +
      `${ROUNDS} interleaved rounds of ${WARMUP} warm-up + ${RUNS} timed runs.`,
    '',
    '| network | engine | median ms | round medians (min-max) | ours / onnxruntime-web | max abs diff of probabilities |',
    '|---|---|---:|---|---:|---:|',
    ...rows.map((r) => `| ${r.network} | ${r.engine} | ${r.ms.toFixed(1)} | ${r.min.toFixed(1)}-${r.max.toFixed(1)} | ` +
      `${r.ratio === null ? '' : r.ratio.toFixed(2) + 'x'} | ${r.maxDiff.toExponential(1)} |`),
  ].join('\n');
  const tbody = document.querySelector('#results tbody');
  for (const r of rows) {
    tbody.insertAdjacentHTML('beforeend', `<tr><td>${r.network}</td><td>${r.engine}</td>` +
      `<td>${r.ms.toFixed(1)}</td><td>${r.min.toFixed(1)}-${r.max.toFixed(1)}</td>` +
      `<td>${r.ratio === null ? '' : r.ratio.toFixed(2) + 'x'}</td></tr>`);
  }
  document.getElementById('markdown').textContent = md;
  status('done');
  window.comparison = { markdown: md, rows };
}

main().catch((e) => {
  status(`error: ${e.message}`);
  window.comparison = { error: String(e.stack ?? e) };
});
