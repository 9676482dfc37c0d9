//! Just enough RFC 5322 / MIME (RFC 2045–2047) to read a bounce: headers with
//! folding, nested multiparts, `message/rfc822`, base64 and quoted-printable
//! bodies, UTF-8 and Latin-1 text, encoded words in headers.
//!
//! Hand-written because the well-kept parser (mail-parser 1.0) needs a newer
//! rustc than ours, and a bounce uses a small, well-known part of MIME. Input
//! is hostile: depth and part counts are bounded, nothing panics on bad bytes.

/// Nesting deeper than this is left unparsed (bounces nest 3 levels at most).
const MAX_DEPTH: usize = 8;
/// More parts than this in one message are ignored.
const MAX_PARTS: usize = 200;

#[derive(Debug, Clone, Default)]
pub struct Part {
    /// Header fields in order, names as written, values unfolded and decoded.
    pub headers: Vec<(String, String)>,
    /// `type/subtype`, lower case; `text/plain` when absent (RFC 2045 §5.2).
    pub content_type: String,
    /// The body after transfer decoding, as text.
    pub text: String,
    /// Sub-parts of a multipart; the one enclosed message of `message/rfc822`.
    pub children: Vec<Part>,
}

impl Part {
    /// The first value of a header, by case-insensitive name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// Every part in the tree, depth first, itself included.
    pub fn walk(&self) -> Vec<&Part> {
        let mut out = Vec::new();
        let mut stack = vec![self];
        while let Some(p) = stack.pop() {
            out.push(p);
            stack.extend(p.children.iter().rev());
        }
        out
    }
}

/// Whether the input starts with a header block that looks like a message's
/// (so it is parsed as one) rather than pasted text.
pub fn looks_like_message(input: &str) -> bool {
    const KNOWN: &[&str] = &[
        "from",
        "to",
        "subject",
        "date",
        "received",
        "return-path",
        "mime-version",
        "content-type",
        "message-id",
        "delivered-to",
        "x-failed-recipients",
        "auto-submitted",
    ];
    let mut known = 0;
    for (i, line) in input.lines().enumerate() {
        if line.trim().is_empty() {
            break;
        }
        if line.starts_with([' ', '\t']) {
            continue;
        }
        match header_name(line) {
            Some(name) if KNOWN.iter().any(|k| name.eq_ignore_ascii_case(k)) => known += 1,
            Some(_) => {}
            // mbox "From " separator line before the headers.
            None if i == 0 && line.starts_with("From ") => {}
            None => return false,
        }
    }
    known > 0
}

fn header_name(line: &str) -> Option<&str> {
    let (name, _) = line.split_once(':')?;
    (!name.is_empty() && name.bytes().all(|b| b.is_ascii_graphic() && b != b':')).then_some(name)
}

/// Parses a whole message. Never fails: what cannot be read is left out.
pub fn parse(bytes: &[u8]) -> Part {
    let mut budget = MAX_PARTS;
    parse_entity(bytes, 0, &mut budget, "text/plain")
}

fn parse_entity(bytes: &[u8], depth: usize, budget: &mut usize, default_type: &str) -> Part {
    let (head, body) = split_head_body(bytes);
    let headers = parse_headers(head);
    let mut part = Part {
        headers,
        ..Part::default()
    };
    let (ctype, params) = match part.header("content-type") {
        Some(v) => parse_content_type(v),
        None => (default_type.to_string(), Vec::new()),
    };
    part.content_type = ctype;
    let encoding = part
        .header("content-transfer-encoding")
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    let param = |name: &str| {
        params
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    };

    if depth >= MAX_DEPTH {
        part.text = to_text(body, None);
        return part;
    }
    if part.content_type.starts_with("multipart/") {
        if let Some(boundary) = param("boundary") {
            let child_default = if part.content_type == "multipart/digest" {
                "message/rfc822"
            } else {
                "text/plain"
            };
            for chunk in split_multipart(body, boundary.as_bytes()) {
                if *budget == 0 {
                    break;
                }
                *budget -= 1;
                part.children
                    .push(parse_entity(chunk, depth + 1, budget, child_default));
            }
            return part;
        }
    }
    let decoded = decode_transfer(body, &encoding);
    match part.content_type.as_str() {
        "message/rfc822" | "message/global" => {
            if *budget > 0 {
                *budget -= 1;
                part.children
                    .push(parse_entity(&decoded, depth + 1, budget, "text/plain"));
            }
        }
        "text/rfc822-headers" | "message/rfc822-headers" | "message/global-headers" => {
            if *budget > 0 {
                *budget -= 1;
                let (head, _) = split_head_body(&decoded);
                let mut headers_only = Part {
                    headers: parse_headers(head),
                    ..Part::default()
                };
                headers_only.content_type = "text/plain".into();
                part.children.push(headers_only);
            }
            part.text = to_text(&decoded, param("charset"));
        }
        _ => part.text = to_text(&decoded, param("charset")),
    }
    part
}

