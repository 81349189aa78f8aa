//! XML Encryption for `saml:EncryptedAssertion`: the content key comes in
//! an `xenc:EncryptedKey` under RSA-OAEP (RSA PKCS#1 v1.5 key transport is
//! refused: Bleichenbacher), the assertion under AES-CBC or AES-GCM.
//!
//! Every failure is the same [`DecryptError`], so the error says nothing
//! about where decryption went wrong (no padding oracle in the reply).

use aes::cipher::{block_padding::NoPadding, BlockDecryptMut, KeyIvInit};
use aes_gcm::aead::{Aead, KeyInit};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use rsa::{Oaep, RsaPrivateKey};
use sha2::Sha256;

use super::dom::Element;
use super::NS_DS;
use crate::error::EncryptionAlgorithm;
use crate::ports::Random;

/// The XML Encryption namespace.
pub const NS_XENC: &str = "http://www.w3.org/2001/04/xmlenc#";
const NS_XENC11: &str = "http://www.w3.org/2009/xmlenc11#";

/// Decryption failed; deliberately without detail.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the encrypted assertion cannot be decrypted with the SP key")]
pub struct DecryptError;

/// Why an encrypted element was not decrypted: an algorithm we refuse
/// (named: the algorithm URIs are plaintext, so naming them reveals
/// nothing), or any failure at all of the decryption itself (one answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum XmlEncError {
    /// The message names an algorithm we do not accept.
    Unsupported(EncryptionAlgorithm),
    /// Anything else.
    Failed(DecryptError),
}

const RSA_1_5: &str = "http://www.w3.org/2001/04/xmlenc#rsa-1_5";
const OAEP: [&str; 2] = ["http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p", "http://www.w3.org/2009/xmlenc11#rsa-oaep"];

/// The algorithms the SP metadata advertises, in order of preference
/// (SAML Metadata §2.4.1.1 `EncryptionMethod`).
pub const SUPPORTED: [&str; 6] = [
    "http://www.w3.org/2009/xmlenc11#aes256-gcm",
    "http://www.w3.org/2009/xmlenc11#aes128-gcm",
    "http://www.w3.org/2001/04/xmlenc#aes256-cbc",
    "http://www.w3.org/2001/04/xmlenc#aes128-cbc",
    OAEP[1],
    OAEP[0],
];

/// The content cipher.
#[derive(Clone, Copy)]
enum Content {
    Cbc128,
    Cbc256,
    Gcm128,
    Gcm256,
}

impl Content {
    fn from_uri(uri: &str) -> Option<Content> {
        Some(match uri {
            "http://www.w3.org/2001/04/xmlenc#aes128-cbc" => Content::Cbc128,
            "http://www.w3.org/2001/04/xmlenc#aes256-cbc" => Content::Cbc256,
            "http://www.w3.org/2009/xmlenc11#aes128-gcm" => Content::Gcm128,
            "http://www.w3.org/2009/xmlenc11#aes256-gcm" => Content::Gcm256,
            _ => return None,
        })
    }

    fn key_len(self) -> usize {
        match self {
            Content::Cbc128 | Content::Gcm128 => 16,
            Content::Cbc256 | Content::Gcm256 => 32,
        }
    }

    fn decrypt(self, key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
        match self {
            Content::Cbc128 => cbc_decrypt::<aes::Aes128>(key, data),
            Content::Cbc256 => cbc_decrypt::<aes::Aes256>(key, data),
            Content::Gcm128 => gcm_decrypt::<aes_gcm::Aes128Gcm>(key, data),
            Content::Gcm256 => gcm_decrypt::<aes_gcm::Aes256Gcm>(key, data),
        }
    }
}

/// IV || ciphertext; XML-Enc padding (last byte = pad length, the other
/// pad bytes arbitrary), not PKCS#7.
fn cbc_decrypt<C>(key: &[u8], data: &[u8]) -> Option<Vec<u8>>
where
    C: aes::cipher::BlockCipher + aes::cipher::BlockDecryptMut + aes::cipher::KeyInit,
{
    if data.len() < 32 || !data.len().is_multiple_of(16) {
        return None;
    }
    let (iv, ciphertext) = data.split_at(16);
    let decryptor = cbc::Decryptor::<C>::new_from_slices(key, iv).ok()?;
    let mut plain = decryptor.decrypt_padded_vec_mut::<NoPadding>(ciphertext).ok()?;
    let pad = *plain.last()? as usize;
    if pad == 0 || pad > 16 || pad > plain.len() {
        return None;
    }
    plain.truncate(plain.len() - pad);
    Some(plain)
}

