//! The exported functions: integers in, integers out, every buffer owned by Rust.
//!
//! ```text
//! ptr = mu_staging(len)            a zeroed buffer of len bytes; JavaScript copies data into it
//! h   = mu_load()                  the staged bytes as a weights file -> engine handle (0: error)
//! r   = mu_info(h)                 text = the model's JSON (input size, classes, tier)
//! r   = mu_segment(h, w, h, flags) the staged bytes as w x h RGBA; flags: 1 probabilities, 2 profile
//! p   = mu_classes_ptr(h)          the class map, u8 [h/2, w/2]
//! p   = mu_probs_ptr(h)            the probabilities, f32 [h/2 · w/2, classes] (0 if not kept)
//! p, n = mu_text_ptr(), mu_text_len()   the JSON or the error message of the last call
//! mu_drop(h)                       frees the engine
//! ```
//!
//! `r` is 0 on success and 1 on failure, with the error's message as the text. Pointers are
//! byte offsets into the module's memory and stay valid until the next call that changes the
//! same buffer (or grows the memory: JavaScript re-reads `memory.buffer` after each call).
//! Handles index a table of engines, so a wrong handle is an error, never a dangling pointer,
//! and there is no `unsafe` here: Rust never turns a number from JavaScript into a reference.
//!
//! The module has one thread (WebAssembly in a page without `SharedArrayBuffer`), so the
//! state lives in a thread-local.

use crate::engine::{Engine, Flags};
use std::cell::RefCell;

/// What the module keeps between calls.
#[derive(Default)]
struct State {
    /// Engines by handle - 1; `None` once dropped.
    engines: Vec<Option<Engine>>,
    /// The buffer JavaScript fills before `mu_load` / `mu_segment`.
    staging: Vec<u8>,
    /// The last call's JSON or error message.
    text: String,
}

thread_local! {
    static STATE: RefCell<State> = RefCell::new(State::default());
}

impl State {
    fn engine(&mut self, handle: u32) -> Result<&mut Engine, String> {
        (handle as usize)
            .checked_sub(1)
            .and_then(|i| self.engines.get_mut(i))
            .and_then(Option::as_mut)
            .ok_or_else(|| format!("no engine with handle {handle} (dropped, or never loaded)"))
    }

    /// 0 and `text = ok` on success, 1 and `text = the message` on failure.
    fn finish(&mut self, result: Result<String, String>) -> u32 {
        match result {
            Ok(text) => {
                self.text = text;
                0
            }
            Err(message) => {
                self.text = message;
                1
            }
        }
    }
}

fn with_state<R>(f: impl FnOnce(&mut State) -> R) -> R {
    STATE.with(|s| f(&mut s.borrow_mut()))
}

/// A zeroed staging buffer of `len` bytes (replacing the previous one); its address.
#[no_mangle]
pub extern "C" fn mu_staging(len: usize) -> *mut u8 {
    with_state(|s| {
        s.staging.clear();
        s.staging.resize(len, 0);
        s.staging.as_mut_ptr()
    })
}

/// Loads the staged bytes as a weights file: an engine handle (1, 2, ...), or 0 on error
/// (the message is the text). Frees the staging buffer.
#[no_mangle]
pub extern "C" fn mu_load() -> u32 {
    with_state(|s| {
        let bytes = std::mem::take(&mut s.staging);
        match Engine::load(&bytes) {
            Ok(engine) => {
                s.engines.push(Some(engine));
                s.text.clear();
                s.engines.len() as u32
            }
            Err(message) => {
                s.text = message;
                0
            }
        }
    })
}

/// Frees an engine (a wrong or dropped handle is ignored).
#[no_mangle]
pub extern "C" fn mu_drop(handle: u32) {
    with_state(|s| {
        if let Some(slot) = (handle as usize)
            .checked_sub(1)
            .and_then(|i| s.engines.get_mut(i))
        {
            *slot = None;
        }
    })
}

/// The engine's model as JSON in the text (see `Engine::info`).
#[no_mangle]
pub extern "C" fn mu_info(handle: u32) -> u32 {
    with_state(|s| {
        let info = s.engine(handle).map(|e| e.info().to_string());
        s.finish(info)
    })
}

/// Segments the staged `width x height` RGBA bytes; `flags` bit 0 keeps the probabilities,
/// bit 1 times every layer. The text is the output's JSON (see `Engine::output_json`).
#[no_mangle]
pub extern "C" fn mu_segment(handle: u32, width: u32, height: u32, flags: u32) -> u32 {
    with_state(|s| {
        let State { engines, staging, .. } = &mut *s;
        let result = match (handle as usize).checked_sub(1).and_then(|i| engines.get_mut(i)) {
            Some(Some(engine)) => engine
                .segment_rgba(staging, width as usize, height as usize, Flags::from_bits(flags))
                .map(|()| engine.output_json().to_string()),
            _ => Err(format!(
                "no engine with handle {handle} (dropped, or never loaded)"
            )),
        };
        s.finish(result)
    })
}

/// The address of the last class map (`u8`, `[height/2, width/2]`), 0 for a wrong handle.
#[no_mangle]
pub extern "C" fn mu_classes_ptr(handle: u32) -> *const u8 {
    with_state(|s| {
        s.engine(handle)
            .map_or(std::ptr::null(), |e| e.output.classes.as_ptr())
    })
}

/// The address of the last probabilities (`f32`), 0 if they were not kept.
#[no_mangle]
pub extern "C" fn mu_probs_ptr(handle: u32) -> *const f32 {
    with_state(|s| match s.engine(handle) {
        Ok(e) if !e.output.probabilities.is_empty() => e.output.probabilities.as_ptr(),
        _ => std::ptr::null(),
    })
}

/// The address of the last call's text (UTF-8).
#[no_mangle]
pub extern "C" fn mu_text_ptr() -> *const u8 {
    with_state(|s| s.text.as_ptr())
}

/// The length in bytes of the last call's text.
#[no_mangle]
pub extern "C" fn mu_text_len() -> usize {
    with_state(|s| s.text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text() -> String {
        with_state(|s| s.text.clone())
    }

    #[test]
    fn bad_weights_are_a_message_not_a_panic() {
        let p = mu_staging(16);
        assert!(!p.is_null());
        assert_eq!(mu_load(), 0);
        assert!(!text().is_empty(), "an error message");
    }

    #[test]
    fn wrong_handles_are_errors() {
        assert_eq!(mu_info(0), 1);
        assert!(text().contains("no engine with handle 0"), "{}", text());
        assert_eq!(mu_segment(77, 16, 16, 0), 1);
        assert!(mu_classes_ptr(77).is_null() && mu_probs_ptr(77).is_null());
        mu_drop(77);
    }
}
