// The demo page: draw shapes on a 128x128 canvas, segment on every change, show the class
// map, the overlay and the time of every layer. The engine is engine.js over crates/wasm.
import { Engine, fetchBytes, imagePixels } from './engine.js';

const $ = (id) => document.getElementById(id);
const input = $('input').getContext('2d', { willReadFrequently: true });
const SIZE = 128;

// Where each layer is explained (relative to this page, inside the book).
const CHAPTERS = [
  [/^conv1$/, '../ch01-convolution-cost.html', 'full 3x3 convolution', ''],
  [/^conv_dw_/, '../ch02-depthwise-separable.html', 'depthwise 3x3', 'dw'],
  [/^conv_pw_/, '../ch02-depthwise-separable.html', 'pointwise 1x1 (GEMM)', ''],
  [/^(dec|logits)/, '../ch03-architecture.html', 'UNet decoder', ''],
  [/^softmax$/, '../ch03-architecture.html', 'softmax', 'head'],
];

let engine;
let shapes = [];
let background;
let kind = 'circle';
let drag = null;
let pending = false;
let exampleImage = null;

const rand = (a, b) => a + Math.random() * (b - a);
const randomColor = () => `rgb(${rand(0, 255) | 0},${rand(0, 255) | 0},${rand(0, 255) | 0})`;

/** A busy background like the training set's: a two-colour gradient with checks or stripes. */
function randomBackground() {
  return { c0: randomColor(), c1: randomColor(), angle: rand(0, Math.PI), cell: rand(5, 18),
    pattern: Math.random() < 0.5 ? 'checks' : 'stripes', alpha: rand(0.15, 0.4) };
}

function drawBackground(b) {
  const g = input.createLinearGradient(0, 0, SIZE * Math.cos(b.angle), SIZE * Math.sin(b.angle));
  g.addColorStop(0, b.c0);
  g.addColorStop(1, b.c1);
  input.fillStyle = g;
  input.fillRect(0, 0, SIZE, SIZE);
  input.save();
  input.translate(SIZE / 2, SIZE / 2);
  input.rotate(b.angle);
  input.fillStyle = `rgba(0,0,0,${b.alpha})`;
  const n = Math.ceil(SIZE / b.cell) + 2;
  for (let i = -n; i < n; i++) {
    for (let j = -n; j < n; j++) {
      if (b.pattern === 'checks' ? (i + j) % 2 === 0 : i % 2 === 0) {
        input.fillRect(i * b.cell, j * b.cell, b.cell, b.cell);
      }
    }
  }
  input.restore();
}

function drawShape(s) {
  input.save();
  input.translate(s.x, s.y);
  input.rotate(s.angle);
  input.fillStyle = s.color;
  input.beginPath();
  if (s.kind === 'circle') {
    input.arc(0, 0, s.r, 0, 2 * Math.PI);
  } else if (s.kind === 'rectangle') {
    input.rect(-s.r, -s.r * 0.7, 2 * s.r, 1.4 * s.r);
  } else {
    for (let k = 0; k < 3; k++) {
      const a = -Math.PI / 2 + (k * 2 * Math.PI) / 3;
      input.lineTo(s.r * Math.cos(a), s.r * Math.sin(a));
    }
  }
  input.fill();
  input.restore();
}

function render() {
  if (exampleImage) {
    input.putImageData(exampleImage, 0, 0);
  } else {
    drawBackground(background);
  }
  for (const s of shapes) drawShape(s);
  if (drag) drawShape(drag);
  schedule();
}

/** Segments at most once per animation frame, however fast the pointer moves. */
function schedule() {
  if (pending || !engine) return;
  pending = true;
  requestAnimationFrame(() => {
    pending = false;
    segment();
  });
}

function segment() {
  const pixels = input.getImageData(0, 0, SIZE, SIZE);
  let out;
  const t0 = performance.now();
  try {
    out = engine.segment(pixels, { profile: true });
  } catch (e) {
    $('status').textContent = `error: ${e.message}`;
    return;
  }
  const total = performance.now() - t0;
  // performance.now() counts from the start of the page's navigation.
  window.firstResultMs ??= performance.now();
  window.segmentations = (window.segmentations ?? 0) + 1;
  drawMask(out, pixels);
  drawLayers(out.steps);
  $('status').textContent = `${engine.info.tier} tier (GEMM micro-kernel ` +
    `${engine.info.gemm_kernel}), ${total.toFixed(1)} ms for this segmentation ` +
    `(${out.steps.reduce((a, s) => a + s.ms, 0).toFixed(1)} ms in the layers)`;
}

