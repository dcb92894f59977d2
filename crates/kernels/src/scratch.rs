//! Per-thread scratch buffers that survive from call to call, so a warmed-up kernel allocates
//! nothing.
//!
//! A kernel keeps its scratch (packed A panels, Winograd's V and M, small-N's tap list) in a
//! thread-local [`ScratchStack`] and borrows it with [`with_scratch`]. It is a *stack* of
//! buffers, not one buffer, because rayon may run another kernel's work item on this thread
//! while this one waits inside a parallel loop (work stealing): the nested call takes the next
//! buffer down, grows it once, and hands it back. After the first few calls every nesting
//! depth that occurs has a buffer of the size it needs, and no call allocates again.
//!
//! [`recycle`] lets a buffer of borrowed slices (Winograd's output pieces, which borrow the
//! output of one call) keep its allocation from one call to the next.

use std::cell::RefCell;
use std::thread::LocalKey;

/// Spare buffers of one thread, the most recently returned on top.
pub(crate) struct ScratchStack<T>(RefCell<Vec<Vec<T>>>);

impl<T> ScratchStack<T> {
    /// An empty stack (no allocation until the first buffer is returned).
    pub(crate) const fn new() -> Self {
        ScratchStack(RefCell::new(Vec::new()))
    }
}

/// Runs `f` with a buffer from this thread's stack `key` (empty the first time; `f` grows it as
/// needed), then puts the buffer back, with its capacity, for the next call.
///
/// The stack is borrowed only to pop and to push, never while `f` runs, so a nested call on
/// the same thread (work stealing) gets the next buffer instead of a panic.
pub(crate) fn with_scratch<T: 'static, R>(
    key: &'static LocalKey<ScratchStack<T>>,
    f: impl FnOnce(&mut Vec<T>) -> R,
) -> R {
    let mut buf = key.with(|s| s.0.borrow_mut().pop()).unwrap_or_default();
    let result = f(&mut buf);
    // Pushing may grow the stack itself, but only the first time a nesting depth is reached.
    key.with(|s| s.0.borrow_mut().push(buf));
    result
}

/// An empty `Vec<U>` that owns `v`'s allocation, for a `U` of the same size and alignment as
/// `T` (in practice: the same type with another lifetime).
///
/// Collecting a `vec::IntoIter` through `filter_map` reuses the source buffer when the layouts
/// match (the standard library's in-place collection); nothing is ever converted, since every
/// element is dropped first. If a future standard library stopped reusing the buffer, this
/// would still be correct and only allocate again, which the model's allocation-counting test
/// would report.
pub(crate) fn recycle<T, U>(mut v: Vec<T>) -> Vec<U> {
    v.clear();
    v.into_iter().filter_map(|_| None).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    thread_local! {
        static STACK: ScratchStack<f32> = const { ScratchStack::new() };
    }

    #[test]
    fn nested_calls_get_their_own_buffer_and_keep_it() {
        let outer = with_scratch(&STACK, |a| {
            a.resize(10, 1.0);
            let inner = with_scratch(&STACK, |b| {
                assert!(b.is_empty(), "the nested call must not see the outer buffer");
                b.resize(3, 2.0);
                b.as_ptr() as usize
            });
            (a.as_ptr() as usize, inner)
        });
        // The outer buffer went back last, so it is on top: the next call gets it again.
        assert_eq!(
            with_scratch(&STACK, |a| (a.len(), a.as_ptr() as usize)),
            (10, outer.0)
        );
        let again = with_scratch(&STACK, |a| {
            with_scratch(&STACK, |b| (a.len(), b.as_ptr() as usize))
        });
        assert_eq!(again, (10, outer.1));
    }

    #[test]
    fn recycle_keeps_the_allocation() {
        let mut v: Vec<&'static str> = Vec::with_capacity(64);
        v.push("x");
        let p = v.as_ptr() as usize;
        let w: Vec<&str> = recycle(v);
        assert!(w.is_empty());
        assert_eq!((w.capacity(), w.as_ptr() as usize), (64, p));
    }
}
