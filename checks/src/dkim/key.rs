//! One DKIM key record (RFC 6376 §3.6.1, RFC 8463): its tags judged the way
//! a verifier would, and its `p=` decoded to a real key with its size.
//!
//! RSA keys are accepted as SubjectPublicKeyInfo (what RFC 6376 specifies)
//! or as a bare PKCS#1 RSAPublicKey (what many verifiers also accept and some
//! generators publish). Ed25519 keys must be the raw 32 bytes (RFC 8463 §4.2).

use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use base64::engine::DecodePaddingMode;
use base64::Engine as _;
use pkcs1::RsaPublicKeyRef;
use spki::{ObjectIdentifier, SubjectPublicKeyInfoRef};

use super::taglist::{self, colon_list};
use crate::{Code, Status};

const RSA_ENCRYPTION: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.1.1");
const ED25519: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.3.101.112");

/// Verifiers tolerate missing `=` padding in p=; so do we.
const B64: GeneralPurpose = GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyAlg {
    Rsa,
    Ed25519,
}

/// A decoded public key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PubKey {
    pub alg: KeyAlg,
    /// Modulus size for RSA; 256 for Ed25519.
    pub bits: usize,
}

impl std::fmt::Display for PubKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.alg {
            KeyAlg::Rsa => write!(f, "{}-bit RSA key", self.bits),
            KeyAlg::Ed25519 => f.write_str("Ed25519 key"),
        }
    }
}

/// Something wrong with a key record: the code and the words that name the
/// case (the check prefixes the record's name).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Issue {
    pub code: Code,
    pub detail: String,
}

impl Issue {
    fn new(code: Code, detail: impl Into<String>) -> Self {
        Issue {
            code,
            detail: detail.into(),
        }
    }
}

/// A key record, judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyRecord {
    pub key: Option<PubKey>,
    pub issues: Vec<Issue>,
    /// `t=y`: the signer is testing.
    pub testing: bool,
}

impl KeyRecord {
    /// Whether a verifier would use this key to verify a signature: it
    /// decoded, and nothing about the record makes verifiers discard it.
    pub fn usable(&self) -> bool {
        self.key.is_some() && self.issues.iter().all(|i| i.code.status() != Status::Fail)
    }
}

/// Whether a TXT string looks like it was meant as a DKIM key record, for
/// selector discovery (where a wildcard TXT at the domain must not count as
/// a found selector).
pub fn looks_like_key(text: &str) -> bool {
    let t = taglist::parse(text);
    text.trim_start().starts_with("v=DKIM1")
        || t.get("p").is_some()
        || (t.get("k").is_some() && t.get("v").is_none())
}

