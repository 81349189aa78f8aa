//! Configuration of upstream identity providers: the config key
//! `oauth_providers` holds a JSON array of provider objects (in the host's
//! TOML file, `[[oauth_providers]]` tables). Each provider's client secret
//! is the secret `oauth_<id>_client_secret` (`-` in the id becomes `_`).
//!
//! Presets (`google`, `github`, `microsoft`) fill in the known URLs, scopes,
//! claim names and quirks; `oidc` needs an issuer (or explicit URLs with a
//! JWKS), `oauth2` explicit authorization, token and userinfo URLs.

use std::collections::HashMap;

use serde::Deserialize;

use crate::values::{is_provider_id, ConfigError, Secret};

/// The config key holding the provider list.
pub const KEY: &str = "oauth_providers";

/// What kind of provider, and so which defaults and quirks apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// Any OpenID Connect provider: discovery, ID token, userinfo.
    Oidc,
    /// A plain OAuth 2.0 provider: no ID token; identity from userinfo.
    Oauth2,
    /// GitHub: OAuth 2.0, identity from the API, primary verified email.
    Github,
    /// Google: OIDC at `https://accounts.google.com`.
    Google,
    /// Microsoft Entra ID: OIDC, tenant in the issuer.
    Microsoft,
}

impl Kind {
    /// Whether the provider issues ID tokens (OpenID Connect).
    pub fn is_oidc(self) -> bool {
        matches!(self, Kind::Oidc | Kind::Google | Kind::Microsoft)
    }
}

/// How we authenticate to the provider's token endpoint (RFC 6749 §2.3.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
pub enum ClientAuth {
    /// HTTP Basic with the client id and secret.
    #[serde(rename = "client_secret_basic")]
    Basic,
    /// `client_id` and `client_secret` in the form body.
    #[serde(rename = "client_secret_post")]
    Post,
}

/// Which claim (of the ID token merged with userinfo) holds what.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClaimMap {
    /// The stable user id.
    pub subject: String,
    /// The email address.
    pub email: String,
    /// Whether the email address is verified (absent = not verified).
    pub email_verified: String,
    /// The display name.
    pub name: String,
    /// Group names (an array of strings, or one string).
    pub groups: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PartialClaimMap {
    subject: Option<String>,
    email: Option<String>,
    email_verified: Option<String>,
    name: Option<String>,
    groups: Option<String>,
}

/// One provider as written in the configuration.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    id: String,
    kind: Kind,
    name: Option<String>,
    icon: Option<String>,
    client_id: String,
    scopes: Option<Vec<String>>,
    issuer: Option<String>,
    authorization_url: Option<String>,
    token_url: Option<String>,
    userinfo_url: Option<String>,
    jwks_url: Option<String>,
    #[serde(default)]
    claims: PartialClaimMap,
    enabled: Option<bool>,
    tenant: Option<String>,
    pkce: Option<bool>,
    /// ID token algorithms accepted (default: what discovery lists, of
    /// those we accept; RS256 without discovery).
    algorithms: Option<Vec<String>>,
    /// How to authenticate at the token endpoint (default: what discovery
    /// advertises, Basic first; the body for providers without discovery).
    token_endpoint_auth_method: Option<ClientAuth>,
}

/// A configured upstream provider, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderConfig {
    /// The `idp` identifier.
    pub id: String,
    /// The provider kind.
    pub kind: Kind,
    /// Display name.
    pub name: String,
    /// Icon identifier.
    pub icon: String,
    /// Our client id at the provider.
    pub client_id: String,
    /// Our client secret at the provider.
    pub client_secret: Secret,
    /// Scopes requested from the provider.
    pub scopes: Vec<String>,
    /// OIDC issuer (discovery base and the ID token's `iss`).
    pub issuer: Option<String>,
    /// Explicit endpoints; for OIDC they override discovery.
    pub authorization_url: Option<String>,
    /// Token endpoint.
    pub token_url: Option<String>,
    /// Userinfo endpoint.
    pub userinfo_url: Option<String>,
    /// JWKS of the ID token signing keys.
    pub jwks_url: Option<String>,
    /// GitHub: the emails API.
    pub emails_url: Option<String>,
    /// Claim mapping.
    pub claims: ClaimMap,
    /// Listed and usable.
    pub enabled: bool,
    /// Whether to use PKCE towards the provider.
    pub pkce: bool,
    /// Accepted ID token algorithms, if configured.
    pub algorithms: Option<Vec<String>>,
    /// Token endpoint authentication, if configured.
    pub client_auth: Option<ClientAuth>,
}

