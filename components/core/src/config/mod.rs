//! Service configuration, read from flat string key/value pairs (what
//! `wasi:config/store` `get-all` returns, and what Spin variables hold).

pub mod allowlist;
pub mod bundle;
pub mod oauth;
pub mod saml;

use std::collections::HashMap;

use self::allowlist::CallbackAllowlist;
use self::oauth::ProviderConfig;
use self::saml::SamlProviderConfig;
use crate::values::{ConfigError, Secret};

/// Every key the service reads. A host that reads its own configuration
/// file refuses any other key, so a misspelt setting cannot quietly fall
/// back to its default.
pub const KEYS: &[&str] = &[
    "base_url",
    "token_audience",
    "dev_mode",
    "test_provider",
    "client_callback_allowlist",
    "access_token_lifetime",
    "refresh_token_lifetime",
    "session_lifetime",
    "refresh_grace_period",
    "admins",
    "client_secret_pepper",
    "rate_limit_ip",
    "rate_limit_session",
    "rate_limit_user",
    "rate_limit_client",
    oauth::KEY,
    "upstream_timeout",
    saml::KEY,
];

/// Everything the service is configured with. Keys are listed in README.md.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Public base URL, without a trailing slash: `iss`, absolute URLs, redirects.
    pub base_url: String,
    /// The `aud` of access tokens.
    pub audience: String,
    /// Development mode: test provider on, localhost callbacks allowed.
    pub dev_mode: bool,
    /// Whether the `test` identity provider is enabled.
    pub test_provider: bool,
    /// Where clients may be sent back to.
    pub callback_allowlist: CallbackAllowlist,
    /// Access token lifetime, seconds.
    pub access_token_lifetime: u64,
    /// Refresh token lifetime, seconds.
    pub refresh_token_lifetime: u64,
    /// Absolute lifetime of a login session, seconds.
    pub session_lifetime: u64,
    /// Seconds a rotated refresh token still counts as fresh (0 = none).
    pub refresh_grace_period: u64,
    /// Emails, provider user ids or group names of administrators.
    pub admins: Vec<String>,
    /// The server-side pepper client secrets are hashed under (a secret).
    pub client_secret_pepper: Option<Secret>,
    /// Rate limits of the auth-flow endpoints.
    pub rate_limits: RateLimits,
    /// Upstream identity providers (`oauth_providers`), enabled or not.
    pub oauth_providers: Vec<ProviderConfig>,
    /// Seconds to wait for an upstream provider (`upstream_timeout`).
    pub upstream_timeout: u64,
    /// SAML identity providers (`saml_providers`), enabled or not.
    pub saml_providers: Vec<SamlProviderConfig>,
}

/// At most `count` requests per `window` seconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limit {
    /// Requests allowed per window.
    pub count: u64,
    /// Window length in seconds.
    pub window: u64,
}

/// Rate limits per scope; `None` = unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Per client IP address.
    pub ip: Option<Limit>,
    /// Per flow: OAuth state, code or refresh token.
    pub session: Option<Limit>,
    /// Per user identifier: login_hint.
    pub user: Option<Limit>,
    /// Per client_id on the client_credentials grant.
    pub client: Option<Limit>,
}

/// The secrets a configuration needs, by name (hosts fetch them one by
/// one; listing configuration never shows them): the client-secret pepper,
/// each upstream provider's client secret, each SAML provider's SP key and
/// certificate.
pub fn secret_names<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Vec<String> {
    let mut names = vec!["client_secret_pepper".to_string()];
    for (key, value) in pairs {
        if key == oauth::KEY {
            names.extend(oauth::secret_names(value));
        } else if key == saml::KEY {
            names.extend(saml::secret_names(value));
        }
    }
    names
}

