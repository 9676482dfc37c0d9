//! Zone files: an RFC 1035 master-file reader that keeps each record's line,
//! and the offline engine that answers from the records it read.
//!
//! The reader is ours because hickory's parser reports no line numbers,
//! cannot read the type-99 `SPF` RR, and silently accepts TXT strings over
//! 255 octets — all three things a preflight for mail must point at. The
//! answering is hickory-server's own in-memory zone handler, the same one the
//! test server serves from, so offline and live answers cannot drift apart.

use std::collections::BTreeMap;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::Arc;

use hickory_proto::rr::rdata::{self, NULL, SOA};
use hickory_proto::rr::{
    LowerName, Name, RData as HRData, Record as HRecord, RecordSet, RecordType, RrKey,
};
use hickory_server::store::in_memory::InMemoryZoneHandler;
use hickory_server::zone_handler::{
    AxfrPolicy, LookupControlFlow, LookupError, LookupOptions, ZoneHandler, ZoneType,
};

use super::{fqdn, normalize, Answer, Failure, RData, RType, Record};

/// A zone file that could not be read: the file, the line, and what is wrong.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{}:{line}: {message}", path.display())]
pub struct ZoneError {
    pub path: PathBuf,
    pub line: usize,
    pub message: String,
}

/// One record as read from a file, with where it stands.
#[derive(Debug, Clone)]
pub struct ZoneRecord {
    pub record: Record,
    pub line: usize,
}

/// A loaded zone: its records (with lines) and the handler that answers.
pub struct Zone {
    origin: String,
    path: PathBuf,
    records: Vec<ZoneRecord>,
    handler: InMemoryZoneHandler,
}

impl Zone {
    /// Reads a master file. `origin` is for files that have no `$ORIGIN`;
    /// without either, the owner of the SOA record is the origin.
    pub fn load(path: &Path, origin: Option<&str>) -> Result<Zone, ZoneError> {
        let err = |line, message: String| ZoneError {
            path: path.to_path_buf(),
            line,
            message,
        };
        let bytes = std::fs::read(path).map_err(|e| err(0, format!("cannot read: {e}")))?;
        let text = String::from_utf8(bytes).map_err(|e| err(0, format!("not UTF-8 text: {e}")))?;
        Zone::parse(&text, path, origin)
    }

    /// Reads master-file text; `path` is only for messages.
    pub fn parse(text: &str, path: &Path, origin: Option<&str>) -> Result<Zone, ZoneError> {
        let (origin, records) =
            parse_master(text, origin).map_err(|(line, message)| ZoneError {
                path: path.to_path_buf(),
                line,
                message,
            })?;
        let handler = build_handler(&origin, &records).map_err(|message| ZoneError {
            path: path.to_path_buf(),
            line: 0,
            message,
        })?;
        Ok(Zone {
            origin,
            path: path.to_path_buf(),
            records,
            handler,
        })
    }

    /// The origin, lower case, without the trailing dot.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    pub fn records(&self) -> &[ZoneRecord] {
        &self.records
    }

    /// Whether `name` is at or under this zone's origin.
    pub fn covers(&self, name: &str) -> bool {
        let n = normalize(name);
        self.origin.is_empty()
            || n == self.origin
            || (n.len() > self.origin.len()
                && n.ends_with(&self.origin)
                && n.as_bytes()[n.len() - self.origin.len() - 1] == b'.')
    }

    /// The hickory-server handler, for serving this zone over the network.
    pub fn into_handler(self) -> InMemoryZoneHandler {
        self.handler
    }

    /// Answers as an authoritative server for this zone would.
    pub async fn lookup(&self, name: &str, rtype: RType) -> Answer {
        let Ok(hname) = to_name(name) else {
            return Answer::Failed(Failure::InvalidName(format!(
                "cannot form a DNS name from {name:?}"
            )));
        };
        let lower = LowerName::from(&hname);
        let flow = self
            .handler
            .lookup(
                &lower,
                to_record_type(rtype),
                None,
                LookupOptions::default(),
            )
            .await;
        let result = match flow {
            LookupControlFlow::Continue(r) | LookupControlFlow::Break(r) => r,
            LookupControlFlow::Skip => return Answer::Failed(Failure::Refused),
        };
        match result {
            Ok(lookup) => {
                let recs: Vec<Record> = lookup.iter().filter_map(from_hickory).collect();
                // A bare CNAME chain counts as records: the client follows it.
                let alias_only = rtype != RType::Cname
                    && !recs.is_empty()
                    && recs.iter().all(|r| matches!(r.data, RData::Cname(_)));
                if alias_only || recs.iter().any(|r| rtype_matches(r, rtype)) {
                    Answer::Records(recs.into())
                } else {
                    Answer::NoData(recs.into())
                }
            }
            Err(e) if e.is_nx_domain() => Answer::NxDomain,
            Err(LookupError::NameExists) => Answer::NoData(Arc::from(Vec::new())),
            Err(e) if e.is_no_records_found() => Answer::NoData(Arc::from(Vec::new())),
            Err(LookupError::ResponseCode(hickory_proto::op::ResponseCode::Refused)) => {
                Answer::Failed(Failure::Refused)
            }
            Err(e) => Answer::Failed(Failure::Other(e.to_string())),
        }
    }
}