/// Splits at the first empty line. A part that starts with an empty line has
/// no headers; one with no empty line is all headers.
fn split_head_body(bytes: &[u8]) -> (&[u8], &[u8]) {
    if bytes.starts_with(b"\r\n") {
        return (&[], &bytes[2..]);
    }
    if bytes.starts_with(b"\n") {
        return (&[], &bytes[1..]);
    }
    let mut i = 0;
    while let Some(nl) = bytes[i..].iter().position(|&b| b == b'\n') {
        let end = i + nl + 1;
        let next = &bytes[end..];
        if next.starts_with(b"\r\n") {
            return (&bytes[..end], &next[2..]);
        }
        if next.starts_with(b"\n") {
            return (&bytes[..end], &next[1..]);
        }
        i = end;
    }
    (bytes, &[])
}

/// Header fields, unfolded (RFC 5322 §2.2.3), with encoded words decoded.
pub fn parse_headers(head: &[u8]) -> Vec<(String, String)> {
    let text = to_text(head, None);
    let mut out: Vec<(String, String)> = Vec::new();
    for line in text.lines() {
        if line.starts_with([' ', '\t']) {
            if let Some((_, v)) = out.last_mut() {
                v.push(' ');
                v.push_str(line.trim());
            }
            continue;
        }
        if let Some(name) = header_name(line) {
            let value = line[name.len() + 1..].trim().to_string();
            out.push((name.to_string(), value));
        }
    }
    for (_, v) in &mut out {
        if v.contains("=?") {
            *v = decode_words(v);
        }
    }
    out
}

/// `text/plain; charset="utf-8"` -> ("text/plain", [("charset", "utf-8")]).
/// Parameter names are lower case; values keep their case (boundaries do).
fn parse_content_type(v: &str) -> (String, Vec<(String, String)>) {
    let mut parts = split_params(v);
    let ctype = if parts.is_empty() {
        String::new()
    } else {
        parts.remove(0).trim().to_ascii_lowercase()
    };
    let params = parts
        .into_iter()
        .filter_map(|p| {
            let (n, val) = p.split_once('=')?;
            let val = val.trim();
            let val = val
                .strip_prefix('"')
                .and_then(|x| x.strip_suffix('"'))
                .unwrap_or(val);
            Some((n.trim().to_ascii_lowercase(), val.to_string()))
        })
        .collect();
    let ctype = if ctype.contains('/') {
        ctype
    } else {
        "text/plain".to_string()
    };
    (ctype, params)
}

/// Splits on `;` outside double quotes.
fn split_params(v: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for ch in v.chars() {
        match ch {
            '"' => {
                quoted = !quoted;
                cur.push(ch);
            }
            ';' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(ch),
        }
    }
    out.push(cur);
    out
}

/// The body parts between `--boundary` lines (RFC 2046 §5.1.1); a missing
/// close delimiter ends the last part at the end of input.
fn split_multipart<'a>(body: &'a [u8], boundary: &[u8]) -> Vec<&'a [u8]> {
    let mut delim = b"--".to_vec();
    delim.extend_from_slice(boundary);
    let mut parts = Vec::new();
    let mut start: Option<usize> = None;
    let mut pos = 0;
    while pos < body.len() {
        let end = body[pos..]
            .iter()
            .position(|&b| b == b'\n')
            .map(|n| pos + n + 1)
            .unwrap_or(body.len());
        let line = trim_eol(&body[pos..end]);
        if line.starts_with(&delim) {
            let rest = &line[delim.len()..];
            let closing = rest.starts_with(b"--");
            if closing || rest.iter().all(|b| b.is_ascii_whitespace()) {
                if let Some(s) = start {
                    // The line break before the delimiter belongs to it.
                    let mut e = pos;
                    if e > s && body[e - 1] == b'\n' {
                        e -= 1;
                        if e > s && body[e - 1] == b'\r' {
                            e -= 1;
                        }
                    }
                    parts.push(&body[s..e]);
                }
                if closing {
                    return parts;
                }
                start = Some(end);
            }
        }
        pos = end;
    }
    if let Some(s) = start {
        if s < body.len() {
            parts.push(&body[s..]);
        }
    }
    parts
}

