//! A small, strict XML tree for SAML messages, read with quick-xml.
//!
//! What it refuses, so that nothing after it has to care: any DOCTYPE (no
//! DTD, no external or custom entities; only XML's five predefined ones and
//! character references unescape), processing instructions, undeclared
//! prefixes, duplicate attributes, more than [`MAX_DEPTH`] levels,
//! [`MAX_ELEMENTS`] elements, [`MAX_ATTRIBUTES`] attributes on an element or
//! [`MAX_DECLARATIONS`] namespace declarations, text outside the root, a
//! second root: nothing in a 100 kB message can cost more than linear work.
//!
//! Comments are dropped and the text around them joined, exactly as
//! exclusive C14N without comments sees it: `user@evil.com<!---->.good.com`
//! reads as `user@evil.com.good.com`, never as its first fragment.
//! Every element carries its in-scope namespace bindings, which
//! canonicalisation needs.

use std::collections::BTreeMap;
use std::rc::Rc;

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

/// Deepest element nesting accepted.
pub const MAX_DEPTH: usize = 64;
/// Most elements accepted in one document.
pub const MAX_ELEMENTS: usize = 20_000;
/// Most attributes on one element.
pub const MAX_ATTRIBUTES: usize = 64;
/// Most namespace declarations in one document (each one copies the
/// element's scope; SAML messages use a handful).
pub const MAX_DECLARATIONS: usize = 256;
/// The `xml` prefix's namespace, bound in every document.
pub const NS_XML: &str = "http://www.w3.org/XML/1998/namespace";

/// Namespace bindings in scope: prefix (`""` for the default) to URI.
pub type Scope = Rc<BTreeMap<String, String>>;

/// An attribute (namespace declarations are not attributes here).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr {
    /// Prefix as written, `""` for none.
    pub prefix: String,
    /// Local name.
    pub local: String,
    /// Namespace URI, `""` for unprefixed attributes.
    pub ns: String,
    /// The normalised, unescaped value.
    pub value: String,
}

/// A child node: elements and text (comments are dropped, CDATA is text).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Node {
    /// A child element.
    Element(Element),
    /// Character data.
    Text(String),
}

/// An element with its namespace context.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Element {
    /// Prefix as written, `""` for none.
    pub prefix: String,
    /// Local name.
    pub local: String,
    /// Namespace URI, `""` for none.
    pub ns: String,
    /// Attributes in document order.
    pub attrs: Vec<Attr>,
    /// Every namespace binding in scope here (declared here or above).
    pub scope: Scope,
    /// Children in document order.
    pub children: Vec<Node>,
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct XmlError(pub String);

fn fail<T>(why: impl Into<String>) -> Result<T, XmlError> {
    Err(XmlError(why.into()))
}

impl Element {
    /// Whether this is `{ns}local`.
    pub fn is(&self, ns: &str, local: &str) -> bool {
        self.ns == ns && self.local == local
    }

    /// The value of the unprefixed attribute `name`.
    pub fn attr(&self, name: &str) -> Option<&str> {
        self.attrs.iter().find(|a| a.ns.is_empty() && a.local == name).map(|a| a.value.as_str())
    }

    /// Child elements.
    pub fn elements(&self) -> impl Iterator<Item = &Element> {
        self.children.iter().filter_map(|n| match n {
            Node::Element(e) => Some(e),
            Node::Text(_) => None,
        })
    }

