//! The one registry of finding codes.
//!
//! A code is `check.snake_case`, never changes meaning, and is retired rather
//! than reused. Each carries its default status, a title, the fix a human can
//! act on, and the rule it comes from. Severity lives here, not in the checks:
//! where one condition can be a warn or a fail, those are two codes.

use crate::Status;

macro_rules! codes {
    ($( $variant:ident = $id:literal, $status:ident, $title:literal, $fix:literal, $refs:literal; )*) => {
        /// A stable finding code.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Code { $($variant),* }

        impl Code {
            /// Every code, in registry order.
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            /// `check.snake_case`.
            pub fn id(self) -> &'static str {
                match self { $(Code::$variant => $id),* }
            }

            /// The status a finding with this code has unless a check or
            /// a severity override says otherwise.
            pub fn status(self) -> Status {
                match self { $(Code::$variant => Status::$status),* }
            }

            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title),* }
            }

            /// The generic fix; checks may give one that names the records.
            pub fn fix(self) -> &'static str {
                match self { $(Code::$variant => $fix),* }
            }

            /// The RFC or receiver rule behind the code.
            pub fn references(self) -> &'static str {
                match self { $(Code::$variant => $refs),* }
            }
        }
    };
}

impl Code {
    /// The check id a code belongs to (the part before the dot).
    pub fn check(self) -> &'static str {
        self.id().split('.').next().unwrap_or("")
    }

    pub fn from_id(id: &str) -> Option<Code> {
        Code::ALL.iter().copied().find(|c| c.id() == id)
    }
}