fn trim_eol(line: &[u8]) -> &[u8] {
    let mut l = line;
    while let [rest @ .., b'\n' | b'\r'] = l {
        l = rest;
    }
    l
}

fn decode_transfer(body: &[u8], encoding: &str) -> Vec<u8> {
    match encoding {
        "base64" => decode_base64(body),
        "quoted-printable" => decode_qp(body, false),
        _ => body.to_vec(),
    }
}

/// Lenient base64: skips whitespace and stray characters, stops at `=`.
pub fn decode_base64(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() * 3 / 4);
    let mut acc: u32 = 0;
    let mut bits = 0;
    for &b in input {
        let v = match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' | b'-' => 62,
            b'/' | b'_' => 63,
            b'=' => break,
            _ => continue,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    out
}

/// Quoted-printable (RFC 2045 §6.7); `header` selects the RFC 2047 "Q" form,
/// where `_` is a space.
pub fn decode_qp(input: &[u8], header: bool) -> Vec<u8> {
    let hex = |b: u8| -> Option<u8> {
        match b {
            b'0'..=b'9' => Some(b - b'0'),
            b'A'..=b'F' => Some(b - b'A' + 10),
            b'a'..=b'f' => Some(b - b'a' + 10),
            _ => None,
        }
    };
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        let b = input[i];
        if b == b'=' {
            match (input.get(i + 1), input.get(i + 2)) {
                (Some(b'\r'), Some(b'\n')) => i += 3,
                (Some(b'\n'), _) => i += 2,
                (Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                    out.push(hex(h).unwrap_or(0) << 4 | hex(l).unwrap_or(0));
                    i += 3;
                }
                _ => {
                    out.push(b);
                    i += 1;
                }
            }
        } else {
            out.push(if header && b == b'_' { b' ' } else { b });
            i += 1;
        }
    }
    out
}

/// Bytes to text: UTF-8 when valid or declared, Latin-1 / Windows-1252 when
/// declared or when the bytes are not UTF-8 (the common legacy case).
pub fn to_text(bytes: &[u8], charset: Option<&str>) -> String {
    let cs = charset.unwrap_or("").to_ascii_lowercase();
    if let Ok(s) = std::str::from_utf8(bytes) {
        return s.to_string();
    }
    if cs.is_empty()
        || cs.contains("8859")
        || cs.contains("1252")
        || cs.contains("latin")
        || cs == "us-ascii"
    {
        return bytes.iter().map(|&b| char::from(b)).collect();
    }
    String::from_utf8_lossy(bytes).into_owned()
}

/// RFC 2047 encoded words (`=?utf-8?B?...?=`) in a header value.
pub fn decode_words(v: &str) -> String {
    let mut out = String::new();
    let mut rest = v;
    let mut last_was_word = false;
    while let Some(start) = rest.find("=?") {
        let before = &rest[..start];
        let after = &rest[start + 2..];
        let decoded = (|| {
            let (charset, after) = after.split_once('?')?;
            let (enc, after) = after.split_once('?')?;
            let end = after.find("?=")?;
            let payload = &after[..end];
            let bytes = match enc {
                "B" | "b" => decode_base64(payload.as_bytes()),
                "Q" | "q" => decode_qp(payload.as_bytes(), true),
                _ => return None,
            };
            let charset = charset.split('*').next().unwrap_or(charset);
            Some((to_text(&bytes, Some(charset)), &after[end + 2..]))
        })();
        match decoded {
            Some((text, tail)) => {
                // Whitespace between two encoded words is not shown (§6.2).
                if !(last_was_word && before.trim().is_empty()) {
                    out.push_str(before);
                }
                out.push_str(&text);
                rest = tail;
                last_was_word = true;
            }
            None => {
                out.push_str(&rest[..start + 2]);
                rest = after;
                last_was_word = false;
            }
        }
    }
    out.push_str(rest);
    out
}