    /// Child elements named `{ns}local`.
    pub fn children_named<'a>(&'a self, ns: &'a str, local: &'a str) -> impl Iterator<Item = &'a Element> + 'a {
        self.elements().filter(move |e| e.is(ns, local))
    }

    /// The only child named `{ns}local`: `Ok(None)` when absent, an error
    /// when there are several.
    pub fn only_child(&self, ns: &str, local: &str) -> Result<Option<&Element>, XmlError> {
        let mut found = self.elements().filter(|e| e.is(ns, local));
        let first = found.next();
        if found.next().is_some() {
            return fail(format!("{} has more than one {local}", self.local));
        }
        Ok(first)
    }

    /// Like [`Element::only_child`], but the child must be there.
    pub fn required_child(&self, ns: &str, local: &str) -> Result<&Element, XmlError> {
        self.only_child(ns, local)?.ok_or_else(|| XmlError(format!("{} has no {local}", self.local)))
    }

    /// All text inside this element, comments removed, trimmed.
    pub fn text(&self) -> String {
        fn collect(e: &Element, out: &mut String) {
            for n in &e.children {
                match n {
                    Node::Text(t) => out.push_str(t),
                    Node::Element(c) => collect(c, out),
                }
            }
        }
        let mut out = String::new();
        collect(self, &mut out);
        out.trim().to_string()
    }

    /// Every element of the subtree, this one first (document order).
    pub fn descendants(&self) -> Vec<&Element> {
        let mut out = vec![self];
        let mut i = 0;
        while i < out.len() {
            let e = out[i];
            out.extend(e.elements());
            i += 1;
        }
        out
    }
}

/// Parse a whole document.
pub fn parse(xml: &[u8]) -> Result<Element, XmlError> {
    parse_in(xml, &Scope::default())
}

/// Parse a document whose root inherits the bindings in `scope` (a
/// decrypted element is read in the context it was encrypted in).
pub fn parse_in(xml: &[u8], scope: &Scope) -> Result<Element, XmlError> {
    let text = std::str::from_utf8(xml).map_err(|_| XmlError("the document is not UTF-8".into()))?;
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    let mut stack: Vec<Element> = Vec::new();
    let mut root: Option<Element> = None;
    let mut count = 0usize;
    let mut declarations = 0usize;
    loop {
        let event = reader.read_event().map_err(|e| XmlError(format!("malformed XML: {e}")))?;
        match event {
            Event::Start(ref start) | Event::Empty(ref start) => {
                if root.is_some() {
                    return fail("more than one root element");
                }
                count += 1;
                if count > MAX_ELEMENTS || stack.len() >= MAX_DEPTH {
                    return fail("the document is too large or too deeply nested");
                }
                let parent_scope = stack.last().map_or(scope, |p| &p.scope);
                let element = open(start, parent_scope, &mut declarations)?;
                if matches!(event, Event::Start(_)) {
                    stack.push(element);
                } else {
                    close(element, &mut stack, &mut root);
                }
            }
            Event::End(_) => {
                let element = stack.pop().ok_or_else(|| XmlError("unbalanced end tag".into()))?;
                close(element, &mut stack, &mut root);
            }
            Event::Text(t) => {
                let raw = std::str::from_utf8(t.as_ref()).map_err(|_| XmlError("text is not UTF-8".into()))?;
                let normalised = normalise_newlines(raw);
                let value = quick_xml::escape::unescape(&normalised)
                    .map_err(|e| XmlError(format!("bad character or entity reference: {e}")))?;
                push_text(&mut stack, &value)?;
            }
            Event::CData(t) => {
                let raw = std::str::from_utf8(t.as_ref()).map_err(|_| XmlError("CDATA is not UTF-8".into()))?;
                push_text(&mut stack, &normalise_newlines(raw))?;
            }
            Event::Comment(_) => {}
            Event::Decl(_) if count == 0 && stack.is_empty() => {}
            Event::Decl(_) => return fail("misplaced XML declaration"),
            Event::DocType(_) => return fail("a DOCTYPE is not allowed"),
            Event::PI(_) => return fail("processing instructions are not allowed"),
            Event::Eof => break,
        }
    }
    if !stack.is_empty() {
        return fail("the document ends inside an element");
    }
    root.ok_or_else(|| XmlError("the document has no root element".into()))
}

fn close(element: Element, stack: &mut [Element], root: &mut Option<Element>) {
    match stack.last_mut() {
        Some(parent) => parent.children.push(Node::Element(element)),
        None => *root = Some(element),
    }
}

fn push_text(stack: &mut [Element], text: &str) -> Result<(), XmlError> {
    let Some(parent) = stack.last_mut() else {
        return if text.trim().is_empty() { Ok(()) } else { fail("text outside the root element") };
    };
    if text.is_empty() {
        return Ok(());
    }
    // Text split by a dropped comment joins up again.
    if let Some(Node::Text(previous)) = parent.children.last_mut() {
        previous.push_str(text);
    } else {
        parent.children.push(Node::Text(text.to_string()));
    }
    Ok(())
}

