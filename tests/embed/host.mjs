// What a JavaScript host supplies to the `tmi:auth/library` component
// (transpiled by jco with `instantiation`): an in-memory `wasi:keyvalue`,
// `wasi:config` from a plain object, a `tmi:auth/keyring` that verifies
// against the service's JWKS, and preview2-shim for the rest of WASI 0.2.
// Imports report an error by throwing its payload (`{ tag: 'unknown-key' }`).

import crypto from 'node:crypto';
import * as shim from '@bytecodealliance/preview2-shim';

/** `wasi:keyvalue/store` and `atomics` over Maps. Node runs one call at a
 * time, so compare-and-swap is atomic (say so: `host_store_cas_is_atomic`). */
export function memoryStore() {
  const buckets = new Map();
  class Bucket {
    constructor(map) { this.map = map; }
    get(key) { return this.map.get(key); }
    set(key, value) { this.map.set(key, Uint8Array.from(value)); }
    delete(key) { this.map.delete(key); }
    exists(key) { return this.map.has(key); }
    listKeys() { return { keys: [...this.map.keys()], cursor: undefined }; }
  }
  class Cas {
    static new(bucket, key) { return Object.assign(new Cas(), { bucket, key, seen: bucket.get(key) }); }
    current() { return this.seen; }
  }
  const same = (a, b) => a === b || (a !== undefined && b !== undefined && Buffer.compare(a, b) === 0);
  const open = (name) => {
    if (!buckets.has(name)) buckets.set(name, new Map());
    return new Bucket(buckets.get(name));
  };
  function increment(bucket, key, delta) {
    const old = bucket.get(key); // counters: 8 bytes, little-endian i64
    const value = BigInt.asIntN(64, (old ? Buffer.from(old).readBigInt64LE() : 0n) + delta);
    const bytes = Buffer.alloc(8);
    bytes.writeBigInt64LE(value);
    bucket.set(key, bytes);
    return value;
  }
  function swap(cas, value) {
    if (!same(cas.bucket.get(cas.key), cas.seen)) throw { tag: 'cas-failed', val: cas };
    cas.bucket.set(cas.key, value);
  }
  return { store: { Bucket, open }, atomics: { Cas, increment, swap } };
}

/** `wasi:config/store` over an object of settings (values as strings). */
export function config(settings, { casIsAtomic = true } = {}) {
  const pairs = Object.entries(settings).map(([k, v]) => [k, String(v)]);
  const get = (key) => {
    if (key === 'host_store_cas_is_atomic') return String(casIsAtomic);
    return pairs.find(([k]) => k === key)?.[1];
  };
  return { get, getAll: () => pairs };
}

/** `tmi:auth/keyring` that only verifies, with the public keys of a JWKS
 * (`GET <service>/.well-known/jwks.json`). HS256 keys are published
 * without their secret, so they are unknown here; so is any `kid` whose
 * published `alg` is not the one asked for. */
export function jwksKeyring(jwks) {
  const algorithms = { eddsa: ['EdDSA', null], es256: ['ES256', 'sha256'], rs256: ['RS256', 'sha256'] };
  const verifyOnly = { tag: 'unavailable', val: 'this keyring only verifies' };
  function verify(kid, alg, data, signature) {
    const jwk = jwks.keys.find((k) => k.kid === kid);
    const [name, hash] = algorithms[alg] ?? [];
    if (!jwk || !name || jwk.alg !== name) throw { tag: 'unknown-key' };
    try {
      // ES256 signatures in a JWS are r || s, not DER.
      return crypto.verify(hash, data, { key: jwk, format: 'jwk', dsaEncoding: 'ieee-p1363' }, signature);
    } catch {
      return false; // e.g. a signature of the wrong length
    }
  }
  return {
    signingKey() { throw verifyOnly; },
    sign() { throw verifyOnly; },
    verify,
    publicKeys: () => jwks.keys.map((k) => JSON.stringify(k)),
  };
}

/** The import object for jco's `instantiate`: ours by name, the standard
 * WASI interfaces (`wasi:cli/stdout`, …) from preview2-shim. */
export function libraryImports({ settings, jwks, store = memoryStore() }) {
  const ours = {
    'wasi:keyvalue/store': store.store,
    'wasi:keyvalue/atomics': store.atomics,
    'wasi:config/store': config(settings),
    'tmi:auth/keyring': jwksKeyring(jwks),
  };
  const wasi = (name) => {
    const [, pkg, iface = ''] = name.match(/^wasi:([\w-]+)\/([\w-]+)$/) ?? [];
    return shim[pkg]?.[iface.replace(/-(\w)/g, (_, c) => c.toUpperCase())];
  };
  return new Proxy(ours, { get: (target, name) => target[name] ?? wasi(String(name)) });
}