fn rtype_matches(r: &Record, rtype: RType) -> bool {
    r.rtype() == rtype.as_str()
}

/// Our record type as hickory's.
pub(crate) fn to_record_type(rtype: RType) -> RecordType {
    match rtype {
        RType::A => RecordType::A,
        RType::Aaaa => RecordType::AAAA,
        RType::Mx => RecordType::MX,
        RType::Txt => RecordType::TXT,
        RType::Ptr => RecordType::PTR,
        RType::Cname => RecordType::CNAME,
        RType::Ns => RecordType::NS,
        RType::Soa => RecordType::SOA,
        RType::Spf => RecordType::Unknown(99),
        RType::Tlsa => RecordType::TLSA,
    }
}

/// A name as hickory's, from labels, so SPF-legal names that are not host
/// names (`foo:bar/baz.example`) can still be asked.
pub(crate) fn to_name(name: &str) -> Result<Name, String> {
    let n = name.trim_end_matches('.');
    let mut hn = if n.is_empty() {
        Name::root()
    } else {
        Name::from_labels(n.split('.').map(|l| l.as_bytes())).map_err(|e| e.to_string())?
    };
    hn.set_fqdn(true);
    Ok(hn)
}

/// A hickory record in our terms; `None` for what the checks never read (SOA).
pub(crate) fn from_hickory(r: &HRecord) -> Option<Record> {
    let name = plain_name(&r.name);
    let host = plain_name;
    let data = match &r.data {
        HRData::A(a) => RData::A(a.0),
        HRData::AAAA(a) => RData::Aaaa(a.0),
        HRData::MX(mx) => RData::Mx {
            preference: mx.preference,
            exchange: host(&mx.exchange),
        },
        HRData::TXT(t) => RData::Txt(t.txt_data.iter().map(|s| s.to_vec()).collect()),
        HRData::PTR(p) => RData::Ptr(host(&p.0)),
        HRData::CNAME(c) => RData::Cname(host(&c.0)),
        HRData::NS(n) => RData::Ns(host(&n.0)),
        HRData::SOA(_) => return None,
        HRData::Unknown { code, rdata } if u16::from(*code) == 99 => {
            RData::Txt(split_character_strings(&rdata.anything))
        }
        other => RData::Other {
            rtype: other.record_type().to_string(),
            text: other.to_string(),
        },
    };
    Some(Record {
        name,
        ttl: r.ttl,
        data,
    })
}

/// A name as `Dns::query` takes it back: labels joined by dots, lower case,
/// with the trailing dot, and no presentation escapes. `Name::to_ascii`
/// writes `foo\:bar.example.` for the SPF-legal `foo:bar.example.` (an MX
/// target in the RFC 7208 suite), which could not be asked again.
fn plain_name(n: &Name) -> String {
    let mut s = String::new();
    for label in n.iter() {
        s.push_str(&String::from_utf8_lossy(label).to_ascii_lowercase());
        s.push('.');
    }
    if s.is_empty() {
        s.push('.');
    }
    s
}

/// Wire-format character-strings (length-prefixed) into their contents.
fn split_character_strings(mut b: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    while let Some((&len, rest)) = b.split_first() {
        let len = (len as usize).min(rest.len());
        out.push(rest[..len].to_vec());
        b = &rest[len..];
    }
    out
}

