//! The key set both keyrings hold (the host's native one and the keyring
//! component): unique key ids, one key that signs new tokens, the published
//! JWKs, and lookup by key id *and* algorithm. Only the key material and
//! its signing differ between the two, so that is all they implement.

use crate::ports::Algorithm;

/// One key of a [`KeySet`].
pub trait KeyEntry {
    /// The key id (`kid`).
    fn kid(&self) -> &str;
    /// The one algorithm this key is used with.
    fn alg(&self) -> Algorithm;
    /// The JWK of its public half (see [`crate::jwk`]).
    fn jwk(&self) -> String;
}

/// Keys with the index of the one that signs new tokens.
#[derive(Debug)]
pub struct KeySet<K> {
    keys: Vec<K>,
    signing: usize,
    jwks: Vec<String>,
}

impl<K: KeyEntry> KeySet<K> {
    /// `keys`, of which `keys[signing]` signs; key ids must be unique.
    pub fn new(keys: Vec<K>, signing: usize) -> Result<Self, String> {
        if signing >= keys.len() {
            return Err("no signing key".into());
        }
        for (i, key) in keys.iter().enumerate() {
            if keys[..i].iter().any(|k| k.kid() == key.kid()) {
                return Err(format!("duplicate key id {:?}", key.kid()));
            }
        }
        let jwks = keys.iter().map(K::jwk).collect();
        Ok(KeySet { keys, signing, jwks })
    }

    /// The key `kid` if it has algorithm `alg`. A kid asked for with
    /// another algorithm is unknown, so a token cannot pick a weaker
    /// algorithm for a known key (RFC 8725 §2.1).
    pub fn find(&self, kid: &str, alg: Algorithm) -> Option<&K> {
        self.keys.iter().find(|k| k.kid() == kid && k.alg() == alg)
    }

    /// The id and algorithm of the key that signs new tokens.
    pub fn signing_key(&self) -> (&str, Algorithm) {
        let key = &self.keys[self.signing];
        (key.kid(), key.alg())
    }

    /// Every key's JWK.
    pub fn public_keys(&self) -> &[String] {
        &self.jwks
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether there are none (never, once built).
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct K(&'static str, Algorithm);
    impl KeyEntry for K {
        fn kid(&self) -> &str {
            self.0
        }
        fn alg(&self) -> Algorithm {
            self.1
        }
        fn jwk(&self) -> String {
            format!("{{\"kid\":\"{}\"}}", self.0)
        }
    }

    #[test]
    fn finds_by_kid_and_algorithm_only() {
        let set = KeySet::new(vec![K("a", Algorithm::Es256), K("b", Algorithm::Hs256)], 1).unwrap();
        assert_eq!(set.signing_key(), ("b", Algorithm::Hs256));
        assert!(set.find("a", Algorithm::Es256).is_some());
        assert!(set.find("a", Algorithm::Hs256).is_none());
        assert_eq!(set.public_keys(), ["{\"kid\":\"a\"}", "{\"kid\":\"b\"}"]);
    }

    #[test]
    fn refuses_duplicate_ids_and_a_missing_signer() {
        assert_eq!(KeySet::new(vec![K("a", Algorithm::Es256), K("a", Algorithm::EdDsa)], 0).unwrap_err(), "duplicate key id \"a\"");
        assert_eq!(KeySet::new(vec![K("a", Algorithm::Es256)], 1).unwrap_err(), "no signing key");
    }
}
