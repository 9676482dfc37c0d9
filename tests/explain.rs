//! `explain`: every bounce in `tests/bounces/` read by the library (kind,
//! recipients with reply and status codes, servers, top cause), then the
//! built binary: bad input, the table a new user sees, the JSON shape, and
//! `--check` end to end against the loopback DNS server serving
//! `tests/zones/explain/`.

use std::path::{Path, PathBuf};

use mailpreflight_checks::bounce::{self, BounceError, Kind};
use serde_json::Value;

use crate::cli::bin;
use crate::support::{server, zones_dir, Misbehave};

fn corpus(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/bounces")
        .join(name)
}

fn read(name: &str) -> Vec<u8> {
    std::fs::read(corpus(name)).expect("corpus file")
}

struct Case {
    file: &'static str,
    kind: Kind,
    /// (address, reply code, status)
    recipients: &'static [(Option<&'static str>, Option<u16>, Option<&'static str>)],
    top_cause: Option<&'static str>,
    reporting: Option<&'static str>,
    remote: Option<&'static str>,
}

const fn case(
    file: &'static str,
    kind: Kind,
    recipients: &'static [(Option<&'static str>, Option<u16>, Option<&'static str>)],
    top_cause: Option<&'static str>,
    reporting: Option<&'static str>,
    remote: Option<&'static str>,
) -> Case {
    Case {
        file,
        kind,
        recipients,
        top_cause,
        reporting,
        remote,
    }
}

use Kind::{Delay, Permanent};

