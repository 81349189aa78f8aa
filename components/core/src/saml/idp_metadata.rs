//! The IdP's SAML metadata (an `md:EntityDescriptor`), read once at
//! configuration time into what the SP needs: entity ID, SSO and SLO
//! endpoints, signing certificates.
//!
//! The parser refuses any DOCTYPE (so no DTD, no external or custom
//! entities: only XML's five predefined ones unescape), bounds the size
//! and the nesting, and matches elements by namespace, not by prefix.

use quick_xml::events::{BytesStart, Event};
use quick_xml::name::ResolveResult;
use quick_xml::NsReader;

use super::{cert, BINDING_POST, BINDING_REDIRECT, NS_DS, NS_MD};

/// Largest IdP metadata document accepted (1 MiB).
pub const MAX_SIZE: usize = 1024 * 1024;
/// Deepest element nesting accepted.
const MAX_DEPTH: usize = 64;

/// A SAML endpoint of the IdP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    /// The binding URI.
    pub binding: String,
    /// Where requests go.
    pub location: String,
    /// Where responses go, when it differs.
    pub response_location: Option<String>,
}

/// What the SP uses from the IdP's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdpMetadata {
    /// The IdP's entity ID: the Issuer its Responses must carry.
    pub entity_id: String,
    /// SingleSignOnService with the HTTP-Redirect binding.
    pub sso_redirect: String,
    /// SingleSignOnService with the HTTP-POST binding, if any.
    pub sso_post: Option<String>,
    /// SingleLogoutService endpoints, any binding.
    pub slo: Vec<Endpoint>,
    /// DER certificates whose keys may sign Responses and Assertions
    /// (KeyDescriptor `use="signing"` or without `use`).
    pub signing_certs: Vec<Vec<u8>>,
    /// `WantAuthnRequestsSigned` of the IDPSSODescriptor.
    pub want_authn_requests_signed: bool,
}

impl IdpMetadata {
    /// The SingleLogoutService with `binding`, if the IdP has one.
    pub fn slo_endpoint(&self, binding: &str) -> Option<&Endpoint> {
        self.slo.iter().find(|e| e.binding == binding)
    }
}

/// An element name: its namespace (when bound) and local name.
type Name = (Option<Vec<u8>>, String);

fn is(name: &Name, ns: &str, local: &str) -> bool {
    name.0.as_deref() == Some(ns.as_bytes()) && name.1 == local
}

fn attr(e: &BytesStart<'_>, name: &str) -> Result<Option<String>, String> {
    for a in e.attributes() {
        let a = a.map_err(|e| format!("malformed attribute: {e}"))?;
        if a.key.as_ref() == name.as_bytes() {
            let v = a.unescape_value().map_err(|e| format!("malformed attribute value: {e}"))?;
            return Ok(Some(v.trim().to_string()));
        }
    }
    Ok(None)
}

fn url_attr(e: &BytesStart<'_>, name: &str, what: &str) -> Result<String, String> {
    let v = attr(e, name)?.ok_or_else(|| format!("{what} has no {name}"))?;
    let ok = url::Url::parse(&v).ok().is_some_and(|u| matches!(u.scheme(), "http" | "https") && u.host_str().is_some());
    if !ok {
        return Err(format!("{what} {name} must be an http(s) URL"));
    }
    Ok(v)
}

#[derive(Default)]
struct Builder {
    entity_id: Option<String>,
    sso_redirect: Option<String>,
    sso_post: Option<String>,
    slo: Vec<Endpoint>,
    signing_certs: Vec<Vec<u8>>,
    want_signed: bool,
    seen_idp: bool,
    key_is_signing: bool,
    cert_text: Option<String>,
}

