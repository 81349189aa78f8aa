"""The `tmi:auth/library` component embedded in Python through wasmtime-py's
component API: the imports supplied from Python (an in-memory
`wasi:keyvalue`, `wasi:config` from a dict, a `tmi:auth/keyring` verifying
with the service's JWKS through `cryptography`), WASI 0.2 from wasmtime.

    python tests/embed/library.py --config '{"base_url": "http://127.0.0.1:8080", "dev_mode": "true"}' \\
        --jwks http://127.0.0.1:8080/.well-known/jwks.json <<< '[["pkce.challenge", "…"], ["tokens.verify", "…"]]'

Each call is [interface.function, ...arguments] (WIT names); the answer to
each is {"ok": value} or {"error": payload}, in order, as one JSON list.

How wasmtime-py maps WIT values: records are `Record` objects whose
attributes are the WIT field names (`getattr(claims, "session-id")`), enums
are strings, lists of u8 are bytes, resources are `ResourceHost`/`ResourceAny`
handles. A variant (result and option included) is a `Variant(tag, payload)`
only when its cases lift to the same Python types; otherwise it is untagged:
the keyring's `error` is None for `unknown-key` and the message itself for
`unavailable(m)`, and a `result<bool, error>` is True, False, None or m."""

import argparse
import base64
import hashlib
import importlib.metadata
import json
import os
import sys
import urllib.request
from pathlib import Path

import wasmtime
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from wasmtime import component as cm

REPO = Path(__file__).resolve().parents[2]
KEYVALUE = "@0.2.0-draft2"

# Host resource types, by id.
BUCKET, CAS = 1, 2


class MemoryStore:
    """`wasi:keyvalue/store` and `atomics` over dicts. Calls come one at a
    time (one store, one thread), so compare-and-swap is atomic."""

    def __init__(self):
        self.buckets = {}
        self.handles = {}  # resource rep → (bucket dict, key, value seen) or bucket dict
        self.next_rep = 1

    def _new(self, value, ty):
        rep, self.next_rep = self.next_rep, self.next_rep + 1
        self.handles[rep] = value
        return cm.ResourceHost.own(rep, ty)

    def _get(self, store, resource):
        return self.handles[resource.to_host(store).rep]

    def _drop(self, _store, rep):
        self.handles.pop(rep, None)

    def define(self, root):
        with root.add_instance(f"wasi:keyvalue/store{KEYVALUE}") as kv:
            kv.add_resource("bucket", cm.ResourceType.host(BUCKET), self._drop)
            kv.add_func("open", self._open)
            kv.add_func("[method]bucket.get", self._get_value)
            kv.add_func("[method]bucket.set", self._set_value)
            kv.add_func("[method]bucket.delete", self._delete_value)
            kv.add_func("[method]bucket.exists", lambda store, bucket, key: key in self._get(store, bucket))
            kv.add_func("[method]bucket.list-keys", self._list_keys)
        with root.add_instance(f"wasi:keyvalue/atomics{KEYVALUE}") as atomics:
            atomics.add_resource("cas", cm.ResourceType.host(CAS), self._drop)
            atomics.add_func("[static]cas.new", self._cas_new)
            atomics.add_func("[method]cas.current", lambda store, cas: self._get(store, cas)[2])
            atomics.add_func("increment", self._increment)
            atomics.add_func("swap", self._swap)

    def _open(self, _store, name):
        return self._new(self.buckets.setdefault(name, {}), BUCKET)

    def _get_value(self, store, bucket, key):
        return self._get(store, bucket).get(key)

    def _set_value(self, store, bucket, key, value):
        self._get(store, bucket)[key] = bytes(value)

    def _delete_value(self, store, bucket, key):
        self._get(store, bucket).pop(key, None)

    def _list_keys(self, store, bucket, _cursor):
        record = cm.Record()
        record.keys, record.cursor = list(self._get(store, bucket)), None
        return record

    def _cas_new(self, store, bucket, key):
        data = self._get(store, bucket)
        return self._new((data, key, data.get(key)), CAS)

    def _increment(self, store, bucket, key, delta):
        data = self._get(store, bucket)  # counters: 8 bytes, little-endian i64
        old = int.from_bytes(data[key], "little", signed=True) if key in data else 0
        value = (old + delta + 2**63) % 2**64 - 2**63
        data[key] = value.to_bytes(8, "little", signed=True)
        return value

    def _swap(self, store, cas, value):
        rep = cas.to_host(store).rep
        data, key, seen = self.handles.pop(rep)
        if data.get(key) != seen:
            return self._new((data, key, seen), CAS)  # cas-failed(cas), untagged
        data[key] = bytes(value)
        return None


def define_config(root, settings, cas_is_atomic=True):
    """`wasi:config/store` over a dict of settings (values as strings)."""
    pairs = [(k, str(v)) for k, v in settings.items()]
    values = dict(pairs)

    def get(_store, key):
        if key == "host_store_cas_is_atomic":  # answered, never listed
            return str(cas_is_atomic).lower()
        return values.get(key)

    with root.add_instance("wasi:config/store@0.2.0-draft-2024-09-27") as config:
        config.add_func("get", get)
        config.add_func("get-all", lambda _store: pairs)