const CASES: &[Case] = &[
    case(
        "exchange2010-550-5.7.1-recipient-rejected.eml",
        Permanent,
        &[(Some("bob@example.net"), Some(550), Some("5.7.1"))],
        Some("recipient_restricted"),
        Some("exch01.corp.shop.example.com"),
        Some("mx.example.net"),
    ),
    case(
        "exchange2010-pasted-invalid-recipient.txt",
        Permanent,
        &[(Some("carol@example.org"), Some(550), Some("5.7.1"))],
        Some("recipient_unknown"),
        Some("exch02.contoso.example"),
        Some("mail.example.org"),
    ),
    case(
        "exchange-delay-4.4.7.eml",
        Delay,
        &[(Some("bob@example.net"), Some(400), Some("4.4.7"))],
        Some("sending_connectivity"),
        Some("exch01.corp.shop.example.com"),
        Some("mx.example.net"),
    ),
    case(
        "exchange-delay-4.4.7-pasted.txt",
        Delay,
        &[(Some("bob@example.net"), Some(400), Some("4.4.7"))],
        Some("sending_connectivity"),
        Some("exch01.corp.shop.example.com"),
        Some("mx.example.net"),
    ),
    case(
        "o365-5.1.10-recipient-not-found.eml",
        Permanent,
        &[(Some("dave@example.org"), Some(550), Some("5.1.10"))],
        Some("recipient_unknown"),
        Some("am0pr01mb1234.eurprd01.prod.exchangelabs.com"),
        None,
    ),
    case(
        "o365-5.7.606-banned-ip.txt",
        Permanent,
        &[(Some("frank@outlook.example"), Some(550), Some("5.7.606"))],
        Some("receiver_reputation"),
        None,
        None,
    ),
    case(
        "gmail-address-not-found.eml",
        Permanent,
        &[(Some("harry@example.com"), Some(550), Some("5.1.1"))],
        Some("recipient_unknown"),
        Some("googlemail.com"),
        Some("mx.example.com"),
    ),
    case(
        "postfix-gmail-550-5.7.25-ptr.eml",
        Permanent,
        &[(Some("pat@gmail.example"), Some(550), Some("5.7.25"))],
        Some("reverse_dns"),
        Some("mail.shop.example.com"),
        Some("gmail-smtp-in.l.google.com"),
    ),
    case(
        "postfix-gmail-550-5.7.26-dmarc.eml",
        Permanent,
        &[(Some("quinn@gmail.example"), Some(550), Some("5.7.26"))],
        Some("dmarc_failed"),
        Some("mail.example.com"),
        Some("gmail-smtp-in.l.google.com"),
    ),
    case(
        "postfix-gmail-421-4.7.28-rate-limited.eml",
        Delay,
        &[(Some("rosa@gmail.example"), Some(421), Some("4.7.28"))],
        Some("rate_limited"),
        Some("mail.example.com"),
        Some("gmail-smtp-in.l.google.com"),
    ),
    case(
        "yahoo-421-tss04-deferred.txt",
        Delay,
        &[(Some("zoe@yahoo.example"), Some(421), Some("4.7.0"))],
        Some("rate_limited"),
        Some("mail.example.com"),
        Some("mta7.am0.yahoodns.example"),
    ),
    case(
        "yahoo-554-no-account.txt",
        Permanent,
        &[(Some("adam@yahoo.example"), Some(554), None)],
        Some("recipient_unknown"),
        None,
        None,
    ),
    case(
        "postfix-550-5.1.1-user-unknown.eml",
        Permanent,
        &[(Some("judy@example.net"), Some(550), Some("5.1.1"))],
        Some("recipient_unknown"),
        Some("mail.example.com"),
        Some("mx.example.net"),
    ),
    case(
        "postfix-delayed-connection-timeout.eml",
        Delay,
        &[(Some("judy@example.net"), None, Some("4.4.1"))],
        Some("sending_connectivity"),
        Some("mail.example.com"),
        Some("mx.example.net"),
    ),
    case(
        "postfix-name-service-error.eml",
        Delay,
        &[(Some("uma@example.org"), None, Some("4.4.3"))],
        Some("sending_resolver"),
        Some("mail.example.com"),
        None,
    ),
    case(
        "postfix-504-helo-rejected.eml",
        Permanent,
        &[(Some("leo@example.net"), Some(504), Some("5.5.2"))],
        Some("helo_rejected"),
        Some("exch01"),
        Some("mx.example.net"),
    ),
    case(
        "postfix-450-greylisted.eml",
        Delay,
        &[(Some("mia@example.org"), Some(450), Some("4.2.0"))],
        Some("greylisted"),
        Some("mail.example.com"),
        Some("mail.example.org"),
    ),
    case(
        "postfix-554-spamhaus-zen.eml",
        Permanent,
        &[(Some("omar@example.net"), Some(554), Some("5.7.1"))],
        Some("sending_ip_blocklisted"),
        Some("mail.shop.example.com"),
        Some("mx.example.net"),
    ),
    case(
        "postfix-554-relay-denied.eml",
        Permanent,
        &[(Some("sam@example.org"), Some(554), Some("5.7.1"))],
        Some("relay_denied"),
        Some("mail.example.com"),
        Some("relay.isp.example"),
    ),
    case(
        "postfix-552-5.2.2-mailbox-full.eml",
        Permanent,
        &[(Some("tina@example.org"), Some(552), Some("5.2.2"))],
        Some("recipient_mailbox_full"),
        Some("mail.example.com"),
        Some("mail.example.org"),
    ),
    case(
        "postfix-530-tls-required.txt",
        Permanent,
        &[(Some("dana@example.org"), Some(530), Some("5.7.0"))],
        Some("tls_required"),
        None,
        Some("mx.example.org"),
    ),
    case(
        "spf-550-5.7.23.txt",
        Permanent,
        &[(Some("eve@example.org"), Some(550), Some("5.7.23"))],
        Some("spf_failed"),
        None,
        Some("mx.example.org"),
    ),
    case(
        "sendmail-550-5.1.1-user-unknown.eml",
        Permanent,
        &[(Some("wendy@example.net"), Some(550), Some("5.1.1"))],
        Some("recipient_unknown"),
        Some("smtp.example.com"),
        Some("mx.example.net"),
    ),
    case(
        "exim-550-rdns.eml",
        Permanent,
        &[(Some("yuri@example.org"), Some(550), Some("5.7.1"))],
        Some("reverse_dns"),
        Some("mail.shop.example.com"),
        Some("mail.example.org"),
    ),
    case(
        "smarthost-530-5.7.57-auth.txt",
        Permanent,
        &[(Some("chris@example.net"), Some(530), Some("5.7.57"))],
        Some("smarthost_auth"),
        Some("printer01.shop.example.com"),
        Some("smtp.office365.example"),
    ),
    case(
        "pasted-reply-line.txt",
        Permanent,
        &[(None, Some(554), Some("5.7.1"))],
        Some("sending_ip_blocklisted"),
        None,
        None,
    ),
    // No code anywhere: what was found is still reported.
    case(
        "no-code-exchange.txt",
        Permanent,
        &[(Some("fred@example.net"), None, None)],
        Some("recipient_restricted"),
        None,
        None,
    ),
];