/// Parse IdP metadata XML.
pub fn parse(xml: &str) -> Result<IdpMetadata, String> {
    if xml.len() > MAX_SIZE {
        return Err(format!("is larger than {MAX_SIZE} bytes"));
    }
    let mut reader = NsReader::from_str(xml);
    let mut stack: Vec<Name> = Vec::new();
    let mut b = Builder::default();
    loop {
        let (ns, event) = reader.read_resolved_event().map_err(|e| format!("is not well-formed XML: {e}"))?;
        let ns = owned(ns);
        match event {
            Event::DocType(_) => return Err("must not contain a DOCTYPE (DTDs are refused)".into()),
            Event::Start(_) | Event::Empty(_) if stack.is_empty() && b.entity_id.is_some() => {
                return Err("has content after the root element".into());
            }
            Event::Start(e) => {
                let name = (ns, String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                b.open(&stack, &name, &e)?;
                stack.push(name);
                if stack.len() > MAX_DEPTH {
                    return Err("nests too deeply".into());
                }
            }
            Event::Empty(e) => {
                let name = (ns, String::from_utf8_lossy(e.local_name().as_ref()).into_owned());
                b.open(&stack, &name, &e)?;
                b.close(&name)?;
            }
            Event::End(_) => {
                let name = stack.pop().ok_or("is not well-formed XML")?;
                b.close(&name)?;
            }
            Event::Text(t) => {
                if let Some(text) = b.cert_text.as_mut() {
                    text.push_str(&t.unescape().map_err(|e| format!("has malformed text: {e}"))?);
                }
            }
            Event::CData(c) => {
                if let Some(text) = b.cert_text.as_mut() {
                    text.push_str(&String::from_utf8_lossy(&c.into_inner()));
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err("is not well-formed XML: unclosed elements".into());
    }
    b.finish()
}

fn owned(r: ResolveResult<'_>) -> Option<Vec<u8>> {
    match r {
        ResolveResult::Bound(ns) => Some(ns.as_ref().to_vec()),
        _ => None,
    }
}

impl Builder {
    fn in_idp(stack: &[Name]) -> bool {
        stack.len() >= 2 && is(&stack[1], NS_MD, "IDPSSODescriptor")
    }

    fn open(
        &mut self,
        stack: &[Name],
        name: &Name,
        e: &BytesStart<'_>,
    ) -> Result<(), String> {
        if stack.is_empty() {
            if !is(name, NS_MD, "EntityDescriptor") {
                return Err("root element must be md:EntityDescriptor".into());
            }
            let id = attr(e, "entityID")?.filter(|v| !v.is_empty() && v.len() <= 1024);
            self.entity_id = Some(id.ok_or("EntityDescriptor needs an entityID (at most 1024 characters)")?);
            return Ok(());
        }
        if stack.len() == 1 && is(name, NS_MD, "IDPSSODescriptor") {
            self.seen_idp = true;
            self.want_signed |= attr(e, "WantAuthnRequestsSigned")?.as_deref() == Some("true");
            return Ok(());
        }
        if !Self::in_idp(stack) {
            return Ok(());
        }
        if stack.len() == 2 && is(name, NS_MD, "KeyDescriptor") {
            self.key_is_signing = matches!(attr(e, "use")?.as_deref(), None | Some("signing"));
        } else if stack.len() == 2 && is(name, NS_MD, "SingleSignOnService") {
            let binding = attr(e, "Binding")?.unwrap_or_default();
            if binding == BINDING_REDIRECT && self.sso_redirect.is_none() {
                self.sso_redirect = Some(url_attr(e, "Location", "SingleSignOnService")?);
            } else if binding == BINDING_POST && self.sso_post.is_none() {
                self.sso_post = Some(url_attr(e, "Location", "SingleSignOnService")?);
            }
        } else if stack.len() == 2 && is(name, NS_MD, "SingleLogoutService") {
            let binding = attr(e, "Binding")?.unwrap_or_default();
            let location = url_attr(e, "Location", "SingleLogoutService")?;
            let response_location = match attr(e, "ResponseLocation")? {
                Some(_) => Some(url_attr(e, "ResponseLocation", "SingleLogoutService")?),
                None => None,
            };
            self.slo.push(Endpoint { binding, location, response_location });
        } else if is(name, NS_DS, "X509Certificate")
            && stack.len() == 5
            && is(&stack[2], NS_MD, "KeyDescriptor")
            && is(&stack[3], NS_DS, "KeyInfo")
            && is(&stack[4], NS_DS, "X509Data")
        {
            self.cert_text = Some(String::new());
        }
        Ok(())
    }

    fn close(&mut self, name: &Name) -> Result<(), String> {
        if is(name, NS_DS, "X509Certificate") {
            if let Some(text) = self.cert_text.take() {
                let der = cert::base64_to_der(&text).ok_or("a ds:X509Certificate is not base64")?;
                if cert::subject_public_key_info(&der).is_none() {
                    return Err("a ds:X509Certificate is not an X.509 certificate".into());
                }
                if self.key_is_signing && !self.signing_certs.contains(&der) {
                    self.signing_certs.push(der);
                }
            }
        }
        Ok(())
    }

    fn finish(self) -> Result<IdpMetadata, String> {
        let entity_id = self.entity_id.ok_or("has no md:EntityDescriptor")?;
        if !self.seen_idp {
            return Err("has no md:IDPSSODescriptor".into());
        }
        let sso_redirect = self.sso_redirect.ok_or("has no SingleSignOnService with the HTTP-Redirect binding")?;
        if self.signing_certs.is_empty() {
            return Err("has no signing certificate (KeyDescriptor with ds:X509Certificate)".into());
        }
        Ok(IdpMetadata {
            entity_id,
            sso_redirect,
            sso_post: self.sso_post,
            slo: self.slo,
            signing_certs: self.signing_certs,
            want_authn_requests_signed: self.want_signed,
        })
    }
}
