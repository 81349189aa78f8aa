//! Configuration served to the component through
//! `wasi:config/store@0.2.0-draft-2024-09-27`.
//!
//! Sources, later wins: built-in defaults, the TOML file, environment
//! variables `TMI_CONFIG_<KEY>`. Keys are flat `[a-z0-9_]` names, as in
//! Spin's `variables`, so the component reads the same names under both.
//! The `[[keys]]` table (signing keys) is host-only and never served.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use serde::Deserialize;

use crate::bindings::config_store;
use crate::secrets::Secrets;
use crate::state::State;

pub const ENV_PREFIX: &str = "TMI_CONFIG_";
/// `TMI_CONFIG_FILE` names the file; it is not a key.
pub const FILE_ENV: &str = "TMI_CONFIG_FILE";
/// The TOML table holding signing keys; never served to the component.
const KEYS_TABLE: &str = "keys";
/// The SAML provider list (`[[saml_providers]]`).
const SAML_PROVIDERS: &str = tmi_auth_core::saml::config::KEY;
/// Largest IdP metadata file read (the component's limit too).
const MAX_IDP_METADATA: u64 = 1024 * 1024;

/// One signing key, as configured in `[[keys]]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeySpec {
    pub kid: String,
    /// `EdDSA`, `ES256`, `RS256` or `HS256`.
    pub alg: String,
    /// The name of the secret holding the key material.
    pub secret: String,
    #[serde(default)]
    pub signing: bool,
}

#[derive(Debug, Clone, Default)]
pub struct Config {
    values: BTreeMap<String, String>,
    keys: Vec<KeySpec>,
}

pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty()
        && key
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

impl Config {
    /// Builds the configuration. `env` is the process environment (all of
    /// it; only `TMI_CONFIG_*` is used), passed in so tests stay hermetic.
    pub fn load(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
        listen: SocketAddr,
        dev: bool,
    ) -> Result<Self> {
        let mut config = Config::default();
        config.set("base_url", format!("http://{listen}"));
        config.set("dev_mode", "false".to_string());
        config.set("allowed_outbound_hosts", "[]".to_string());

        let base_dir = match file.and_then(Path::parent) {
            Some(dir) => dir.to_path_buf(),
            None => std::env::current_dir().context("reading the working directory")?,
        };
        if let Some(path) = file {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("reading config file {}", path.display()))?;
            config
                .merge_toml(&text)
                .with_context(|| format!("in config file {}", path.display()))?;
        }

        let mut overrides: Vec<(String, String)> = env
            .into_iter()
            .filter(|(name, _)| name.starts_with(ENV_PREFIX) && name != FILE_ENV)
            .collect();
        overrides.sort();
        for (name, value) in overrides {
            let key = name[ENV_PREFIX.len()..].to_ascii_lowercase();
            if key == KEYS_TABLE {
                bail!("{name}: signing keys can only be configured in the config file's [[keys]] table");
            }
            if !is_valid_key(&key) {
                bail!("{name}: config keys may only contain A-Z, 0-9 and '_' after {ENV_PREFIX}");
            }
            config.set(&key, value);
        }