fn to_hickory(r: &Record, origin: &Name) -> Result<HRecord, String> {
    let name = to_name(&r.name)?;
    let host = |n: &str| to_name(n);
    let data = match &r.data {
        RData::A(a) => HRData::A((*a).into()),
        RData::Aaaa(a) => HRData::AAAA((*a).into()),
        RData::Mx {
            preference,
            exchange,
        } => HRData::MX(rdata::MX::new(*preference, host(exchange)?)),
        RData::Txt(parts) => HRData::TXT(rdata::TXT::from_bytes(
            parts.iter().map(|p| p.as_slice()).collect(),
        )),
        RData::Ptr(n) => HRData::PTR(rdata::PTR(host(n)?)),
        RData::Cname(n) => HRData::CNAME(rdata::CNAME(host(n)?)),
        RData::Ns(n) => HRData::NS(rdata::NS(host(n)?)),
        RData::Other { rtype, text } if rtype == "SPF" => {
            // Kept as type 99 with TXT wire data (RFC 7208 §14.1).
            let parts = parse_txt_strings(text).map_err(|e| e.to_string())?;
            let mut wire = Vec::new();
            for p in parts {
                wire.push(p.len().min(255) as u8);
                wire.extend_from_slice(&p[..p.len().min(255)]);
            }
            HRData::Unknown {
                code: RecordType::Unknown(99),
                rdata: NULL::with(wire),
            }
        }
        RData::Other { rtype, text } => {
            let rt = RecordType::from_str(rtype).map_err(|e| e.to_string())?;
            HRData::try_from_str(rt, text).map_err(|e| format!("{rtype} {text}: {e}"))?
        }
    };
    let _ = origin;
    Ok(HRecord::from_rdata(name, r.ttl, data))
}

fn build_handler(origin: &str, records: &[ZoneRecord]) -> Result<InMemoryZoneHandler, String> {
    let oname = to_name(origin)?;
    let mut map: BTreeMap<RrKey, RecordSet> = BTreeMap::new();
    let mut has_soa = false;
    // A CNAME beside other data (RFC 1034 §3.6.2) would make the handler
    // refuse the whole zone without a line; the lint check reports it with
    // its line instead, and the zone answers as if the alias were alone (at
    // the apex, as if the CNAME were not there: SOA and NS must stay).
    let aliases: std::collections::BTreeSet<String> = records
        .iter()
        .filter(|zr| matches!(zr.record.data, RData::Cname(_)))
        .map(|zr| normalize(&zr.record.name))
        .collect();
    let origin_key = normalize(origin);
    for zr in records.iter().filter(|zr| {
        let owner = normalize(&zr.record.name);
        if !aliases.contains(&owner) {
            return true;
        }
        let is_cname = matches!(zr.record.data, RData::Cname(_));
        if owner == origin_key {
            !is_cname
        } else {
            is_cname || matches!(zr.record.rtype(), "RRSIG" | "NSEC" | "NSEC3")
        }
    }) {
        let rec = if zr.record.rtype() == "SOA" {
            has_soa = true;
            soa_record(&zr.record, &oname)?
        } else {
            to_hickory(&zr.record, &oname).map_err(|e| format!("line {}: {e}", zr.line))?
        };
        let key = RrKey::new(LowerName::from(&rec.name), rec.record_type());
        map.entry(key)
            .or_insert_with(|| RecordSet::new(rec.name.clone(), rec.record_type(), 0))
            .insert(rec, 0);
    }
    if !has_soa {
        // Snippets of a zone are common in CI (only the mail records); a
        // synthetic SOA lets them answer NXDOMAIN/NODATA like a real zone.
        let soa = HRecord::from_rdata(
            oname.clone(),
            3600,
            HRData::SOA(SOA::new(
                oname.clone(),
                Name::from_ascii("hostmaster.invalid.").map_err(|e| e.to_string())?,
                1,
                3600,
                600,
                86400,
                300,
            )),
        );
        map.insert(RrKey::new(LowerName::from(&oname), RecordType::SOA), {
            let mut rs = RecordSet::new(oname.clone(), RecordType::SOA, 0);
            rs.insert(soa, 0);
            rs
        });
    }
    InMemoryZoneHandler::new(oname, map, ZoneType::Primary, AxfrPolicy::Deny)
}

