//! # mobilenet-unet-wasm
//!
//! The engine for web pages: the `mobilenet-unet` model compiled to a WebAssembly module that
//! a page drives through a handful of exported functions, wrapped for JavaScript by
//! `docs/src/try/engine.js` (the only intended caller; it turns every error into a JavaScript
//! `Error`). Built by `tools/build-wasm.sh` with SIMD128, so the kernels run their
//! [`Tier::WasmSimd128`](mobilenet_unet_kernels::Tier) tier; see the book's "Try it" chapter.
//!
//! # Why plain exports and not wasm-bindgen
//!
//! wasm-bindgen generates the JavaScript glue with its command-line tool, whose version must
//! match the crate's exactly; the tool is not in Debian, so every build (and CI) would first
//! compile it from crates.io, several minutes on a small machine, for an interface of nine
//! functions that pass integers and byte buffers. Plain `extern "C"` exports need no tool, the
//! module is smaller, and the glue (`engine.js`, about a hundred lines) is code a reader can
//! follow. The price, raw pointers across the boundary, is avoided rather than paid: the
//! exports take and return only integers, and every buffer belongs to Rust ([`api`]).
//!
//! # The interface
//!
//! JavaScript asks for a buffer of `len` bytes in the module's memory (`mu_staging`), copies
//! the weights file (or the RGBA pixels of a canvas) into it, then calls `mu_load` (or
//! `mu_segment`). Results stay in Rust-owned vectors whose addresses the module hands out
//! (`mu_classes_ptr`, `mu_probs_ptr`) and text (JSON, or an error message) in one string
//! (`mu_text_ptr`, `mu_text_len`). A call that fails returns 0 (`mu_load`) or 1 (the others)
//! and leaves the error's message as the text: nothing panics on bad input, so nothing traps.
//!
//! The same functions build natively (the crate is an `rlib` too), so the workspace's tests
//! and lints cover them, and `examples/make_fixtures.rs` uses [`Engine`] to write the
//! native engine's answers that the browser self-test compares with.

#![warn(missing_docs)]

pub mod api;
mod clock;
mod engine;

pub use engine::{Engine, Flags, Output};