        // --dev forces development mode on; without it the configured value
        // (default false) stands.
        if dev {
            config.set("dev_mode", "true".to_string());
        }
        config.allowed_outbound_hosts()?;
        config.inline_saml_metadata(&base_dir)?;
        Ok(config)
    }

    fn set(&mut self, key: &str, value: String) {
        self.values.insert(key.to_string(), value);
    }

    fn merge_toml(&mut self, text: &str) -> Result<()> {
        let table: toml::Table = toml::from_str(text).context("invalid TOML")?;
        for (key, value) in table {
            if key == KEYS_TABLE {
                self.keys = value
                    .try_into()
                    .context("[[keys]] entries need kid, alg, secret and optionally signing")?;
                continue;
            }
            if !is_valid_key(&key) {
                bail!("config key {key:?}: keys may only contain a-z, 0-9 and '_'");
            }
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                toml::Value::Datetime(d) => d.to_string(),
                // Structured values reach the component as compact JSON.
                v @ (toml::Value::Array(_) | toml::Value::Table(_)) => {
                    serde_json::to_string(&v).with_context(|| format!("config key {key:?}"))?
                }
            };
            self.set(&key, text);
        }
        Ok(())
    }

    /// `[[saml_providers]]` entries may name `idp_metadata_file` (relative
    /// to the config file's directory); it is read once, here, and served
    /// to the component as the inline `idp_metadata`.
    fn inline_saml_metadata(&mut self, base_dir: &Path) -> Result<()> {
        let Some(raw) = self.get(SAML_PROVIDERS) else {
            return Ok(());
        };
        let mut list: Vec<serde_json::Value> = serde_json::from_str(raw).context(
            "saml_providers must be a JSON array of provider objects ([[saml_providers]] tables)",
        )?;
        let mut changed = false;
        for p in &mut list {
            let Some(obj) = p.as_object_mut() else {
                bail!("saml_providers: every entry must be an object");
            };
            let Some(file) = obj.remove("idp_metadata_file") else {
                continue;
            };
            let id = obj.get("id").and_then(|v| v.as_str()).unwrap_or("?").to_string();
            let file = file
                .as_str()
                .with_context(|| format!("saml_providers {id:?}: idp_metadata_file must be a path"))?;
            if obj.contains_key("idp_metadata") {
                bail!("saml_providers {id:?}: set idp_metadata or idp_metadata_file, not both");
            }
            let path = base_dir.join(file);
            let size = std::fs::metadata(&path)
                .with_context(|| format!("saml_providers {id:?}: reading {}", path.display()))?
                .len();
            if size > MAX_IDP_METADATA {
                bail!("saml_providers {id:?}: {} is larger than {MAX_IDP_METADATA} bytes", path.display());
            }
            let text = std::fs::read_to_string(&path)
                .with_context(|| format!("saml_providers {id:?}: reading {}", path.display()))?;
            obj.insert("idp_metadata".into(), serde_json::Value::String(text));
            changed = true;
        }
        if changed {
            self.set(SAML_PROVIDERS, serde_json::to_string(&list)?);
        }
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    pub fn all(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().map(|(k, v)| (k.as_str(), v.as_str()))
    }

    pub fn keys(&self) -> &[KeySpec] {
        &self.keys
    }

    pub fn dev_mode(&self) -> bool {
        self.get("dev_mode") == Some("true")
    }

    /// `allowed_outbound_hosts`: a JSON array of `host[:port]` strings.
    pub fn allowed_outbound_hosts(&self) -> Result<Vec<String>> {
        let raw = self.get("allowed_outbound_hosts").unwrap_or("[]");
        serde_json::from_str(raw)
            .context("allowed_outbound_hosts must be a JSON array of \"host[:port]\" strings")
    }
}

/// The `[[<key>]]` provider list, checked at startup so the commonest
/// mistakes stop the host instead of failing every request: a JSON array of
/// objects with a valid `id`, each with the secrets the component will ask
/// for (`secret_names`, the core's own naming). The component checks
/// everything else (and logs what it refuses).
fn check_provider_list(
    config: &Config,
    secrets: &Secrets,
    key: &str,
    secret_names: fn(&str) -> Vec<String>,
) -> Result<Vec<serde_json::Value>> {
    let Some(raw) = config.get(key) else {
        return Ok(Vec::new());
    };
    let list: Vec<serde_json::Value> = serde_json::from_str(raw)
        .with_context(|| format!("{key} must be a JSON array of provider objects ([[{key}]] tables)"))?;
    for p in &list {
        let id = p.get("id").and_then(|v| v.as_str()).unwrap_or_default();
        if !tmi_auth_core::flows::is_provider_id(id) {
            bail!("{key}: every provider needs an id matching ^[a-zA-Z][a-zA-Z0-9_-]*$ (got {id:?})");
        }
        for name in secret_names(id) {
            if secrets.get(&name)?.is_none() {
                bail!(
                    "{key}: provider {id:?} needs the secret {name:?} (env {}{})",
                    crate::secrets::ENV_PREFIX,
                    name.to_ascii_uppercase()
                );
            }
        }
    }
    Ok(list)
}