codes! {
    // --- engine -------------------------------------------------------------
    EngineCheckPanicked = "engine.check_panicked", Error,
        "A check crashed",
        "This is a bug in mailpreflight: please report it with the command line that triggered it.",
        "";
    EngineCheckTimeout = "engine.check_timeout", Error,
        "A check did not finish in time",
        "Raise --timeout, or check that the resolver answers; the result of this check is unknown.",
        "";

    // --- mx -----------------------------------------------------------------
    MxOk = "mx.ok", Pass,
        "The domain has usable MX hosts",
        "Nothing to do.",
        "RFC 5321 §5.1";
    MxDomainNotFound = "mx.domain_not_found", Fail,
        "The sending domain does not exist",
        "Register the domain or publish its zone; receivers reject mail from a domain that does not exist (4.1.8 / 5.1.8).",
        "RFC 5321 §5.1; RFC 3463 X.1.8";
    MxNoMailHost = "mx.no_mail_host", Fail,
        "No MX and no address: the domain cannot receive replies or bounces",
        "Publish an MX record pointing at a host that accepts mail for the domain, e.g. `DOMAIN. MX 10 mail.DOMAIN.`",
        "RFC 5321 §5.1";
    MxImplicit = "mx.implicit", Warn,
        "No MX record; mail falls back to the domain's own address (implicit MX)",
        "Publish an explicit MX record; many receivers score senders without one.",
        "RFC 5321 §5.1";
    MxNull = "mx.null_mx", Fail,
        "Null MX: the domain declares that it accepts no mail",
        "A domain that sends mail must accept replies and bounces: replace `MX 0 .` with a real MX, or send from another domain. Receivers may reject with 550 5.7.27.",
        "RFC 7505 §4.2";
    MxNullMixed = "mx.null_mx_mixed", Fail,
        "A null MX stands beside other MX records",
        "A null MX must be the only MX record: remove `MX 0 .` or the other MX records.",
        "RFC 7505 §3";
    MxTargetCname = "mx.target_cname", Warn,
        "An MX target is an alias (CNAME)",
        "Point the MX at the canonical host name (the CNAME's target), not at an alias.",
        "RFC 2181 §10.3; RFC 5321 §5.1";
    MxTargetAddress = "mx.target_address", Warn,
        "An MX target is an IP address, not a host name",
        "An MX must name a host: publish `mail.DOMAIN. A ADDRESS` and point the MX at `mail.DOMAIN.`",
        "RFC 5321 §5.1; RFC 7505";
    MxTargetNoAddress = "mx.target_no_address", Warn,
        "An MX target has no A or AAAA record",
        "Publish an A (and AAAA) record for the MX host, or remove the stale MX.",
        "RFC 5321 §5.1";
    MxTargetPrivate = "mx.target_private", Warn,
        "An MX target resolves to private, loopback or reserved address space",
        "Publish the MX host's public address; a private one is unreachable from the internet.",
        "RFC 1918; RFC 6890";
    MxNoUsableTarget = "mx.no_usable_target", Fail,
        "None of the MX hosts is usable",
        "Fix at least one MX host so that it is a host name with a public A or AAAA record.",
        "RFC 5321 §5.1";
    MxLookupFailed = "mx.lookup_failed", Error,
        "The MX records could not be looked up",
        "Check that the domain's name servers answer (SERVFAIL and timeouts are not 'no record'), then run again.",
        "RFC 2308";

    // --- rdns ---------------------------------------------------------------
    RdnsOk = "rdns.ok", Pass,
        "The sending IP has forward-confirmed reverse DNS",
        "Nothing to do.",
        "RFC 8601 §3 (iprev); M3AAWG";
    RdnsNoIp = "rdns.no_ip", Skip,
        "No sending IP given",
        "Pass the sending host's public address with --ip.",
        "";
    RdnsNoPtr = "rdns.no_ptr", Fail,
        "The sending IP has no PTR record",
        "Ask whoever owns the IP (your ISP, hosting or cloud provider) to set its PTR to your mail host's name, e.g. mail.DOMAIN, whose A/AAAA record is that IP.",
        "RFC 1912 §2.1; Gmail, Yahoo and Microsoft sender rules";
    RdnsNotForwardConfirmed = "rdns.not_forward_confirmed", Fail,
        "The PTR name does not resolve back to the sending IP",
        "Make the PTR name's A (IPv4) or AAAA (IPv6) record point at the sending IP, or change the PTR to a name that does.",
        "RFC 8601 §3 (iprev); Gmail sender guidelines";
    RdnsMultiplePtr = "rdns.multiple_ptr", Warn,
        "The sending IP has several PTR records",
        "Keep one PTR per address: receivers may check only the first, in any order.",
        "RFC 1912 §2.1";
    RdnsGenericPtr = "rdns.generic_ptr", Warn,
        "The PTR name looks generic or dynamic",
        "Set a PTR that names your mail host (e.g. mail.DOMAIN): names with the IP's octets or dsl/dyn/pool/dhcp words are treated as end-user access space.",
        "M3AAWG rDNS best practice; Spamhaus PBL";
    RdnsPrivateIp = "rdns.private_ip", Warn,
        "The sending IP is private or reserved; receivers will see another address",
        "Check with the sending host's public address (the one receivers see after NAT): --ip PUBLIC_IP.",
        "RFC 1918; RFC 6890";
    RdnsLookupFailed = "rdns.lookup_failed", Error,
        "The reverse DNS could not be looked up",
        "Check that the reverse zone's name servers answer, then run again; a SERVFAIL or timeout is not 'no PTR'.",
        "RFC 2308";

    // --- helo ---------------------------------------------------------------
    HeloOk = "helo.ok", Pass,
        "The HELO name is a public FQDN that resolves to the sending IP",
        "Nothing to do.",
        "RFC 5321 §4.1.1.1";
    HeloNotGiven = "helo.not_given", Skip,
        "No HELO name given",
        "Pass the name the server sends in EHLO with --helo (on Postfix: smtp_helo_name / myhostname; on Exchange: the send connector's FQDN).",
        "";
    HeloNotFqdn = "helo.not_fqdn", Fail,
        "The HELO name is not a fully-qualified domain name",
        "Set the EHLO name to the host's public FQDN, e.g. mail.DOMAIN (on Exchange: the send connector's FQDN; on Postfix: smtp_helo_name).",
        "RFC 5321 §4.1.1.1, §2.3.5";
    HeloNonPublic = "helo.non_public", Fail,
        "The HELO name is under a private or non-public suffix",
        "Use a name under a public domain you own, e.g. mail.DOMAIN, not .local/.lan/.internal/.corp names.",
        "RFC 5321 §2.3.5; RFC 6762; RFC 8375";
    HeloInvalid = "helo.invalid", Fail,
        "The HELO name is not a valid domain name",
        "Use letters, digits and hyphens only, labels of at most 63 characters, IDNs in A-label (xn--) form.",
        "RFC 5321 §4.1.2; RFC 1123 §2.1; RFC 5890";
    HeloAddressLiteral = "helo.address_literal", Warn,
        "The HELO is an address literal, not a name",
        "Send a host name in EHLO; many receivers reject or score address literals.",
        "RFC 5321 §4.1.3";
    HeloBareIp = "helo.bare_ip", Fail,
        "The HELO is a bare IP address",
        "Send a host name in EHLO (an address must at least be bracketed, e.g. [192.0.2.1]).",
        "RFC 5321 §4.1.1.1, §4.1.3";
    HeloDoesNotResolve = "helo.does_not_resolve", Fail,
        "The HELO name does not resolve",
        "Publish an A/AAAA record for the HELO name pointing at the sending IP.",
        "RFC 5321 §4.1.1.1; Spamhaus, Microsoft receiver rules";
    HeloNotSendingIp = "helo.not_sending_ip", Warn,
        "The HELO name resolves, but not to the sending IP",
        "Point the HELO name's A/AAAA record at the sending IP, or send the name that already does.",
        "RFC 5321 §4.1.4";
    HeloPtrMismatch = "helo.ptr_mismatch", Warn,
        "The HELO name differs from the sending IP's PTR name",
        "Make the HELO name and the PTR name the same FQDN; many receivers score a mismatch.",
        "M3AAWG; SpamAssassin HELO rules";
    HeloLookupFailed = "helo.lookup_failed", Error,
        "The HELO name could not be looked up",
        "Check that the HELO name's name servers answer, then run again.",
        "RFC 2308";

    // --- spf --------------------------------------------------------------------
    // (codes of the spf check go here)

    // --- dkim -------------------------------------------------------------------
    // (codes of the dkim check go here)

    // --- dmarc ------------------------------------------------------------------
    // (codes of the dmarc check go here)

    // --- dnsbl ------------------------------------------------------------------
    // (codes of the dnsbl check go here)

    // --- smtp -------------------------------------------------------------------
    // (codes of the smtp check go here)

    // --- lint -------------------------------------------------------------------
    // (codes of the lint check go here)

    // --- path -------------------------------------------------------------------
    // (codes of the path check go here)
    PathResolverOk = "path.resolver_ok", Pass,
        "This host's resolver answers correctly",
        "Nothing to do.",
        "RFC 1034 §5; RFC 5321 §5.1";
    PathNoResolver = "path.no_resolver", Fail,
        "No resolver is configured on this host",
        "Add a working recursive resolver to the host's configuration (/etc/resolv.conf `nameserver` lines; on Windows/Exchange the network adapter's DNS servers).",
        "RFC 1034 §5";
    PathResolverTimeout = "path.resolver_timeout", Fail,
        "A configured resolver does not answer",
        "Replace the dead resolver in the host's configuration (a retired DNS server is the classic cause of '400 4.4.7 Message delayed'), or remove it.",
        "RFC 1034 §5; RFC 3463 4.4.7";
    PathResolverRefused = "path.resolver_refused", Fail,
        "A configured resolver refuses to answer this host",
        "Use a resolver that serves this host (REFUSED means it does not recurse for you), or allow this host on it.",
        "RFC 1035 §4.1.1";
    PathResolverServfail = "path.resolver_servfail", Fail,
        "A configured resolver answers SERVFAIL",
        "Check the resolver (forwarders, DNSSEC validation, upstream reachability); if every resolver SERVFAILs, the recipient domain's DNS is broken instead.",
        "RFC 1035 §4.1.1; RFC 2308";
    PathResolverRewrites = "path.resolver_rewrites_nxdomain", Fail,
        "A configured resolver rewrites NXDOMAIN into an address",
        "Use a resolver that does not rewrite NXDOMAIN (ISP 'search assist' resolvers do): mail to a mistyped or dead domain will be sent to the rewritten address instead of bouncing.",
        "RFC 2308; RFC 8499";
    PathResolversDisagree = "path.resolvers_disagree", Warn,
        "The configured resolvers give different answers",
        "Find the resolver with stale or filtered data (a split-horizon or a forwarder with an old cache) and fix or remove it.",
        "RFC 1034 §5";
    PathNoWorkingResolver = "path.no_working_resolver", Fail,
        "No configured resolver works: this host cannot resolve recipients",
        "Point the host at a working resolver; until then every outbound message waits in the queue (4.4.3 / 4.4.7) and finally bounces.",
        "RFC 3463 4.4.3, 4.4.7";
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn ids_are_unique_and_well_formed() {
        let mut seen = HashSet::new();
        for c in Code::ALL {
            let id = c.id();
            assert!(seen.insert(id), "duplicate code {id}");
            let (check, rest) = id.split_once('.').expect("check.name");
            assert!(!check.is_empty() && !rest.is_empty(), "{id}");
            assert!(
                id.chars().all(|ch| ch.is_ascii_lowercase()
                    || ch.is_ascii_digit()
                    || ch == '_'
                    || ch == '.'
                    || ch == '-'),
                "{id} is not check.snake_case"
            );
            assert!(!rest.contains('.'), "{id} has more than one dot");
        }
    }

    #[test]
    fn every_code_has_title_and_fix_and_known_check() {
        let mut checks: Vec<&str> = crate::check_ids();
        // `path` is a command of its own, not a check `check` runs.
        checks.extend(["engine", "path"]);
        for c in Code::ALL {
            assert!(!c.title().is_empty(), "{} has no title", c.id());
            assert!(c.fix().len() > 10, "{} has no fix", c.id());
            assert!(
                checks.contains(&c.check()),
                "{} belongs to no check",
                c.id()
            );
            assert_eq!(Code::from_id(c.id()), Some(*c));
        }
    }
}