/// The ID token algorithms an upstream provider may use.
pub const ID_TOKEN_ALGORITHMS: &[&str] = &["RS256", "PS256", "ES256", "EdDSA"];

/// The name of the secret holding a provider's client secret.
pub fn secret_name(id: &str) -> String {
    format!("oauth_{}_client_secret", id.replace('-', "_").to_ascii_lowercase())
}

/// The secret names the configured providers need, for the component to
/// fetch by name before building the configuration. Unparsable
/// configuration yields none (the parse error surfaces in [`parse`]).
pub fn secret_names(value: &str) -> Vec<String> {
    #[derive(Deserialize)]
    struct IdOnly {
        id: String,
    }
    serde_json::from_str::<Vec<serde_json::Value>>(value)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|v| serde_json::from_value::<IdOnly>(v).ok())
        .filter(|p| is_provider_id(&p.id))
        .map(|p| secret_name(&p.id))
        .collect()
}

fn err(reason: String) -> ConfigError {
    ConfigError::new(KEY, reason)
}

fn check_url(id: &str, field: &str, value: &Option<String>) -> Result<(), ConfigError> {
    if let Some(v) = value {
        let ok = url::Url::parse(v)
            .ok()
            .is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
        if !ok {
            return Err(err(format!("provider {id}: {field} must be an http(s) URL")));
        }
    }
    Ok(())
}

/// Parse the `oauth_providers` value; `secrets` maps secret names to values.
pub fn parse(value: &str, secrets: &HashMap<&str, &str>) -> Result<Vec<ProviderConfig>, ConfigError> {
    let raw: Vec<RawProvider> =
        serde_json::from_str(value).map_err(|e| err(format!("must be a JSON array of provider objects: {e}")))?;
    let mut out: Vec<ProviderConfig> = Vec::new();
    for p in raw {
        let id = p.id.clone();
        if !is_provider_id(&id) {
            return Err(err(format!("provider id {id:?} must match ^[a-zA-Z][a-zA-Z0-9_-]*$")));
        }
        if id == "test" {
            return Err(err("provider id test is reserved for the test provider".into()));
        }
        if out.iter().any(|o| o.id == id) {
            return Err(err(format!("provider id {id} is configured twice")));
        }
        if p.client_id.trim().is_empty() {
            return Err(err(format!("provider {id}: client_id is required")));
        }
        let name = secret_name(&id);
        let client_secret = secrets
            .get(name.as_str())
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
            .map(|s| Secret(s.to_string()))
            .ok_or_else(|| err(format!("provider {id}: the secret {name} (its client secret) is missing")))?;
        out.push(apply_preset(p, client_secret)?);
    }
    Ok(out)
}

/// What a provider kind fills in when the configuration leaves it out.
struct Preset {
    issuer: Option<String>,
    name: &'static str,
    icon: &'static str,
    scopes: &'static [&'static str],
    subject_claim: &'static str,
    emails_url: Option<&'static str>,
    /// Authorization, token and userinfo endpoints.
    urls: [Option<&'static str>; 3],
}

const OIDC_SCOPES: &[&str] = &["openid", "email", "profile"];
const GENERIC_ICON: &str = "fa-solid fa-right-to-bracket";