/// XML 1.0 §2.11: CR LF and lone CR read as LF.
fn normalise_newlines(raw: &str) -> std::borrow::Cow<'_, str> {
    if raw.contains('\r') {
        raw.replace("\r\n", "\n").replace('\r', "\n").into()
    } else {
        raw.into()
    }
}

fn split_name(qname: &str) -> (&str, &str) {
    qname.split_once(':').unwrap_or(("", qname))
}

/// An element's namespace declarations and its other attributes, as
/// written (prefixed names, normalised and unescaped values).
type RawAttributes = (Vec<(String, String)>, Vec<(String, String)>);

fn read_attributes(start: &BytesStart<'_>) -> Result<RawAttributes, XmlError> {
    let mut declared: Vec<(String, String)> = Vec::new();
    let mut raw_attrs: Vec<(String, String)> = Vec::new();
    for (i, a) in start.attributes().enumerate() {
        if i >= MAX_ATTRIBUTES {
            return fail("an element has too many attributes");
        }
        let a = a.map_err(|e| XmlError(format!("malformed attribute: {e}")))?;
        let key = std::str::from_utf8(a.key.as_ref()).map_err(|_| XmlError("attribute name is not UTF-8".into()))?;
        let raw = std::str::from_utf8(&a.value).map_err(|_| XmlError("attribute value is not UTF-8".into()))?;
        // Attribute-value normalisation (XML 1.0 §3.3.3): literal white space reads as a space.
        let spaced = raw.replace("\r\n", " ").replace(['\r', '\n', '\t'], " ");
        let value = quick_xml::escape::unescape(&spaced)
            .map_err(|e| XmlError(format!("bad reference in attribute {key}: {e}")))?
            .into_owned();
        if key == "xmlns" {
            declared.push((String::new(), value));
        } else if let Some(prefix) = key.strip_prefix("xmlns:") {
            if value.is_empty() {
                return fail(format!("prefix {prefix} is undeclared (XML 1.1 only)"));
            }
            if prefix == "xmlns" || (prefix == "xml") != (value == NS_XML) {
                return fail("the xml and xmlns prefixes cannot be rebound");
            }
            declared.push((prefix.to_string(), value));
        } else {
            raw_attrs.push((key.to_string(), value));
        }
    }
    Ok((declared, raw_attrs))
}

/// The scope of an element: its parent's, changed by its declarations.
fn scope_with(parent_scope: &Scope, declared: Vec<(String, String)>) -> Scope {
    if declared.is_empty() {
        return parent_scope.clone();
    }
    let mut map = (**parent_scope).clone();
    for (prefix, uri) in declared {
        if prefix.is_empty() && uri.is_empty() {
            map.remove("");
        } else {
            map.insert(prefix, uri);
        }
    }
    Rc::new(map)
}

