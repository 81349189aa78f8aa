//! The configuration in one `wasi:config` value.
//!
//! `get-all` with one pair per setting costs the component two allocations
//! in its own memory per pair, made by calls from the host into the guest,
//! on every request (a fresh instance each time): about a sixth of a
//! `/healthz`. A host that has checked its configuration at startup can
//! instead answer `get-all` with one pair, [`KEY`], whose value holds every
//! setting, the secrets the configuration names and anything else the
//! component asks the host by name (e.g. [`ATOMIC_CAS_CONFIG_KEY`]), as a
//! JSON object of strings. Other runtimes (Spin, the plugin hosts) list
//! their pairs as usual; the component accepts both.
//!
//! [`ATOMIC_CAS_CONFIG_KEY`]: crate::store::lease::ATOMIC_CAS_CONFIG_KEY

use std::collections::BTreeMap;

/// The one key of a bundled `get-all`.
pub const KEY: &str = "tmi_config_bundle";

/// Pack pairs into the bundle's value.
pub fn encode<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let map: BTreeMap<&str, &str> = pairs.into_iter().collect();
    serde_json::to_string(&map).unwrap_or_default()
}

/// The pairs of `get-all`: a bundle unpacked, or the pairs as they came.
/// A bundle that does not decode yields no pairs, so the configuration is
/// reported missing (`base_url`) rather than half-read.
pub fn unpack(mut pairs: Vec<(String, String)>) -> Vec<(String, String)> {
    match pairs.as_slice() {
        [(key, _)] if key == KEY => {
            let (_, value) = pairs.remove(0);
            serde_json::from_str::<BTreeMap<String, String>>(&value).map(|map| map.into_iter().collect()).unwrap_or_default()
        }
        _ => pairs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bundle_round_trips_and_plain_pairs_pass_through() {
        let pairs = [("base_url", "https://auth.example"), ("client_secret_pepper", "p\"e\\pper\n")];
        let bundle = encode(pairs);
        let unpacked = unpack(vec![(KEY.to_string(), bundle)]);
        let expected: Vec<(String, String)> = pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        assert_eq!(unpacked, expected);

        let plain = vec![("base_url".to_string(), "https://auth.example".to_string())];
        assert_eq!(unpack(plain.clone()), plain);
    }

    #[test]
    fn a_broken_bundle_yields_nothing() {
        assert!(unpack(vec![(KEY.to_string(), "{\"base_url\": 1}".to_string())]).is_empty());
        assert!(unpack(vec![(KEY.to_string(), "not json".to_string())]).is_empty());
    }
}