fn preset(p: &RawProvider) -> Result<Preset, ConfigError> {
    let oidc = |issuer: Option<String>, name, icon| Preset {
        issuer,
        name,
        icon,
        scopes: OIDC_SCOPES,
        subject_claim: "sub",
        emails_url: None,
        urls: [None; 3],
    };
    Ok(match p.kind {
        Kind::Google => oidc(Some(p.issuer.clone().unwrap_or_else(|| "https://accounts.google.com".into())), "Google", "fa-brands fa-google"),
        Kind::Microsoft => {
            let tenant = p.tenant.clone().unwrap_or_else(|| "common".into());
            if tenant.is_empty() || !tenant.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.') {
                return Err(err(format!("provider {}: tenant is malformed", p.id)));
            }
            let issuer = p.issuer.clone().unwrap_or_else(|| format!("https://login.microsoftonline.com/{tenant}/v2.0"));
            oidc(Some(issuer), "Microsoft", "fa-brands fa-microsoft")
        }
        Kind::Github => Preset {
            issuer: None,
            name: "GitHub",
            icon: "fa-brands fa-github",
            scopes: &["read:user", "user:email"],
            subject_claim: "id",
            emails_url: Some("https://api.github.com/user/emails"),
            urls: [
                Some("https://github.com/login/oauth/authorize"),
                Some("https://github.com/login/oauth/access_token"),
                Some("https://api.github.com/user"),
            ],
        },
        Kind::Oidc => oidc(p.issuer.clone(), "OpenID Connect", GENERIC_ICON),
        Kind::Oauth2 => Preset { scopes: &[], ..oidc(p.issuer.clone(), "OAuth 2.0", GENERIC_ICON) },
    })
}

fn apply_preset(p: RawProvider, client_secret: Secret) -> Result<ProviderConfig, ConfigError> {
    for (field, v) in [
        ("issuer", &p.issuer),
        ("authorization_url", &p.authorization_url),
        ("token_url", &p.token_url),
        ("userinfo_url", &p.userinfo_url),
        ("jwks_url", &p.jwks_url),
    ] {
        check_url(&p.id, field, v)?;
    }
    if p.tenant.is_some() && p.kind != Kind::Microsoft {
        return Err(err(format!("provider {}: tenant is only for kind microsoft", p.id)));
    }
    let preset = preset(&p)?;
    let or = |v: Option<String>, d: Option<&str>| v.or(d.map(String::from));
    let [authorization, token, userinfo] = preset.urls;
    let config = ProviderConfig {
        name: p.name.unwrap_or_else(|| preset.name.into()),
        icon: p.icon.unwrap_or_else(|| preset.icon.into()),
        client_id: p.client_id,
        client_secret,
        scopes: p.scopes.unwrap_or_else(|| preset.scopes.iter().map(|s| s.to_string()).collect()),
        issuer: preset.issuer,
        authorization_url: or(p.authorization_url, authorization),
        token_url: or(p.token_url, token),
        userinfo_url: or(p.userinfo_url, userinfo),
        jwks_url: p.jwks_url,
        emails_url: preset.emails_url.map(String::from),
        claims: ClaimMap {
            subject: p.claims.subject.unwrap_or_else(|| preset.subject_claim.into()),
            email: p.claims.email.unwrap_or_else(|| "email".into()),
            email_verified: p.claims.email_verified.unwrap_or_else(|| "email_verified".into()),
            name: p.claims.name.unwrap_or_else(|| "name".into()),
            groups: p.claims.groups.unwrap_or_else(|| "groups".into()),
        },
        enabled: p.enabled.unwrap_or(true),
        pkce: p.pkce.unwrap_or(p.kind.is_oidc()),
        algorithms: p.algorithms,
        client_auth: p.token_endpoint_auth_method,
        kind: p.kind,
        id: p.id,
    };
    validate(&config)?;
    Ok(config)
}

