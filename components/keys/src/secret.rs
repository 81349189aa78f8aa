//! How a key's secret is written, for both keyrings: a PKCS#8 PEM for
//! EdDSA, ES256 and RS256, the raw shared secret for HS256.

use zeroize::Zeroizing;

/// A shared HS256 secret shorter than the hash output weakens the MAC
/// (RFC 7518 section 3.2 requires at least 256 bits).
pub const MIN_HMAC_SECRET_LEN: usize = 32;

/// RSA moduli accepted, in bytes: 2048 to 8192 bits.
pub const RSA_BYTES: std::ops::RangeInclusive<usize> = 256..=1024;

/// PKCS#8 DER from a PEM document, with a hint for the common mistake of
/// passing a traditional (SEC1 / PKCS#1) key.
pub fn pkcs8_der(pem_text: &[u8]) -> Result<Zeroizing<Vec<u8>>, String> {
    let doc = pem::parse(pem_text).map_err(|_| "not a PEM document".to_string())?;
    match doc.tag() {
        "PRIVATE KEY" => Ok(Zeroizing::new(doc.into_contents())),
        tag => Err(format!(
            "expected a PKCS#8 \"PRIVATE KEY\" PEM, found {tag:?} (convert with `openssl pkcs8 -topk8 -nocrypt`)"
        )),
    }
}

/// An HS256 secret must be long enough.
pub fn check_hmac_secret(secret: &[u8]) -> Result<(), String> {
    if secret.len() < MIN_HMAC_SECRET_LEN {
        return Err(format!("HS256 secrets must be at least {MIN_HMAC_SECRET_LEN} bytes"));
    }
    Ok(())
}

/// An RSA modulus of `bytes` bytes must be within [`RSA_BYTES`].
pub fn check_rsa_size(bytes: usize) -> Result<(), String> {
    if bytes < *RSA_BYTES.start() {
        return Err("RSA keys must have at least 2048 bits".into());
    }
    if bytes > *RSA_BYTES.end() {
        return Err("RSA keys must have at most 8192 bits".into());
    }
    Ok(())
}

/// Secrets read from files or variables may end in a newline that is not
/// part of the secret (a PEM document does not care either way).
pub fn trim_final_newline(secret: &[u8]) -> &[u8] {
    let s = secret.strip_suffix(b"\n").unwrap_or(secret);
    if s.len() < secret.len() {
        s.strip_suffix(b"\r").unwrap_or(s)
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn traditional_pem_is_explained() {
        let sec1 = pem::encode(&pem::Pem::new("EC PRIVATE KEY", vec![1, 2, 3]));
        assert!(pkcs8_der(sec1.as_bytes()).unwrap_err().contains("pkcs8"));
        assert_eq!(pkcs8_der(b"not a pem").unwrap_err(), "not a PEM document");
    }

    #[test]
    fn sizes_and_newlines() {
        assert!(check_hmac_secret(&[0; 31]).is_err());
        assert!(check_hmac_secret(&[0; 32]).is_ok());
        assert!(check_rsa_size(128).unwrap_err().contains("2048"));
        assert!(check_rsa_size(1025).unwrap_err().contains("8192"));
        assert_eq!(trim_final_newline(b"abc\r\n"), b"abc");
        assert_eq!(trim_final_newline(b"abc\n"), b"abc");
        assert_eq!(trim_final_newline(b"abc\r"), b"abc\r");
        assert_eq!(trim_final_newline(b"abc"), b"abc");
    }
}