fn soa_record(r: &Record, origin: &Name) -> Result<HRecord, String> {
    let RData::Other { text, .. } = &r.data else {
        return Err("SOA without data".into());
    };
    let rd = HRData::try_from_str(RecordType::SOA, text).map_err(|e| format!("SOA {text}: {e}"))?;
    let _ = origin;
    Ok(HRecord::from_rdata(to_name(&r.name)?, r.ttl, rd))
}

// --- the master-file reader (RFC 1035 §5) -----------------------------------

/// One token of a logical line, with the physical line it started on.
#[derive(Debug, Clone)]
struct Tok {
    text: Vec<u8>,
    quoted: bool,
    line: usize,
}

/// Splits master-file text into logical lines (parentheses joined), each a
/// list of tokens; a line that starts with white space has an empty owner.
/// A logical line: where it starts, whether its owner is blank, its tokens.
type Line = (usize, bool, Vec<Tok>);

fn logical_lines(text: &str) -> Result<Vec<Line>, (usize, String)> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    let mut depth = 0usize;
    let mut cur: Vec<Tok> = Vec::new();
    let mut cur_line = 1;
    let mut starts_blank = false;
    let mut at_line_start = true;
    while i < b.len() {
        let c = b[i];
        if at_line_start && depth == 0 {
            cur_line = line;
            starts_blank = c == b' ' || c == b'\t';
            at_line_start = false;
        }
        match c {
            b'\n' => {
                line += 1;
                i += 1;
                if depth == 0 {
                    if !cur.is_empty() {
                        out.push((cur_line, starts_blank, std::mem::take(&mut cur)));
                    }
                    at_line_start = true;
                }
            }
            b' ' | b'\t' | b'\r' => i += 1,
            b';' => {
                while i < b.len() && b[i] != b'\n' {
                    i += 1;
                }
            }
            b'(' => {
                depth += 1;
                i += 1;
            }
            b')' => {
                if depth == 0 {
                    return Err((line, "')' without a matching '('".into()));
                }
                depth -= 1;
                i += 1;
            }
            b'"' => {
                let start_line = line;
                i += 1;
                let mut s = Vec::new();
                loop {
                    if i >= b.len() {
                        return Err((start_line, "unterminated quoted string".into()));
                    }
                    match b[i] {
                        b'"' => {
                            i += 1;
                            break;
                        }
                        b'\\' => {
                            let (byte, used) = unescape(&b[i..]).map_err(|m| (line, m))?;
                            s.push(byte);
                            i += used;
                        }
                        b'\n' => {
                            return Err((
                                start_line,
                                "quoted string runs past the end of the line".into(),
                            ));
                        }
                        other => {
                            s.push(other);
                            i += 1;
                        }
                    }
                }
                cur.push(Tok {
                    text: s,
                    quoted: true,
                    line: start_line,
                });
            }
            _ => {
                let start_line = line;
                let mut s = Vec::new();
                while i < b.len()
                    && !matches!(
                        b[i],
                        b' ' | b'\t' | b'\r' | b'\n' | b';' | b'(' | b')' | b'"'
                    )
                {
                    if b[i] == b'\\' {
                        let (byte, used) = unescape(&b[i..]).map_err(|m| (line, m))?;
                        s.push(byte);
                        i += used;
                    } else {
                        s.push(b[i]);
                        i += 1;
                    }
                }
                cur.push(Tok {
                    text: s,
                    quoted: false,
                    line: start_line,
                });
            }
        }
    }
    if depth > 0 {
        return Err((cur_line, "'(' without a matching ')'".into()));
    }
    if !cur.is_empty() {
        out.push((cur_line, starts_blank, cur));
    }
    Ok(out)
}

/// `\X` or `\DDD` at the start of `b`: the byte and how many bytes it took.
fn unescape(b: &[u8]) -> Result<(u8, usize), String> {
    match b.get(1) {
        Some(d) if d.is_ascii_digit() => {
            let digits = b.get(1..4).filter(|d| d.iter().all(u8::is_ascii_digit));
            let Some(d) = digits else {
                return Err("\\DDD escape needs three digits".into());
            };
            let v: u32 = std::str::from_utf8(d)
                .unwrap_or("999")
                .parse()
                .unwrap_or(999);
            if v > 255 {
                return Err(format!("\\{} is not a byte", String::from_utf8_lossy(d)));
            }
            Ok((v as u8, 4))
        }
        Some(&c) => Ok((c, 2)),
        None => Err("'\\' at the end of the input".into()),
    }
}

