//! Configuration of SAML identity providers: the config key
//! `saml_providers` holds a JSON array of provider objects (in the host's
//! TOML file, `[[saml_providers]]` tables; the host turns
//! `idp_metadata_file` into the inline `idp_metadata`). Each provider's SP
//! key and certificate are the secrets `saml_<id>_sp_key` (PKCS#8 PEM, RSA)
//! and `saml_<id>_sp_cert` (PEM X.509), `-` in the id becoming `_`.

use std::collections::HashMap;

use rsa::pkcs8::DecodePrivateKey;
use rsa::traits::PublicKeyParts;
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde::Deserialize;

use crate::saml::{cert, idp_metadata};
use crate::values::{is_provider_id, ConfigError, Secret};

/// The config key holding the SAML provider list.
pub const KEY: &str = "saml_providers";

/// Default allowed clock skew, seconds.
pub const DEFAULT_CLOCK_SKEW: u64 = 180;

/// Well-known attribute names (CONTRACT.md), tried after the configured one.
pub const WELL_KNOWN_EMAIL: [&str; 3] = ["mail", "email", "urn:oid:0.9.2342.19200300.100.1.3"];
/// Well-known display-name attributes.
pub const WELL_KNOWN_NAME: [&str; 2] = ["displayName", "urn:oid:2.16.840.1.113730.3.1.241"];
/// Well-known group attributes.
pub const WELL_KNOWN_GROUPS: [&str; 2] = ["groups", "memberOf"];
/// Attributes that carry the user id before the NameID is used.
pub const SUBJECT_ID_ATTRIBUTES: [&str; 2] =
    ["urn:oasis:names:tc:SAML:attribute:subject-id", "urn:oasis:names:tc:SAML:attribute:pairwise-id"];

/// NameID format URIs by their short configuration names.
const NAME_ID_FORMATS: [(&str, &str); 4] = [
    ("unspecified", "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"),
    ("emailAddress", "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"),
    ("persistent", "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent"),
    ("transient", "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"),
];

/// Which attributes hold what: candidates in order, the configured name
/// first, then the well-known names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AttributeMap {
    /// Email address candidates.
    pub email: Vec<String>,
    /// Display name candidates.
    pub name: Vec<String>,
    /// Group candidates (multi-valued).
    pub groups: Vec<String>,
}

/// The SP's RSA private key; `Debug` never shows it.
#[derive(Clone)]
pub struct SpKey {
    pem: Secret,
    /// The parsed key.
    pub key: RsaPrivateKey,
}

impl std::fmt::Debug for SpKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpKey(..)")
    }
}

impl PartialEq for SpKey {
    fn eq(&self, other: &Self) -> bool {
        self.pem == other.pem
    }
}
impl Eq for SpKey {}

/// A configured SAML identity provider, defaults applied.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamlProviderConfig {
    /// The provider id (`/saml/{id}/...`, and the `idp` of its users).
    pub id: String,
    /// Display name.
    pub name: String,
    /// Icon identifier.
    pub icon: String,
    /// Our entity ID (the AuthnRequest Issuer, the Audience we require).
    pub sp_entity_id: String,
    /// Our AssertionConsumerService (HTTP-POST).
    pub acs_url: String,
    /// Our SingleLogoutService (HTTP-Redirect and HTTP-POST).
    pub slo_url: String,
    /// The IdP, from its metadata.
    pub idp: idp_metadata::IdpMetadata,
    /// Accept Responses without InResponseTo.
    pub allow_idp_initiated: bool,
    /// Sign AuthnRequests (query-string signature, RSA-SHA256).
    pub sign_authn_requests: bool,
    /// Attribute names.
    pub attributes: AttributeMap,
    /// Allowed clock skew, seconds.
    pub clock_skew: u64,
    /// Accept SHA-1 signatures from the IdP (off by default).
    pub allow_sha1: bool,
    /// Listed and usable.
    pub enabled: bool,
    /// The NameIDPolicy / NameIDFormat URI.
    pub name_id_format: String,
    /// The SP key (signs requests; decrypts assertions).
    pub sp_key: SpKey,
    /// The SP certificate, DER (published in metadata).
    pub sp_cert: Vec<u8>,
}