fn open(start: &BytesStart<'_>, parent_scope: &Scope, declarations: &mut usize) -> Result<Element, XmlError> {
    let qname = std::str::from_utf8(start.name().as_ref()).map_err(|_| XmlError("name is not UTF-8".into()))?.to_string();
    let (declared, raw_attrs) = read_attributes(start)?;
    *declarations += declared.len();
    if *declarations > MAX_DECLARATIONS {
        return fail("the document declares too many namespaces");
    }
    let scope = scope_with(parent_scope, declared);
    let resolve = |prefix: &str| -> Result<String, XmlError> {
        match prefix {
            "xml" => Ok(NS_XML.to_string()),
            p => scope.get(p).cloned().ok_or_else(|| XmlError(format!("undeclared namespace prefix {p}"))),
        }
    };
    let (prefix, local) = split_name(&qname);
    let ns = if prefix.is_empty() { scope.get("").cloned().unwrap_or_default() } else { resolve(prefix)? };
    let mut attrs: Vec<Attr> = Vec::with_capacity(raw_attrs.len());
    for (key, value) in raw_attrs {
        let (p, l) = split_name(&key);
        let attr_ns = if p.is_empty() { String::new() } else { resolve(p)? };
        if attrs.iter().any(|a| a.ns == attr_ns && a.local == l) {
            return fail(format!("attribute {l} appears twice"));
        }
        attrs.push(Attr { prefix: p.to_string(), local: l.to_string(), ns: attr_ns, value });
    }
    Ok(Element { prefix: prefix.to_string(), local: local.to_string(), ns, attrs, scope, children: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_namespaces_and_joins_text_around_comments() {
        let doc = parse(br#"<?xml version="1.0"?><a:r xmlns:a="urn:a" xmlns="urn:d" x="1 &amp; 2"><b>user@evil.com<!---->.good.com</b><![CDATA[<c>]]></a:r>"#).unwrap();
        assert!(doc.is("urn:a", "r"));
        assert_eq!(doc.attr("x"), Some("1 & 2"));
        let b = doc.elements().next().unwrap();
        assert!(b.is("urn:d", "b"));
        assert_eq!(b.text(), "user@evil.com.good.com");
        assert_eq!(b.children.len(), 1);
        assert_eq!(doc.children[1], Node::Text("<c>".into()));
    }

    #[test]
    fn refuses_what_saml_never_needs() {
        for (xml, why) in [
            (&br#"<!DOCTYPE r [<!ENTITY x "y">]><r>&x;</r>"#[..], "DOCTYPE"),
            (br#"<!DOCTYPE r SYSTEM "file:///etc/passwd"><r/>"#, "DOCTYPE"),
            (br#"<r>&x;</r>"#, "reference"),
            (br#"<r><?pi x?></r>"#, "processing"),
            (br#"<p:r/>"#, "undeclared"),
            (br#"<r a="1" a="2"/>"#, "attribute"),
            (br#"<r xmlns:p="urn:p" xmlns:q="urn:p" p:a="1" q:a="2"/>"#, "twice"),
            (br#"<r/><r/>"#, "root"),
            (br#"<r>"#, "ends inside"),
            (br#"<r></s>"#, "malformed"),
            (br#"text"#, "outside"),
            (b"", "no root"),
        ] {
            let err = parse(xml).unwrap_err().0;
            assert!(err.contains(why), "{}: {err}", String::from_utf8_lossy(xml));
        }
    }

    #[test]
    fn bounds_nesting() {
        let deep = "<a>".repeat(MAX_DEPTH + 1) + &"</a>".repeat(MAX_DEPTH + 1);
        assert!(parse(deep.as_bytes()).unwrap_err().0.contains("deeply"));
        let ok = "<a>".repeat(MAX_DEPTH) + &"</a>".repeat(MAX_DEPTH);
        assert!(parse(ok.as_bytes()).is_ok());
    }

    #[test]
    fn bounds_attributes_and_namespace_declarations() {
        let attrs: String = (0..MAX_ATTRIBUTES + 1).map(|i| format!(" a{i}=\"x\"")).collect();
        assert!(parse(format!("<r{attrs}/>").as_bytes()).unwrap_err().0.contains("attributes"));
        // Declarations are attributes too; 60 per element, five elements.
        let decls: String = (0..60).map(|i| format!(" xmlns:p{i}=\"urn:{i}\"")).collect();
        let element = format!("<a{decls}/>");
        assert!(parse(format!("<r>{}</r>", element.repeat(4)).as_bytes()).is_ok());
        assert!(parse(format!("<r>{}</r>", element.repeat(5)).as_bytes()).unwrap_err().0.contains("namespaces"));
    }

    #[test]
    fn normalises_newlines_and_attribute_white_space() {
        let doc = parse(b"<r a=\"x\r\ny\">1\r\n2\r3&#13;</r>").unwrap();
        assert_eq!(doc.attr("a"), Some("x y"));
        assert_eq!(doc.children[0], Node::Text("1\n2\n3\r".into()));
    }

    #[test]
    fn only_child_refuses_duplicates() {
        let doc = parse(br#"<r><a/><a/><b/></r>"#).unwrap();
        assert!(doc.only_child("", "a").is_err());
        assert!(doc.required_child("", "b").is_ok());
        assert!(doc.required_child("", "c").is_err());
    }
}