#[test]
fn every_bounce_in_the_corpus_is_read() {
    let mut failures = Vec::new();
    for c in CASES {
        let b = match bounce::parse(&read(c.file)) {
            Ok(b) => b,
            Err(e) => {
                failures.push(format!("{}: {e}", c.file));
                continue;
            }
        };
        let got: Vec<_> = b
            .recipients
            .iter()
            .map(|r| (r.address.as_deref(), r.reply_code, r.status.as_deref()))
            .collect();
        let want: Vec<_> = c.recipients.to_vec();
        if got != want {
            failures.push(format!("{}: recipients {got:?}, want {want:?}", c.file));
        }
        if b.kind != c.kind {
            failures.push(format!("{}: kind {:?}, want {:?}", c.file, b.kind, c.kind));
        }
        let top = b.causes.first().map(|c| c.id);
        if top != c.top_cause {
            failures.push(format!(
                "{}: top cause {top:?}, want {:?}",
                c.file, c.top_cause
            ));
        }
        if b.reporting_server.as_deref() != c.reporting {
            failures.push(format!(
                "{}: reporting {:?}, want {:?}",
                c.file, b.reporting_server, c.reporting
            ));
        }
        if b.remote_server.as_deref() != c.remote {
            failures.push(format!(
                "{}: remote {:?}, want {:?}",
                c.file, b.remote_server, c.remote
            ));
        }
        for r in &b.recipients {
            if r.status.is_some() && r.status_meaning.is_none() {
                failures.push(format!("{}: status without meaning", c.file));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Every file of the corpus is in the table or a garbage case.
    let listed: Vec<&str> = CASES.iter().map(|c| c.file).collect();
    for e in std::fs::read_dir(corpus("")).expect("corpus dir") {
        let name = e.expect("entry").file_name().to_string_lossy().to_string();
        let garbage =
            name.starts_with("garbage-") || name == "success-dsn.eml" || name == "README.md";
        assert!(
            garbage || listed.contains(&name.as_str()),
            "{name} has no expectations"
        );
    }
}

#[test]
fn details_the_causes_rest_on() {
    let b = bounce::parse(&read("postfix-554-spamhaus-zen.eml")).unwrap();
    assert_eq!(
        b.sending_ip,
        Some("192.0.2.27".parse().unwrap()),
        "the IP the remote named, not its own"
    );
    assert!(
        b.causes[0].why.contains("zen.spamhaus.org"),
        "{}",
        b.causes[0].why
    );
    assert_eq!(b.causes[0].check, Some("dnsbl"));
    assert_eq!(b.sender.as_deref(), Some("nina@shop.example.com"));
    assert_eq!(
        b.blocklists,
        vec!["zen.spamhaus.org"],
        "not www.spamhaus.org from the URL"
    );

    let b = bounce::parse(&read("postfix-504-helo-rejected.eml")).unwrap();
    assert_eq!(b.helo.as_deref(), Some("exch01"));

    // The delay: its LastError (Winsock 10060) makes the sending side's
    // connectivity the first suspect; the resolver is next; no IP is guessed
    // from the remote's own address or the endpoint it was reached at.
    let b = bounce::parse(&read("exchange-delay-4.4.7.eml")).unwrap();
    assert_eq!(
        b.recipients[0].diagnostic.as_deref(),
        Some("Message delayed")
    );
    let ids: Vec<_> = b.causes.iter().map(|c| (c.id, c.check)).collect();
    assert_eq!(ids[0], ("sending_connectivity", Some("path")));
    assert!(ids.contains(&("sending_resolver", Some("path"))), "{ids:?}");
    assert_eq!(b.sending_ip, None);

    // Gmail's multi-line reply is one diagnostic without its code prefixes.
    let b = bounce::parse(&read("gmail-address-not-found.eml")).unwrap();
    let d = b.recipients[0].diagnostic.as_deref().unwrap();
    assert!(
        d.starts_with(
            "The email account that you tried to reach does not exist. Please try double-checking"
        ),
        "{d}"
    );
    assert!(!d.contains("550-5.1.1"), "{d}");

    // The bounced message's own words never count: its subject and body are
    // full of cause words, and still only the reply decides.
    let b = bounce::parse(&read("exim-550-rdns.eml")).unwrap();
    for c in &b.causes {
        assert!(
            !matches!(
                c.id,
                "greylisted" | "recipient_mailbox_full" | "helo_rejected"
            ),
            "{}",
            c.id
        );
    }
    let b = bounce::parse(&read("o365-5.1.10-recipient-not-found.eml")).unwrap();
    assert!(
        b.causes
            .iter()
            .all(|c| !matches!(c.id, "dmarc_failed" | "greylisted")),
        "{:?}",
        b.causes
    );
    assert_eq!(b.sender.as_deref(), Some("erin@fabrikam.example"));
}

#[test]
fn garbage_is_refused() {
    assert_eq!(
        bounce::parse(&read("garbage-prose.txt")).unwrap_err(),
        BounceError::NotABounce
    );
    assert_eq!(
        bounce::parse(&read("garbage-newsletter.eml")).unwrap_err(),
        BounceError::NotABounce
    );
    assert_eq!(
        bounce::parse(&read("success-dsn.eml")).unwrap_err(),
        BounceError::Success
    );
}

// ---- the binary ----------------------------------------------------------

fn explain(args: &[&str]) -> (i32, String, String) {
    let out = bin().arg("explain").args(args).output().expect("run");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path_str(name: &str) -> String {
    corpus(name).to_string_lossy().into_owned()
}

#[test]
fn bad_input_is_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.eml");
    std::fs::write(&empty, "").unwrap();
    let binary = dir.path().join("image.png");
    std::fs::write(&binary, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00").unwrap();
    // 50 MB: read only up to the cap, then refused.
    let big = dir.path().join("big.txt");
    {
        use std::io::Write;
        let mut f = std::fs::File::create(&big).unwrap();
        let line = [b'x'; 1023];
        for _ in 0..50 * 1024 {
            f.write_all(&line).unwrap();
            f.write_all(b"\n").unwrap();
        }
    }
    let cases: Vec<(String, &str)> = vec![
        (empty.to_string_lossy().into(), "empty"),
        (binary.to_string_lossy().into(), "binary"),
        (big.to_string_lossy().into(), "larger than"),
        (path_str("garbage-prose.txt"), "does not look like a bounce"),
        (
            path_str("garbage-newsletter.eml"),
            "does not look like a bounce",
        ),
        (path_str("success-dsn.eml"), "successful delivery"),
        (
            dir.path().join("missing.eml").to_string_lossy().into(),
            "cannot open",
        ),
    ];
    for (file, want) in cases {
        let (code, stdout, stderr) = explain(&[&file]);
        assert_eq!(code, 2, "{file}: {stderr}");
        assert!(stdout.is_empty(), "{file}: {stdout}");
        assert_eq!(stderr.lines().count(), 1, "{file}: {stderr}");
        assert!(
            stderr.starts_with("mailpreflight: ") && stderr.contains(want),
            "{file}: {stderr}"
        );
    }
    // Flags for --check without --check, and a bad --ip: usage errors.
    let (code, _, stderr) = explain(&[&path_str("pasted-reply-line.txt"), "--ip", "192.0.2.25"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("add --check"), "{stderr}");
    let (code, _, stderr) = explain(&[
        &path_str("pasted-reply-line.txt"),
        "--check",
        "--ip",
        "300.1.1.1",
    ]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--ip"), "{stderr}");
}

#[test]
fn reads_standard_input() {
    let out = bin()
        .args(["explain", "-", "--format", "json"])
        .write_stdin(read("postfix-550-5.1.1-user-unknown.eml"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["recipients"][0]["address"], "judy@example.net");
}

#[test]
fn the_exchange_ndr_as_a_new_user_sees_it() {
    let (code, out, err) = explain(&[&path_str("exchange2010-550-5.7.1-recipient-rejected.eml")]);
    assert_eq!(code, 0, "{err}");
    let expect = [
        "Bounce: permanent failure (5.x.x): not delivered, and resending it as it is will not help",
        "  reported by    exch01.corp.shop.example.com",
        "  remote server  mx.example.net",
        "RECIPIENT        REPLY  STATUS  MEANING",
        "bob@example.net  550    5.7.1   Delivery not authorized, message refused",
        "                 said: \"Recipient address rejected: Access denied\"",
        " 1. high    recipient_restricted    [no check can tell]",
        " 2. medium  recipient_unknown       [no check can tell]",
        " 3. low     sending_ip_blocklisted  [check: dnsbl]",
        "To confirm or rule out causes with checks (dnsbl, rdns, spf), run again with --check --ip SENDING_IP.",
    ];
    for line in expect {
        assert!(
            out.lines().any(|l| l == line),
            "missing {line:?} in:\n{out}"
        );
    }
    assert!(!out.contains('\x1b'), "NO_COLOR: no escapes");
}

#[test]
fn the_delay_notice_as_a_new_user_sees_it() {
    let (code, out, err) = explain(&[&path_str("exchange-delay-4.4.7.eml")]);
    assert_eq!(code, 0, "{err}");
    let expect = [
        "Bounce: delay notice: not delivered yet; the sending server keeps trying",
        "bob@example.net  400    4.4.7   Message expired or delayed: not yet delivered within the queue's notification time (Microsoft usage)",
        "                 said: \"Message delayed\"",
        " 1. high    sending_connectivity          [check: path]",
        " 2. medium  sending_resolver              [check: path]",
        "On the sending server, `mailpreflight path example.net` tests its resolvers and its route to the recipient.",
    ];
    for line in expect {
        assert!(
            out.lines().any(|l| l == line),
            "missing {line:?} in:\n{out}"
        );
    }
}

#[test]
fn json_has_the_documented_shape() {
    let (code, out, _) = explain(&[
        &path_str("exchange2010-550-5.7.1-recipient-rejected.eml"),
        "--format",
        "json",
    ]);
    assert_eq!(code, 0);
    let v: Value = serde_json::from_str(&out).unwrap();
    // DESIGN.md's keys, in its order, before the extensions.
    let at = |k: &str| {
        out.find(&format!("\n  \"{k}\":"))
            .unwrap_or_else(|| panic!("no {k}"))
    };
    let order = [
        "kind",
        "reporting_server",
        "remote_server",
        "recipients",
        "causes",
        "sender",
        "sending_ip",
        "helo",
    ];
    assert!(order.windows(2).all(|w| at(w[0]) < at(w[1])), "{out}");
    assert_eq!(v["kind"], "permanent");
    let r = &v["recipients"][0];
    assert_eq!(r["address"], "bob@example.net");
    assert_eq!(r["reply_code"], 550);
    assert_eq!(r["status"], "5.7.1");
    assert_eq!(
        r["status_meaning"],
        "Delivery not authorized, message refused"
    );
    assert_eq!(r["diagnostic"], "Recipient address rejected: Access denied");
    let c = &v["causes"][0];
    assert_eq!(c["id"], "recipient_restricted");
    assert_eq!(c["likelihood"], "high");
    assert_eq!(c["check"], Value::Null);
    assert!(c["why"].as_str().unwrap().len() > 20 && c["fix"].as_str().unwrap().len() > 20);
    assert!(c.get("verdict").is_none(), "no verdict without --check");
    assert_eq!(v["causes"][2]["check"], "dnsbl");
    // jsonl: the same on one line.
    let (_, line, _) = explain(&[
        &path_str("exchange2010-550-5.7.1-recipient-rejected.eml"),
        "--format",
        "jsonl",
    ]);
    assert_eq!(line.lines().count(), 1);
    assert_eq!(serde_json::from_str::<Value>(&line).unwrap(), v);
}

#[test]
fn control_characters_from_the_bounce_are_escaped() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("evil.txt");
    std::fs::write(
        &f,
        "550 5.1.1 <a@example.net>: User unknown \x1b[2J\x1b]0;pwned\x07\n",
    )
    .unwrap();
    let (code, out, _) = explain(&[&f.to_string_lossy()]);
    assert_eq!(code, 0);
    assert!(!out.contains('\x1b') && !out.contains('\x07'), "{out:?}");
    assert!(out.contains("\\x1b[2J"), "{out}");
}

// ---- --check against the loopback DNS server -----------------------------

fn check_json(file: &str, srv_args: &[String], extra: &[&str]) -> (i32, Value) {
    let mut args: Vec<String> = vec![
        path_str(file),
        "--check".into(),
        "--format".into(),
        "json".into(),
    ];
    args.extend(srv_args.iter().cloned());
    args.extend(extra.iter().map(|s| s.to_string()));
    let out = bin().arg("explain").args(&args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let v: Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("{e}: {text} {}", String::from_utf8_lossy(&out.stderr)));
    (out.status.code().unwrap_or(-1), v)
}

fn cause<'a>(v: &'a Value, id: &str) -> &'a Value {
    v["causes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no {id} in {v}"))
}

fn live(srv: &crate::support::TestDns) -> Vec<String> {
    vec![
        "--resolver".into(),
        srv.addr.to_string(),
        "--timeout".into(),
        "1".into(),
    ]
}

#[test]
fn check_confirms_or_rules_out_reverse_dns() {
    let srv = server("explain");
    // The remote named 192.0.2.26, which has no PTR: confirmed, exit 1.
    let (code, v) = check_json("exim-550-rdns.eml", &live(&srv), &[]);
    let c = cause(&v, "reverse_dns");
    assert_eq!(c["verdict"], "confirmed", "{c}");
    assert!(
        c["verdict_reason"]
            .as_str()
            .unwrap()
            .starts_with("rdns.no_ptr: 192.0.2.26"),
        "{c}"
    );
    assert_eq!(code, 1);
    assert_eq!(v["target"]["domain"], "shop.example.com");
    assert_eq!(v["target"]["ips"][0], "192.0.2.26");
    assert_eq!(v["checks"][0]["id"], "rdns");
    // Causes no check can judge get no verdict.
    assert!(cause(&v, "recipient_restricted").get("verdict").is_none());

    // With the real sending IP given, which has forward-confirmed rDNS and
    // is in SPF. No list was named, so the default lists are asked, which
    // this test server refuses: the blocklist cause stays undetermined and
    // the exit is 3 (nothing confirmed, something could not be checked).
    let (code, v) = check_json("exim-550-rdns.eml", &live(&srv), &["--ip", "192.0.2.25"]);
    assert_eq!(cause(&v, "reverse_dns")["verdict"], "ruled_out");
    assert_eq!(cause(&v, "spf_failed")["verdict"], "ruled_out");
    assert_eq!(
        cause(&v, "sending_ip_blocklisted")["verdict"],
        "undetermined"
    );
    assert_eq!(code, 3);

    // The same offline, from the zone files alone.
    let offline = vec![
        "--zone".into(),
        zones_dir("explain").to_string_lossy().into_owned(),
        "--offline".into(),
    ];
    let (code, v) = check_json("exim-550-rdns.eml", &offline, &[]);
    assert_eq!(cause(&v, "reverse_dns")["verdict"], "confirmed");
    assert_eq!(code, 1);
}

#[test]
fn check_that_cannot_ask_is_undetermined() {
    let srv = server("explain");
    srv.misbehave("25.2.0.192.in-addr.arpa", Misbehave::ServFail);
    let (code, v) = check_json(
        "postfix-554-spamhaus-zen.eml",
        &live(&srv),
        &["--ip", "192.0.2.25"],
    );
    let c = cause(&v, "reverse_dns");
    assert_eq!(c["verdict"], "undetermined", "{c}");
    assert!(
        c["verdict_reason"]
            .as_str()
            .unwrap()
            .starts_with("could not check"),
        "{c}"
    );
    assert_eq!(cause(&v, "sending_ip_blocklisted")["verdict"], "ruled_out");
    assert_eq!(code, 3, "nothing confirmed, a check could not complete");
}

#[test]
fn check_confirms_a_helo_the_bounce_names() {
    let srv = server("explain");
    let (code, v) = check_json("postfix-504-helo-rejected.eml", &live(&srv), &[]);
    let c = cause(&v, "helo_rejected");
    assert_eq!(c["verdict"], "confirmed", "{c}");
    assert!(
        c["verdict_reason"]
            .as_str()
            .unwrap()
            .starts_with("helo.not_fqdn"),
        "{c}"
    );
    assert_eq!(v["target"]["helo"], "exch01");
    assert_eq!(code, 1);
    // The right name, given: ruled out.
    let (code, v) = check_json(
        "postfix-504-helo-rejected.eml",
        &live(&srv),
        &["--helo", "mail.shop.example.com", "--ip", "192.0.2.25"],
    );
    assert_eq!(cause(&v, "helo_rejected")["verdict"], "ruled_out", "{v}");
    assert_eq!(code, 0);
}

#[test]
fn check_asks_the_blocklist_the_bounce_names() {
    // The reply names zen.spamhaus.org and the IP it listed; the check asks
    // that list (the test zone lists 192.0.2.27) and confirms it.
    let srv = server("explain");
    let (code, v) = check_json("postfix-554-spamhaus-zen.eml", &live(&srv), &[]);
    let c = cause(&v, "sending_ip_blocklisted");
    assert_eq!(v["target"]["ips"][0], "192.0.2.27", "the IP from the reply");
    assert_eq!(c["verdict"], "confirmed", "{c}");
    assert!(
        c["verdict_reason"]
            .as_str()
            .unwrap()
            .starts_with("dnsbl.listed: 192.0.2.27 is listed on zen.spamhaus.org"),
        "{c}"
    );
    // The low-likelihood causes are checked as well, and ruled out.
    assert_eq!(cause(&v, "reverse_dns")["verdict"], "ruled_out");
    assert_eq!(cause(&v, "spf_failed")["verdict"], "ruled_out");
    assert_eq!(code, 1);
    assert!(srv.count("27.2.0.192.zen.spamhaus.org", "A") >= 1);

    // Another IP, not listed there: ruled out, all clear.
    let (code, v) = check_json(
        "postfix-554-spamhaus-zen.eml",
        &live(&srv),
        &["--ip", "192.0.2.25"],
    );
    assert_eq!(
        cause(&v, "sending_ip_blocklisted")["verdict"],
        "ruled_out",
        "{v}"
    );
    assert_eq!(code, 0);
}

#[test]
fn check_of_a_delay_offline_points_at_the_sending_host() {
    let zones = crate::support::zones_dir("explain").display().to_string();
    let (code, v) = check_json(
        "exchange-delay-4.4.7.eml",
        &["--zone".into(), zones, "--offline".into()],
        &[],
    );
    let c = cause(&v, "sending_connectivity");
    assert_eq!(c["verdict"], "undetermined");
    assert!(
        c["verdict_reason"]
            .as_str()
            .unwrap()
            .contains("mailpreflight path example.net"),
        "{c}"
    );
    assert_eq!(
        v["checks"].as_array().unwrap().len(),
        0,
        "no engine check applies"
    );
    assert_eq!(code, 0);
}

/// `explain --check` of a delay runs `path` from this host: the recipient's
/// MX (192.0.2.80, routed to a loopback server) on port 25, and the resolvers.
fn delay_with_route(srv_args: &[String], route_to: std::net::SocketAddr) -> (i32, Value) {
    let route = format!("192.0.2.0/24={route_to}");
    check_json(
        "exchange-delay-4.4.7.eml",
        srv_args,
        &["--smtp-route", &route, "--smtp-port", "25"],
    )
}

#[test]
fn check_of_a_delay_confirms_a_blocked_port_25() {
    use mailpreflight_checks::testing_smtp::BlackHole;
    let srv = server("explain");
    let hole = BlackHole::start();
    let (code, v) = delay_with_route(&live(&srv), hole.addr);
    assert_eq!(
        cause(&v, "sending_connectivity")["verdict"],
        "confirmed",
        "{v}"
    );
    assert!(cause(&v, "sending_connectivity")["verdict_reason"]
        .as_str()
        .unwrap()
        .contains("path.port25_blocked"));
    assert_eq!(cause(&v, "sending_resolver")["verdict"], "ruled_out", "{v}");
    assert_eq!(code, 1);
}

#[test]
fn check_of_a_delay_rules_out_connectivity_when_the_mx_answers() {
    use mailpreflight_checks::testing_smtp::{Script, TestSmtp};
    let srv = server("explain");
    let mx = TestSmtp::start(Script::greeting("mx.example.net"));
    let (_, v) = delay_with_route(&live(&srv), mx.addr);
    assert_eq!(
        cause(&v, "sending_connectivity")["verdict"],
        "ruled_out",
        "{v}"
    );
}

#[test]
fn check_of_a_delay_confirms_a_dead_resolver() {
    use mailpreflight_checks::testing_smtp::BlackHole;
    let dead = server("explain");
    dead.misbehave_under("", crate::support::Misbehave::Drop);
    let good = server("explain");
    let hole = BlackHole::start();
    let mut args = live(&dead);
    args.extend(["--resolver".to_string(), good.addr.to_string()]);
    args[3] = "0.3".into();
    let (code, v) = delay_with_route(&args, hole.addr);
    let c = cause(&v, "sending_resolver");
    assert_eq!(c["verdict"], "confirmed", "{v}");
    assert!(
        c["verdict_reason"]
            .as_str()
            .unwrap()
            .contains("path.resolver_timeout"),
        "{c}"
    );
    assert_eq!(code, 1);
}

#[test]
fn check_without_a_sender_needs_domain() {
    let (code, _, err) = explain(&[&path_str("pasted-reply-line.txt"), "--check", "--offline"]);
    assert_eq!(code, 2);
    assert!(err.contains("--domain"), "{err}");
    let srv = server("explain");
    let mut args = vec![
        path_str("pasted-reply-line.txt"),
        "--check".into(),
        "--domain".into(),
        "shop.example.com".into(),
    ];
    args.extend(live(&srv));
    let out = bin().arg("explain").args(&args).output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Checked shop.example.com:"), "{text}");
    assert!(text.contains("from the bounce: ip 192.0.2.25"), "{text}");
    assert!(text.contains("verdict: ruled out — rdns.ok"), "{text}");
}

#[test]
fn damaged_and_hostile_input_never_panics() {
    // Every corpus file cut short at many points, and with bytes flipped.
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for e in std::fs::read_dir(corpus("")).unwrap() {
        let bytes = std::fs::read(e.unwrap().path()).unwrap();
        for i in 0..40 {
            let cut = bytes.len() * i / 40;
            let _ = bounce::parse(&bytes[..cut]);
            let mut m = bytes.clone();
            for _ in 0..8 {
                let at = (next() as usize) % m.len().max(1);
                if let Some(b) = m.get_mut(at) {
                    *b = next() as u8;
                }
            }
            let _ = bounce::parse(&m);
        }
    }
    // Hostile sizes: thousands of recipients and replies, one enormous line,
    // deep MIME nesting. Bounded, and still read.
    let mut many = String::from("Delivery has failed to these recipients or groups:\n\n");
    for i in 0..5_000 {
        many.push_str(&format!(
            "user{i}@example.net\n#550 5.1.1 <user{i}@example.net>: User unknown ##\n\n"
        ));
    }
    let b = bounce::parse(many.as_bytes()).unwrap();
    assert!(
        b.recipients.len() <= 500 && b.recipients.len() >= 100,
        "{}",
        b.recipients.len()
    );
    assert_eq!(b.causes[0].id, "recipient_unknown");
    let long = format!(
        "550 5.7.1 {}\n",
        "blocked using zen.spamhaus.org ".repeat(30_000)
    );
    assert_eq!(
        bounce::parse(long.as_bytes()).unwrap().causes[0].id,
        "sending_ip_blocklisted"
    );
    let mut nested = String::from("Subject: x\n");
    for i in 0..5_000 {
        nested.push_str(&format!(
            "Content-Type: multipart/mixed; boundary=b{i}\n\n--b{i}\n"
        ));
    }
    let _ = bounce::parse(nested.as_bytes());
}
