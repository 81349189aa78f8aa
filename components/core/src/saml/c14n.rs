//! Exclusive XML Canonicalization 1.0 without comments
//! (<https://www.w3.org/TR/xml-exc-c14n/>), of one element subtree, with
//! one descendant left out (the enveloped-signature transform).
//!
//! The tree comes from [`super::dom`], which already holds the document in
//! C14N's data model: no comments, newlines normalised, attribute values
//! normalised, entities expanded. So canonicalisation is rendering: a
//! namespace declaration appears where a prefix is visibly used (by the
//! element or one of its attributes, or listed in the InclusiveNamespaces
//! PrefixList) and no output ancestor rendered the same binding;
//! declarations sort by prefix, attributes by (namespace URI, local name);
//! empty elements get an end tag; text and values are escaped as C14N says.

use std::collections::{BTreeMap, BTreeSet};

use super::dom::{Element, Node};

/// The canonical form of `apex`, leaving out `excluded` (compared by
/// identity) and treating the prefixes of `inclusive` as C14N 1.0 would
/// (`#default` names the default namespace).
pub fn exclusive(apex: &Element, excluded: Option<&Element>, inclusive: &[String]) -> String {
    let inclusive: BTreeSet<&str> =
        inclusive.iter().map(|p| if p == "#default" { "" } else { p.as_str() }).collect();
    let mut out = String::new();
    render(apex, excluded, &inclusive, &BTreeMap::new(), &mut out);
    out
}

fn qname(prefix: &str, local: &str) -> String {
    if prefix.is_empty() {
        local.to_string()
    } else {
        format!("{prefix}:{local}")
    }
}

fn render(
    e: &Element,
    excluded: Option<&Element>,
    inclusive: &BTreeSet<&str>,
    rendered: &BTreeMap<String, String>,
    out: &mut String,
) {
    let name = qname(&e.prefix, &e.local);
    out.push('<');
    out.push_str(&name);
    let now_rendered = render_namespaces(e, inclusive, rendered, out);
    let mut attrs: Vec<_> = e.attrs.iter().collect();
    attrs.sort_by(|a, b| (&a.ns, &a.local).cmp(&(&b.ns, &b.local)));
    for a in attrs {
        out.push(' ');
        out.push_str(&qname(&a.prefix, &a.local));
        out.push_str("=\"");
        escape_attr(&a.value, out);
        out.push('"');
    }
    out.push('>');
    for child in &e.children {
        match child {
            Node::Text(t) => escape_text(t, out),
            Node::Element(c) if excluded.is_some_and(|x| std::ptr::eq(x, c)) => {}
            Node::Element(c) => render(c, excluded, inclusive, now_rendered.as_ref().unwrap_or(rendered), out),
        }
    }
    out.push_str("</");
    out.push_str(&name);
    out.push('>');
}

/// Render the namespace declarations `e` needs: prefixes visibly utilised
/// here, plus the inclusive ones in scope, unless an output ancestor
/// rendered the same binding. Returns the bindings rendered from here
/// down, when this element declared something (most do not).
fn render_namespaces(e: &Element, inclusive: &BTreeSet<&str>, rendered: &BTreeMap<String, String>, out: &mut String) -> Option<BTreeMap<String, String>> {
    // A BTreeSet sorts them, the default namespace ("") first.
    let mut used: BTreeSet<&str> = BTreeSet::new();
    used.insert(&e.prefix);
    for a in &e.attrs {
        if !a.prefix.is_empty() && a.prefix != "xml" {
            used.insert(&a.prefix);
        }
    }
    used.extend(inclusive.iter().filter(|p| e.scope.contains_key(**p)));
    let mut now_rendered: Option<BTreeMap<String, String>> = None;
    for prefix in used {
        let uri = e.scope.get(prefix).map_or("", String::as_str);
        if uri == rendered.get(prefix).map_or("", String::as_str) {
            continue;
        }
        if prefix.is_empty() {
            out.push_str(" xmlns=\"");
        } else {
            out.push_str(" xmlns:");
            out.push_str(prefix);
            out.push_str("=\"");
        }
        escape_attr(uri, out);
        out.push('"');
        now_rendered.get_or_insert_with(|| rendered.clone()).insert(prefix.to_string(), uri.to_string());
    }
    now_rendered
}