/// 12-byte IV || ciphertext || 16-byte tag.
fn gcm_decrypt<C: KeyInit + Aead>(key: &[u8], data: &[u8]) -> Option<Vec<u8>> {
    if data.len() < 12 + 16 {
        return None;
    }
    let (iv, sealed) = data.split_at(12);
    let cipher = C::new_from_slice(key).ok()?;
    cipher.decrypt(aes_gcm::Nonce::from_slice(iv), sealed).ok()
}

/// The world's randomness as an RNG, for RSA blinding.
struct BlindingRng<'a>(&'a dyn Random);

impl rand_core::RngCore for BlindingRng<'_> {
    fn next_u32(&mut self) -> u32 {
        let mut b = [0u8; 4];
        self.0.fill(&mut b);
        u32::from_le_bytes(b)
    }
    fn next_u64(&mut self) -> u64 {
        let mut b = [0u8; 8];
        self.0.fill(&mut b);
        u64::from_le_bytes(b)
    }
    fn fill_bytes(&mut self, dest: &mut [u8]) {
        self.0.fill(dest);
    }
    fn try_fill_bytes(&mut self, dest: &mut [u8]) -> Result<(), rand_core::Error> {
        self.0.fill(dest);
        Ok(())
    }
}
impl rand_core::CryptoRng for BlindingRng<'_> {}

fn cipher_value(e: &Element) -> Option<Vec<u8>> {
    let value = e.only_child(NS_XENC, "CipherData").ok()??.only_child(NS_XENC, "CipherValue").ok()??;
    let text: String = value.text().chars().filter(|c| !c.is_ascii_whitespace()).collect();
    STANDARD.decode(text).ok()
}

fn algorithm_of<'a>(e: &'a Element, ns: &str, local: &str) -> Option<&'a str> {
    e.only_child(ns, local).ok()??.attr("Algorithm")
}

/// The RSA-OAEP padding an `EncryptedKey` names (SHA-1 or SHA-256 for the
/// digest and MGF1; no OAEPparams label).
fn oaep(method: &Element) -> Option<Oaep> {
    if method.only_child(NS_XENC, "OAEPparams").ok()?.is_some() {
        return None;
    }
    let digest = algorithm_of(method, NS_DS, "DigestMethod").unwrap_or("http://www.w3.org/2000/09/xmldsig#sha1");
    let mgf = match method.attr("Algorithm")? {
        "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p" => "http://www.w3.org/2009/xmlenc11#mgf1sha1",
        "http://www.w3.org/2009/xmlenc11#rsa-oaep" => {
            algorithm_of(method, NS_XENC11, "MGF").unwrap_or("http://www.w3.org/2009/xmlenc11#mgf1sha1")
        }
        _ => return None,
    };
    const SHA1: &str = "http://www.w3.org/2000/09/xmldsig#sha1";
    const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
    const MGF_SHA1: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha1";
    const MGF_SHA256: &str = "http://www.w3.org/2009/xmlenc11#mgf1sha256";
    Some(match (digest, mgf) {
        (SHA1, MGF_SHA1) => Oaep::new::<sha1::Sha1>(),
        (SHA256, MGF_SHA1) => Oaep::new_with_mgf_hash::<Sha256, sha1::Sha1>(),
        (SHA256, MGF_SHA256) => Oaep::new::<Sha256>(),
        (SHA1, MGF_SHA256) => Oaep::new_with_mgf_hash::<sha1::Sha1, Sha256>(),
        _ => return None,
    })
}

