#!/usr/bin/env node
// The start of a Trellis app bundle, written as dist/main.js by the app build (tools/app-start.ts).
//
// Node 20 keeps no compiled code for ES modules between runs, and compiling the bundle was a third of a
// cold start. So the build also writes every module of the bundle that the main thread runs as a
// CommonJS-style script in start/ (same code, same module boundaries: main and its chunks), and V8's code
// cache of the ones a start runs, produced by a training start at build time. This file runs those
// scripts through `vm.Script` with that cache. A cache V8 refuses (another Node or V8 version, other V8
// flags) or one that belongs to other script text is ignored: the script is compiled from its source,
// as without a cache. Chunks reached only by a dynamic import stay unread until that import runs.
// Worker threads do not come here: they load their own ES module files beside this one.
import { createHash } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isAscii } from 'node:buffer';
import { Script, constants } from 'node:vm';

const dist = dirname(fileURLToPath(import.meta.url));
const scripts = join(dist, 'start');
const nodeRequire = createRequire(import.meta.url);
/** Chunk name (`chunk-….js`) → its module record, filled while the chunk runs (cycles see it part-built). */
const modules = new Map();
/** Set by the build's training start only: write each script's code cache when the process exits. */
const training = process.env.TRELLIS_CODE_CACHE === 'write' ? [] : undefined;
const HASH_BYTES = 20;

/** What `require` is inside a script: the bundle's chunks by their relative name, anything else Node's. */
const chunkRequire = Object.assign(
  (id) => (/^\.\/(?:chunk-[^/]+|main)\.js$/.test(id) ? load(id.slice(2)) : nodeRequire(id)),
  { resolve: nodeRequire.resolve, cache: nodeRequire.cache, main: nodeRequire.main },
);

function cachedDataFor(name, hash) {
  let cache;
  try {
    cache = readFileSync(join(scripts, name.replace(/\.js$/, '.cache')));
  } catch {
    return undefined;
  }
  // The cache starts with the SHA-1 of the script it was made from: V8 itself only compares lengths.
  return cache.length > HASH_BYTES && cache.subarray(0, HASH_BYTES).equals(hash)
    ? cache.subarray(HASH_BYTES)
    : undefined;
}

function load(name) {
  const known = modules.get(name);
  if (known) return known.exports;
  const module = { exports: {} };
  modules.set(name, module);
  const file = join(scripts, name.replace(/\.js$/, '.cjs'));
  const bytes = readFileSync(file);
  const hash = createHash('sha1').update(bytes).digest();
  const script = new Script(bytes.toString(isAscii(bytes) ? 'latin1' : 'utf8'), {
    filename: file,
    cachedData: training ? undefined : cachedDataFor(name, hash),
    // Every import() of the bundle is a require() of a chunk by now; this serves any other one.
    importModuleDynamically: constants.USE_MAIN_CONTEXT_DEFAULT_LOADER,
  });
  training?.push({ name, hash, script });
  // The module's own file name is the ES module's it was made from, so that paths relative to it hold.
  const filename = join(dist, name);
  try {
    script.runInThisContext()(module.exports, chunkRequire, module, filename, dist, pathToFileURL(filename).href);
  } catch (error) {
    // As Node forgets a module that threw: the next require() runs it again rather than see it half-built.
    modules.delete(name);
    throw error;
  }
  return module.exports;
}

if (training)
  process.on('exit', () => {
    try {
      for (const { name, hash, script } of training)
        writeFileSync(join(scripts, name.replace(/\.js$/, '.cache')), Buffer.concat([hash, script.createCachedData()]));
    } catch (error) {
      // The build says which caches are missing; the app's own exit stays as it was.
      process.stderr.write(`code cache not written: ${error instanceof Error ? error.message : String(error)}\n`);
    }
  });

load('main.js');