fn escape_text(text: &str, out: &mut String) {
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

fn escape_attr(value: &str, out: &mut String) {
    for c in value.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '"' => out.push_str("&quot;"),
            '\t' => out.push_str("&#x9;"),
            '\n' => out.push_str("&#xA;"),
            '\r' => out.push_str("&#xD;"),
            c => out.push(c),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::dom::parse;

    fn c14n_of_first_child(xml: &str, inclusive: &[&str]) -> String {
        let doc = parse(xml.as_bytes()).unwrap();
        let apex = doc.elements().next().unwrap();
        exclusive(apex, None, &inclusive.iter().map(|s| s.to_string()).collect::<Vec<_>>())
    }

    #[test]
    fn renders_only_visibly_used_namespaces() {
        // The exc-c14n spec's own example (§2.2): n1 is used, n2 is not.
        let xml = r#"<n0:pdu xmlns:n0="http://a.example"><n1:elem1 xmlns:n1="http://b.example" xmlns:n2="http://c.example">content</n1:elem1></n0:pdu>"#;
        assert_eq!(c14n_of_first_child(xml, &[]), r#"<n1:elem1 xmlns:n1="http://b.example">content</n1:elem1>"#);
        assert_eq!(
            c14n_of_first_child(xml, &["n2"]),
            r#"<n1:elem1 xmlns:n1="http://b.example" xmlns:n2="http://c.example">content</n1:elem1>"#
        );
    }

    #[test]
    fn inherits_bindings_used_below_and_does_not_repeat_them() {
        let xml = r#"<r xmlns:s="urn:s" xmlns="urn:d"><s:a><s:b s:x="1" y="2"/><c/></s:a></r>"#;
        assert_eq!(
            c14n_of_first_child(xml, &[]),
            r#"<s:a xmlns:s="urn:s"><s:b y="2" s:x="1"></s:b><c xmlns="urn:d"></c></s:a>"#
        );
    }

    #[test]
    fn undeclares_the_default_namespace_when_needed() {
        let xml = r#"<r><a xmlns="urn:d"><b xmlns=""/></a></r>"#;
        assert_eq!(c14n_of_first_child(xml, &[]), r#"<a xmlns="urn:d"><b xmlns=""></b></a>"#);
        let xml = r#"<r xmlns="urn:d"><a xmlns=""><b/></a></r>"#;
        assert_eq!(c14n_of_first_child(xml, &[]), r#"<a><b></b></a>"#);
    }

    #[test]
    fn sorts_attributes_by_namespace_then_name_and_escapes() {
        let xml = "<r><e xmlns:z=\"urn:a\" xmlns:a=\"urn:z\" b=\"&lt;&quot;&#9;&#10;&#13;&amp;>\" z:q=\"1\" a:p=\"2\">&lt;&gt;&amp;&#13;\"'</e></r>";
        assert_eq!(
            c14n_of_first_child(xml, &[]),
            "<e xmlns:a=\"urn:z\" xmlns:z=\"urn:a\" b=\"&lt;&quot;&#x9;&#xA;&#xD;&amp;>\" z:q=\"1\" a:p=\"2\">&lt;&gt;&amp;&#xD;\"'</e>"
        );
    }

    #[test]
    fn leaves_out_the_excluded_element_and_drops_comments() {
        let doc = parse(br#"<r ID="x"><a>1<!-- c -->2</a><s/><b/></r>"#).unwrap();
        let s = doc.elements().nth(1).unwrap();
        assert_eq!(exclusive(&doc, Some(s), &[]), r#"<r ID="x"><a>12</a><b></b></r>"#);
    }
}