def define_keyring(root, jwks):
    """`tmi:auth/keyring` that only verifies, with the public keys of a
    JWKS. HS256 keys are published without their secret, so they are
    unknown here, as is a `kid` whose `alg` is not the one asked for."""
    names = {"eddsa": "EdDSA", "es256": "ES256", "rs256": "RS256"}
    # `error` lifts untagged: `unknown-key` is None, `unavailable(m)` is m.
    unknown_key, verify_only = None, "this keyring only verifies"

    def b64(s):
        return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))

    def public_key(jwk):
        if jwk["kty"] == "EC":
            return ec.EllipticCurvePublicNumbers(int.from_bytes(b64(jwk["x"]), "big"), int.from_bytes(b64(jwk["y"]), "big"), ec.SECP256R1()).public_key()
        if jwk["kty"] == "OKP":
            return ed25519.Ed25519PublicKey.from_public_bytes(b64(jwk["x"]))
        return rsa.RSAPublicNumbers(int.from_bytes(b64(jwk["e"]), "big"), int.from_bytes(b64(jwk["n"]), "big")).public_key()

    def verify(_store, kid, alg, data, signature):
        jwk = next((k for k in jwks["keys"] if k.get("kid") == kid), None)
        if jwk is None or names.get(alg) != jwk.get("alg"):
            return unknown_key
        key, data, signature = public_key(jwk), bytes(data), bytes(signature)
        try:
            if alg == "es256":  # JWS: r || s, not DER
                if len(signature) != 64:
                    return False
                der = encode_dss_signature(int.from_bytes(signature[:32], "big"), int.from_bytes(signature[32:], "big"))
                key.verify(der, data, ec.ECDSA(hashes.SHA256()))
            elif alg == "rs256":
                key.verify(signature, data, padding.PKCS1v15(), hashes.SHA256())
            else:
                key.verify(signature, data)
        except InvalidSignature:
            return False
        return True

    with root.add_instance("tmi:auth/keyring@0.2.0") as keyring:
        keyring.add_func("signing-key", lambda _store: verify_only)
        keyring.add_func("sign", lambda _store, kid, alg, data: verify_only)
        keyring.add_func("verify", verify)
        keyring.add_func("public-keys", lambda _store: [json.dumps(k) for k in jwks["keys"]])


class Library:
    """One instance of the component, with its imports."""

    def __init__(self, component_path, settings, jwks, cache_dir=REPO / "target" / "embed-py"):
        self.engine = wasmtime.Engine()
        self.component = self._compiled(Path(component_path), Path(cache_dir))
        linker = cm.Linker(self.engine)
        linker.add_wasip2()
        self.kv = MemoryStore()
        with linker.root() as root:
            self.kv.define(root)
            define_config(root, settings)
            define_keyring(root, jwks)
        self.store = wasmtime.Store(self.engine)
        self.store.set_wasi(wasmtime.WasiConfig())
        self.instance = linker.instantiate(self.store, self.component)

    def _compiled(self, path, cache_dir):
        """Compiling takes seconds: keep the compiled component, by hash."""
        wasm = path.read_bytes()
        digest = hashlib.sha256(wasm + importlib.metadata.version("wasmtime").encode()).hexdigest()[:16]
        cached = cache_dir / f"library-{digest}.cwasm"
        if cached.exists():
            return cm.Component.deserialize_file(self.engine, str(cached))
        component = cm.Component(self.engine, wasm)
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = cache_dir / f".{cached.name}.{os.getpid()}"
        tmp.write_bytes(component.serialize())
        tmp.replace(cached)
        return component

    def call(self, interface, function, *args):
        """Call `interface.function` (e.g. `tokens`, `verify`): {"ok": value}
        or {"error": payload}, as JSON values."""
        index = self.instance.get_export_index(self.store, f"tmi:auth/{interface}@0.2.0")
        export = index and self.instance.get_export_index(self.store, function, index)
        func = export and self.instance.get_func(self.store, export)
        if func is None:
            return {"error": f"no such function: {interface}.{function}"}
        result_type = func.type(self.store).result
        value = func(self.store, *args)
        func.post_return(self.store)
        if not isinstance(result_type, cm.ResultType):
            return {"ok": plain(value)}
        if result_type._tagged():  # both cases lift to the same Python types: Variant('ok'|'err', …)
            return {value.tag if value.tag == "ok" else "error": plain(value.payload)}
        err_classes = set()
        if result_type.err is not None:
            result_type.err.add_classes(err_classes)
        is_err = result_type.err is not None and isinstance(value, tuple(err_classes))
        return {"error": plain(value)} if is_err else {"ok": plain(value)}


def plain(value):
    """wasmtime-py values as JSON."""
    if isinstance(value, cm.Variant):
        return {"tag": value.tag, "val": plain(value.payload)} if value.payload is not None else {"tag": value.tag}
    if isinstance(value, cm.Record):
        return {k: plain(v) for k, v in vars(value).items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    if isinstance(value, (bytes, bytearray)):
        return list(value)
    return value


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", default="{}", help="settings, as a JSON object")
    parser.add_argument("--jwks", help="the JWKS: a URL or a file")
    parser.add_argument("--component", default=REPO / "target" / "wasm32-wasip2" / "release" / "tmi_auth_library.wasm")
    opts = parser.parse_args()
    jwks = {"keys": []}
    if opts.jwks and opts.jwks.startswith(("http:", "https:")):
        with urllib.request.urlopen(opts.jwks, timeout=10) as r:
            jwks = json.load(r)
    elif opts.jwks:
        jwks = json.loads(Path(opts.jwks).read_text())
    library = Library(opts.component, json.loads(opts.config), jwks)
    answers = [library.call(*name.split("."), *args) for name, *args in json.load(sys.stdin)]
    print(json.dumps(answers))


if __name__ == "__main__":
    main()