/// TXT-style character-strings from presentation text (`"a" "b"` or bare).
pub fn parse_txt_strings(text: &str) -> Result<Vec<Vec<u8>>, String> {
    let lines = logical_lines(text).map_err(|(_, m)| m)?;
    Ok(lines
        .into_iter()
        .flat_map(|(_, _, t)| t)
        .map(|t| t.text)
        .collect())
}

const CLASSES: [&str; 4] = ["IN", "CH", "HS", "CS"];

fn parse_master(
    text: &str,
    given_origin: Option<&str>,
) -> Result<(String, Vec<ZoneRecord>), (usize, String)> {
    let mut origin: Option<String> = given_origin.map(normalize);
    let mut default_ttl: Option<u32> = None;
    let mut last_owner: Option<String> = None;
    let mut records = Vec::new();
    for (line, blank_owner, toks) in logical_lines(text)? {
        let word = |t: &Tok| String::from_utf8_lossy(&t.text).into_owned();
        let first = word(&toks[0]);
        if !blank_owner && first.starts_with('$') {
            match first.to_ascii_uppercase().as_str() {
                "$ORIGIN" => {
                    let o = toks
                        .get(1)
                        .map(word)
                        .ok_or((line, "$ORIGIN needs a name".to_string()))?;
                    origin = Some(absolute(&o, origin.as_deref()).map_err(|m| (line, m))?);
                }
                "$TTL" => {
                    let t = toks
                        .get(1)
                        .map(word)
                        .ok_or((line, "$TTL needs a value".to_string()))?;
                    default_ttl =
                        Some(parse_ttl(&t).ok_or((line, format!("$TTL {t:?} is not a TTL")))?);
                }
                "$INCLUDE" => {
                    return Err((
                        line,
                        "$INCLUDE is not supported: pass each file with --zone".into(),
                    ))
                }
                other => return Err((line, format!("unknown directive {other}"))),
            }
            continue;
        }
        let mut rest = &toks[..];
        let owner = if blank_owner {
            last_owner.clone().ok_or((
                line,
                "record with no owner name and no previous owner".to_string(),
            ))?
        } else {
            rest = &rest[1..];
            let o = if first == "@" {
                origin.clone().ok_or((
                    line,
                    "'@' used but no origin is known (add $ORIGIN or ORIGIN=FILE)".to_string(),
                ))?
            } else {
                absolute(&first, origin.as_deref()).map_err(|m| (line, m))?
            };
            if origin.is_none() {
                // Without $ORIGIN, the first absolute owner stands in until
                // the SOA names the zone.
            }
            o
        };
        last_owner = Some(owner.clone());
        // [TTL] [CLASS] TYPE, TTL and class in either order.
        let mut ttl = None;
        let mut idx = 0;
        while idx < rest.len() && idx < 2 {
            let w = word(&rest[idx]);
            if CLASSES.contains(&w.to_ascii_uppercase().as_str()) {
                if !w.eq_ignore_ascii_case("IN") {
                    return Err((
                        rest[idx].line,
                        format!("class {w} is not supported (only IN)"),
                    ));
                }
                idx += 1;
            } else if let Some(t) = parse_ttl(&w) {
                ttl = Some(t);
                idx += 1;
            } else {
                break;
            }
        }
        let Some(type_tok) = rest.get(idx) else {
            return Err((line, "record has no type".into()));
        };
        let rtype = word(type_tok).to_ascii_uppercase();
        let data = &rest[idx + 1..];
        let ttl = ttl.or(default_ttl).unwrap_or(3600);
        let rdata = parse_rdata(&rtype, data, origin.as_deref()).map_err(|m| (type_tok.line, m))?;
        if rtype == "SOA" && origin.is_none() {
            origin = Some(owner.clone());
        }
        records.push(ZoneRecord {
            record: Record {
                name: fqdn(&owner),
                ttl,
                data: rdata,
            },
            line,
        });
    }
    let origin = match origin {
        Some(o) => o,
        None => records
            .first()
            .map(|r| normalize(&r.record.name))
            .ok_or((1, "empty zone file and no origin given".to_string()))?,
    };
    for r in &records {
        let n = normalize(&r.record.name);
        if !(origin.is_empty() || n == origin || n.ends_with(&format!(".{origin}"))) {
            return Err((
                r.line,
                format!("{} is outside the zone {}", r.record.name, fqdn(&origin)),
            ));
        }
    }
    Ok((origin, records))
}

