//! Name helpers
