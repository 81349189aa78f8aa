//! X.509 certificates as SAML uses them: PEM to DER, DER to base64 for
//! `ds:X509Certificate`, and the subject public key (for matching the SP
//! key now, for verifying IdP signatures in the ACS later). Only the outer
//! DER structure is walked; the certificate's own signature, validity and
//! extensions are not checked (SAML metadata pins certificates as keys).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rsa::pkcs8::DecodePublicKey;
use rsa::RsaPublicKey;

/// The DER bytes of the first PEM block labelled `label` (e.g. `CERTIFICATE`).
pub fn pem_to_der(pem: &str, label: &str) -> Option<Vec<u8>> {
    let begin = format!("-----BEGIN {label}-----");
    let end = format!("-----END {label}-----");
    let start = pem.find(&begin)? + begin.len();
    let stop = start + pem[start..].find(&end)?;
    let body: String = pem[start..stop].chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(body).ok().filter(|der| !der.is_empty())
}

/// Base64 text (whitespace allowed, as in metadata) to DER.
pub fn base64_to_der(text: &str) -> Option<Vec<u8>> {
    let body: String = text.chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(body).ok().filter(|der| !der.is_empty())
}

/// DER as one line of base64, for `ds:X509Certificate`.
pub fn der_to_base64(der: &[u8]) -> String {
    STANDARD.encode(der)
}

/// One DER element: (tag, the whole element, its content, what follows).
type Element<'a> = (u8, &'a [u8], &'a [u8], &'a [u8]);

fn element(input: &[u8]) -> Option<Element<'_>> {
    let (&tag, rest) = input.split_first()?;
    let (&first, rest) = rest.split_first()?;
    let (len, rest) = if first < 0x80 {
        (first as usize, rest)
    } else {
        let n = (first & 0x7f) as usize;
        if n == 0 || n > 4 || rest.len() < n {
            return None;
        }
        let len = rest[..n].iter().fold(0usize, |acc, b| (acc << 8) | *b as usize);
        (len, &rest[n..])
    };
    if rest.len() < len {
        return None;
    }
    let header = input.len() - rest.len();
    Some((tag, &input[..header + len], &rest[..len], &rest[len..]))
}

/// The DER `SubjectPublicKeyInfo` of a certificate (RFC 5280 §4.1).
pub fn subject_public_key_info(cert: &[u8]) -> Option<&[u8]> {
    let (0x30, _, certificate, _) = element(cert)? else { return None };
    let (0x30, _, tbs, _) = element(certificate)? else { return None };
    let mut rest = tbs;
    // [0] version is optional; then serial, signature, issuer, validity, subject.
    if rest.first() == Some(&0xa0) {
        rest = element(rest)?.3;
    }
    for expected in [0x02, 0x30, 0x30, 0x30, 0x30] {
        let (tag, _, _, next) = element(rest)?;
        if tag != expected {
            return None;
        }
        rest = next;
    }
    match element(rest)? {
        (0x30, whole, _, _) => Some(whole),
        _ => None,
    }
}

/// The RSA public key of a certificate, if it holds one.
pub fn rsa_public_key(cert: &[u8]) -> Option<RsaPublicKey> {
    RsaPublicKey::from_public_key_der(subject_public_key_info(cert)?).ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::test_support::{fake_cert, sp_key};

    #[test]
    fn pem_round_trip() {
        let der = vec![0x30, 0x03, 0x02, 0x01, 0x05];
        let pem = format!("-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n", der_to_base64(&der));
        assert_eq!(pem_to_der(&pem, "CERTIFICATE"), Some(der.clone()));
        assert_eq!(pem_to_der(&pem, "PRIVATE KEY"), None);
        assert_eq!(base64_to_der(" MAMCAQU=\n"), Some(der));
    }

    #[test]
    fn public_key_of_a_certificate() {
        let key = sp_key();
        let cert = fake_cert(&rsa::RsaPublicKey::from(key));
        assert_eq!(rsa_public_key(&cert), Some(rsa::RsaPublicKey::from(key)));
    }

    #[test]
    fn malformed_der_is_refused() {
        assert_eq!(subject_public_key_info(&[]), None);
        assert_eq!(subject_public_key_info(&[0x30, 0x05, 0x30]), None);
        assert_eq!(subject_public_key_info(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]), None);
        assert_eq!(rsa_public_key(&[0x30, 0x03, 0x02, 0x01, 0x05]), None);
    }
}