impl Config {
    /// Build the configuration from key/value pairs.
    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Result<Self, ConfigError> {
        let map: HashMap<&str, &str> = pairs.into_iter().collect();
        let get = |k: &str| map.get(k).map(|v| v.trim()).filter(|v| !v.is_empty());

        let base_url = get("base_url").ok_or_else(|| err("base_url", "is required"))?;
        let parsed = url::Url::parse(base_url).map_err(|_| err("base_url", "is not a URL"))?;
        if !matches!(parsed.scheme(), "http" | "https") || parsed.host_str().is_none() {
            return Err(err("base_url", "must be an http(s) URL"));
        }
        let base_url = base_url.trim_end_matches('/').to_string();

        let dev_mode = parse_bool(get("dev_mode"), "dev_mode")?.unwrap_or(false);
        let test_provider = parse_bool(get("test_provider"), "test_provider")?.unwrap_or(dev_mode);
        let entries = parse_list(get("client_callback_allowlist"), "client_callback_allowlist")?;
        let oauth_providers = match get(oauth::KEY) {
            None => Vec::new(),
            Some(v) => oauth::parse(v, &map)?,
        };
        let saml_providers = match get(saml::KEY) {
            None => Vec::new(),
            Some(v) => saml::parse(v, &base_url, &map)?,
        };
        if let Some(p) = saml_providers.iter().find(|s| oauth_providers.iter().any(|o| o.id == s.id)) {
            return Err(err(saml::KEY, &format!("provider id {} is also an OAuth provider", p.id)));
        }
        Ok(Config {
            audience: get("token_audience").unwrap_or(&base_url).to_string(),
            dev_mode,
            test_provider,
            callback_allowlist: CallbackAllowlist::new(entries, dev_mode),
            access_token_lifetime: parse_secs(get("access_token_lifetime"), "access_token_lifetime", 3600)?,
            refresh_token_lifetime: parse_secs(get("refresh_token_lifetime"), "refresh_token_lifetime", 30 * 86400)?,
            session_lifetime: parse_secs(get("session_lifetime"), "session_lifetime", 90 * 86400)?,
            refresh_grace_period: match get("refresh_grace_period") {
                None => 0,
                Some(v) => v.parse().map_err(|_| err("refresh_grace_period", "must be a number of seconds"))?,
            },
            admins: parse_list(get("admins"), "admins")?,
            client_secret_pepper: match get("client_secret_pepper") {
                Some(p) if p.len() < 32 => return Err(err("client_secret_pepper", "must be at least 32 characters")),
                p => p.map(|p| Secret(p.to_string())),
            },
            rate_limits: RateLimits {
                ip: parse_limit(get("rate_limit_ip"), "rate_limit_ip", Limit { count: 100, window: 60 })?,
                session: parse_limit(get("rate_limit_session"), "rate_limit_session", Limit { count: 5, window: 60 })?,
                user: parse_limit(get("rate_limit_user"), "rate_limit_user", Limit { count: 10, window: 3600 })?,
                client: parse_limit(get("rate_limit_client"), "rate_limit_client", Limit { count: 6000, window: 60 })?,
            },
            oauth_providers,
            saml_providers,
            upstream_timeout: parse_secs(get("upstream_timeout"), "upstream_timeout", 10)?,
            base_url,
        })
    }

    /// An absolute URL under the public base URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }

    /// The enabled SAML provider `id`.
    pub fn saml_provider(&self, id: &str) -> Option<&SamlProviderConfig> {
        self.saml_providers.iter().find(|p| p.id == id && p.enabled)
    }
}

fn err(key: &str, reason: &str) -> ConfigError {
    ConfigError::new(key, reason)
}

fn parse_bool(value: Option<&str>, key: &str) -> Result<Option<bool>, ConfigError> {
    match value {
        None => Ok(None),
        Some("true" | "1" | "yes") => Ok(Some(true)),
        Some("false" | "0" | "no") => Ok(Some(false)),
        Some(_) => Err(err(key, "must be true or false")),
    }
}

fn parse_secs(value: Option<&str>, key: &str, default: u64) -> Result<u64, ConfigError> {
    match value {
        None => Ok(default),
        Some(v) => match v.parse::<u64>() {
            Ok(n) if n > 0 => Ok(n),
            _ => Err(err(key, "must be a positive number of seconds")),
        },
    }
}

