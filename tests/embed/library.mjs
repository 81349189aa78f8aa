#!/usr/bin/env node
// The `tmi:auth/library` component embedded in Node through jco: transpile
// it (once per component build, into target/embed-js/<hash>/), supply its
// imports (host.mjs), make the calls read from stdin, print the answers.
//
//   node tests/embed/library.mjs --config '{"base_url": "http://127.0.0.1:8080", "dev_mode": "true"}' \
//        --jwks http://127.0.0.1:8080/.well-known/jwks.json <<< '[["pkce.challenge", "…"], ["tokens.verify", "…"]]'
//
// Each call is [interface.function, ...arguments] (WIT names); the answer
// to each is {"ok": value} or {"error": payload}, in order, as one JSON list.

import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';

import { libraryImports } from './host.mjs';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const { values: opts } = parseArgs({
  options: {
    config: { type: 'string', default: process.env.TMI_EMBED_CONFIG ?? '{}' },
    jwks: { type: 'string' }, // a URL, or a file holding the JWKS
    component: { type: 'string', default: path.join(REPO, 'target/wasm32-wasip2/release/tmi_auth_library.wasm') },
    out: { type: 'string', default: path.join(REPO, 'target/embed-js') },
  },
});

/** jco's output for this component (and this jco), made if missing. */
async function transpiled(component, outRoot) {
  const wasm = fs.readFileSync(component);
  const jcoVersion = JSON.parse(fs.readFileSync(path.join(REPO, 'tests/node_modules/@bytecodealliance/jco/package.json'))).version;
  const hash = crypto.createHash('sha256').update(wasm).update(jcoVersion).digest('hex').slice(0, 16);
  const dir = path.join(outRoot, hash);
  if (!fs.existsSync(path.join(dir, 'library.js'))) {
    const { transpile } = await import('@bytecodealliance/jco');
    const { files } = await transpile(wasm, { name: 'library', instantiation: 'async', noTypescript: true, quiet: true });
    const tmp = fs.mkdtempSync(path.join(outRoot, '.tmp-'));
    for (const [name, bytes] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(tmp, name)), { recursive: true });
      fs.writeFileSync(path.join(tmp, name), bytes);
    }
    try {
      fs.renameSync(tmp, dir);
    } catch (e) {
      fs.rmSync(tmp, { recursive: true, force: true }); // another run made it first
      if (!fs.existsSync(path.join(dir, 'library.js'))) throw e;
    }
  }
  return dir;
}

async function loadJwks(source) {
  if (!source) return { keys: [] };
  if (/^https?:/.test(source)) {
    const response = await fetch(source);
    if (!response.ok) throw new Error(`GET ${source}: ${response.status}`);
    return response.json();
  }
  return JSON.parse(fs.readFileSync(source, 'utf8'));
}

const toJson = (value) => (value === undefined ? null : JSON.parse(JSON.stringify(value, (_, v) => (typeof v === 'bigint' ? Number(v) : v))));

fs.mkdirSync(opts.out, { recursive: true });
const dir = await transpiled(opts.component, opts.out);
const { instantiate } = await import(pathToFileURL(path.join(dir, 'library.js')));
const imports = libraryImports({ settings: JSON.parse(opts.config), jwks: await loadJwks(opts.jwks) });
const library = await instantiate((file) => WebAssembly.compile(fs.readFileSync(path.join(dir, file))), imports);

const calls = JSON.parse(fs.readFileSync(0, 'utf8'));
const answers = calls.map(([name, ...args]) => {
  const [iface, fn] = name.split('.');
  const call = library[iface]?.[(fn ?? '').replace(/-(\w)/g, (_, c) => c.toUpperCase())];
  if (!call) return { error: `no such function: ${name}` };
  try {
    return { ok: toJson(call(...args)) };
  } catch (e) {
    if (e && 'payload' in e) return { error: toJson(e.payload) }; // the call's `err`
    throw e; // a trap
  }
});
process.stdout.write(JSON.stringify(answers) + '\n');
