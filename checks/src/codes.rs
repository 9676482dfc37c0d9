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
    HeloSpfFail = "helo.spf_fail", Fail,
        "The HELO name's own SPF record fails the sending IP",
        "Authorise the sending IP in the HELO name's SPF record (e.g. `mail.DOMAIN. TXT \"v=spf1 a -all\"` when its A record is the sending IP), or send a HELO name whose SPF does.",
        "RFC 7208 §2.3";
    HeloLookupFailed = "helo.lookup_failed", Error,
        "The HELO name could not be looked up",
        "Check that the HELO name's name servers answer, then run again.",
        "RFC 2308";

    // --- spf --------------------------------------------------------------------
    SpfOk = "spf.ok", Pass,
        "The domain has one valid SPF record that authorises the sending IPs",
        "Nothing to do.",
        "RFC 7208";
    SpfNoRecord = "spf.no_record", Fail,
        "The domain publishes no SPF record",
        "Publish one TXT record at the domain listing every host that sends its mail, e.g. `DOMAIN. TXT \"v=spf1 ip4:192.0.2.10 include:_spf.provider.example -all\"`.",
        "RFC 7208 §3, §4.5; Gmail and Yahoo sender rules";
    SpfMultipleRecords = "spf.multiple_records", Fail,
        "More than one SPF record: every receiver gets permerror",
        "Merge them into one `v=spf1` TXT record (all the mechanisms, one `all` at the end) and delete the others.",
        "RFC 7208 §3.2, §4.5";
    SpfSyntaxError = "spf.syntax_error", Fail,
        "The SPF record has a syntax error: every receiver gets permerror",
        "Correct or remove the term the message points at; one bad term invalidates the whole record.",
        "RFC 7208 §4.6, §7.1, §12";
    SpfTooManyLookups = "spf.too_many_lookups", Fail,
        "More than 10 DNS-querying terms over the include tree: permerror",
        "Bring the whole tree to at most 10 include/a/mx/ptr/exists/redirect terms: replace a/mx terms with ip4:/ip6: ranges, drop includes of services you no longer use, or use a provider's flattened record.",
        "RFC 7208 §4.6.4";
    SpfLookupsNearLimit = "spf.lookups_near_limit", Warn,
        "8 to 10 of the 10 allowed DNS-querying terms are used",
        "Leave headroom: when a provider adds one include to its record, yours breaks. Replace a/mx terms with ip4:/ip6: ranges where the addresses are yours.",
        "RFC 7208 §4.6.4";
    SpfTooManyVoidLookups = "spf.too_many_void_lookups", Fail,
        "More than 2 terms name domains with no records: permerror",
        "Remove the a/mx/include terms that name domains without addresses or MX records (often left over from old providers).",
        "RFC 7208 §4.6.4";
    SpfIncludeNoSpf = "spf.include_no_spf", Fail,
        "An include or redirect names a domain that has no SPF record: permerror",
        "Correct the domain name (providers document theirs) or remove the term.",
        "RFC 7208 §5.2, §6.1";
    SpfIncludeLoop = "spf.include_loop", Fail,
        "The include/redirect chain loops back on itself: permerror",
        "Remove the include or redirect that points back at a record already in the chain.",
        "RFC 7208 §4.6.4, §5.2";
    SpfMxTooMany = "spf.mx_too_many", Fail,
        "An mx term names a domain with more than 10 MX hosts: permerror",
        "Replace the mx term with ip4:/ip6: ranges of the hosts that actually send.",
        "RFC 7208 §4.6.4";
    SpfPlusAll = "spf.plus_all", Fail,
        "`+all`: anyone on the internet may send as the domain",
        "End the record with `-all` (or `~all` while you are testing) after the terms that list your senders.",
        "RFC 7208 §5.1";
    SpfNeutralAll = "spf.neutral_all", Warn,
        "`?all`: the record says nothing about senders it does not list",
        "End the record with `-all` (or `~all`) once every sender is listed; neutral gives receivers and DMARC nothing.",
        "RFC 7208 §5.1, §8.2";
    SpfNoAll = "spf.no_all", Warn,
        "No `all` and no `redirect=`: unlisted senders get neutral",
        "End the record with `-all` (or `~all`).",
        "RFC 7208 §4.7, §5.1";
    SpfRedirectIgnored = "spf.redirect_ignored", Warn,
        "`redirect=` is never used because the record also has `all`",
        "Keep one: `redirect=` applies only when no mechanism matches, and `all` always matches.",
        "RFC 7208 §6.1";
    SpfPtrUsed = "spf.ptr_used", Warn,
        "The deprecated `ptr` mechanism is used",
        "Replace `ptr` with ip4:/ip6: ranges or a:/mx terms; it is slow, unreliable, and some receivers skip it.",
        "RFC 7208 §5.5";
    SpfPtrOverLimit = "spf.ptr_over_limit", Warn,
        "A sending IP has more than 10 PTR names; ptr ignores the rest",
        "Keep one PTR per address, or stop relying on the ptr mechanism.",
        "RFC 7208 §4.6.4, §5.5";
    SpfType99Only = "spf.type99_only", Fail,
        "The SPF record is published only in the obsolete SPF (type 99) RR",
        "Publish the same text as a TXT record; receivers look only at TXT.",
        "RFC 7208 §3.1, §14.1";
    SpfNeedsTcp = "spf.needs_tcp", Warn,
        "The TXT answer holding the SPF record is over 512 bytes",
        "Shorten the record, or move other TXT records (site verification tokens) to sub-domains; answers over 512 bytes need EDNS or TCP, and some receivers then get temperror.",
        "RFC 7208 §3.4";
    SpfIpNotPermitted = "spf.ip_not_permitted", Fail,
        "SPF does not pass for a sending IP",
        "Authorise the IP: add `ip4:`/`ip6:` for it, or the `include:` of the service that sends from it, before the `all` term.",
        "RFC 7208 §2.6, §4; RFC 7489 (DMARC needs an SPF pass)";
    SpfNoIp = "spf.no_ip", Skip,
        "No sending IP given: check_host() was not run",
        "Pass the sending host's public address with --ip to see whether SPF authorises it.",
        "";
    SpfLookupFailed = "spf.lookup_failed", Error,
        "The SPF record, or one it needs, could not be looked up (temperror)",
        "Check that the name servers of the domain named in the message answer (SERVFAIL and timeouts are not 'no record'), then run again.",
        "RFC 7208 §2.6.6, §4.4";

    // --- dkim -------------------------------------------------------------------
    DkimOk = "dkim.ok", Pass,
        "The selector holds a usable DKIM key",
        "Nothing to do.",
        "RFC 6376 §3.6.1";
    DkimDiscovered = "dkim.discovered", Info,
        "DKIM selectors found by trying common selector names",
        "Pass the selectors your mail is signed with (--selector SEL, repeatable) so every one of them is checked, not only the common names.",
        "RFC 6376 §3.1";
    DkimNoneFound = "dkim.none_found", Warn,
        "No DKIM key under any common selector name",
        "Find the selector in the DKIM-Signature header (s=) of a message you sent and run again with --selector SEL; if the mail is not signed, enable DKIM signing with d=DOMAIN and publish the key at SEL._domainkey.DOMAIN.",
        "RFC 6376 §3.1; Gmail and Yahoo bulk-sender rules";
    DkimSelectorMissing = "dkim.selector_missing", Fail,
        "The selector has no DKIM key record",
        "Publish the key at SEL._domainkey.DOMAIN as TXT \"v=DKIM1; k=rsa; p=…\" (or the CNAME your mail provider gives you); every signature with this selector fails until then.",
        "RFC 6376 §3.6.2.2, §6.1.2";
    DkimCnameLoop = "dkim.cname_loop", Fail,
        "The selector's CNAME chain loops",
        "Point the selector's CNAME at the key record your mail provider publishes (or publish the TXT key directly); a loop resolves to nothing.",
        "RFC 1034 §3.6.2";
    DkimLookupFailed = "dkim.lookup_failed", Error,
        "The DKIM key record could not be looked up",
        "Check that the name servers for the selector (and any CNAME target) answer; SERVFAIL or a timeout makes receivers treat signatures as temporarily unverifiable.",
        "RFC 6376 §6.1.2";
    DkimMultipleRecords = "dkim.multiple_records", Fail,
        "The selector has more than one key record",
        "Keep exactly one TXT key record per selector: verifiers pick one at random, so signatures fail whenever they pick the other. Use a new selector name for a new key.",
        "RFC 6376 §3.6.2.2";
    DkimSyntaxError = "dkim.syntax_error", Fail,
        "The key record is not a valid tag-list",
        "Rewrite the record as name=value tags separated by ';', each tag once, e.g. \"v=DKIM1; k=rsa; p=MIIB…\"; verifiers discard a record with a syntax error.",
        "RFC 6376 §3.2, §3.6.1";
    DkimVersionNotFirst = "dkim.version_not_first", Fail,
        "v=DKIM1 is not the first tag of the key record",
        "Move v=DKIM1 to the start of the record (or drop it: it is optional); verifiers reject a record where it is anywhere else.",
        "RFC 6376 §3.6.1";
    DkimBadVersion = "dkim.bad_version", Fail,
        "The key record's v= is not DKIM1",
        "Set v=DKIM1 exactly (upper case), or leave v= out.",
        "RFC 6376 §3.6.1";
    DkimUnknownKeyType = "dkim.unknown_key_type", Fail,
        "The key record's k= names a key type verifiers do not know",
        "Use k=rsa (the default) or k=ed25519, matching the key in p=.",
        "RFC 6376 §3.6.1; RFC 8463";
    DkimMissingKey = "dkim.missing_key", Fail,
        "The key record has no p= tag",
        "Add the public key as p=BASE64 (p= is required; an empty p= revokes the selector).",
        "RFC 6376 §3.6.1";
    DkimRevoked = "dkim.revoked", Fail,
        "The selector's key is revoked (empty p=)",
        "If mail is still signed with this selector, publish its public key in p=; if not, stop using the selector (and remove it from --selector).",
        "RFC 6376 §3.6.1";
    DkimBadBase64 = "dkim.bad_base64", Fail,
        "The p= key is not valid base64",
        "Paste the public key again as one base64 string (no PEM header lines; quotes only around each 255-byte string).",
        "RFC 6376 §3.6.1";
    DkimBadKey = "dkim.bad_key", Fail,
        "The p= value decodes, but is not a public key",
        "Publish the public key (RSA SubjectPublicKeyInfo, or the raw 32-byte Ed25519 key for k=ed25519) — not a private key, certificate or other data.",
        "RFC 6376 §3.6.1; RFC 8463 §4.2";
    DkimKeyTypeMismatch = "dkim.key_type_mismatch", Fail,
        "The key in p= is not of the type k= declares",
        "Set k= to the key's type (k=rsa for an RSA key, k=ed25519 for an Ed25519 key).",
        "RFC 6376 §3.6.1; RFC 8463 §4.2";
    DkimEd25519Wrapped = "dkim.ed25519_wrapped", Fail,
        "The Ed25519 key is wrapped in SubjectPublicKeyInfo",
        "For k=ed25519, p= must hold only the raw 32-byte public key in base64 (44 characters), not the DER SubjectPublicKeyInfo.",
        "RFC 8463 §4.2";
    DkimWeakKey = "dkim.weak_key", Fail,
        "The RSA key is shorter than 1024 bits",
        "Generate a 2048-bit RSA key, publish it under a new selector, switch signing to it, then revoke the old selector; receivers ignore signatures made with keys under 1024 bits.",
        "RFC 8301 §3.2";
    DkimShortKey = "dkim.short_key", Warn,
        "The RSA key is shorter than 2048 bits",
        "Rotate to a 2048-bit RSA key under a new selector (split the TXT into 255-byte strings); 1024-bit keys are the minimum and considered weak.",
        "RFC 8301 §3.2; M3AAWG DKIM key rotation";
    DkimTesting = "dkim.testing", Warn,
        "The key is in testing mode (t=y)",
        "Remove t=y once signing works: in testing mode receivers may treat signed mail like unsigned mail.",
        "RFC 6376 §3.6.1";
    DkimSha1Only = "dkim.sha1_only", Warn,
        "The key allows only SHA-1 signatures (h=sha1)",
        "Remove h= or set h=sha256, and sign with rsa-sha256: verifiers no longer accept rsa-sha1 signatures.",
        "RFC 8301 §3.1";
    DkimUnknownHash = "dkim.unknown_hash", Fail,
        "The key's h= allows no hash algorithm verifiers know",
        "Remove h= or set h=sha256.",
        "RFC 6376 §3.6.1; RFC 8301";
    DkimNotForEmail = "dkim.not_for_email", Fail,
        "The key's s= service types exclude email",
        "Remove s= or set s=email (or s=*); verifiers ignore a key not meant for email.",
        "RFC 6376 §3.6.1";

    // --- dmarc ------------------------------------------------------------------
    DmarcOk = "dmarc.ok", Pass,
        "A DMARC policy that enforces and reports applies to the domain",
        "Nothing to do.",
        "RFC 7489 §6; RFC 9989 §4.7";
    DmarcMissing = "dmarc.missing", Fail,
        "No DMARC policy: no record at _dmarc.DOMAIN nor at its organizational domain",
        "Publish `_dmarc.DOMAIN. TXT \"v=DMARC1; p=none; rua=mailto:dmarc-reports@DOMAIN\"`, read the reports, then move to p=quarantine and p=reject. Gmail and Yahoo require a DMARC record from bulk senders.",
        "RFC 9989 §4.10; Gmail and Yahoo bulk-sender rules (2024)";
    DmarcLookupFailed = "dmarc.lookup_failed", Error,
        "A DMARC record could not be looked up",
        "Check that the name servers for _dmarc.DOMAIN (and its parents) answer; SERVFAIL or a timeout is not 'no DMARC', and receivers may defer mail while it lasts.",
        "RFC 9989 §4.10.1";
    DmarcMultipleRecords = "dmarc.multiple_records", Fail,
        "More than one DMARC record at one name: receivers discard them all",
        "Merge them into one TXT record starting with v=DMARC1 and delete the others.",
        "RFC 7489 §6.6.3; RFC 9989 §4.10";
    DmarcVersionNotFirst = "dmarc.version_not_first", Fail,
        "The DMARC record does not start with v=DMARC1: receivers ignore it",
        "Put v=DMARC1 first: `v=DMARC1; p=…; rua=…`.",
        "RFC 7489 §6.4; RFC 9989 §4.7";
    DmarcBadVersion = "dmarc.bad_version", Fail,
        "A record at _dmarc is meant as DMARC but lacks the exact v=DMARC1: receivers ignore it",
        "Start the record with exactly v=DMARC1 (upper case, no spaces inside the value).",
        "RFC 7489 §6.4; RFC 9989 §4.7";
    DmarcSyntaxError = "dmarc.syntax_error", Fail,
        "The DMARC record has a tag that is not name=value",
        "Write every tag as name=value, separated by semicolons, e.g. `v=DMARC1; p=reject; rua=mailto:dmarc@DOMAIN`.",
        "RFC 7489 §6.4; RFC 9989 §4.8";
    DmarcDuplicateTag = "dmarc.duplicate_tag", Fail,
        "A DMARC tag appears more than once",
        "Keep each tag once; receivers disagree on which copy wins, and some discard the record.",
        "RFC 6376 §3.2 (tag-list); RFC 9989 §4.7";
    DmarcInvalidValue = "dmarc.invalid_value", Fail,
        "A DMARC tag has a value receivers do not accept",
        "Use the values RFC 9989 defines: p/sp/np none|quarantine|reject, adkim/aspf r|s, fo 0|1|d|s, psd y|n|u, t y|n, rua/ruf mailto: URIs.",
        "RFC 7489 §6.3; RFC 9989 §4.7, §4.8";
    DmarcNoPolicy = "dmarc.no_policy", Fail,
        "The DMARC record has no p= tag",
        "Add p=none (monitoring), p=quarantine or p=reject right after v=DMARC1.",
        "RFC 7489 §6.3; RFC 9989 §4.7";
    DmarcUnknownTag = "dmarc.unknown_tag", Warn,
        "The DMARC record has a tag receivers do not know (ignored)",
        "Remove the tag, or correct its name if it is a typo (rua, ruf, sp, np, adkim, aspf, fo, psd, t).",
        "RFC 9989 §4.7";
    DmarcRemovedTag = "dmarc.removed_tag", Info,
        "The DMARC record uses a tag RFC 9989 removed (pct, rf, ri)",
        "Nothing breaks yet: RFC 7489 receivers still read it. Drop rf= and ri=; replace pct<100 with t=y while testing.",
        "RFC 9989 §A.6, §A.7";
    DmarcPolicyNone = "dmarc.policy_none", Warn,
        "The DMARC policy is none: monitoring only",
        "Once the aggregate reports show all legitimate mail passing, move to p=quarantine and then p=reject; p=none does not protect the domain from spoofing.",
        "RFC 9989 §5.5; Gmail and Yahoo bulk-sender rules";
    DmarcPctPartial = "dmarc.pct_partial", Warn,
        "The policy applies to only part of failing mail (pct < 100)",
        "Raise pct to 100 (or remove it) once reports show legitimate mail passing; RFC 9989 replaced pct with t=y.",
        "RFC 7489 §6.3";
    DmarcTestMode = "dmarc.test_mode", Warn,
        "The DMARC policy is in test mode (t=y): receivers apply one level less",
        "Remove t=y once reports show legitimate mail passing.",
        "RFC 9989 §4.7";
    DmarcNoRua = "dmarc.no_rua", Warn,
        "The DMARC record asks for no aggregate reports (no rua=)",
        "Add rua=mailto:dmarc-reports@DOMAIN: without reports you cannot see which senders fail before you tighten the policy.",
        "RFC 7489 §7.2; RFC 9989 §4.7";
    DmarcReportNotAuthorized = "dmarc.report_not_authorized", Warn,
        "Reports go to another domain that has not authorized them: they will not arrive",
        "Ask the owner of the report domain to publish `DOMAIN._report._dmarc.REPORTDOMAIN. TXT \"v=DMARC1\"` (report services do this when you sign up), or send reports to an address under your own domain.",
        "RFC 7489 §7.1";
    DmarcWrongPlace = "dmarc.wrong_place", Warn,
        "A DMARC record is published where receivers never look",
        "Move the record to _dmarc.DOMAIN (TXT). In a zone file, write `_dmarc` without the domain, or `_dmarc.DOMAIN.` with the trailing dot.",
        "RFC 7489 §6.1; RFC 9989 §4.10";
    DmarcOrgDomainDiffers = "dmarc.org_domain_differs", Info,
        "The tree walk and the Public Suffix List give different organizational domains",
        "Publish the DMARC record at the registered domain too, so RFC 7489 (Public Suffix List) and RFC 9989 (tree walk) receivers agree on relaxed alignment.",
        "RFC 7489 §3.2; RFC 9989 §4.10.2";
    DmarcAligned = "dmarc.aligned", Pass,
        "Mail from this IP would pass DMARC through both SPF and DKIM",
        "Nothing to do.",
        "RFC 9989 §4.4";
    DmarcAlignedDkimOnly = "dmarc.aligned_dkim_only", Info,
        "Mail from this IP would pass DMARC through DKIM alone",
        "It passes as long as the server signs with the aligned selector. To make SPF a second leg, authorize the IP in the MAIL FROM domain's SPF record and use a MAIL FROM under the domain.",
        "RFC 9989 §4.4";
    DmarcAlignedSpfOnly = "dmarc.aligned_spf_only", Warn,
        "Mail from this IP would pass DMARC through SPF alone: no aligned DKIM key",
        "Sign with DKIM as d=DOMAIN (publish the key at SEL._domainkey.DOMAIN): forwarding breaks SPF, and Gmail and Yahoo require DKIM from bulk senders.",
        "RFC 9989 §4.4; Gmail and Yahoo bulk-sender rules";
    DmarcForecastFail = "dmarc.forecast_fail", Fail,
        "Mail from this IP would fail DMARC: neither SPF nor DKIM is aligned and passing",
        "Make at least one leg pass: authorize the IP in the SPF record of a MAIL FROM domain under DOMAIN, or sign with DKIM as d=DOMAIN with a published key.",
        "RFC 9989 §4.4; Gmail and Yahoo bulk-sender rules";
    DmarcForecastUnknown = "dmarc.forecast_unknown", Error,
        "Whether mail from this IP would pass DMARC could not be determined",
        "A lookup the forecast needs failed (SPF temperror or a DKIM key lookup); fix the name servers or run again.",
        "RFC 9989 §4.4";
    DmarcNoIp = "dmarc.no_ip", Skip,
        "No sending IP given: no DMARC alignment forecast",
        "Pass the sending host's public address with --ip to forecast whether its mail passes DMARC.",
        "";

    // --- dnsbl ------------------------------------------------------------------
    // (codes of the dnsbl check go here)
    DnsblOk = "dnsbl.ok", Pass,
        "Not listed on the blocklists asked",
        "Nothing to do.",
        "RFC 5782";
    DnsblOffline = "dnsbl.offline", Skip,
        "Offline: the blocklists were not asked",
        "Run without --offline to ask the blocklists (or load a local copy of a list's zone with --zone).",
        "";
    DnsblNoIp = "dnsbl.no_ip", Skip,
        "No sending IP given: only the domain was checked against blocklists",
        "Pass the sending host's public address with --ip to check it against IP blocklists.",
        "RFC 5782";
    DnsblListed = "dnsbl.listed", Fail,
        "A sending IP is on a blocklist",
        "Find and stop the cause (compromised host, open relay, bad list hygiene, dynamic address), then ask the list for removal on its lookup page.",
        "RFC 5782; receivers reject with e.g. 554 5.7.1 \"blocked using zen.spamhaus.org\"";
    DnsblDomainListed = "dnsbl.domain_listed", Fail,
        "The domain is on a domain blocklist",
        "Find out why the domain is listed (spam, phishing, malware, a compromised site) on the list's lookup page, fix it, then request removal.",
        "RFC 5782 §3; Spamhaus DBL";
    DnsblQueryRefused = "dnsbl.query_refused", Error,
        "A blocklist refused the query: whether it lists you is unknown",
        "Query through your own recursive resolver (--resolver), not a public one, or use the list's data-query service key; a refusal answer is neither 'listed' nor 'not listed'.",
        "Spamhaus return codes 127.255.255.252–255; RFC 5782 §2.1";
    DnsblLookupFailed = "dnsbl.lookup_failed", Error,
        "A blocklist did not answer",
        "Run again later or through another resolver (--resolver); until it answers, whether it lists you is unknown.",
        "RFC 5782";
    DnsblListNotWorking = "dnsbl.list_not_working", Error,
        "A blocklist does not list its own test entry: the zone is mistyped, dead, or unreachable from this resolver",
        "Check the zone's spelling (--dnsbl) and that the list is still operated; its 'not listed' answers mean nothing until its test entry (127.0.0.2) answers.",
        "RFC 5782 §5";

    // --- smtp -------------------------------------------------------------------
    // (codes of the smtp check go here)
    SmtpOk = "smtp.ok", Pass,
        "The mail host greets, accepts EHLO and offers STARTTLS with a valid certificate",
        "Nothing to do.",
        "RFC 5321; RFC 3207";
    SmtpOffline = "smtp.offline", Skip,
        "Offline: the mail hosts were not probed",
        "Run without --offline to connect to the MX hosts on port 25.",
        "";
    SmtpNoMailHost = "smtp.no_mail_host", Skip,
        "No mail host to probe",
        "Publish an MX record whose host has an A/AAAA record (see the mx check).",
        "RFC 5321 §5.1";
    SmtpLookupFailed = "smtp.lookup_failed", Error,
        "The mail hosts or their addresses could not be looked up",
        "Check that the domain's name servers answer, then run again.",
        "RFC 2308";
    SmtpHostsLimited = "smtp.hosts_limited", Info,
        "Only the most preferred MX hosts were probed",
        "Nothing to do; the rest were not probed to bound the run's time.",
        "RFC 5321 §5.1";
    SmtpConnectFailed = "smtp.connect_failed", Warn,
        "A mail host refused the connection",
        "Make sure the MTA listens on port 25 on that address and that no firewall rejects connections.",
        "RFC 5321 §4.5.3.2";
    SmtpConnectTimeout = "smtp.connect_timeout", Warn,
        "A connection to a mail host timed out",
        "Check that the host is up and that its firewall lets port 25 in; if every host times out, outbound port 25 may be blocked on this side.",
        "RFC 5321 §4.5.3.2";
    SmtpPort25Blocked = "smtp.port25_blocked", Error,
        "Every connection timed out: outbound port 25 may be blocked from this host",
        "Many ISPs and clouds block outbound port 25: run the check from a host that may send mail (your mail server), or ask the provider to unblock it; until then the mail hosts' state is unknown.",
        "M3AAWG port 25 management";
    SmtpNoWorkingHost = "smtp.no_working_host", Fail,
        "No mail host completed an SMTP greeting: mail to the domain (replies, bounces) cannot be delivered",
        "Fix at least one MX host so it accepts connections on port 25, greets with 220 and answers EHLO.",
        "RFC 5321 §5.1";
    SmtpBannerTimeout = "smtp.banner_timeout", Warn,
        "A mail host accepted the connection but never sent its greeting",
        "Check the MTA on that host: it must send its 220 greeting promptly (an overloaded or hung MTA, or a too-long greet delay, holds it back).",
        "RFC 5321 §4.3.1, §4.5.3.2";
    SmtpBannerTemporary = "smtp.banner_temporary", Warn,
        "A mail host greeted with a temporary refusal (4xx): rate limiting or greylisting",
        "Usually this host limits connections from this IP (rate limit, greylisting, blocklist); senders retry. If it persists, check the MTA's connection limits and logs.",
        "RFC 5321 §3.1, §4.2.5";
    SmtpBannerRejected = "smtp.banner_rejected", Fail,
        "A mail host greeted with a refusal or with something that is not an SMTP greeting",
        "Configure the MTA to greet with `220 HOSTNAME ESMTP`; a 554 greeting tells every sender to go away.",
        "RFC 5321 §3.1, §4.2";
    SmtpBannerNoHostname = "smtp.banner_no_hostname", Warn,
        "A mail host's greeting does not start with its fully-qualified host name",
        "Make the greeting `220 mx.DOMAIN ESMTP` (Postfix: smtpd_banner = $myhostname ESMTP; Exchange: the receive connector's FQDN).",
        "RFC 5321 §4.2, §4.3.1";
    SmtpBannerPtrMismatch = "smtp.banner_ptr_mismatch", Info,
        "A mail host's greeting name differs from the PTR name of its address",
        "Greet with the name the address's PTR gives (or set the PTR to the greeting name); if this host also sends mail, receivers compare its HELO and PTR.",
        "RFC 5321 §4.3.1; M3AAWG";
    SmtpEhloRejected = "smtp.ehlo_rejected", Fail,
        "A mail host refused or did not answer EHLO",
        "Make the MTA accept EHLO (RFC 5321 requires it); if it rejects the name sent, check what it expects.",
        "RFC 5321 §4.1.1.1";
    SmtpStarttlsMissing = "smtp.starttls_missing", Warn,
        "A mail host does not offer STARTTLS: mail to it travels unencrypted",
        "Enable STARTTLS with a certificate for the MX name (Postfix: smtpd_tls_security_level = may with smtpd_tls_chain_files).",
        "RFC 3207; RFC 8461";
    SmtpTlsFailed = "smtp.tls_failed", Fail,
        "A mail host offers STARTTLS but the TLS handshake fails",
        "Fix the MTA's TLS setup (certificate and key files, TLS 1.2 or newer, common cipher suites): senders that see STARTTLS try it and may not fall back to plain text.",
        "RFC 3207; RFC 8996; RFC 9325";
    SmtpCertExpired = "smtp.cert_expired", Warn,
        "A mail host's certificate has expired",
        "Renew the certificate (e.g. with ACME) and reload the MTA; senders that verify (MTA-STS, DANE) will not deliver.",
        "RFC 5280 §4.1.2.5; RFC 8461 §4.2";
    SmtpCertNotYetValid = "smtp.cert_not_yet_valid", Warn,
        "A mail host's certificate is not valid yet",
        "Check the host's clock and the certificate's start date; senders that verify will not deliver until it is valid.",
        "RFC 5280 §4.1.2.5";
    SmtpCertExpiresSoon = "smtp.cert_expires_soon", Warn,
        "A mail host's certificate expires within 14 days",
        "Renew the certificate now and make sure the MTA reloads it (ACME renewal hooks often miss the MTA).",
        "RFC 5280 §4.1.2.5";
    SmtpCertNameMismatch = "smtp.cert_name_mismatch", Warn,
        "A mail host's certificate is not valid for the MX name",
        "Get a certificate whose subjectAltName includes the MX host name; senders that verify (MTA-STS, DANE-TA) check the MX name.",
        "RFC 6125; RFC 7672 §3.2.3; RFC 8461 §4.2";
    SmtpCertUntrusted = "smtp.cert_untrusted", Warn,
        "A mail host's certificate does not chain to a trusted root",
        "Use a certificate from a public CA and send the full chain (leaf plus intermediates); a self-signed one only works with DANE-EE.",
        "RFC 5280 §6; RFC 8461 §4.2";

    // --- lint -------------------------------------------------------------------
    // (codes of the lint check go here)
    LintOk = "lint.ok", Pass,
        "The zone files have no record that breaks mail",
        "Nothing to do.",
        "RFC 1035 §5";
    LintNoZone = "lint.no_zone", Skip,
        "No zone file of the domain loaded: nothing to lint",
        "Pass the domain's zone files with --zone (a file or a folder of *.zone) to lint them before they are published.",
        "";
    LintTxtStringTooLong = "lint.txt_string_too_long", Fail,
        "A TXT character-string is longer than 255 octets",
        "Split the text into quoted strings of at most 255 octets each on the same record (\"first 255\" \"rest\"); receivers join them. A longer string cannot be sent on the wire.",
        "RFC 1035 §3.3, §3.3.14; RFC 7208 §3.3";
    LintSpfSplit = "lint.spf_split", Fail,
        "An SPF policy is split across several TXT records",
        "Put the whole policy in one TXT record, as several quoted strings if it is long: separate TXT records are separate records, and receivers read only the one that starts with v=spf1.",
        "RFC 7208 §3.3, §4.5";
    LintSpfMultiple = "lint.spf_multiple", Fail,
        "Several v=spf1 records at one name",
        "Merge them into one v=spf1 record: with more than one, SPF evaluation is a permerror and receivers treat the mail as unauthenticated.",
        "RFC 7208 §3.2, §4.5";
    LintMxDuplicate = "lint.mx_duplicate", Warn,
        "The same MX host is listed more than once at a name",
        "Keep one MX record per host: a second one with another preference only repeats failed deliveries to the same host, an identical one is dropped.",
        "RFC 5321 §5.1; RFC 2181 §5";
    LintCnameAndOtherData = "lint.cname_and_other_data", Fail,
        "A CNAME stands beside other records at the same name",
        "A name with a CNAME can have no other data: move the other records to the alias's target, or replace the CNAME with the target's A/AAAA records. Resolvers answer such a name unpredictably.",
        "RFC 1034 §3.6.2; RFC 2181 §10.1";

    // --- expect -----------------------------------------------------------------
    // (codes of the expect check: the config file's expectations)
    ExpectOk = "expect.ok", Pass,
        "The domain meets the expectations of the config file",
        "Nothing to do.",
        "";
    ExpectNone = "expect.none", Skip,
        "No expectations configured for the domain",
        "Add an [expect] section (global or under the domain) to mailpreflight.toml: min_dmarc_policy, max_spf_lookups, min_dkim_bits, selectors, authorized_ips.",
        "";
    ExpectDmarcPolicyWeaker = "expect.dmarc_policy_weaker", Fail,
        "The DMARC policy is weaker than the config expects",
        "Raise p= in the domain's _dmarc record to the expected policy once the aggregate reports show all legitimate mail passing.",
        "RFC 9989 §4.7";
    ExpectSpfTooManyLookups = "expect.spf_too_many_lookups", Fail,
        "The SPF record needs more DNS lookups than the config allows",
        "Flatten includes you control into ip4:/ip6: ranges, drop includes of services no longer used, and replace a/mx/ptr terms with addresses.",
        "RFC 7208 §4.6.4";
    ExpectIpNotAuthorized = "expect.ip_not_authorized", Fail,
        "An IP the config says must be authorised does not pass SPF",
        "Add the IP (ip4:/ip6:) or the include: of the service that sends from it to the domain's SPF record, before `all`.",
        "RFC 7208 §5";
    ExpectSelectorMissing = "expect.selector_missing", Fail,
        "A DKIM selector the config expects publishes no key",
        "Publish the key at SELECTOR._domainkey.DOMAIN (your mail provider shows the record), or remove the selector from the config if it was retired.",
        "RFC 6376 §3.6.2";
    ExpectDkimKeyTooSmall = "expect.dkim_key_too_small", Fail,
        "A DKIM key is smaller than the config expects",
        "Generate a key of the expected size, publish it under a new selector, switch signing to it, then revoke the old one (empty p=).",
        "RFC 8301 §3.2";
    ExpectNotChecked = "expect.not_checked", Info,
        "An expectation could not be checked with what was given",
        "Give the domain's DKIM selectors (selectors = [...] in the config, or --selector) so their key sizes can be checked.",
        "";
    ExpectLookupFailed = "expect.lookup_failed", Error,
        "An expectation could not be verified: a lookup failed",
        "Check that the domain's name servers answer (or that --zone covers the names offline), then run again.",
        "RFC 2308";

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
    PathPort25Blocked = "path.port25_blocked", Fail,
        "Outbound port 25 is blocked from this host (ISP, cloud provider or firewall)",
        "Relay outbound mail through a smart host on port 587 with STARTTLS and AUTH (your provider's or a relay service's submission server; test it with --smarthost HOST:587), or ask the ISP/cloud provider to lift the port 25 block, or open it in the firewall.",
        "RFC 6409; RFC 5321 §4.5.4.1";
    PathSmarthostOk = "path.smarthost_ok", Pass,
        "The smart host greets, encrypts with a valid certificate and offers AUTH after TLS",
        "Nothing to do.",
        "RFC 6409; RFC 8314";
    PathSmarthostLookupFailed = "path.smarthost_lookup_failed", Error,
        "The smart host's address could not be looked up",
        "Fix this host's resolvers first (see the resolvers section), then run again.",
        "RFC 1034 §5";
    PathSmarthostNoAddress = "path.smarthost_no_address", Fail,
        "The smart host name has no address",
        "Check the smart host name in the MTA's relayhost/smarthost setting (a typo, or a retired relay), or give its IP address.",
        "RFC 5321 §5.1";
    PathSmarthostConnectFailed = "path.smarthost_connect_failed", Fail,
        "The smart host refused the connection or could not be reached",
        "Check the host and port (587 for STARTTLS submission, 465 for implicit TLS), that the relay service is running, and that no firewall between rejects it.",
        "RFC 6409 §3.1; RFC 8314 §3.3";
    PathSmarthostConnectTimeout = "path.smarthost_connect_timeout", Fail,
        "The connection to the smart host timed out",
        "A firewall (here or at the provider) drops the traffic, or the host is down: allow outbound connections to the smart host's port, or check the host and port.",
        "RFC 6409 §3.1";
    PathSmarthostNoGreeting = "path.smarthost_no_greeting", Fail,
        "The smart host did not greet with 220",
        "The relay is overloaded, refuses this host's IP, or is not an SMTP server on that port (465 speaks TLS first, 587 plain text first): check the port and the relay's access rules.",
        "RFC 5321 §3.1, §4.2";
    PathSmarthostEhloRejected = "path.smarthost_ehlo_rejected", Fail,
        "The smart host did not accept EHLO",
        "Send a fully-qualified host name in EHLO (the MTA's myhostname/FQDN setting); some relays refuse bare names or address literals.",
        "RFC 5321 §4.1.1.1";
    PathSmarthostStarttlsMissing = "path.smarthost_starttls_missing", Fail,
        "The smart host offers no STARTTLS: password and mail would travel in clear",
        "Use the relay's TLS port (587 with STARTTLS, or 465 with implicit TLS) and make the MTA require TLS before AUTH (Postfix smtp_tls_security_level = encrypt).",
        "RFC 3207; RFC 8314 §3";
    PathSmarthostTlsFailed = "path.smarthost_tls_failed", Fail,
        "The TLS handshake with the smart host failed",
        "Check the port (465 is implicit TLS, 587 STARTTLS) and the relay's TLS configuration; a client that requires TLS cannot relay through it.",
        "RFC 3207; RFC 8314";
    PathSmarthostCertInvalid = "path.smarthost_cert_invalid", Fail,
        "The smart host's certificate is expired, for another name or untrusted",
        "Connect by the name on the relay's certificate (the provider documents it), or have the relay install a certificate from a public CA for its name; a client that verifies refuses to send credentials.",
        "RFC 6125; RFC 8314 §4.1";
    PathSmarthostAuthBeforeTls = "path.smarthost_auth_before_tls", Warn,
        "The smart host offers AUTH before TLS: credentials could be sent in clear",
        "Make the MTA require TLS before authenticating (Postfix smtp_tls_security_level = encrypt; Exchange: require TLS on the send connector), and ask the relay to offer AUTH only after STARTTLS.",
        "RFC 4954 §4; RFC 8314 §3";
    PathSmarthostNoAuth = "path.smarthost_no_auth", Warn,
        "The smart host offers no AUTH after TLS",
        "If the relay accepts this host by its IP address, nothing to do; otherwise check the port (submission is 587/465, not 25) and the relay account.",
        "RFC 4954; RFC 6409 §4.1";
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