/// Startup check of `oauth_providers`: ids and client secrets.
pub fn check_oauth_providers(config: &Config, secrets: &Secrets) -> Result<()> {
    use tmi_auth_core::providers::config as oauth;
    check_provider_list(config, secrets, oauth::KEY, |id| vec![oauth::secret_name(id)]).map(drop)
}

/// Startup check of `saml_providers`: ids, the SP key and certificate
/// secrets, and IdP metadata present and without a DOCTYPE (the component
/// refuses DTDs; refusing here stops the host instead of failing every
/// request). The component parses and checks everything else.
pub fn check_saml_providers(config: &Config, secrets: &Secrets) -> Result<()> {
    use tmi_auth_core::saml::config as saml;
    let list = check_provider_list(config, secrets, saml::KEY, |id| {
        vec![saml::key_secret_name(id), saml::cert_secret_name(id)]
    })?;
    for p in &list {
        let id = p.get("id").and_then(|v| v.as_str()).unwrap_or_default();
        let Some(metadata) = p.get("idp_metadata").and_then(|v| v.as_str()) else {
            bail!("saml_providers: provider {id:?} needs idp_metadata or idp_metadata_file");
        };
        if metadata.to_ascii_lowercase().contains("<!doctype") {
            bail!("saml_providers: provider {id:?}: the IdP metadata contains a DOCTYPE; DTDs are refused");
        }
    }
    Ok(())
}

/// Startup check of everything the core reads: the parse the component
/// repeats per request, with the same secrets, so that a configuration the
/// core refuses (an SP key that does not match its certificate, metadata
/// without a signing certificate, …) stops the host instead of failing
/// requests later.
pub fn check_core_config(config: &Config, secrets: &Secrets) -> Result<()> {
    let mut pairs: Vec<(String, String)> = config.all().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    for name in tmi_auth_core::config::secret_names(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
        if let Some(secret) = secrets.get(&name)? {
            let text = String::from_utf8(secret.expose().to_vec()).with_context(|| format!("secret {name:?} is not UTF-8"))?;
            pairs.push((name, text));
        }
    }
    tmi_auth_core::config::Config::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str())))
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(())
}

/// What the component may read: the configuration, then secrets by name,
/// except the secrets that hold signing keys (those stay in the keyring).
pub struct ConfigStore {
    pub config: Arc<Config>,
    pub secrets: Arc<Secrets>,
}

impl ConfigStore {
    fn is_key_material(&self, name: &str) -> bool {
        self.config.keys().iter().any(|k| k.secret == name)
    }

    pub fn get(&self, key: &str) -> Result<Option<String>, config_store::Error> {
        if let Some(value) = self.config.get(key) {
            return Ok(Some(value.to_string()));
        }
        if !Secrets::is_valid_name(key) || self.is_key_material(key) {
            return Ok(None);
        }
        match self.secrets.get(key) {
            Ok(None) => Ok(None),
            Ok(Some(secret)) => match String::from_utf8(secret.expose().to_vec()) {
                Ok(text) => Ok(Some(text)),
                Err(_) => Err(config_store::Error::Io(format!(
                    "secret {key:?} is not UTF-8"
                ))),
            },
            Err(e) => {
                tracing::warn!(secret = key, error = %format!("{e:#}"), "cannot read secret");
                Err(config_store::Error::Io(format!(
                    "secret {key:?} is unavailable"
                )))
            }
        }
    }

    /// Only plain configuration: secrets are read one by one, by name.
    pub fn get_all(&self) -> Vec<(String, String)> {
        self.config
            .all()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
}

impl config_store::Host for State {
    fn get(
        &mut self,
        key: String,
    ) -> wasmtime::Result<Result<Option<String>, config_store::Error>> {
        Ok(self.config.get(&key))
    }

