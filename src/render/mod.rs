//! Renderers: one file per format, each a pure function of the report.
//! Text that came from DNS or a remote server is escaped once, before any
//! renderer sees it, so no format can let a TXT record drive a terminal.

pub mod json;
pub mod table;

use mailpreflight_checks::Report;

/// Control characters (C0, DEL, C1) and bidirectional overrides made
/// visible as `\xNN` / `\u{NNNN}`; everything else unchanged.
pub fn escape(s: &str) -> String {
    if !s.chars().any(needs_escape) {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if needs_escape(c) {
            if (c as u32) < 0x100 {
                out.push_str(&format!("\\x{:02x}", c as u32));
            } else {
                out.push_str(&format!("\\u{{{:04x}}}", c as u32));
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{200e}' | '\u{200f}')
}

/// Escapes every network-derived string in the report.
pub fn sanitize(report: &mut Report) {
    for check in &mut report.checks {
        for f in &mut check.findings {
            f.message = escape(&f.message);
            f.fix = escape(&f.fix);
            for e in &mut f.evidence {
                *e = escape(e);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_drives_a_terminal() {
        assert_eq!(escape("plain"), "plain");
        assert_eq!(escape("a\x1b[31mred"), "a\\x1b[31mred");
        assert_eq!(escape("x\u{9b}y\u{202e}z\n"), "x\\x9by\\u{202e}z\\x0a");
    }
}