function drawMask(out, pixels) {
  const colors = engine.info.class_colors;
  const mask = new ImageData(out.width, out.height);
  out.classes.forEach((c, i) => {
    mask.data.set([...colors[c], 255], 4 * i);
  });
  $('mask').getContext('2d').putImageData(mask, 0, 0);
  // Overlay: the input with each 2x2 block tinted by its class (background left as is).
  const over = new ImageData(new Uint8ClampedArray(pixels.data), SIZE, SIZE);
  for (let y = 0; y < SIZE; y++) {
    for (let x = 0; x < SIZE; x++) {
      const c = out.classes[(y >> 1) * out.width + (x >> 1)];
      if (c === 0) continue;
      const i = 4 * (y * SIZE + x);
      for (let k = 0; k < 3; k++) over.data[i + k] = 0.45 * over.data[i + k] + 0.55 * colors[c][k];
    }
  }
  $('overlay').getContext('2d').putImageData(over, 0, 0);
}

function drawLayers(steps) {
  const max = Math.max(...steps.map((s) => s.ms), 1e-3);
  const rows = steps.map((s) => {
    const [, href, what, cls] = CHAPTERS.find(([re]) => re.test(s.name)) ?? [null, '#', '', ''];
    const macs = s.macs ? `${(s.macs / 1e6).toFixed(1)} M MACs` : '';
    return `<tr class="${cls}"><td><a href="${href}" target="_top">${s.name}</a></td>` +
      `<td>${what}</td><td>${macs}</td><td>${s.ms.toFixed(2)} ms</td>` +
      `<td class="bar"><div style="width:${(100 * s.ms) / max}%"></div></td></tr>`;
  });
  $('layers').tBodies[0].innerHTML = rows.join('');
}

function pointer(e) {
  const r = $('input').getBoundingClientRect();
  return [((e.clientX - r.left) * SIZE) / r.width, ((e.clientY - r.top) * SIZE) / r.height];
}

function setUpDrawing() {
  const canvas = $('input');
  canvas.addEventListener('pointerdown', (e) => {
    const [x, y] = pointer(e);
    drag = { kind, x, y, r: 4, angle: kind === 'circle' ? 0 : rand(-0.6, 0.6), color: randomColor() };
    canvas.setPointerCapture(e.pointerId);
    render();
  });
  canvas.addEventListener('pointermove', (e) => {
    if (!drag) return;
    const [x, y] = pointer(e);
    drag.r = Math.max(4, Math.hypot(x - drag.x, y - drag.y));
    render();
  });
  canvas.addEventListener('pointerup', () => {
    if (drag) shapes.push(drag);
    drag = null;
    render();
  });
  for (const b of document.querySelectorAll('#tools button')) {
    b.addEventListener('click', () => {
      kind = b.dataset.kind;
      document.querySelectorAll('#tools button').forEach((o) => o.classList.toggle('on', o === b));
    });
  }
  $('undo').onclick = () => { shapes.pop(); render(); };
  $('clear').onclick = () => { shapes = []; exampleImage = null; $('example').value = ''; render(); };
  $('scene').onclick = () => { randomScene(); render(); };
}

function randomScene() {
  exampleImage = null;
  $('example').value = '';
  background = randomBackground();
  shapes = [];
  const kinds = ['circle', 'rectangle', 'triangle'];
  for (let i = 0; i < 2 + ((Math.random() * 3) | 0); i++) {
    shapes.push({ kind: kinds[(Math.random() * 3) | 0], x: rand(20, 108), y: rand(20, 108),
      r: rand(10, 26), angle: rand(-0.8, 0.8), color: randomColor() });
  }
}

async function setUpExamples() {
  const index = await (await fetch('fixtures/index.json')).json();
  for (const img of index.images) $('example').add(new Option(img.stem, img.image));
  $('example').onchange = async () => {
    const name = $('example').value;
    shapes = [];
    exampleImage = name ? await imagePixels(`pkg/examples/${name}`) : null;
    render();
  };
  return index.images[0].image;
}

function showLegend() {
  $('legend').innerHTML = engine.info.class_names.map((n, i) =>
    `<span><i style="background: rgb(${engine.info.class_colors[i]})"></i>${n}</span>`).join('');
}

async function main() {
  setUpDrawing();
  const first = await setUpExamples();
  const weights = await fetchBytes('pkg/mobilenet_unet_shapes.safetensors');
  engine = await Engine.load('pkg/mobilenet_unet_wasm.wasm', weights);
  showLegend();
  // Start on the first example, so the page shows a result at once.
  $('example').value = first;
  exampleImage = await imagePixels(`pkg/examples/${first}`);
  background = randomBackground();
  render();
  // The first pass plans the buffers; two more show the steady state (what a screenshot keeps).
  for (let i = 0; i < 2; i++) {
    await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
    render();
  }
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  window.demoReady = true;
}

main().catch((e) => {
  $('status').textContent = `could not start: ${e.message} (was tools/build-wasm.sh run?)`;
});
