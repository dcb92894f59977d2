# Thread functions that Rust's std for wasm32-wasip1 links against but Debian's wasi-libc
# (2022) lacks, for the kernels' test binaries run under node's WASI (tools/build-wasm.sh).
# WASI preview 1 has no threads: pthread_create fails with ENOSYS (52), which std reports as
# io::ErrorKind::Unsupported, and rayon then runs its pool on the calling thread (its
# documented fallback for WebAssembly). The attribute calls succeed and do nothing; join and
# detach are never reached, since no thread is ever created.
# Assembled by llvm-mc: llvm-mc-22 --triple=wasm32-wasi -filetype=obj FILE -o FILE.o
	.text

	.globl pthread_create
	.type pthread_create,@function
pthread_create:
	.functype pthread_create (i32, i32, i32, i32) -> (i32)
	i32.const 52
	end_function

	.globl pthread_join
	.type pthread_join,@function
pthread_join:
	.functype pthread_join (i32, i32) -> (i32)
	i32.const 52
	end_function

	.globl pthread_detach
	.type pthread_detach,@function
pthread_detach:
	.functype pthread_detach (i32) -> (i32)
	i32.const 52
	end_function

	.globl pthread_attr_init
	.type pthread_attr_init,@function
pthread_attr_init:
	.functype pthread_attr_init (i32) -> (i32)
	i32.const 0
	end_function

	.globl pthread_attr_setstacksize
	.type pthread_attr_setstacksize,@function
pthread_attr_setstacksize:
	.functype pthread_attr_setstacksize (i32, i32) -> (i32)
	i32.const 0
	end_function

	.globl pthread_attr_destroy
	.type pthread_attr_destroy,@function
pthread_attr_destroy:
	.functype pthread_attr_destroy (i32) -> (i32)
	i32.const 0
	end_function