/// Text of an HTML part, for bounces that have no plain-text part: tags
/// dropped, block ends as line breaks, the common entities decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut in_tag = false;
    let mut tag = String::new();
    let mut skip_depth = false;
    for ch in html.chars() {
        if in_tag {
            if ch == '>' {
                in_tag = false;
                let t = tag.trim().to_ascii_lowercase();
                let name = t
                    .trim_start_matches('/')
                    .split(|c: char| c.is_whitespace() || c == '/')
                    .next()
                    .unwrap_or("");
                if matches!(name, "style" | "script" | "head") {
                    skip_depth = !t.starts_with('/');
                }
                if matches!(
                    name,
                    "br" | "p" | "div" | "tr" | "li" | "table" | "h1" | "h2" | "h3" | "pre"
                ) {
                    out.push('\n');
                }
                tag.clear();
            } else {
                tag.push(ch);
            }
        } else if ch == '<' {
            in_tag = true;
        } else if !skip_depth {
            out.push(ch);
        }
    }
    out.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_unfold_and_decode() {
        let h = parse_headers(b"Subject: =?utf-8?B?VW5kZWxpdmVyYWJsZTo=?= =?utf-8?Q?_caf=C3=A9?=\r\nX-Long: one\r\n two\r\n");
        assert_eq!(h[0].1, "Undeliverable: caf\u{e9}");
        assert_eq!(h[1].1, "one two");
    }

    #[test]
    fn nested_multipart_with_encodings() {
        let msg = concat!(
            "From: MAILER-DAEMON@mx.example.org\r\n",
            "Content-Type: multipart/report; report-type=delivery-status;\r\n boundary=\"outer\"\r\n",
            "\r\n",
            "preamble\r\n",
            "--outer\r\n",
            "Content-Type: multipart/alternative; boundary=inner\r\n",
            "\r\n",
            "--inner\r\n",
            "Content-Type: text/plain; charset=utf-8\r\n",
            "Content-Transfer-Encoding: quoted-printable\r\n",
            "\r\n",
            "caf=C3=A9 soft=\r\nbreak\r\n",
            "--inner\r\n",
            "Content-Type: text/html\r\n",
            "Content-Transfer-Encoding: base64\r\n",
            "\r\n",
            "PHA+aGVsbG88L3A+\r\n",
            "--inner--\r\n",
            "--outer\r\n",
            "Content-Type: message/rfc822\r\n",
            "\r\n",
            "From: alice@example.com\r\n",
            "Subject: hi\r\n",
            "\r\n",
            "body\r\n",
            "--outer--\r\n",
        );
        let p = parse(msg.as_bytes());
        assert_eq!(p.content_type, "multipart/report");
        assert_eq!(p.children.len(), 2);
        let alt = &p.children[0];
        assert_eq!(alt.children[0].text, "caf\u{e9} softbreak");
        assert_eq!(alt.children[1].text, "<p>hello</p>");
        let inner = &p.children[1].children[0];
        assert_eq!(inner.header("from"), Some("alice@example.com"));
        assert_eq!(p.walk().len(), 6);
    }

    #[test]
    fn hostile_input_is_bounded() {
        // 1000 nested multiparts: parsed to MAX_DEPTH, no stack overflow.
        let mut m = String::new();
        for i in 0..1000 {
            m.push_str(&format!(
                "Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n"
            ));
        }
        let p = parse(m.as_bytes());
        assert!(p.walk().len() <= MAX_DEPTH + 1);
        // Missing boundary, bad base64, lone '=': no panic.
        let _ = parse(b"Content-Type: multipart/mixed\n\nx");
        let _ = parse(b"Content-Transfer-Encoding: base64\n\n!!!!====");
        let _ = parse(b"Content-Transfer-Encoding: quoted-printable\n\n=\n=4");
        assert_eq!(decode_words("=?bogus"), "=?bogus");
    }

    #[test]
    fn message_detection() {
        assert!(looks_like_message("From: a@b\nSubject: x\n\nbody"));
        assert!(looks_like_message("Received: from x\n\tby y\nTo: z\n\n"));
        assert!(!looks_like_message(
            "Delivery has failed to these recipients or groups:\n\nuser@example.net\n"
        ));
        assert!(!looks_like_message(
            "550 5.1.1 <a@b>: Recipient address rejected"
        ));
    }

    #[test]
    fn latin1_and_html() {
        assert_eq!(
            to_text(&[0x63, 0x61, 0x66, 0xe9], Some("iso-8859-1")),
            "caf\u{e9}"
        );
        assert_eq!(to_text(&[0xe9], None), "\u{e9}");
        let t = html_to_text(
            "<html><head><style>p{}</style></head><body><p>550 5.1.1 &lt;a@b&gt;</p>x<br>y</body>",
        );
        assert!(t.contains("550 5.1.1 <a@b>") && t.contains("x\ny"), "{t:?}");
        assert!(!t.contains("p{}"));
    }
}
