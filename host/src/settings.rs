//! The host's settings: what it serves to the component through
//! `wasi:config/store`, plus its own (`[[keys]]`, `allowed_outbound_hosts`).
//!
//! Sources, later wins: built-in defaults, the TOML file, environment
//! variables `TMI_CONFIG_<KEY>`. Keys are flat `[a-z0-9_]` names, as in
//! Spin's `variables`, so the component reads the same names under both.
//! Every key must be one the service or the host reads: a misspelt setting
//! stops the host, naming it, instead of quietly falling back to its
//! default. [`Settings::check`] parses everything the component will parse,
//! once, at startup.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::Path;

use anyhow::{bail, Context, Result};
use tmi_auth_core::config::{oauth, saml};
use tmi_auth_keys::KeySpec;

use crate::secrets::Secrets;

pub const ENV_PREFIX: &str = "TMI_CONFIG_";
/// `TMI_CONFIG_FILE` names the file; it is not a key.
pub const FILE_ENV: &str = "TMI_CONFIG_FILE";
/// The TOML table holding signing keys; never served to the component.
const KEYS_TABLE: &str = "keys";
/// The hosts the component may call (upstream providers).
pub const OUTBOUND_HOSTS: &str = "allowed_outbound_hosts";
/// The key-value store (`[store]`): host only, never served.
pub const STORE_TABLE: &str = "store";
/// Keys only the host reads, besides the service's (`tmi_auth_core::config::KEYS`).
const HOST_KEYS: &[&str] = &[KEYS_TABLE, OUTBOUND_HOSTS, STORE_TABLE];
/// Largest IdP metadata file read (the component's limit too).
const MAX_IDP_METADATA: u64 = 1024 * 1024;

/// Which key-value store the host uses.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// The embedded, durable default: redb in the data directory.
    #[default]
    Redb,
    /// Redis or Valkey, shared by every host that points at it.
    Redis,
    /// In memory, lost at exit: for tests only.
    Memory,
}

/// `[store]`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StoreSettings {
    #[serde(default)]
    pub backend: Backend,
    /// Redis: `redis://host:port/db` or `rediss://…`; the password is the
    /// secret `store_redis_password`, never part of the URL.
    pub url: Option<String>,
    /// Redis: the prefix of every key (default `tmi-auth:`).
    pub prefix: Option<String>,
    /// Redis: connect and response timeout in milliseconds (default 2000).
    pub timeout_ms: Option<u64>,
    /// redb and memory: seconds between sweeps of expired entries (default 60).
    pub sweep_interval: Option<u64>,
}

#[derive(Debug, Clone, Default)]
pub struct Settings {
    values: BTreeMap<String, String>,
    keys: Vec<KeySpec>,
}