    fn get_all(&mut self) -> wasmtime::Result<Result<Vec<(String, String)>, config_store::Error>> {
        Ok(Ok(self.config.get_all()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen() -> SocketAddr {
        "127.0.0.1:8080".parse().unwrap()
    }

    fn load(toml: &str, env: &[(&str, &str)], dev: bool) -> Result<Config> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tmi.toml");
        std::fs::write(&path, toml).unwrap();
        let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
        Config::load(Some(&path), env, listen(), dev)
    }

    #[test]
    fn defaults_without_file() {
        let c = Config::load(None, Vec::new(), listen(), false).unwrap();
        assert_eq!(c.get("base_url"), Some("http://127.0.0.1:8080"));
        assert_eq!(c.get("dev_mode"), Some("false"));
        assert_eq!(c.get("unknown"), None);
        assert!(c.allowed_outbound_hosts().unwrap().is_empty());
    }

    #[test]
    fn toml_values_become_text_and_env_wins() {
        let c = load(
            r#"
            base_url = "https://auth.example"
            token_ttl = 300
            strict = true
            allowed_outbound_hosts = ["accounts.google.com", "idp.example:8443"]
            client = { id = "abc", scopes = ["a", "b"] }
            issuer = "from-file"
            "#,
            &[
                ("TMI_CONFIG_ISSUER", "from-env"),
                ("TMI_CONFIG_FILE", "/ignored"),
                ("OTHER", "x"),
            ],
            false,
        )
        .unwrap();
        assert_eq!(c.get("base_url"), Some("https://auth.example"));
        assert_eq!(c.get("token_ttl"), Some("300"));
        assert_eq!(c.get("strict"), Some("true"));
        assert_eq!(
            c.get("allowed_outbound_hosts"),
            Some(r#"["accounts.google.com","idp.example:8443"]"#)
        );
        assert_eq!(c.get("client"), Some(r#"{"id":"abc","scopes":["a","b"]}"#));
        assert_eq!(c.get("issuer"), Some("from-env"));
        assert_eq!(c.get("file"), None);
        assert_eq!(c.allowed_outbound_hosts().unwrap().len(), 2);
    }

    #[test]
    fn keys_table_is_host_only() {
        let c = load(
            r#"
            [[keys]]
            kid = "k1"
            alg = "ES256"
            secret = "jwt_key_k1"
            signing = true
            "#,
            &[],
            false,
        )
        .unwrap();
        assert_eq!(c.keys().len(), 1);
        assert!(c.keys()[0].signing);
        assert_eq!(c.get("keys"), None);
        assert!(c.all().all(|(k, _)| k != "keys"));
    }

    #[test]
    fn dev_flag_forces_dev_mode() {
        assert_eq!(
            load("dev_mode = false", &[], true).unwrap().get("dev_mode"),
            Some("true")
        );
        assert!(load("", &[], true).unwrap().dev_mode());
        assert!(!load("", &[], false).unwrap().dev_mode());
    }

    #[test]
    fn invalid_keys_are_rejected() {
        assert!(load("\"Base-URL\" = \"x\"", &[], false).is_err());
        assert!(load("", &[("TMI_CONFIG_KEYS", "[]")], false).is_err());
        assert!(load("allowed_outbound_hosts = \"not json\"", &[], false).is_err());
    }

    #[test]
    fn oauth_providers_are_served_as_json_and_need_their_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let c = load(
            "[[oauth_providers]]\nid = \"corp-sso\"\nkind = \"oidc\"\nclient_id = \"c\"\nissuer = \"https://idp.example\"\n",
            &[],
            false,
        )
        .unwrap();
        let raw: serde_json::Value = serde_json::from_str(c.get("oauth_providers").unwrap()).unwrap();
        assert_eq!(raw[0]["id"], "corp-sso");
        let without = Secrets::new(dir.path(), []);
        let err = format!("{:#}", check_oauth_providers(&c, &without).unwrap_err());
        assert!(err.contains("TMI_SECRET_OAUTH_CORP_SSO_CLIENT_SECRET"), "{err}");
        let with = Secrets::new(
            dir.path(),
            [("TMI_SECRET_OAUTH_CORP_SSO_CLIENT_SECRET".to_string(), "x".to_string())],
        );
        check_oauth_providers(&c, &with).unwrap();
        let bad = load("oauth_providers = \"not json\"\n", &[], false).unwrap();
        assert!(check_oauth_providers(&bad, &with).is_err());
    }

    #[test]
    fn saml_idp_metadata_file_is_inlined() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("idp.xml"), "<md:EntityDescriptor/>").unwrap();
        let path = dir.path().join("tmi.toml");
        let toml = "[[saml_providers]]\nid = \"corp\"\nidp_metadata_file = \"idp.xml\"\n\n[[saml_providers]]\nid = \"other\"\nidp_metadata = \"<x/>\"\n";
        std::fs::write(&path, toml).unwrap();
        let c = Config::load(Some(&path), Vec::new(), listen(), false).unwrap();
        let raw: serde_json::Value = serde_json::from_str(c.get("saml_providers").unwrap()).unwrap();
        assert_eq!(raw[0]["idp_metadata"], "<md:EntityDescriptor/>");
        assert!(raw[0].get("idp_metadata_file").is_none());
        assert_eq!(raw[1]["idp_metadata"], "<x/>");

        let both = "[[saml_providers]]\nid = \"corp\"\nidp_metadata = \"<x/>\"\nidp_metadata_file = \"idp.xml\"\n";
        std::fs::write(&path, both).unwrap();
        assert!(Config::load(Some(&path), Vec::new(), listen(), false).is_err());
        let missing = "[[saml_providers]]\nid = \"corp\"\nidp_metadata_file = \"nope.xml\"\n";
        std::fs::write(&path, missing).unwrap();
        let err = format!("{:#}", Config::load(Some(&path), Vec::new(), listen(), false).unwrap_err());
        assert!(err.contains("nope.xml"), "{err}");
        std::fs::write(dir.path().join("big.xml"), vec![b'x'; 1024 * 1024 + 1]).unwrap();
        let big = "[[saml_providers]]\nid = \"corp\"\nidp_metadata_file = \"big.xml\"\n";
        std::fs::write(&path, big).unwrap();
        assert!(Config::load(Some(&path), Vec::new(), listen(), false).is_err());
    }

    #[test]
    fn saml_providers_need_secrets_and_no_doctype() {
        let dir = tempfile::tempdir().unwrap();
        let c = load("[[saml_providers]]\nid = \"corp-idp\"\nidp_metadata = \"<x/>\"\n", &[], false).unwrap();
        let without = Secrets::new(dir.path(), []);
        let err = format!("{:#}", check_saml_providers(&c, &without).unwrap_err());
        assert!(err.contains("TMI_SECRET_SAML_CORP_IDP_SP_KEY"), "{err}");
        let with = Secrets::new(
            dir.path(),
            [
                ("TMI_SECRET_SAML_CORP_IDP_SP_KEY".to_string(), "k".to_string()),
                ("TMI_SECRET_SAML_CORP_IDP_SP_CERT".to_string(), "c".to_string()),
            ],
        );
        check_saml_providers(&c, &with).unwrap();
        let doctype = load(
            "[[saml_providers]]\nid = \"corp-idp\"\nidp_metadata = \"<!DocType x><x/>\"\n",
            &[],
            false,
        )
        .unwrap();
        let err = format!("{:#}", check_saml_providers(&doctype, &with).unwrap_err());
        assert!(err.contains("DOCTYPE"), "{err}");
        let no_metadata = load("[[saml_providers]]\nid = \"corp-idp\"\n", &[], false).unwrap();
        assert!(check_saml_providers(&no_metadata, &with).is_err());
    }

    #[test]
    fn secrets_are_served_by_name_except_key_material() {
        let dir = tempfile::tempdir().unwrap();
        let c = load(
            "[[keys]]\nkid = \"k\"\nalg = \"HS256\"\nsecret = \"jwt_hs\"\n",
            &[],
            false,
        )
        .unwrap();
        let secrets = Secrets::new(
            dir.path(),
            [
                (
                    "TMI_SECRET_GOOGLE_CLIENT_SECRET".to_string(),
                    "s3cret".to_string(),
                ),
                ("TMI_SECRET_JWT_HS".to_string(), "k".repeat(32)),
            ],
        );
        let store = ConfigStore {
            config: Arc::new(c),
            secrets: Arc::new(secrets),
        };
        assert_eq!(
            store.get("google_client_secret").unwrap().as_deref(),
            Some("s3cret")
        );
        assert_eq!(store.get("jwt_hs").unwrap(), None);
        assert_eq!(store.get("nope").unwrap(), None);
        assert!(store
            .get_all()
            .iter()
            .all(|(k, _)| k != "google_client_secret"));
    }
}