/// A string or a list of strings in the configuration.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAttributes {
    email: Option<OneOrMany>,
    name: Option<OneOrMany>,
    groups: Option<OneOrMany>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawProvider {
    id: String,
    name: Option<String>,
    icon: Option<String>,
    sp_entity_id: Option<String>,
    acs_url: Option<String>,
    slo_url: Option<String>,
    idp_metadata: Option<String>,
    allow_idp_initiated: Option<bool>,
    sign_authn_requests: Option<bool>,
    #[serde(default)]
    attributes: RawAttributes,
    clock_skew: Option<u64>,
    allow_sha1: Option<bool>,
    enabled: Option<bool>,
    name_id_format: Option<String>,
}

/// `saml_<id>_sp_key`, `-` → `_`, lowercase.
pub fn key_secret_name(id: &str) -> String {
    format!("saml_{}_sp_key", id.replace('-', "_").to_ascii_lowercase())
}

/// `saml_<id>_sp_cert`, `-` → `_`, lowercase.
pub fn cert_secret_name(id: &str) -> String {
    format!("saml_{}_sp_cert", id.replace('-', "_").to_ascii_lowercase())
}

/// The secret names the configured SAML providers need, for the component
/// to fetch by name. Unparsable configuration yields none (the parse error
/// surfaces in [`parse`]).
pub fn secret_names(value: &str) -> Vec<String> {
    serde_json::from_str::<Vec<serde_json::Value>>(value)
        .unwrap_or_default()
        .iter()
        .filter_map(|v| v.get("id")?.as_str())
        .filter(|id| is_provider_id(id))
        .flat_map(|id| [key_secret_name(id), cert_secret_name(id)])
        .collect()
}

fn err(reason: String) -> ConfigError {
    ConfigError::new(KEY, reason)
}

fn http_url(id: &str, field: &str, value: String) -> Result<String, ConfigError> {
    let ok = url::Url::parse(&value).ok().is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if !ok {
        return Err(err(format!("provider {id}: {field} must be an http(s) URL")));
    }
    Ok(value)
}

fn candidates(configured: Option<OneOrMany>, well_known: &[&str]) -> Vec<String> {
    let mut out: Vec<String> = match configured {
        None => Vec::new(),
        Some(OneOrMany::One(s)) => vec![s],
        Some(OneOrMany::Many(v)) => v,
    };
    out.retain(|s| !s.trim().is_empty());
    for w in well_known {
        if !out.iter().any(|s| s == w) {
            out.push(w.to_string());
        }
    }
    out
}

/// Parse the `saml_providers` value. `base_url` gives the default URLs;
/// `secrets` maps secret names to values.
pub fn parse(value: &str, base_url: &str, secrets: &HashMap<&str, &str>) -> Result<Vec<SamlProviderConfig>, ConfigError> {
    let raw: Vec<RawProvider> =
        serde_json::from_str(value).map_err(|e| err(format!("must be a JSON array of provider objects: {e}")))?;
    let mut out: Vec<SamlProviderConfig> = Vec::new();
    for p in raw {
        let id = p.id.clone();
        if !is_provider_id(&id) {
            return Err(err(format!("provider id {id:?} must match ^[a-zA-Z][a-zA-Z0-9_-]*$")));
        }
        if id == "test" || id == "providers" {
            return Err(err(format!("provider id {id} is reserved")));
        }
        if out.iter().any(|o| o.id == id) {
            return Err(err(format!("provider id {id} is configured twice")));
        }
        out.push(build(p, base_url, secrets)?);
    }
    Ok(out)
}

fn secret<'a>(secrets: &HashMap<&str, &'a str>, name: &str) -> Option<&'a str> {
    secrets.get(name).map(|s| s.trim()).filter(|s| !s.is_empty())
}

