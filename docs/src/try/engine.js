// The JavaScript face of crates/wasm: loads the module, turns its integer interface into
// objects and its errors into exceptions. Everything else on the page goes through here.
//
//   const engine = await Engine.load('pkg/mobilenet_unet_wasm.wasm', weightsBytes);
//   engine.info        -> { input_width, input_height, class_names, class_colors, tier, ... }
//   engine.segment(imageData, { probabilities: true, profile: true })
//                      -> { width, height, classes: Uint8Array, probabilities?: Float32Array,
//                           steps: [{ name, ms, macs }] }
//
// Every buffer lives in the module's memory and belongs to Rust; results are copied out
// before the next call can move them. A failure inside the module returns 1 (or handle 0)
// with a message, which becomes an Error here: bad input never traps the module.

const PROBABILITIES = 1;
const PROFILE = 2;

export class Engine {
  /** Instantiates the module once per call (each engine has its own memory). */
  static async load(wasmUrl, weights) {
    const response = await fetch(wasmUrl);
    if (!response.ok) throw new Error(`${wasmUrl}: HTTP ${response.status}`);
    const imports = { env: { mu_now_ms: () => performance.now() } };
    const { instance } = await WebAssembly.instantiateStreaming(response, imports);
    const engine = new Engine(instance.exports);
    engine.handle = engine.#load(weights);
    engine.info = JSON.parse(engine.#call(engine.x.mu_info(engine.handle)));
    return engine;
  }

  constructor(exports) {
    this.x = exports;
    this.handle = 0;
  }

  /** The last call's text (JSON, or the error message). */
  #text() {
    const bytes = new Uint8Array(this.x.memory.buffer, this.x.mu_text_ptr(), this.x.mu_text_len());
    return new TextDecoder().decode(bytes);
  }

  /** The text of a call that returned 0, or an Error with its message. */
  #call(status) {
    const text = this.#text();
    if (status !== 0) throw new Error(text);
    return text;
  }

  /** Copies `bytes` into the module's staging buffer. */
  #stage(bytes) {
    const ptr = this.x.mu_staging(bytes.length);
    new Uint8Array(this.x.memory.buffer, ptr, bytes.length).set(bytes);
  }

  #load(weights) {
    this.#stage(new Uint8Array(weights));
    const handle = this.x.mu_load();
    if (handle === 0) throw new Error(`loading the weights: ${this.#text()}`);
    return handle;
  }

  /**
   * Segments an ImageData (or { data: RGBA bytes, width, height }) at its own size, which must
   * be a multiple of 16 on both sides.
   */
  segment(image, { probabilities = false, profile = false } = {}) {
    const { data, width, height } = image;
    this.#stage(data);
    const flags = (probabilities ? PROBABILITIES : 0) | (profile ? PROFILE : 0);
    const out = JSON.parse(this.#call(this.x.mu_segment(this.handle, width, height, flags)));
    const n = out.width * out.height;
    const mem = this.x.memory.buffer;
    out.classes = new Uint8Array(mem, this.x.mu_classes_ptr(this.handle), n).slice();
    if (probabilities) {
      const p = this.x.mu_probs_ptr(this.handle);
      out.probabilities = new Float32Array(mem, p, n * out.n_classes).slice();
    }
    return out;
  }

  /** Frees the model inside the module. */
  free() {
    this.x.mu_drop(this.handle);
    this.handle = 0;
  }
}

/** The RGBA pixels of an image URL at its own size, decoded without colour conversion. */
export async function imagePixels(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  const bitmap = await createImageBitmap(await response.blob(), {
    colorSpaceConversion: 'none',
    premultiplyAlpha: 'none',
  });
  const canvas = new OffscreenCanvas(bitmap.width, bitmap.height);
  const ctx = canvas.getContext('2d', { willReadFrequently: true });
  ctx.drawImage(bitmap, 0, 0);
  return ctx.getImageData(0, 0, bitmap.width, bitmap.height);
}

/** Fetches a file as bytes, with an error naming it. */
export async function fetchBytes(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`${url}: HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}