/// The rules every provider must meet once its defaults are applied.
fn validate(config: &ProviderConfig) -> Result<(), ConfigError> {
    let id = &config.id;
    if let Some(algs) = &config.algorithms {
        if algs.is_empty() || !algs.iter().all(|a| ID_TOKEN_ALGORITHMS.contains(&a.as_str())) {
            return Err(err(format!("provider {id}: algorithms may only list {}", ID_TOKEN_ALGORITHMS.join(", "))));
        }
    }
    if config.scopes.iter().any(|s| s.is_empty() || s.contains(' ')) {
        return Err(err(format!("provider {id}: scopes must be single words")));
    }
    if config.kind.is_oidc() {
        if config.issuer.is_none() {
            return Err(err(format!("provider {id}: an OIDC provider needs an issuer")));
        }
        if !config.scopes.iter().any(|s| s == "openid") {
            return Err(err(format!("provider {id}: an OIDC provider's scopes must include openid")));
        }
    } else if config.authorization_url.is_none() || config.token_url.is_none() || config.userinfo_url.is_none() {
        return Err(err(format!("provider {id}: authorization_url, token_url and userinfo_url are required")));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn secrets() -> HashMap<&'static str, &'static str> {
        HashMap::from([
            ("oauth_corp_sso_client_secret", "s3cret-value"),
            ("oauth_google_client_secret", "g"),
            ("oauth_github_client_secret", "gh"),
            ("oauth_ms_client_secret", "m"),
        ])
    }

    #[test]
    fn secret_name_replaces_dashes() {
        assert_eq!(secret_name("corp-sso"), "oauth_corp_sso_client_secret");
        assert_eq!(secret_names(r#"[{"id":"corp-sso"},{"id":"9bad"},{"x":1}]"#), vec!["oauth_corp_sso_client_secret"]);
    }

    #[test]
    fn presets_fill_known_urls_and_claims() {
        let v = r#"[{"id":"google","kind":"google","client_id":"g-id"},
                    {"id":"github","kind":"github","client_id":"gh-id"},
                    {"id":"ms","kind":"microsoft","client_id":"m-id","tenant":"contoso.onmicrosoft.com"}]"#;
        let p = parse(v, &secrets()).unwrap();
        assert_eq!(p[0].issuer.as_deref(), Some("https://accounts.google.com"));
        assert!(p[0].pkce && p[0].enabled);
        assert_eq!(p[1].token_url.as_deref(), Some("https://github.com/login/oauth/access_token"));
        assert_eq!(p[1].claims.subject, "id");
        assert!(!p[1].pkce && p[1].issuer.is_none());
        assert_eq!(p[2].issuer.as_deref(), Some("https://login.microsoftonline.com/contoso.onmicrosoft.com/v2.0"));
    }

    #[test]
    fn client_secret_is_required_and_redacted() {
        let v = r#"[{"id":"corp-sso","kind":"oidc","client_id":"c","issuer":"https://idp.example"}]"#;
        let p = parse(v, &secrets()).unwrap();
        assert!(!format!("{p:?}").contains("s3cret-value"));
        assert!(parse(v, &HashMap::new()).is_err());
    }

    #[test]
    fn invalid_provider_config_is_refused() {
        let s = secrets();
        for bad in [
            r#"{"id":"x"}"#,
            r#"[{"id":"9x","kind":"oidc","client_id":"c","issuer":"https://i"}]"#,
            r#"[{"id":"google","kind":"nope","client_id":"c"}]"#,
            r#"[{"id":"google","kind":"oidc","client_id":"c"}]"#,
            r#"[{"id":"google","kind":"oauth2","client_id":"c","authorization_url":"https://a"}]"#,
            r#"[{"id":"google","kind":"google","client_id":"c","issuer":"ftp://x"}]"#,
            r#"[{"id":"google","kind":"google","client_id":"c","surprise":1}]"#,
            r#"[{"id":"google","kind":"google","client_id":"c","algorithms":["HS256"]}]"#,
            r#"[{"id":"google","kind":"google","client_id":"c","scopes":["email"]}]"#,
            r#"[{"id":"google","kind":"google","client_id":"c"},{"id":"google","kind":"google","client_id":"c"}]"#,
            r#"[{"id":"test","kind":"google","client_id":"c"}]"#,
        ] {
            assert!(parse(bad, &s).is_err(), "{bad}");
        }
    }
}
