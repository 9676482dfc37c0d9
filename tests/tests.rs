//! The one integration-test binary: the built CLI and the engine against a
//! real DNS server on loopback. Nothing here reaches the internet.

mod bulk;
mod cli;
mod dkim;
mod dmarc;
mod dns;
mod dnsbl;
mod gate;
mod path;
mod smtp;
mod spf;
mod support;
