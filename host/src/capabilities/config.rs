//! `wasi:config/store@0.2.0-draft-2024-09-27`: the settings, then secrets
//! by name, except the secrets that hold signing keys (those stay in the
//! keyring).

use std::sync::Arc;

use wasmtime::component::HasData;

use tmi_auth_core::store::lease::ATOMIC_CAS_CONFIG_KEY;

use super::bindings::config_store;
use crate::secrets::Secrets;
use crate::settings::Settings;

/// What the component may read.
pub struct ConfigStore {
    pub settings: Arc<Settings>,
    pub secrets: Arc<Secrets>,
}

impl ConfigStore {
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

    /// Only plain configuration: secrets are read one by one, by name.
    pub fn get_all(&self) -> Vec<(String, String)> {
        self.settings.all().map(|(k, v)| (k.to_string(), v.to_string())).collect()
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
        Ok(Ok(self.0.get_all()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(toml: &str) -> Settings {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tmi.toml");
        std::fs::write(&path, toml).unwrap();
        Settings::load(Some(&path), Vec::new(), "127.0.0.1:8080".parse().unwrap(), false).unwrap()
    }

    #[test]
    fn secrets_are_served_by_name_except_key_material() {
        let dir = tempfile::tempdir().unwrap();
        let settings = load("[[keys]]\nkid = \"k\"\nalg = \"HS256\"\nsecret = \"jwt_hs\"\n");
        let secrets = Secrets::new(
            dir.path(),
            [
                ("TMI_SECRET_GOOGLE_CLIENT_SECRET".to_string(), "s3cret".to_string()),
                ("TMI_SECRET_JWT_HS".to_string(), "k".repeat(32)),
            ],
        );
        let store = ConfigStore { settings: Arc::new(settings), secrets: Arc::new(secrets) };
        assert_eq!(store.get("google_client_secret").unwrap().as_deref(), Some("s3cret"));
        assert_eq!(store.get("jwt_hs").unwrap(), None);
        assert_eq!(store.get("nope").unwrap(), None);
        assert!(store.get_all().iter().all(|(k, _)| k != "google_client_secret"));
    }

    #[test]
    fn the_component_is_told_our_compare_and_swap_is_atomic_and_no_setting_can_say_so() {
        let dir = tempfile::tempdir().unwrap();
        let store = ConfigStore { settings: Arc::new(load("")), secrets: Arc::new(Secrets::new(dir.path(), Vec::new())) };
        assert_eq!(store.get(ATOMIC_CAS_CONFIG_KEY).unwrap().as_deref(), Some("true"));
        assert!(store.get_all().iter().all(|(k, _)| k != ATOMIC_CAS_CONFIG_KEY), "not a setting");
        let dir2 = tempfile::tempdir().unwrap();
        let path = dir2.path().join("tmi.toml");
        std::fs::write(&path, format!("{ATOMIC_CAS_CONFIG_KEY} = \"false\"\n")).unwrap();
        assert!(Settings::load(Some(&path), Vec::new(), "127.0.0.1:8080".parse().unwrap(), false).is_err());
    }
}
