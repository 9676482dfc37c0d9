//! The one integration-test binary: the built CLI and the engine against a
//! real DNS server on loopback. Nothing here reaches the internet.

mod bulk;
mod cli;
mod dns;
mod explain;
mod path;
mod support;