/// Judges one key record as RFC 6376 §3.6.1 and RFC 8463 describe it.
pub fn analyze(text: &str) -> KeyRecord {
    let mut issues = Vec::new();
    let tags = taglist::parse(text);
    let mut rec = KeyRecord {
        key: None,
        issues: Vec::new(),
        testing: false,
    };
    if let Some(m) = tags.malformed.first() {
        let more = match tags.malformed.len() {
            1 => String::new(),
            n => format!(" (and {} more)", n - 1),
        };
        rec.issues.push(Issue::new(
            Code::DkimSyntaxError,
            format!("has a malformed tag {:?}: {}{more}", m.text, m.why),
        ));
        return rec;
    }
    let dups = tags.duplicates(false);
    if !dups.is_empty() {
        // RFC 6376 §3.2: a duplicate makes the whole tag-list invalid.
        rec.issues.push(Issue::new(
            Code::DkimSyntaxError,
            format!(
                "has the tag {} more than once, which makes the whole record invalid",
                dups.join(", ")
            ),
        ));
        return rec;
    }
    if let Some(v) = tags.get("v") {
        if tags.position("v") != Some(0) {
            issues.push(Issue::new(
                Code::DkimVersionNotFirst,
                format!("has v={} but not as its first tag", v.value),
            ));
        }
        if v.value != "DKIM1" {
            issues.push(Issue::new(
                Code::DkimBadVersion,
                format!("has v={:?}; the only valid value is DKIM1", v.value),
            ));
        }
    }
    if let Some(h) = tags.get("h") {
        let algs: Vec<String> = colon_list(&h.value)
            .into_iter()
            .map(|a| a.to_ascii_lowercase())
            .collect();
        if !algs.iter().any(|a| a == "sha256") {
            if algs.iter().any(|a| a == "sha1") {
                issues.push(Issue::new(
                    Code::DkimSha1Only,
                    format!("allows only SHA-1 (h={})", h.value),
                ));
            } else {
                issues.push(Issue::new(
                    Code::DkimUnknownHash,
                    format!(
                        "allows no known hash algorithm (h={:?}; sha256 is expected)",
                        h.value
                    ),
                ));
            }
        }
    }
    if let Some(s) = tags.get("s") {
        let types: Vec<String> = colon_list(&s.value)
            .into_iter()
            .map(|a| a.to_ascii_lowercase())
            .collect();
        if !types.iter().any(|t| t == "email" || t == "*") {
            issues.push(Issue::new(
                Code::DkimNotForEmail,
                format!("is limited to service types s={:?}, not email", s.value),
            ));
        }
    }
    if let Some(t) = tags.get("t") {
        if colon_list(&t.value)
            .iter()
            .any(|f| f.eq_ignore_ascii_case("y"))
        {
            rec.testing = true;
            issues.push(Issue::new(Code::DkimTesting, "is in testing mode (t=y)"));
        }
    }
    let declared = match tags.get("k") {
        None => Some(KeyAlg::Rsa),
        Some(k) if k.value.eq_ignore_ascii_case("rsa") => Some(KeyAlg::Rsa),
        Some(k) if k.value.eq_ignore_ascii_case("ed25519") => Some(KeyAlg::Ed25519),
        Some(k) => {
            issues.push(Issue::new(
                Code::DkimUnknownKeyType,
                format!("declares key type k={:?} (known: rsa, ed25519)", k.value),
            ));
            None
        }
    };
    match tags.get("p") {
        None => issues.push(Issue::new(Code::DkimMissingKey, "has no p= tag")),
        Some(p) => {
            let b64: String = p.value.chars().filter(|c| !c.is_whitespace()).collect();
            if b64.is_empty() {
                issues.push(Issue::new(
                    Code::DkimRevoked,
                    "has an empty p=: the key is revoked",
                ));
            } else {
                match B64.decode(b64.as_bytes()) {
                    Err(e) => issues.push(Issue::new(
                        Code::DkimBadBase64,
                        format!("has a p= that is not valid base64 ({e})"),
                    )),
                    Ok(der) => {
                        if let Some(alg) = declared {
                            match decode_key(alg, &der) {
                                Ok(key) => {
                                    if key.alg == KeyAlg::Rsa && key.bits < 1024 {
                                        issues.push(Issue::new(
                                            Code::DkimWeakKey,
                                            format!("holds a {key}, under the 1024-bit minimum"),
                                        ));
                                    } else if key.alg == KeyAlg::Rsa && key.bits < 2048 {
                                        issues.push(Issue::new(
                                            Code::DkimShortKey,
                                            format!("holds a {key}; 2048 bits is the norm"),
                                        ));
                                    }
                                    rec.key = Some(key);
                                }
                                Err(issue) => issues.push(issue),
                            }
                        }
                    }
                }
            }
        }
    }
    rec.issues = issues;
    rec
}

/// Decodes the bytes of `p=` as a key of the declared type.
pub fn decode_key(declared: KeyAlg, der: &[u8]) -> Result<PubKey, Issue> {
    let spki = SubjectPublicKeyInfoRef::try_from(der).ok();
    match declared {
        KeyAlg::Rsa => {
            if let Some(spki) = &spki {
                let oid = spki.algorithm.oid;
                if oid == RSA_ENCRYPTION {
                    let Some(inner) = spki.subject_public_key.as_bytes() else {
                        return Err(Issue::new(
                            Code::DkimBadKey,
                            "holds an RSA SubjectPublicKeyInfo whose key bits are not whole bytes",
                        ));
                    };
                    return rsa_bits(inner).map_err(|why| {
                        Issue::new(
                            Code::DkimBadKey,
                            format!(
                                "holds an RSA SubjectPublicKeyInfo whose key is unreadable: {why}"
                            ),
                        )
                    });
                }
                if oid == ED25519 {
                    return Err(Issue::new(
                        Code::DkimKeyTypeMismatch,
                        "holds an Ed25519 key, but declares k=rsa (or no k=, which means rsa)",
                    ));
                }
                return Err(Issue::new(
                    Code::DkimBadKey,
                    format!("holds a public key of algorithm {oid}, which DKIM does not use"),
                ));
            }
            if let Ok(key) = rsa_bits(der) {
                return Ok(key);
            }
            if der.len() == 32 {
                return Err(Issue::new(
                    Code::DkimKeyTypeMismatch,
                    "holds 32 raw bytes (an Ed25519 key), but declares k=rsa (or no k=, which means rsa)",
                ));
            }
            Err(Issue::new(
                Code::DkimBadKey,
                format!(
                    "has a p= that is valid base64 ({} bytes) but neither an RSA SubjectPublicKeyInfo nor a PKCS#1 RSA public key",
                    der.len()
                ),
            ))
        }
        KeyAlg::Ed25519 => {
            if der.len() == 32 {
                return Ok(PubKey {
                    alg: KeyAlg::Ed25519,
                    bits: 256,
                });
            }
            if let Some(spki) = &spki {
                if spki.algorithm.oid == ED25519 {
                    return Err(Issue::new(
                        Code::DkimEd25519Wrapped,
                        "holds the Ed25519 key wrapped in a SubjectPublicKeyInfo; k=ed25519 needs the raw 32 bytes",
                    ));
                }
                if spki.algorithm.oid == RSA_ENCRYPTION {
                    return Err(Issue::new(
                        Code::DkimKeyTypeMismatch,
                        "holds an RSA key, but declares k=ed25519",
                    ));
                }
            }
            if rsa_bits(der).is_ok() {
                return Err(Issue::new(
                    Code::DkimKeyTypeMismatch,
                    "holds an RSA key, but declares k=ed25519",
                ));
            }
            Err(Issue::new(
                Code::DkimBadKey,
                format!(
                    "has a p= of {} bytes; an Ed25519 key is exactly 32",
                    der.len()
                ),
            ))
        }
    }
}