/// A name made absolute against the origin; lower case, no trailing dot.
fn absolute(name: &str, origin: Option<&str>) -> Result<String, String> {
    if name == "@" {
        return origin
            .map(str::to_string)
            .ok_or_else(|| "'@' used but no origin is known".into());
    }
    let n = if let Some(abs) = name.strip_suffix('.') {
        abs.to_ascii_lowercase()
    } else {
        match origin {
            Some("") => name.to_ascii_lowercase(),
            Some(o) => format!("{}.{o}", name.to_ascii_lowercase()),
            None => {
                return Err(format!(
                "relative name {name:?} but no origin is known (add $ORIGIN, or pass ORIGIN=FILE)"
            ))
            }
        }
    };
    super::check_name(&n).map_err(|why| format!("{name:?}: {why}"))?;
    Ok(n)
}

fn parse_ttl(s: &str) -> Option<u32> {
    if s.is_empty() {
        return None;
    }
    if let Ok(v) = s.parse::<u32>() {
        return Some(v);
    }
    // BIND units: 1h30m, 1d, 2w.
    let mut total: u64 = 0;
    let mut num: u64 = 0;
    let mut saw_digit = false;
    for c in s.chars() {
        if let Some(d) = c.to_digit(10) {
            num = num * 10 + d as u64;
            saw_digit = true;
        } else {
            let mult = match c.to_ascii_lowercase() {
                's' => 1,
                'm' => 60,
                'h' => 3600,
                'd' => 86400,
                'w' => 604800,
                _ => return None,
            };
            if !saw_digit {
                return None;
            }
            total += num * mult;
            num = 0;
            saw_digit = false;
        }
    }
    if saw_digit {
        return None;
    }
    u32::try_from(total).ok()
}