fn content_key(encrypted_key: &Element, sp_key: &RsaPrivateKey, random: &dyn Random) -> Option<Vec<u8>> {
    let method = encrypted_key.only_child(NS_XENC, "EncryptionMethod").ok()??;
    let padding = oaep(method)?;
    let wrapped = cipher_value(encrypted_key)?;
    sp_key.decrypt_blinded(&mut BlindingRng(random), padding, &wrapped).ok()
}

/// Decrypt the `xenc:EncryptedData` of an `EncryptedAssertion` (or
/// `EncryptedID`) into the XML text of the element it carries.
pub fn decrypt(encrypted: &Element, sp_key: &RsaPrivateKey, random: &dyn Random) -> Result<Vec<u8>, XmlEncError> {
    let failed = XmlEncError::Failed(DecryptError);
    let data = encrypted.only_child(NS_XENC, "EncryptedData").ok().flatten().ok_or(failed.clone())?;
    if data.attr("Type").is_some_and(|t| t != "http://www.w3.org/2001/04/xmlenc#Element") {
        return Err(failed);
    }
    let content_uri = algorithm_of(data, NS_XENC, "EncryptionMethod").ok_or(failed.clone())?;
    let content = Content::from_uri(content_uri).ok_or(XmlEncError::Unsupported(EncryptionAlgorithm::Content))?;
    // The EncryptedKey sits in EncryptedData's KeyInfo or beside EncryptedData.
    let in_key_info = data.only_child(NS_DS, "KeyInfo").ok().flatten().into_iter().flat_map(|k| k.children_named(NS_XENC, "EncryptedKey"));
    let keys: Vec<&Element> = in_key_info.chain(encrypted.children_named(NS_XENC, "EncryptedKey")).take(4).collect();
    let transports: Vec<&str> = keys.iter().filter_map(|k| algorithm_of(k, NS_XENC, "EncryptionMethod")).collect();
    if !transports.is_empty() && !transports.iter().any(|t| OAEP.contains(t)) {
        let refused = if transports.contains(&RSA_1_5) { EncryptionAlgorithm::Rsa15 } else { EncryptionAlgorithm::KeyTransport };
        return Err(XmlEncError::Unsupported(refused));
    }
    let key = keys.into_iter().filter_map(|k| content_key(k, sp_key, random)).find(|k| k.len() == content.key_len()).ok_or(failed.clone())?;
    content.decrypt(&key, &cipher_value(data).ok_or(failed.clone())?).ok_or(failed)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::saml::dom::parse;
    use crate::saml::test_support::{other_key, sp_key};
    use crate::testing::SeqRandom;
    use aes::cipher::BlockEncryptMut;

    const PLAIN: &[u8] = b"<saml:Assertion xmlns:saml=\"urn:oasis:names:tc:SAML:2.0:assertion\" ID=\"a1\"/>";

    fn envelope(content_uri: &str, key_method: &str, wrapped: &[u8], cipher: &[u8]) -> String {
        format!(
            r#"<saml:EncryptedAssertion xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" xmlns:xenc="{NS_XENC}" xmlns:ds="{NS_DS}">
  <xenc:EncryptedData Type="http://www.w3.org/2001/04/xmlenc#Element">
    <xenc:EncryptionMethod Algorithm="{content_uri}"/>
    <ds:KeyInfo><xenc:EncryptedKey>
      <xenc:EncryptionMethod Algorithm="{key_method}"><ds:DigestMethod Algorithm="http://www.w3.org/2000/09/xmldsig#sha1"/></xenc:EncryptionMethod>
      <xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData>
    </xenc:EncryptedKey></ds:KeyInfo>
    <xenc:CipherData><xenc:CipherValue>{}</xenc:CipherValue></xenc:CipherData>
  </xenc:EncryptedData>
</saml:EncryptedAssertion>"#,
            STANDARD.encode(wrapped),
            STANDARD.encode(cipher)
        )
    }

    fn wrap(key: &[u8], to: &RsaPrivateKey) -> Vec<u8> {
        let public = rsa::RsaPublicKey::from(to);
        public.encrypt(&mut rand_core::OsRng, Oaep::new::<sha1::Sha1>(), key).unwrap()
    }

    fn cbc128(key: &[u8; 16], plain: &[u8]) -> Vec<u8> {
        let iv = [7u8; 16];
        // XML-Enc padding: arbitrary bytes, the last one the length.
        let pad = 16 - plain.len() % 16;
        let mut padded = plain.to_vec();
        padded.extend(std::iter::repeat_n(0xAB, pad - 1));
        padded.push(pad as u8);
        let enc = cbc::Encryptor::<aes::Aes128>::new_from_slices(key, &iv).unwrap();
        let mut out = iv.to_vec();
        out.extend(enc.encrypt_padded_vec_mut::<NoPadding>(&padded));
        out
    }

    #[test]
    fn decrypts_aes_cbc_under_rsa_oaep() {
        let key = [3u8; 16];
        let xml = envelope("http://www.w3.org/2001/04/xmlenc#aes128-cbc", "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p", &wrap(&key, sp_key()), &cbc128(&key, PLAIN));
        let doc = parse(xml.as_bytes()).unwrap();
        assert_eq!(decrypt(&doc, sp_key(), &SeqRandom::default()).unwrap(), PLAIN);
        // Wrapped for someone else: no key.
        let xml = envelope("http://www.w3.org/2001/04/xmlenc#aes128-cbc", "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p", &wrap(&key, other_key()), &cbc128(&key, PLAIN));
        assert_eq!(decrypt(&parse(xml.as_bytes()).unwrap(), sp_key(), &SeqRandom::default()), Err(XmlEncError::Failed(DecryptError)));
    }

    #[test]
    fn decrypts_aes_gcm_and_refuses_tampering() {
        let key = [9u8; 32];
        let cipher = aes_gcm::Aes256Gcm::new_from_slice(&key).unwrap();
        let iv = [1u8; 12];
        let mut data = iv.to_vec();
        data.extend(cipher.encrypt(aes_gcm::Nonce::from_slice(&iv), PLAIN).unwrap());
        let method = "http://www.w3.org/2009/xmlenc11#aes256-gcm";
        let xml = envelope(method, "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p", &wrap(&key, sp_key()), &data);
        assert_eq!(decrypt(&parse(xml.as_bytes()).unwrap(), sp_key(), &SeqRandom::default()).unwrap(), PLAIN);
        let last = data.len() - 1;
        data[last] ^= 1;
        let xml = envelope(method, "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p", &wrap(&key, sp_key()), &data);
        assert_eq!(decrypt(&parse(xml.as_bytes()).unwrap(), sp_key(), &SeqRandom::default()), Err(XmlEncError::Failed(DecryptError)));
    }

    #[test]
    fn refuses_rsa_v15_key_transport_and_wrong_key_sizes() {
        let key = [3u8; 16];
        let wrapped = rsa::RsaPublicKey::from(sp_key()).encrypt(&mut rand_core::OsRng, rsa::Pkcs1v15Encrypt, &key).unwrap();
        let xml = envelope("http://www.w3.org/2001/04/xmlenc#aes128-cbc", "http://www.w3.org/2001/04/xmlenc#rsa-1_5", &wrapped, &cbc128(&key, PLAIN));
        let refused = Err(XmlEncError::Unsupported(EncryptionAlgorithm::Rsa15));
        assert_eq!(decrypt(&parse(xml.as_bytes()).unwrap(), sp_key(), &SeqRandom::default()), refused);
        // An unknown content cipher is named too.
        let xml = envelope("http://www.w3.org/2001/04/xmlenc#tripledes-cbc", "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p", &wrap(&key, sp_key()), &cbc128(&key, PLAIN));
        let refused = Err(XmlEncError::Unsupported(EncryptionAlgorithm::Content));
        assert_eq!(decrypt(&parse(xml.as_bytes()).unwrap(), sp_key(), &SeqRandom::default()), refused);
        // A 16-byte key for AES-256.
        let xml = envelope("http://www.w3.org/2001/04/xmlenc#aes256-cbc", "http://www.w3.org/2001/04/xmlenc#rsa-oaep-mgf1p", &wrap(&key, sp_key()), &cbc128(&key, PLAIN));
        assert_eq!(decrypt(&parse(xml.as_bytes()).unwrap(), sp_key(), &SeqRandom::default()), Err(XmlEncError::Failed(DecryptError)));
    }
}
