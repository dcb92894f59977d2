// The browser self-test that CI runs (tools/wasm/browser.mjs selftest): every example image
// through the WebAssembly engine, compared with the native engine's fixtures. Publishes
// window.selftest = { passed, failed, lines } when done.
import { Engine, fetchBytes, imagePixels } from './engine.js';

const MIN_AGREEMENT = 0.999;
const MAX_PROB_DIFF = 1e-4;

const lines = [];
let passed = 0;
let failed = 0;

function report(name, ok, detail) {
  ok ? passed++ : failed++;
  const line = `${ok ? 'PASS' : 'FAIL'} ${name}: ${detail}`;
  lines.push(line);
  const row = document.createElement('tr');
  row.className = ok ? 'pass' : 'fail';
  row.innerHTML = `<td>${name}</td><td>${line}</td>`;
  document.querySelector('#results tbody').append(row);
}

async function compareImage(engine, fixture) {
  const pixels = await imagePixels(`pkg/examples/${fixture.image}`);
  const out = engine.segment(pixels, { probabilities: true });
  const classes = await fetchBytes(`fixtures/${fixture.stem}.classes.u8`);
  const probs = new Float32Array((await fetchBytes(`fixtures/${fixture.stem}.probs.f32`)).buffer);
  if (out.classes.length !== classes.length || out.probabilities.length !== probs.length) {
    report(fixture.image, false, `shape ${out.classes.length} / ${out.probabilities.length}, ` +
      `expected ${classes.length} / ${probs.length}`);
    return;
  }
  let same = 0;
  for (let i = 0; i < classes.length; i++) same += out.classes[i] === classes[i] ? 1 : 0;
  let maxDiff = 0;
  for (let i = 0; i < probs.length; i++) {
    const d = Math.abs(out.probabilities[i] - probs[i]);
    if (!(d <= maxDiff)) maxDiff = d; // NaN counts as the largest difference
  }
  const agreement = same / classes.length;
  const ok = agreement >= MIN_AGREEMENT && maxDiff <= MAX_PROB_DIFF;
  report(fixture.image, ok, `argmax agreement ${(100 * agreement).toFixed(3)}% ` +
    `(${same}/${classes.length}), max |Δp| ${maxDiff.toExponential(2)}`);
}

function checkErrorsAreExceptions(engine, size) {
  const bad = { data: new Uint8Array(10 * 10 * 4), width: 10, height: 10 };
  try {
    engine.segment(bad);
    report('bad input', false, 'a 10x10 image was accepted');
  } catch (e) {
    const message = String(e.message);
    // The engine must still work after the error (no trap poisoned the module).
    const ok = e instanceof Error && /16/.test(message) &&
      engine.segment({ data: new Uint8Array(size * size * 4), width: size, height: size })
        .classes.length === (size / 2) ** 2;
    report('bad input', ok, `Error("${message}"), and the next call works`);
  }
}

async function main() {
  const index = await (await fetch('fixtures/index.json')).json();
  const weights = await fetchBytes('pkg/mobilenet_unet_shapes.safetensors');
  const engine = await Engine.load('pkg/mobilenet_unet_wasm.wasm', weights);
  lines.push(`engine: tier ${engine.info.tier}, GEMM ${engine.info.gemm_kernel}; ` +
    `fixtures from the native ${index.native_tier} tier`);
  report('tier', engine.info.tier === 'wasm-simd128', `the module runs ${engine.info.tier}`);
  for (const fixture of index.images) await compareImage(engine, fixture);
  checkErrorsAreExceptions(engine, index.images[0].width);
  try {
    await Engine.load('pkg/mobilenet_unet_wasm.wasm', new Uint8Array([1, 2, 3]));
    report('bad weights', false, 'three bytes loaded as a model');
  } catch (e) {
    report('bad weights', e instanceof Error, `Error("${e.message}")`);
  }
}

main()
  .catch((e) => report('self-test', false, `${e.stack ?? e}`))
  .finally(() => {
    document.getElementById('status').textContent = `${passed} passed, ${failed} failed`;
    window.selftest = { passed, failed, lines };
  });