/// The SP key and certificate of provider `id`, from its secrets: the
/// certificate must hold the key's public half.
fn sp_credentials(id: &str, secrets: &HashMap<&str, &str>) -> Result<(SpKey, Vec<u8>), ConfigError> {
    let key_name = key_secret_name(id);
    let key_pem = secret(secrets, &key_name)
        .ok_or_else(|| err(format!("provider {id}: the secret {key_name} (the SP private key) is missing")))?;
    let key = RsaPrivateKey::from_pkcs8_pem(key_pem)
        .map_err(|_| err(format!("provider {id}: the secret {key_name} must be an RSA private key in PKCS#8 PEM")))?;
    if key.size() < 256 {
        return Err(err(format!("provider {id}: the SP key must have at least 2048 bits")));
    }
    let cert_name = cert_secret_name(id);
    let cert_pem = secret(secrets, &cert_name)
        .ok_or_else(|| err(format!("provider {id}: the secret {cert_name} (the SP certificate) is missing")))?;
    let sp_cert = cert::pem_to_der(cert_pem, "CERTIFICATE")
        .ok_or_else(|| err(format!("provider {id}: the secret {cert_name} must be a PEM certificate")))?;
    if cert::rsa_public_key(&sp_cert) != Some(RsaPublicKey::from(&key)) {
        return Err(err(format!("provider {id}: the SP certificate does not hold the SP key's public key")));
    }
    Ok((SpKey { pem: Secret(key_pem.to_string()), key }, sp_cert))
}

fn build(p: RawProvider, base_url: &str, secrets: &HashMap<&str, &str>) -> Result<SamlProviderConfig, ConfigError> {
    let id = p.id.clone();
    let xml = p.idp_metadata.filter(|m| !m.trim().is_empty()).ok_or_else(|| {
        err(format!("provider {id}: idp_metadata is required (inline XML, or idp_metadata_file in the host's config file)"))
    })?;
    let idp = idp_metadata::parse(&xml).map_err(|e| err(format!("provider {id}: idp_metadata {e}")))?;

    let (sp_key, sp_cert) = sp_credentials(&id, secrets)?;

    let name_id_format = match p.name_id_format.as_deref() {
        None => NAME_ID_FORMATS[0].1.to_string(),
        Some(f) => NAME_ID_FORMATS
            .iter()
            .find(|(short, uri)| f == *short || f == *uri)
            .map(|(_, uri)| uri.to_string())
            .ok_or_else(|| err(format!("provider {id}: name_id_format must be unspecified, emailAddress, persistent or transient")))?,
    };
    let clock_skew = p.clock_skew.unwrap_or(DEFAULT_CLOCK_SKEW);
    if clock_skew > 3600 {
        return Err(err(format!("provider {id}: clock_skew must be at most 3600 seconds")));
    }
    let name = p.name.unwrap_or_else(|| id.clone());
    if name.is_empty() || name.len() > 256 || name.chars().any(char::is_control) {
        return Err(err(format!("provider {id}: name must be 1-256 printable characters")));
    }
    Ok(SamlProviderConfig {
        name,
        icon: p.icon.unwrap_or_else(|| "fa-solid fa-building-shield".into()),
        sp_entity_id: match p.sp_entity_id {
            Some(e) if e.trim().is_empty() || e.len() > 1000 => {
                return Err(err(format!("provider {id}: sp_entity_id must be 1-1000 characters")))
            }
            Some(e) => e,
            None => format!("{base_url}/saml/{id}/metadata"),
        },
        acs_url: http_url(&id, "acs_url", p.acs_url.unwrap_or_else(|| format!("{base_url}/saml/acs")))?,
        slo_url: http_url(&id, "slo_url", p.slo_url.unwrap_or_else(|| format!("{base_url}/saml/slo")))?,
        idp,
        allow_idp_initiated: p.allow_idp_initiated.unwrap_or(false),
        sign_authn_requests: p.sign_authn_requests.unwrap_or(false),
        attributes: AttributeMap {
            email: candidates(p.attributes.email, &WELL_KNOWN_EMAIL),
            name: candidates(p.attributes.name, &WELL_KNOWN_NAME),
            groups: candidates(p.attributes.groups, &WELL_KNOWN_GROUPS),
        },
        clock_skew,
        allow_sha1: p.allow_sha1.unwrap_or(false),
        enabled: p.enabled.unwrap_or(true),
        name_id_format,
        sp_key,
        sp_cert,
        id,
    })
}