/// The modulus size of a PKCS#1 RSAPublicKey, if it is one a verifier can use.
fn rsa_bits(der: &[u8]) -> Result<PubKey, String> {
    let key = RsaPublicKeyRef::try_from(der).map_err(|e| e.to_string())?;
    let n = key.modulus.as_bytes();
    let e = key.public_exponent.as_bytes();
    let Some(&first) = n.first() else {
        return Err("the modulus is zero".into());
    };
    if first == 0 {
        return Err("the modulus is zero".into());
    }
    // An even or unit exponent cannot be an RSA public exponent.
    if e.last().is_none_or(|b| b & 1 == 0) || e == [1] {
        return Err("the public exponent is not usable".into());
    }
    let bits = n.len() * 8 - first.leading_zeros() as usize;
    Ok(PubKey {
        alg: KeyAlg::Rsa,
        bits,
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// DER of a PKCS#1 RSAPublicKey with a modulus of `bits` bits (top bit
    /// set, odd) and e = 65537. Not a real key pair: only its shape matters.
    pub fn pkcs1(bits: usize) -> Vec<u8> {
        let mut n = vec![0xc5u8; bits / 8];
        n[0] = 0x80 | 0x45;
        if let Some(last) = n.last_mut() {
            *last |= 1;
        }
        let mut n_int = vec![0x02];
        // A leading zero keeps the INTEGER positive.
        let body_len = n.len() + 1;
        n_int.extend(der_len(body_len));
        n_int.push(0);
        n_int.extend(&n);
        let e_int = vec![0x02, 0x03, 0x01, 0x00, 0x01];
        let mut seq = vec![0x30];
        seq.extend(der_len(n_int.len() + e_int.len()));
        seq.extend(n_int);
        seq.extend(e_int);
        seq
    }

    /// The same key as a SubjectPublicKeyInfo.
    pub fn spki_rsa(bits: usize) -> Vec<u8> {
        let inner = pkcs1(bits);
        let alg = [
            0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01, 0x05,
            0x00,
        ];
        let mut bitstr = vec![0x03];
        bitstr.extend(der_len(inner.len() + 1));
        bitstr.push(0);
        bitstr.extend(inner);
        let mut seq = vec![0x30];
        seq.extend(der_len(alg.len() + bitstr.len()));
        seq.extend(alg);
        seq.extend(bitstr);
        seq
    }

    pub fn spki_ed25519() -> Vec<u8> {
        let mut v = vec![
            0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
        ];
        v.extend([7u8; 32]);
        v
    }

    fn der_len(n: usize) -> Vec<u8> {
        if n < 0x80 {
            vec![n as u8]
        } else if n < 0x100 {
            vec![0x81, n as u8]
        } else {
            vec![0x82, (n >> 8) as u8, n as u8]
        }
    }

    pub fn b64(bytes: &[u8]) -> String {
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    fn codes(r: &KeyRecord) -> Vec<&'static str> {
        r.issues.iter().map(|i| i.code.id()).collect()
    }

    #[test]
    fn rsa_spki_and_pkcs1_sizes() {
        for bits in [512, 1024, 2048, 4096] {
            let r = analyze(&format!("v=DKIM1; k=rsa; p={}", b64(&spki_rsa(bits))));
            assert_eq!(r.key.map(|k| k.bits), Some(bits), "{r:?}");
            let r = analyze(&format!("p={}", b64(&pkcs1(bits))));
            assert_eq!(r.key.map(|k| k.bits), Some(bits), "{r:?}");
        }
        let r = analyze(&format!("v=DKIM1; p={}", b64(&spki_rsa(2048))));
        assert!(r.usable() && r.issues.is_empty());
        assert_eq!(
            codes(&analyze(&format!("p={}", b64(&spki_rsa(1024))))),
            ["dkim.short_key"]
        );
        let weak = analyze(&format!("p={}", b64(&spki_rsa(768))));
        assert_eq!(codes(&weak), ["dkim.weak_key"]);
        assert!(!weak.usable());
    }

    #[test]
    fn ed25519_raw_wrapped_and_mismatched() {
        let raw = b64(&[9u8; 32]);
        let r = analyze(&format!("v=DKIM1; k=ed25519; p={raw}"));
        assert_eq!(r.key.map(|k| k.alg), Some(KeyAlg::Ed25519));
        assert!(r.usable());
        assert_eq!(
            codes(&analyze(&format!("k=ed25519; p={}", b64(&spki_ed25519())))),
            ["dkim.ed25519_wrapped"]
        );
        assert_eq!(
            codes(&analyze(&format!("p={raw}"))),
            ["dkim.key_type_mismatch"]
        );
        assert_eq!(
            codes(&analyze(&format!("k=rsa; p={}", b64(&spki_ed25519())))),
            ["dkim.key_type_mismatch"]
        );
        assert_eq!(
            codes(&analyze(&format!("k=ed25519; p={}", b64(&spki_rsa(2048))))),
            ["dkim.key_type_mismatch"]
        );
    }

    #[test]
    fn base64_that_is_not_a_key() {
        let r = analyze(&format!(
            "v=DKIM1; p={}",
            b64(b"this is not a key at all, just text")
        ));
        assert_eq!(codes(&r), ["dkim.bad_key"]);
        assert_eq!(codes(&analyze("p=!!notbase64")), ["dkim.bad_base64"]);
        // Truncated DER.
        let mut d = spki_rsa(2048);
        d.truncate(100);
        assert_eq!(codes(&analyze(&format!("p={}", b64(&d)))), ["dkim.bad_key"]);
        // Trailing garbage after a valid key.
        let mut d = spki_rsa(2048);
        d.extend([0, 0, 0]);
        assert_eq!(codes(&analyze(&format!("p={}", b64(&d)))), ["dkim.bad_key"]);
    }

    #[test]
    fn tags_judged() {
        let key = b64(&spki_rsa(2048));
        assert_eq!(codes(&analyze("v=DKIM1; p=")), ["dkim.revoked"]);
        assert_eq!(codes(&analyze("v=DKIM1; k=rsa")), ["dkim.missing_key"]);
        assert_eq!(
            codes(&analyze(&format!("k=rsa; v=DKIM1; p={key}"))),
            ["dkim.version_not_first"]
        );
        assert_eq!(
            codes(&analyze(&format!("v=DKIM2; p={key}"))),
            ["dkim.bad_version"]
        );
        assert_eq!(
            codes(&analyze(&format!("k=dsa; p={key}"))),
            ["dkim.unknown_key_type"]
        );
        assert_eq!(
            codes(&analyze(&format!("h=sha1; p={key}"))),
            ["dkim.sha1_only"]
        );
        assert!(codes(&analyze(&format!("h=sha1:sha256; p={key}"))).is_empty());
        assert_eq!(
            codes(&analyze(&format!("h=md5; p={key}"))),
            ["dkim.unknown_hash"]
        );
        assert_eq!(
            codes(&analyze(&format!("s=tlsrpt; p={key}"))),
            ["dkim.not_for_email"]
        );
        assert!(codes(&analyze(&format!("s=email:tlsrpt; p={key}"))).is_empty());
        let t = analyze(&format!("t=y:s; p={key}"));
        assert_eq!(codes(&t), ["dkim.testing"]);
        assert!(t.testing && t.usable());
        assert!(codes(&analyze(&format!("t=s; p={key}"))).is_empty());
        assert_eq!(
            codes(&analyze(&format!("p={key}; p={key}"))),
            ["dkim.syntax_error"]
        );
        assert_eq!(codes(&analyze("v=DKIM1; p")), ["dkim.syntax_error"]);
        // Whitespace inside p= (folded zone-file strings) is fine.
        let spaced: String = key
            .chars()
            .enumerate()
            .flat_map(|(i, c)| if i % 60 == 59 { vec![c, ' '] } else { vec![c] })
            .collect();
        assert!(analyze(&format!("p={spaced}")).usable());
    }

    #[test]
    fn discovery_filter() {
        assert!(looks_like_key("v=DKIM1; p="));
        assert!(looks_like_key("k=rsa; p=abc"));
        assert!(!looks_like_key("v=spf1 -all"));
        assert!(!looks_like_key("google-site-verification=abc"));
    }
}