/// `"N/S"`: N requests per S seconds; `"off"` disables the limit.
fn parse_limit(value: Option<&str>, key: &str, default: Limit) -> Result<Option<Limit>, ConfigError> {
    let Some(v) = value else { return Ok(Some(default)) };
    if v == "off" {
        return Ok(None);
    }
    let parsed = v.split_once('/').and_then(|(n, s)| Some((n.trim().parse().ok()?, s.trim().parse().ok()?)));
    match parsed {
        Some((count, window)) if count > 0 && window > 0 => Ok(Some(Limit { count, window })),
        _ => Err(err(key, "must be \"N/SECONDS\" or \"off\"")),
    }
}

/// A list is a JSON array of strings, or a comma-separated string; a value
/// that starts like a JSON array must be one (`"[oops"` is refused, not
/// read as an empty list).
fn parse_list(value: Option<&str>, key: &str) -> Result<Vec<String>, ConfigError> {
    match value {
        None => Ok(Vec::new()),
        Some(v) if v.starts_with('[') => {
            serde_json::from_str::<Vec<String>>(v).map_err(|_| err(key, "must be a JSON array of strings or a comma-separated list"))
        }
        Some(v) => Ok(v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_lists() {
        let c = Config::from_pairs([
            ("base_url", "https://auth.example.com/"),
            ("client_callback_allowlist", r#"["https://app.example.com/cb"]"#),
            ("admins", "a@example.com, ops"),
        ])
        .unwrap();
        assert_eq!(c.base_url, "https://auth.example.com");
        assert_eq!(c.audience, "https://auth.example.com");
        assert!(!c.dev_mode && !c.test_provider);
        assert_eq!(c.access_token_lifetime, 3600);
        assert_eq!(c.admins, vec!["a@example.com", "ops"]);
        assert!(c.callback_allowlist.allows("https://app.example.com/cb"));
        assert_eq!(c.rate_limits.ip, Some(Limit { count: 100, window: 60 }));
        assert_eq!(c.refresh_grace_period, 0);
    }

    #[test]
    fn rate_limits_and_pepper() {
        let c = Config::from_pairs([
            ("base_url", "https://x"),
            ("rate_limit_ip", "3/10"),
            ("rate_limit_user", "off"),
            ("client_secret_pepper", "0123456789abcdef0123456789abcdef"),
        ])
        .unwrap();
        assert_eq!(c.rate_limits.ip, Some(Limit { count: 3, window: 10 }));
        assert_eq!(c.rate_limits.user, None);
        assert!(!format!("{c:?}").contains("0123456789abcdef"));
        assert!(Config::from_pairs([("base_url", "https://x"), ("rate_limit_ip", "3")]).is_err());
        assert!(Config::from_pairs([("base_url", "https://x"), ("client_secret_pepper", "short")]).is_err());
    }

    #[test]
    fn base_url_is_required_and_checked() {
        assert!(Config::from_pairs([]).is_err());
        assert!(Config::from_pairs([("base_url", "ftp://x")]).is_err());
        assert!(Config::from_pairs([("base_url", "https://x"), ("dev_mode", "maybe")]).is_err());
    }

    #[test]
    fn a_broken_list_is_refused_with_its_key() {
        for key in ["admins", "client_callback_allowlist"] {
            let e = Config::from_pairs([("base_url", "https://x"), (key, "[oops")]).unwrap_err();
            assert_eq!(e.key, key);
        }
    }

    #[test]
    fn every_key_read_is_listed() {
        let source = include_str!("mod.rs");
        let read: Vec<&str> = source.split("get(\"").skip(1).filter_map(|rest| rest.split('"').next()).collect();
        assert!(read.len() >= 15, "{read:?}");
        for key in read {
            assert!(KEYS.contains(&key), "{key} is read but not in KEYS");
        }
    }
}
