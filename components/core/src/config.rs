//! Service configuration, read from flat string key/value pairs (what
//! `wasi:config/store` `get-all` returns, and what Spin variables hold).

use std::collections::HashMap;

use crate::allowlist::CallbackAllowlist;

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
    /// Emails, provider user ids or group names of administrators.
    pub admins: Vec<String>,
}

/// A configuration value that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("configuration key {key}: {reason}")]
pub struct ConfigError {
    /// The offending key.
    pub key: String,
    /// Why it was refused.
    pub reason: String,
}

/// How long authorization codes and login flows live (CONTRACT.md: at most 10 minutes).
pub const CODE_LIFETIME: u64 = 600;

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
        let entries = parse_list(get("client_callback_allowlist"));
        Ok(Config {
            audience: get("token_audience").unwrap_or(&base_url).to_string(),
            dev_mode,
            test_provider,
            callback_allowlist: CallbackAllowlist::new(entries, dev_mode),
            access_token_lifetime: parse_secs(get("access_token_lifetime"), "access_token_lifetime", 3600)?,
            refresh_token_lifetime: parse_secs(get("refresh_token_lifetime"), "refresh_token_lifetime", 30 * 86400)?,
            session_lifetime: parse_secs(get("session_lifetime"), "session_lifetime", 90 * 86400)?,
            admins: parse_list(get("admins")),
            base_url,
        })
    }

    /// An absolute URL under the public base URL.
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base_url, path)
    }
}

fn err(key: &str, reason: &str) -> ConfigError {
    ConfigError { key: key.into(), reason: reason.into() }
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

/// A list is a JSON array of strings, or a comma-separated string.
fn parse_list(value: Option<&str>) -> Vec<String> {
    match value {
        None => Vec::new(),
        Some(v) if v.starts_with('[') => serde_json::from_str::<Vec<String>>(v).unwrap_or_default(),
        Some(v) => v.split(',').map(str::trim).filter(|s| !s.is_empty()).map(String::from).collect(),
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
    }

    #[test]
    fn base_url_is_required_and_checked() {
        assert!(Config::from_pairs([]).is_err());
        assert!(Config::from_pairs([("base_url", "ftp://x")]).is_err());
        assert!(Config::from_pairs([("base_url", "https://x"), ("dev_mode", "maybe")]).is_err());
    }
}
