//! Rule packs and plugin manifests: the declarative files an operator writes, parsed strictly,
//! validated against the plugins' JSON Schemas, and merged into the ordered list of bindings a
//! tenant runs.
//!
//! The crate is pure: no wasmtime, no async. It reads files, nothing else.
//!
//! - [`manifest`]: the `<name>.json` that sits next to a plugin component (`<name>.wasm`).
//! - [`pack`]: the TOML rule pack format ([`Pack`]), its validation, and the check of its
//!   bindings against the plugins available ([`Pack::check_plugins`]).
//! - [`merge`]: baseline + tenant pack → [`EffectivePack`], the rules that make a tenant pack
//!   unable to remove or loosen a baseline rule.
//! - [`set`]: a directory of packs ([`PackSet`]), one baseline, at most one pack per tenant.
//! - [`error`]: [`PackError`] / [`PackErrors`]; every message names the file, and where it
//!   applies the binding and the field.
//!
//! Invariants:
//! - A value of [`Pack`] returned by [`Pack::parse`] / [`Pack::load`] has passed
//!   [`Pack::validate`].
//! - A [`PackSet`] only exists when every tenant's effective pack could be built, so
//!   [`PackSet::effective_for`] cannot fail.
//! - Baseline bindings always come first in an [`EffectivePack`], in baseline order, and their
//!   mode and failure mode are never weaker than the baseline pack says.

pub mod error;
mod json;
pub mod manifest;
pub mod merge;
pub mod pack;
pub mod set;

pub use error::{BindingRef, PackError, PackErrors, Where};
pub use manifest::{
    ConfigValidator, ConfigViolation, Isolation, Limits, ManifestError, PluginManifest, World,
};
pub use merge::{EffectiveBinding, EffectivePack};
pub use pack::{Binding, FailureMode, Hook, Mode, Pack, PackKind, Tighten};
pub use set::{PackSet, pack_files};

/// The pack format version this crate reads (`version = 1`).
pub const PACK_FORMAT_VERSION: u32 = 1;