fn parse_rdata(rtype: &str, data: &[Tok], origin: Option<&str>) -> Result<RData, String> {
    let word = |i: usize| -> Result<String, String> {
        data.get(i)
            .map(|t| String::from_utf8_lossy(&t.text).into_owned())
            .ok_or_else(|| format!("{rtype} record is missing data"))
    };
    let exact = |n: usize| -> Result<(), String> {
        if data.len() != n {
            Err(format!(
                "{rtype} record takes {n} field(s), found {}",
                data.len()
            ))
        } else {
            Ok(())
        }
    };
    let host = |s: &str| -> Result<String, String> { absolute(s, origin).map(|n| fqdn(&n)) };
    Ok(match rtype {
        "A" => {
            exact(1)?;
            let w = word(0)?;
            RData::A(Ipv4Addr::from_str(&w).map_err(|_| format!("{w:?} is not an IPv4 address"))?)
        }
        "AAAA" => {
            exact(1)?;
            let w = word(0)?;
            RData::Aaaa(
                Ipv6Addr::from_str(&w).map_err(|_| format!("{w:?} is not an IPv6 address"))?,
            )
        }
        "MX" => {
            exact(2)?;
            let p = word(0)?;
            RData::Mx {
                preference: p
                    .parse()
                    .map_err(|_| format!("MX preference {p:?} is not a number 0-65535"))?,
                exchange: if word(1)? == "." {
                    ".".into()
                } else {
                    host(&word(1)?)?
                },
            }
        }
        "TXT" => {
            if data.is_empty() {
                return Err("TXT record has no strings".into());
            }
            RData::Txt(data.iter().map(|t| t.text.clone()).collect())
        }
        "SPF" => {
            if data.is_empty() {
                return Err("SPF record has no strings".into());
            }
            RData::Other {
                rtype: "SPF".into(),
                text: data
                    .iter()
                    .map(|t| super::quote_txt(&t.text))
                    .collect::<Vec<_>>()
                    .join(" "),
            }
        }
        "PTR" => {
            exact(1)?;
            RData::Ptr(host(&word(0)?)?)
        }
        "CNAME" => {
            exact(1)?;
            RData::Cname(host(&word(0)?)?)
        }
        "NS" => {
            exact(1)?;
            RData::Ns(host(&word(0)?)?)
        }
        "SOA" => {
            exact(7)?;
            let mut f = vec![host(&word(0)?)?, host(&word(1)?)?];
            for i in 2..7 {
                let w = word(i)?;
                let v = parse_ttl(&w).ok_or_else(|| format!("SOA field {w:?} is not a number"))?;
                f.push(v.to_string());
            }
            RData::Other {
                rtype: "SOA".into(),
                text: f.join(" "),
            }
        }
        _ => {
            if RecordType::from_str(rtype).is_err() {
                return Err(format!("unknown record type {rtype}"));
            }
            let text = data
                .iter()
                .map(|t| {
                    if t.quoted {
                        super::quote_txt(&t.text)
                    } else {
                        String::from_utf8_lossy(&t.text).into_owned()
                    }
                })
                .collect::<Vec<_>>()
                .join(" ");
            let rt = RecordType::from_str(rtype).map_err(|e| e.to_string())?;
            HRData::try_from_str(rt, &text).map_err(|e| format!("{rtype} {text}: {e}"))?;
            RData::Other {
                rtype: rtype.to_string(),
                text,
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone(text: &str) -> Result<Zone, ZoneError> {
        Zone::parse(text, Path::new("t.zone"), None)
    }

    #[test]
    fn reads_common_syntax() {
        let z = zone(
            "$ORIGIN example.test.\n$TTL 1h\n@ IN SOA ns hostmaster ( 1 2h 1h 1w 5m )\n\
             @ MX 10 mail\n  MX 20 mail2.example.net.\nmail 300 IN A 192.0.2.1\n\
             @ TXT \"v=spf1 \" \"-all\" ; comment\nold SPF \"v=spf1 -all\"\n",
        )
        .unwrap();
        assert_eq!(z.origin(), "example.test");
        let lines: Vec<String> = z.records().iter().map(|r| r.record.to_zone()).collect();
        assert!(
            lines.contains(&"example.test. MX 20 mail2.example.net.".to_string()),
            "{lines:?}"
        );
        assert!(lines.contains(&"mail.example.test. A 192.0.2.1".to_string()));
        assert!(lines.contains(&"example.test. TXT \"v=spf1 \" \"-all\"".to_string()));
        let mx = z
            .records()
            .iter()
            .find(|r| r.record.to_zone().contains("MX 20"))
            .unwrap();
        assert_eq!(mx.line, 5);
    }

    #[test]
    fn errors_carry_the_line() {
        let e = zone("$ORIGIN example.test.\n@ MX 10 mail\nmail A 300.1.1.1\n")
            .err()
            .unwrap();
        assert_eq!(e.line, 3, "{e}");
        assert!(e.message.contains("IPv4"), "{e}");
        let e = zone("$ORIGIN example.test.\n@ TXT \"unterminated\n")
            .err()
            .unwrap();
        assert_eq!(e.line, 2);
        let e = zone("$ORIGIN example.test.\n@ BOGUS x\n").err().unwrap();
        assert!(e.message.contains("unknown record type"), "{e}");
        let e = zone("$ORIGIN example.test.\nx.example.org. A 192.0.2.1\n")
            .err()
            .unwrap();
        assert!(e.message.contains("outside"), "{e}");
    }

    #[tokio::test]
    async fn answers_like_a_server() {
        let z = zone(
            "$ORIGIN example.test.\n@ MX 10 mail\nmail A 192.0.2.1\nalias CNAME mail\n\
             a.b.c TXT \"x\"\n*.wild TXT \"w\"\nold SPF \"v=spf1 -all\"\n",
        )
        .unwrap();
        assert!(matches!(
            z.lookup("mail.example.test", RType::A).await,
            Answer::Records(_)
        ));
        assert!(matches!(
            z.lookup("mail.example.test", RType::Aaaa).await,
            Answer::NoData(_)
        ));
        assert_eq!(
            z.lookup("nope.example.test", RType::A).await,
            Answer::NxDomain
        );
        // An empty non-terminal exists.
        assert!(matches!(
            z.lookup("b.c.example.test", RType::Txt).await,
            Answer::NoData(_)
        ));
        assert_eq!(
            z.lookup("x.wild.example.test", RType::Txt).await.txts(),
            vec!["w".to_string()]
        );
        let a = z.lookup("alias.example.test", RType::A).await;
        assert_eq!(a.cnames().count(), 1, "{a:?}");
        assert_eq!(
            z.lookup("old.example.test", RType::Spf).await.txts(),
            vec!["v=spf1 -all".to_string()]
        );
    }
}
