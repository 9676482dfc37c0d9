//! The DKIM tag-list syntax (RFC 6376 §3.2), which DMARC records share
//! (RFC 7489 §6.3, RFC 9989 §4.7): `name=value` specs separated by `;`.
//!
//! The parser is lenient on purpose: it returns every well-formed tag and,
//! separately, every spec it could not read, so DKIM can reject the whole
//! record (as RFC 6376 requires) while DMARC ignores only the broken tag (as
//! RFC 9989 requires) and both can say exactly what is wrong.

/// One `name=value` spec, whitespace around name and value removed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tag {
    pub name: String,
    pub value: String,
}

/// A spec that is not `name=value`, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Malformed {
    pub text: String,
    pub why: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TagList {
    pub tags: Vec<Tag>,
    pub malformed: Vec<Malformed>,
}

impl TagList {
    /// The first tag called `name` (exact match).
    pub fn get(&self, name: &str) -> Option<&Tag> {
        self.tags.iter().find(|t| t.name == name)
    }

    /// Position of the first tag called `name`.
    pub fn position(&self, name: &str) -> Option<usize> {
        self.tags.iter().position(|t| t.name == name)
    }

    /// Names that occur more than once, each reported once, in order of
    /// first occurrence. `fold_case` for DMARC, whose tag names are ABNF
    /// strings and so case-insensitive; DKIM's are case-sensitive.
    pub fn duplicates(&self, fold_case: bool) -> Vec<String> {
        let key = |n: &str| {
            if fold_case {
                n.to_ascii_lowercase()
            } else {
                n.to_string()
            }
        };
        let mut seen: Vec<String> = Vec::new();
        let mut dups: Vec<String> = Vec::new();
        for t in &self.tags {
            let k = key(&t.name);
            if seen.contains(&k) {
                if !dups.contains(&k) {
                    dups.push(k);
                }
            } else {
                seen.push(k);
            }
        }
        dups
    }
}

fn is_wsp(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\n')
}

/// Splits a record into tags; never fails.
pub fn parse(text: &str) -> TagList {
    let mut out = TagList::default();
    for raw in text.split(';') {
        let spec = raw.trim_matches(is_wsp);
        if spec.is_empty() {
            // A trailing `;` is allowed; an empty spec in the middle (`;;`)
            // is not, but verifiers skip it, so it is not worth a finding.
            continue;
        }
        let Some((name, value)) = spec.split_once('=') else {
            out.malformed.push(Malformed {
                text: spec.to_string(),
                why: "no '=' (every tag is name=value)".into(),
            });
            continue;
        };
        let name = name.trim_matches(is_wsp);
        let value = value.trim_matches(is_wsp);
        if let Err(why) = tag_name(name) {
            out.malformed.push(Malformed {
                text: spec.to_string(),
                why,
            });
            continue;
        }
        if let Some(c) = value
            .chars()
            .find(|c| !(c.is_ascii_graphic() || is_wsp(*c)))
        {
            out.malformed.push(Malformed {
                text: spec.to_string(),
                why: format!(
                    "the value of {name} contains {c:?}, which a tag value cannot hold (printable ASCII only)"
                ),
            });
            continue;
        }
        out.tags.push(Tag {
            name: name.to_string(),
            value: value.to_string(),
        });
    }
    out
}

/// `tag-name = ALPHA *ALNUMPUNC` (ALNUMPUNC is a letter, digit or `_`).
fn tag_name(name: &str) -> Result<(), String> {
    let mut chars = name.chars();
    match chars.next() {
        None => return Err("empty tag name before '='".into()),
        Some(c) if !c.is_ascii_alphabetic() => {
            return Err(format!("tag name {name:?} does not start with a letter"))
        }
        _ => {}
    }
    if chars.any(|c| !(c.is_ascii_alphanumeric() || c == '_')) {
        return Err(format!(
            "tag name {name:?} has characters other than letters, digits and '_'"
        ));
    }
    Ok(())
}

/// A colon-separated list value (`h=sha1:sha256`, `s=email:*`, `t=y:s`),
/// trimmed, empty items dropped.
pub fn colon_list(value: &str) -> Vec<String> {
    value
        .split(':')
        .map(|s| s.trim_matches(is_wsp).to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_and_whitespace() {
        let t = parse(" v=DKIM1 ; k = rsa;\tp=MIIB AQAB ;");
        assert!(t.malformed.is_empty(), "{t:?}");
        assert_eq!(t.tags.len(), 3);
        assert_eq!(t.get("k").unwrap().value, "rsa");
        assert_eq!(t.get("p").unwrap().value, "MIIB AQAB");
        assert_eq!(t.position("v"), Some(0));
    }

    #[test]
    fn malformed_specs_are_reported_not_dropped() {
        let t = parse("v=DKIM1; garbage; 1x=y; p=abc");
        assert_eq!(t.tags.len(), 2);
        assert_eq!(t.malformed.len(), 2);
        assert!(t.malformed[0].why.contains("no '='"));
        assert!(t.malformed[1].why.contains("start with a letter"));
        let t = parse("p=a\u{7}b");
        assert_eq!(t.malformed.len(), 1);
    }

    #[test]
    fn duplicates_by_case_rule() {
        let t = parse("p=a; P=b; p=c");
        assert_eq!(t.duplicates(false), vec!["p"]);
        assert_eq!(t.duplicates(true), vec!["p"]);
        let t = parse("p=a; P=b");
        assert!(t.duplicates(false).is_empty());
        assert_eq!(t.duplicates(true), vec!["p"]);
    }

    #[test]
    fn colon_lists() {
        assert_eq!(colon_list("sha1 : sha256:"), vec!["sha1", "sha256"]);
        assert!(colon_list("").is_empty());
    }
}