pub fn is_valid_key(key: &str) -> bool {
    !key.is_empty() && key.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// A key must be one the service or the host reads.
fn check_known(key: &str, source: &str) -> Result<()> {
    if !is_valid_key(key) {
        bail!("{source}: config keys may only contain a-z, 0-9 and '_'");
    }
    if !tmi_auth_core::config::KEYS.contains(&key) && !HOST_KEYS.contains(&key) {
        bail!("{source}: unknown setting {key:?} (a typo, or a setting this version does not know; `tmi-auth-host serve --help` lists them)");
    }
    Ok(())
}

impl Settings {
    /// Builds the settings. `env` is the process environment (all of it;
    /// only `TMI_CONFIG_*` is used), passed in so tests stay hermetic.
    pub fn load(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>, listen: SocketAddr, dev: bool) -> Result<Self> {
        let mut settings = Self::configured(file, env)?;
        settings.values.entry("base_url".into()).or_insert_with(|| format!("http://{listen}"));
        settings.values.entry("dev_mode".into()).or_insert_with(|| "false".into());
        settings.values.entry(OUTBOUND_HOSTS.into()).or_insert_with(|| "[]".into());
        // --dev forces development mode on; without it the configured value
        // (default false) stands.
        if dev {
            settings.set("dev_mode", "true".to_string());
        }
        Ok(settings)
    }

    /// Only what the file and the environment set, without the host's
    /// defaults (the Spin manifest leaves the rest to Spin variables).
    pub fn configured(file: Option<&Path>, env: impl IntoIterator<Item = (String, String)>) -> Result<Self> {
        let mut settings = Settings::default();
        let base_dir = match file.and_then(Path::parent) {
            Some(dir) => dir.to_path_buf(),
            None => std::env::current_dir().context("reading the working directory")?,
        };
        if let Some(path) = file {
            let text = std::fs::read_to_string(path).with_context(|| format!("reading config file {}", path.display()))?;
            settings.merge_toml(&text).with_context(|| format!("in config file {}", path.display()))?;
        }
        let mut overrides: Vec<(String, String)> =
            env.into_iter().filter(|(name, _)| name.starts_with(ENV_PREFIX) && name != FILE_ENV).collect();
        overrides.sort();
        for (name, value) in overrides {
            let key = name[ENV_PREFIX.len()..].to_ascii_lowercase();
            if key == KEYS_TABLE {
                bail!("{name}: signing keys can only be configured in the config file's [[keys]] table");
            }
            check_known(&key, &name)?;
            settings.set(&key, value);
        }
        settings.allowed_outbound_hosts()?;
        settings.inline_saml_metadata(&base_dir)?;
        Ok(settings)
    }

    fn set(&mut self, key: &str, value: String) {
        self.values.insert(key.to_string(), value);
    }

    fn merge_toml(&mut self, text: &str) -> Result<()> {
        let table: toml::Table = toml::from_str(text).context("invalid TOML")?;
        for (key, value) in table {
            check_known(&key, "config file")?;
            if key == KEYS_TABLE {
                self.keys = value.try_into().context("[[keys]] entries need kid, alg, secret and optionally signing")?;
                continue;
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
        let Some(raw) = self.get(saml::KEY) else {
            return Ok(());
        };
        let mut list: Vec<serde_json::Value> =
            serde_json::from_str(raw).context("saml_providers must be a JSON array of provider objects ([[saml_providers]] tables)")?;
        let mut changed = false;
        for p in &mut list {
            let Some(obj) = p.as_object_mut() else {
                bail!("saml_providers: every entry must be an object");
            };
            let Some(file) = obj.remove("idp_metadata_file") else {
                continue;
            };
            let id = obj.get("id").and_then(|v| v.as_str()).unwrap_or("?").to_string();
            let file = file.as_str().with_context(|| format!("saml_providers {id:?}: idp_metadata_file must be a path"))?;
            if obj.contains_key("idp_metadata") {
                bail!("saml_providers {id:?}: set idp_metadata or idp_metadata_file, not both");
            }
            let path = base_dir.join(file);
            let size = std::fs::metadata(&path).with_context(|| format!("saml_providers {id:?}: reading {}", path.display()))?.len();
            if size > MAX_IDP_METADATA {
                bail!("saml_providers {id:?}: {} is larger than {MAX_IDP_METADATA} bytes", path.display());
            }
            let text = std::fs::read_to_string(&path).with_context(|| format!("saml_providers {id:?}: reading {}", path.display()))?;
            obj.insert("idp_metadata".into(), serde_json::Value::String(text));
            changed = true;
        }
        if changed {
            self.set(saml::KEY, serde_json::to_string(&list)?);
        }
        Ok(())
    }

    pub fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// What the component may list: every setting (never `[[keys]]` or `[store]`).
    pub fn all(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().filter(|(k, _)| k.as_str() != STORE_TABLE).map(|(k, v)| (k.as_str(), v.as_str()))
    }

    /// The `[store]` table (or `TMI_CONFIG_STORE` as JSON).
    pub fn store(&self) -> Result<StoreSettings> {
        match self.get(STORE_TABLE) {
            None => Ok(StoreSettings::default()),
            Some(raw) => serde_json::from_str(raw).context("[store] needs backend = \"redb\" | \"redis\" | \"memory\", and for redis a url (see README, \"Configuration\")"),
        }
    }

    pub fn keys(&self) -> &[KeySpec] {
        &self.keys
    }

    pub fn dev_mode(&self) -> bool {
        self.get("dev_mode") == Some("true")
    }

    /// `allowed_outbound_hosts`: a JSON array of `host[:port]` strings.
    pub fn allowed_outbound_hosts(&self) -> Result<Vec<String>> {
        serde_json::from_str(self.get(OUTBOUND_HOSTS).unwrap_or("[]"))
            .context("allowed_outbound_hosts must be a JSON array of \"host[:port]\" strings")
    }

    /// The one startup check: each provider has the secrets it needs (the
    /// message names the environment variable), IdP metadata has no
    /// DOCTYPE, and the service's own parse, with the same secrets, accepts
    /// everything, so a configuration the component would refuse stops the
    /// host instead of failing requests later.
    pub fn check(&self, secrets: &Secrets) -> Result<()> {
        self.check_provider_secrets(secrets, oauth::KEY, |id| vec![oauth::secret_name(id)])?;
        let saml_list = self.check_provider_secrets(secrets, saml::KEY, |id| vec![saml::key_secret_name(id), saml::cert_secret_name(id)])?;
        for p in &saml_list {
            let id = p.get("id").and_then(|v| v.as_str()).unwrap_or_default();
            let Some(metadata) = p.get("idp_metadata").and_then(|v| v.as_str()) else {
                bail!("saml_providers: provider {id:?} needs idp_metadata or idp_metadata_file");
            };
            if metadata.to_ascii_lowercase().contains("<!doctype") {
                bail!("saml_providers: provider {id:?}: the IdP metadata contains a DOCTYPE; DTDs are refused");
            }
        }
        let mut pairs: Vec<(String, String)> = self.all().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        for name in tmi_auth_core::config::secret_names(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))) {
            if let Some(secret) = secrets.get(&name)? {
                let text = String::from_utf8(secret.expose().to_vec()).with_context(|| format!("secret {name:?} is not UTF-8"))?;
                pairs.push((name, text));
            }
        }
        tmi_auth_core::Config::from_pairs(pairs.iter().map(|(k, v)| (k.as_str(), v.as_str()))).map_err(|e| anyhow::anyhow!("{e}"))?;
        Ok(())
    }

    /// The `[[<key>]]` provider list: a JSON array of objects with a valid
    /// `id`, each with the secrets the component will ask for.
    fn check_provider_secrets(&self, secrets: &Secrets, key: &str, secret_names: fn(&str) -> Vec<String>) -> Result<Vec<serde_json::Value>> {
        let Some(raw) = self.get(key) else {
            return Ok(Vec::new());
        };
        let list: Vec<serde_json::Value> =
            serde_json::from_str(raw).with_context(|| format!("{key} must be a JSON array of provider objects ([[{key}]] tables)"))?;
        for p in &list {
            let id = p.get("id").and_then(|v| v.as_str()).unwrap_or_default();
            if !tmi_auth_core::values::is_provider_id(id) {
                bail!("{key}: every provider needs an id matching ^[a-zA-Z][a-zA-Z0-9_-]*$");
            }
            for name in secret_names(id) {
                if secrets.get(&name)?.is_none() {
                    bail!("{key}: provider {id:?} needs the secret {name:?} (env {}{})", crate::secrets::ENV_PREFIX, name.to_ascii_uppercase());
                }
            }
        }
        Ok(list)
    }
}

/// Tests: the settings `serve` would load from a configuration file with
/// this text, these environment variables, listening on 127.0.0.1:8080.
#[cfg(test)]
pub(crate) fn load_toml(toml: &str, env: &[(&str, &str)], dev: bool) -> Result<Settings> {
    let dir = tempfile::tempdir().context("creating a temporary directory")?;
    let path = dir.path().join("tmi.toml");
    std::fs::write(&path, toml).context("writing the configuration file")?;
    let env = env.iter().map(|(k, v)| (k.to_string(), v.to_string()));
    Settings::load(Some(&path), env, "127.0.0.1:8080".parse()?, dev)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn listen() -> SocketAddr {
        "127.0.0.1:8080".parse().unwrap()
    }

    #[test]
    fn defaults_without_file() {
        let c = Settings::load(None, Vec::new(), listen(), false).unwrap();
        assert_eq!(c.get("base_url"), Some("http://127.0.0.1:8080"));
        assert_eq!(c.get("dev_mode"), Some("false"));
        assert_eq!(c.get("admins"), None);
        assert!(c.allowed_outbound_hosts().unwrap().is_empty());
    }

    #[test]
    fn toml_values_become_text_and_env_wins() {
        let c = load_toml(
            r#"
            base_url = "https://auth.example"
            access_token_lifetime = 300
            dev_mode = true
            allowed_outbound_hosts = ["accounts.google.com", "idp.example:8443"]
            admins = ["a@example.com", "ops"]
            token_audience = "from-file"
            "#,
            &[("TMI_CONFIG_TOKEN_AUDIENCE", "from-env"), ("TMI_CONFIG_FILE", "/ignored"), ("OTHER", "x")],
            false,
        )
        .unwrap();
        assert_eq!(c.get("base_url"), Some("https://auth.example"));
        assert_eq!(c.get("access_token_lifetime"), Some("300"));
        assert_eq!(c.get("dev_mode"), Some("true"));
        assert_eq!(c.get(OUTBOUND_HOSTS), Some(r#"["accounts.google.com","idp.example:8443"]"#));
        assert_eq!(c.get("admins"), Some(r#"["a@example.com","ops"]"#));
        assert_eq!(c.get("token_audience"), Some("from-env"));
        assert_eq!(c.get("file"), None);
        assert_eq!(c.allowed_outbound_hosts().unwrap().len(), 2);
    }

    #[test]
    fn unknown_settings_stop_the_host_with_their_name() {
        for (toml, env, name) in [
            ("acess_token_lifetime = 300", vec![], "acess_token_lifetime"),
            ("[stores]\nbackend = \"redis\"", vec![], "stores"),
            ("", vec![("TMI_CONFIG_RATE_LIMIT_IPS", "1/1")], "rate_limit_ips"),
        ] {
            let err = format!("{:#}", load_toml(toml, &env, false).unwrap_err());
            assert!(err.contains(&format!("unknown setting {name:?}")), "{err}");
        }
    }

    #[test]
    fn a_broken_list_stops_the_host_with_its_key() {
        let c = load_toml("admins = \"[oops\"", &[], false).unwrap();
        let dir = tempfile::tempdir().unwrap();
        let err = format!("{:#}", c.check(&Secrets::new(dir.path(), [])).unwrap_err());
        assert!(err.contains("admins"), "{err}");
    }

    #[test]
    fn the_store_table_is_host_only_and_strict() {
        let c = load_toml("[store]\nbackend = \"redis\"\nurl = \"redis://127.0.0.1:6379/0\"\n", &[], false).unwrap();
        let store = c.store().unwrap();
        assert_eq!((store.backend, store.url.as_deref()), (Backend::Redis, Some("redis://127.0.0.1:6379/0")));
        assert!(c.all().all(|(k, _)| k != "store"));
        assert_eq!(load_toml("", &[], false).unwrap().store().unwrap().backend, Backend::Redb);
        assert!(load_toml("[store]\nbackend = \"redis\"\npassword = \"x\"\n", &[], false).unwrap().store().is_err());
        let env = load_toml("", &[("TMI_CONFIG_STORE", r#"{"backend":"memory"}"#)], false).unwrap();
        assert_eq!(env.store().unwrap().backend, Backend::Memory);
    }

    #[test]
    fn keys_table_is_host_only() {
        let c = load_toml("[[keys]]\nkid = \"k1\"\nalg = \"ES256\"\nsecret = \"jwt_key_k1\"\nsigning = true\n", &[], false).unwrap();
        assert_eq!(c.keys().len(), 1);
        assert!(c.keys()[0].signing);
        assert_eq!(c.get("keys"), None);
        assert!(c.all().all(|(k, _)| k != "keys"));
    }

    #[test]
    fn dev_flag_forces_dev_mode() {
        assert_eq!(load_toml("dev_mode = false", &[], true).unwrap().get("dev_mode"), Some("true"));
        assert!(load_toml("", &[], true).unwrap().dev_mode());
        assert!(!load_toml("", &[], false).unwrap().dev_mode());
    }

    #[test]
    fn invalid_keys_are_rejected() {
        assert!(load_toml("\"Base-URL\" = \"x\"", &[], false).is_err());
        assert!(load_toml("", &[("TMI_CONFIG_KEYS", "[]")], false).is_err());
        assert!(load_toml("allowed_outbound_hosts = \"not json\"", &[], false).is_err());
    }

    #[test]
    fn oauth_providers_are_served_as_json_and_need_their_secrets() {
        let dir = tempfile::tempdir().unwrap();
        let c = load_toml("[[oauth_providers]]\nid = \"corp-sso\"\nkind = \"oidc\"\nclient_id = \"c\"\nissuer = \"https://idp.example\"\n", &[], false).unwrap();
        let raw: serde_json::Value = serde_json::from_str(c.get("oauth_providers").unwrap()).unwrap();
        assert_eq!(raw[0]["id"], "corp-sso");
        let without = Secrets::new(dir.path(), []);
        let err = format!("{:#}", c.check(&without).unwrap_err());
        assert!(err.contains("TMI_SECRET_OAUTH_CORP_SSO_CLIENT_SECRET"), "{err}");
        let with = Secrets::new(dir.path(), [("TMI_SECRET_OAUTH_CORP_SSO_CLIENT_SECRET".to_string(), "x".to_string())]);
        c.check(&with).unwrap();
        let bad = load_toml("oauth_providers = \"not json\"\n", &[], false).unwrap();
        assert!(bad.check(&with).is_err());
    }

    #[test]
    fn saml_idp_metadata_file_is_inlined() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("idp.xml"), "<md:EntityDescriptor/>").unwrap();
        let path = dir.path().join("tmi.toml");
        let toml = "[[saml_providers]]\nid = \"corp\"\nidp_metadata_file = \"idp.xml\"\n\n[[saml_providers]]\nid = \"other\"\nidp_metadata = \"<x/>\"\n";
        std::fs::write(&path, toml).unwrap();
        let c = Settings::load(Some(&path), Vec::new(), listen(), false).unwrap();
        let raw: serde_json::Value = serde_json::from_str(c.get("saml_providers").unwrap()).unwrap();
        assert_eq!(raw[0]["idp_metadata"], "<md:EntityDescriptor/>");
        assert!(raw[0].get("idp_metadata_file").is_none());
        assert_eq!(raw[1]["idp_metadata"], "<x/>");

        let both = "[[saml_providers]]\nid = \"corp\"\nidp_metadata = \"<x/>\"\nidp_metadata_file = \"idp.xml\"\n";
        std::fs::write(&path, both).unwrap();
        assert!(Settings::load(Some(&path), Vec::new(), listen(), false).is_err());
        let missing = "[[saml_providers]]\nid = \"corp\"\nidp_metadata_file = \"nope.xml\"\n";
        std::fs::write(&path, missing).unwrap();
        let err = format!("{:#}", Settings::load(Some(&path), Vec::new(), listen(), false).unwrap_err());
        assert!(err.contains("nope.xml"), "{err}");
        std::fs::write(dir.path().join("big.xml"), vec![b'x'; 1024 * 1024 + 1]).unwrap();
        let big = "[[saml_providers]]\nid = \"corp\"\nidp_metadata_file = \"big.xml\"\n";
        std::fs::write(&path, big).unwrap();
        assert!(Settings::load(Some(&path), Vec::new(), listen(), false).is_err());
    }

    #[test]
    fn saml_providers_need_secrets_and_no_doctype() {
        let dir = tempfile::tempdir().unwrap();
        let c = load_toml("[[saml_providers]]\nid = \"corp-idp\"\nidp_metadata = \"<x/>\"\n", &[], false).unwrap();
        let without = Secrets::new(dir.path(), []);
        let err = format!("{:#}", c.check(&without).unwrap_err());
        assert!(err.contains("TMI_SECRET_SAML_CORP_IDP_SP_KEY"), "{err}");
        let with = Secrets::new(
            dir.path(),
            [
                ("TMI_SECRET_SAML_CORP_IDP_SP_KEY".to_string(), "k".to_string()),
                ("TMI_SECRET_SAML_CORP_IDP_SP_CERT".to_string(), "c".to_string()),
            ],
        );
        // Secrets present: the DOCTYPE check and then the core's parse speak.
        let err = format!("{:#}", c.check(&with).unwrap_err());
        assert!(!err.contains("needs the secret"), "{err}");
        let doctype = load_toml("[[saml_providers]]\nid = \"corp-idp\"\nidp_metadata = \"<!DocType x><x/>\"\n", &[], false).unwrap();
        let err = format!("{:#}", doctype.check(&with).unwrap_err());
        assert!(err.contains("DOCTYPE"), "{err}");
        let no_metadata = load_toml("[[saml_providers]]\nid = \"corp-idp\"\n", &[], false).unwrap();
        assert!(no_metadata.check(&with).is_err());
    }
}
