//! Integration tests of the plugin runtime with real components built by the build
//! (`articdbm-plugin-artifacts`): containment of hostile plugins, hot reload under load,
//! packs, host capabilities, and every first-party plugin. (The CLI's tests are the gateway crate's `tests/cli`.)

mod containment;
mod fingerprint;
mod fixture;
mod host;
mod packs;
mod plugins;
mod reload;
mod reuse;
