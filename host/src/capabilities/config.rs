//! `wasi:config/store@0.2.0-draft-2024-09-27`: the settings, and secrets
//! by name, except the secrets that hold signing keys (those stay in the
//! keyring). `get-all` answers with one bundle (`config::bundle` in the
//! core), so the component makes one call and one copy per request.

use std::sync::{Arc, OnceLock};

use wasmtime::component::HasData;

use tmi_auth_core::config::{bundle, secret_names};
use tmi_auth_core::store::lease::ATOMIC_CAS_CONFIG_KEY;

use super::bindings::config_store;
use crate::secrets::Secrets;
use crate::settings::Settings;

/// What the component may read.
pub struct ConfigStore {
    settings: Arc<Settings>,
    secrets: Arc<Secrets>,
    /// The `get-all` answer, once every secret it names has been found.
    bundle: OnceLock<Vec<(String, String)>>,
}

impl ConfigStore {
    pub fn new(settings: Arc<Settings>, secrets: Arc<Secrets>) -> Self {
        Self { settings, secrets, bundle: OnceLock::new() }
    }

    fn is_key_material(&self, name: &str) -> bool {
        self.settings.keys().iter().any(|k| k.secret == name)
    }

    pub fn get(&self, key: &str) -> Result<Option<String>, config_store::Error> {
        // Every backend of ours swaps atomically: the component need not lease.
        if key == ATOMIC_CAS_CONFIG_KEY {
            return Ok(Some("true".into()));
        }
        if let Some(value) = self.settings.get(key) {
            return Ok(Some(value.to_string()));
        }
        if !Secrets::is_valid_name(key) || self.is_key_material(key) {
            return Ok(None);
        }
        match self.secrets.get(key) {
            Ok(None) => Ok(None),
            Ok(Some(secret)) => String::from_utf8(secret.expose().to_vec())
                .map(Some)
                .map_err(|_| config_store::Error::Io(format!("secret {key:?} is not UTF-8"))),
            Err(e) => {
                tracing::warn!(secret = key, error = %format!("{e:#}"), "cannot read secret");
                Err(config_store::Error::Io(format!("secret {key:?} is unavailable")))
            }
        }
    }

    /// One pair holding the settings, the secrets they name (never key
    /// material) and the compare-and-swap flag: what the component would
    /// otherwise fetch in several calls, a pair at a time.
    pub fn get_all(&self) -> Result<Vec<(String, String)>, config_store::Error> {
        if let Some(bundle) = self.bundle.get() {
            return Ok(bundle.clone());
        }
        let names = secret_names(self.settings.all());
        let wanted = names.len();
        let mut secrets = Vec::with_capacity(wanted);
        for name in names {
            if let Some(value) = self.get(&name)? {
                secrets.push((name, value));
            }
        }
        let value = bundle::encode(
            self.settings
                .all()
                .chain(secrets.iter().map(|(k, v)| (k.as_str(), v.as_str())))
                .chain([(ATOMIC_CAS_CONFIG_KEY, "true")]),
        );
        let answer = vec![(bundle::KEY.to_string(), value)];
        // A secret still missing may be added later: ask again next time.
        if secrets.len() == wanted {
            let _ = self.bundle.set(answer.clone());
        }
        Ok(answer)
    }
}

/// The capability as the component sees it, for one request.
pub struct ConfigView<'a>(pub &'a ConfigStore);

/// Links `wasi:config/store` to a [`ConfigView`].
pub struct Config;

impl HasData for Config {
    type Data<'a> = ConfigView<'a>;
}

impl config_store::Host for ConfigView<'_> {
    fn get(&mut self, key: String) -> wasmtime::Result<Result<Option<String>, config_store::Error>> {
        Ok(self.0.get(&key))
    }

    fn get_all(&mut self) -> wasmtime::Result<Result<Vec<(String, String)>, config_store::Error>> {
        Ok(self.0.get_all())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::settings::load_toml;

    fn store(toml: &str, secrets: &[(&str, &str)]) -> ConfigStore {
        let dir = tempfile::tempdir().unwrap();
        let env = secrets.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        ConfigStore::new(Arc::new(load_toml(toml, &[], false).unwrap()), Arc::new(Secrets::new(dir.path(), env)))
    }

    /// The pairs the component sees.
    fn unpacked(store: &ConfigStore) -> Vec<(String, String)> {
        bundle::unpack(store.get_all().unwrap())
    }

    #[test]
    fn secrets_are_served_by_name_except_key_material() {
        let store = store(
            "[[keys]]\nkid = \"k\"\nalg = \"HS256\"\nsecret = \"jwt_hs\"\n",
            &[("TMI_SECRET_GOOGLE_CLIENT_SECRET", "s3cret"), ("TMI_SECRET_JWT_HS", &"k".repeat(32))],
        );
        assert_eq!(store.get("google_client_secret").unwrap().as_deref(), Some("s3cret"));
        assert_eq!(store.get("jwt_hs").unwrap(), None);
        assert_eq!(store.get("nope").unwrap(), None);
    }

    #[test]
    fn get_all_bundles_the_settings_and_the_secrets_they_name_but_never_key_material() {
        let pepper = "p".repeat(32);
        let plain = store("base_url = \"https://auth.example\"\n", &[("TMI_SECRET_CLIENT_SECRET_PEPPER", &pepper), ("TMI_SECRET_GOOGLE_CLIENT_SECRET", "s3cret")]);
        let pairs = unpacked(&plain);
        assert!(pairs.contains(&("base_url".into(), "https://auth.example".into())));
        assert!(pairs.contains(&("client_secret_pepper".into(), pepper.clone())), "named by the configuration");
        assert!(pairs.iter().all(|(k, _)| k != "google_client_secret"), "not named: no google provider");
        assert_eq!(plain.get_all().unwrap().len(), 1, "one pair, one copy");

        let keyed = store("[[keys]]\nkid = \"k\"\nalg = \"HS256\"\nsecret = \"client_secret_pepper\"\n", &[("TMI_SECRET_CLIENT_SECRET_PEPPER", &pepper)]);
        assert!(unpacked(&keyed).iter().all(|(_, v)| *v != pepper), "key material stays in the keyring");
    }

    #[test]
    fn a_secret_added_later_is_served_once_it_exists() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore::new(Arc::new(load_toml("", &[], false).unwrap()), Arc::new(Secrets::new(dir.path(), Vec::new())));
        assert!(unpacked(&store).iter().all(|(k, _)| k != "client_secret_pepper"));
        std::fs::create_dir_all(dir.path().join("secrets")).unwrap();
        std::fs::write(dir.path().join("secrets/client_secret_pepper"), "q".repeat(32)).unwrap();
        assert!(unpacked(&store).contains(&("client_secret_pepper".into(), "q".repeat(32))));
    }

    #[test]
    fn the_component_is_told_our_compare_and_swap_is_atomic_and_no_setting_can_say_so() {
        let store = store("", &[]);
        assert_eq!(store.get(ATOMIC_CAS_CONFIG_KEY).unwrap().as_deref(), Some("true"));
        assert!(unpacked(&store).contains(&(ATOMIC_CAS_CONFIG_KEY.into(), "true".into())));
        assert!(load_toml(&format!("{ATOMIC_CAS_CONFIG_KEY} = \"false\"\n"), &[], false).is_err());
    }
}
