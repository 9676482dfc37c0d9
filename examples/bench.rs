//! The benchmark: a generated world of N customer domains (MX, SPF include
//! chains 2–4 deep through shared providers, DMARC, DKIM, PTRs for the sending
//! IPs) served by the in-process DNS server with an injected per-answer
//! latency, checked through the real engine and DNS client.
//!
//!     cargo run --release --example bench -- [--domains 1000] [--latency-ms 20] [--jobs 500]
//!
//! Reports the single-domain wall time against its floor (the longest chain
//! of dependent lookups × latency), bulk domains per second, DNS queries per
//! domain, and peak memory. Not a test: figures vary with the machine.

use std::path::Path;
use std::time::{Duration, Instant};

use futures::StreamExt;
use mailpreflight_checks::bulk::{run_stream, BulkOptions};
use mailpreflight_checks::dns::{Dns, DnsConfig, Zone};
use mailpreflight_checks::testing::TestDns;
use mailpreflight_checks::{Options, Selection, Target};

const PROVIDERS: usize = 3;

fn arg(name: &str, default: u64) -> u64 {
    let args: Vec<String> = std::env::args().collect();
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The providers' zones: provider k's SPF include chain is 2 + k deep
/// (`_spf` → `_n1` → … → a record with an `a:` mechanism).
fn provider_zone(k: usize) -> String {
    let depth = 2 + k; // 2, 3, 4
    let mut z =
        format!("$ORIGIN provider{k}.example.net.\n@ SOA ns hostmaster 1 3600 600 86400 300\n");
    z.push_str("_spf TXT \"v=spf1 include:_n1.provider");
    z.push_str(&format!("{k}.example.net ~all\"\n"));
    for level in 1..depth {
        let next = if level + 1 < depth {
            format!("include:_n{}.provider{k}.example.net ", level + 1)
        } else {
            format!("a:out.provider{k}.example.net ")
        };
        z.push_str(&format!(
            "_n{level} TXT \"v=spf1 ip4:198.18.{k}.{level}/32 {next}~all\"\n"
        ));
    }
    // The deepest `a:` names every sending host, so check_host must walk
    // the whole chain before it passes.
    for h in 0..20 {
        z.push_str(&format!("out A 198.51.100.{}\n", h + 1));
        z.push_str(&format!("o{h} A 198.51.100.{}\n", h + 1));
    }
    z.push_str("mx1 A 203.0.113.200\nmx2 A 203.0.113.201\n");
    z
}

fn customer_zone(n: usize) -> String {
    let mut z = String::from("$ORIGIN example.com.\n@ SOA ns hostmaster 1 3600 600 86400 300\n");
    // A real 2048-bit RSA key, in two character-strings (each at most 255).
    let key = "MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwm4l210rNpGsgwhxujfKWwg/Ak5G0rLE+/klDzW29CpFN3sv0q34M3IaIfsuF77zipkQTPHKTzCEKWt/gz+nACB4gp+7Oq4KJdSc0/sD/7llU4/l/LDPXwRzKY4EQAQ5NDGH1x/Dn8YnBre7kg3yMoy2Mtya\" \"d3+UgGI2TMMzL0A+gb8nWODc1EHy1yr9MeHYgvDZHZGIhMSzCu26TTdSZwsH2Z4Ul09e4h74F9zs33G1W8k9oEx52HJVa4nlnHucE2JqPUviLrOGnGRU2t5SoU6eZ2Yq6Kj9wHr3BKuRFAQlsz6d7p4WJviupjJwL4k1Ag5tcc/uhgxK7CZxkGHEWwIDAQAB";
    for i in 0..n {
        let p = i % PROVIDERS;
        let d = format!("c{i}");
        z.push_str(&format!(
            "{d} MX 10 mx1.provider{p}.example.net.\n{d} MX 20 mx2.provider{p}.example.net.\n"
        ));
        z.push_str(&format!(
            "{d} TXT \"v=spf1 include:_spf.provider{p}.example.net -all\"\n"
        ));
        z.push_str(&format!(
            "_dmarc.{d} TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@{d}.example.com\"\n"
        ));
        z.push_str(&format!(
            "s1._domainkey.{d} TXT \"v=DKIM1; k=rsa; p={key}\"\n"
        ));
    }
    z
}

fn reverse_zone() -> String {
    let mut z = String::from(
        "$ORIGIN 100.51.198.in-addr.arpa.\n@ SOA ns hostmaster 1 3600 600 86400 300\n",
    );
    for h in 0..20 {
        z.push_str(&format!(
            "{} PTR o{h}.provider{}.example.net.\n",
            h + 1,
            h % PROVIDERS
        ));
    }
    z
}

fn target(i: usize) -> Target {
    let p = i % PROVIDERS;
    let h = (i % 20 / PROVIDERS) * PROVIDERS + p; // a host of the domain's provider
    let h = if h >= 20 { p } else { h };
    Target {
        domain: format!("c{i}.example.com"),
        ips: vec![format!("198.51.100.{}", h + 1).parse().expect("ip")],
        helo: Some(format!("o{h}.provider{p}.example.net")),
        mail_from: None,
        selectors: vec!["s1".into()],
    }
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn main() {
    let n = arg("--domains", 1000) as usize;
    let latency = Duration::from_millis(arg("--latency-ms", 20));
    let jobs = arg("--jobs", 500) as usize;
    let mut zones = vec![
        Zone::parse(&customer_zone(n), Path::new("customers.zone"), None).expect("customers"),
        Zone::parse(&reverse_zone(), Path::new("reverse.zone"), None).expect("reverse"),
    ];
    for k in 0..PROVIDERS {
        zones.push(
            Zone::parse(&provider_zone(k), Path::new("provider.zone"), None).expect("provider"),
        );
    }
    let srv = TestDns::start(zones);
    srv.set_latency(latency);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let config = DnsConfig {
        resolvers: vec![srv.addr],
        timeout: Duration::from_secs(5),
        attempts: 1,
        max_inflight: 1024,
        ..DnsConfig::default()
    };
    // Blocklists and the SMTP probe need the internet's lists and hosts.
    let selection = Selection {
        only: Vec::new(),
        skip: vec!["dnsbl".into(), "smtp".into()],
    };
    let options = Options {
        offline: true,
        ..Options::default()
    };

    // One domain, cold cache: the deepest provider (include chain 4 deep).
    let deep = (0..n).find(|i| i % PROVIDERS == PROVIDERS - 1).unwrap_or(0);
    let dns = Dns::new(&config).expect("dns");
    let t0 = Instant::now();
    let report = rt.block_on(mailpreflight_checks::run(
        std::sync::Arc::new(mailpreflight_checks::Ctx {
            target: target(deep),
            dns: dns.clone(),
            options: options.clone(),
        }),
        &selection,
    ));
    let single = t0.elapsed();
    // The longest dependent chain: TXT of the domain, then each include
    // level's TXT (`_spf`, `_n1`, … : 2 + k records deep), then the A of the
    // deepest record's `a:` mechanism.
    let chain = 1 + (2 + (PROVIDERS - 1)) as u32 + 1;
    let floor = latency * chain;
    let single_queries = srv.total();
    println!("single domain ({}): {:.0} ms, floor {} round trips = {:.0} ms, ratio {:.2}, {} queries, status {}",
        report.domain,
        single.as_secs_f64() * 1e3,
        chain,
        floor.as_secs_f64() * 1e3,
        single.as_secs_f64() / floor.as_secs_f64(),
        single_queries,
        report.status);
    for c in &report.checks {
        println!("  {:<6} {:<5} {:>5} ms", c.id, c.status, c.elapsed_ms);
        for f in c
            .findings
            .iter()
            .filter(|f| f.status > mailpreflight_checks::Status::Pass)
        {
            println!("      {} {}", f.code.id(), f.message);
        }
    }

    // Bulk: every domain, one shared cache.
    srv.reset_counts();
    let dns = Dns::new(&config).expect("dns");
    let t0 = Instant::now();
    let statuses = rt.block_on(async {
        let targets = futures::stream::iter((0..n).map(|i| (i, target(i))));
        let bulk = BulkOptions {
            jobs,
            ..BulkOptions::default()
        };
        let mut out = std::collections::BTreeMap::new();
        let mut s = run_stream(
            dns.clone(),
            selection.clone(),
            options.clone(),
            bulk,
            targets,
        );
        while let Some((_, r)) = s.next().await {
            *out.entry(r.status).or_insert(0usize) += 1;
        }
        out
    });
    let bulk = t0.elapsed();
    println!(
        "bulk: {n} domains in {:.2} s = {:.0} domains/s (jobs {jobs}, latency {} ms), {:.1} queries/domain, statuses {:?}",
        bulk.as_secs_f64(),
        n as f64 / bulk.as_secs_f64(),
        latency.as_millis(),
        srv.total() as f64 / n as f64,
        statuses
    );
    println!("peak memory: {} MiB", peak_rss_kib() / 1024);
}
