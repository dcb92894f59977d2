// Runs a wasm32-wasip1 command module (a test binary of the kernels crate) under node's WASI:
// the cargo runner of tools/build-wasm.sh. Arguments after the module go to it (libtest's
// filters and flags); its exit status becomes node's.
//   node --no-warnings tools/wasm/run_wasi.mjs TEST.wasm [ARGS...]
import { readFile } from 'node:fs/promises';
import { WASI } from 'node:wasi';
import { argv, env } from 'node:process';

const wasi = new WASI({ version: 'preview1', args: argv.slice(2), env, returnOnExit: true });
const module = await WebAssembly.compile(await readFile(argv[2]));
const instance = await WebAssembly.instantiate(module, wasi.getImportObject());
process.exit(wasi.start(instance));
