//! Pack errors, written for the operator who edits the file: each names the file, and where
//! it applies the binding (by id and 1-based position) or tighten entry, and the field.
//!
//! Checks collect every problem they can find into [`PackErrors`] rather than stopping at the
//! first, so one edit-run cycle shows everything that is wrong.

use std::fmt;

/// A binding named in an error: its id and 1-based position among the pack's `[[binding]]`s.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BindingRef {
    pub id: String,
    /// 1-based: `#1` is the first `[[binding]]` of the file.
    pub index: usize,
}

impl fmt::Display for BindingRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "binding {:?} (#{})", self.id, self.index)
    }
}

/// Where in a pack file a problem is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Where {
    /// The `[[binding]]` concerned.
    pub binding: Option<BindingRef>,
    /// The `[[tighten]]` entry concerned: 1-based position and the binding id it targets.
    pub tighten: Option<(usize, String)>,
    /// The field, as a dotted path (`audit_sample`, `config.grants[0].actions[1]`).
    pub field: Option<String>,
}

impl Where {
    /// A top-level field of the pack.
    pub fn field(field: impl Into<String>) -> Where {
        Where {
            field: Some(field.into()),
            ..Where::default()
        }
    }

    /// A field of a binding.
    pub fn binding(binding: BindingRef, field: impl Into<String>) -> Where {
        Where {
            binding: Some(binding),
            field: Some(field.into()),
            ..Where::default()
        }
    }

    /// A field of a `[[tighten]]` entry.
    pub fn tighten(index: usize, binding: &str, field: impl Into<String>) -> Where {
        Where {
            tighten: Some((index, binding.to_string())),
            field: Some(field.into()),
            ..Where::default()
        }
    }
}

impl fmt::Display for Where {
    /// Renders as a prefix ending in `": "`, or nothing.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(b) = &self.binding {
            write!(f, "{b}: ")?;
        }
        if let Some((i, b)) = &self.tighten {
            write!(f, "tighten #{i} (binding {b:?}): ")?;
        }
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        Ok(())
    }
}

/// One problem with one pack file.
#[derive(Debug, thiserror::Error)]
pub enum PackError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Io {
        file: String,
        #[source]
        source: std::io::Error,
    },
    /// Not TOML, or TOML that does not fit the pack format (unknown field, wrong type, missing
    /// field). The message carries toml's line and column.
    #[error("{file}: {message}")]
    Syntax { file: String, message: String },
    /// Parsed, but breaks a rule of the format or of merging.
    #[error("{file}: {at}{message}")]
    Invalid {
        file: String,
        at: Where,
        message: String,
    },
    /// A binding names a plugin that is not loaded.
    #[error("{file}: {binding}: plugin: {plugin:?} not found in the plugin directory")]
    UnknownPlugin {
        file: String,
        binding: BindingRef,
        plugin: String,
    },
    /// A binding's config breaks the plugin's `config_schema`.
    #[error("{file}: {binding}: {path}: {message}")]
    Config {
        file: String,
        binding: BindingRef,
        /// JSON pointer inside the config (`/grants/0/actions/1`).
        pointer: String,
        /// Dotted path from the pack's point of view (`config.grants[0].actions[1]`).
        path: String,
        message: String,
    },
}

impl PackError {
    /// The file the error is about.
    pub fn file(&self) -> &str {
        match self {
            PackError::Io { file, .. }
            | PackError::Syntax { file, .. }
            | PackError::Invalid { file, .. }
            | PackError::UnknownPlugin { file, .. }
            | PackError::Config { file, .. } => file,
        }
    }

    pub(crate) fn invalid(file: &str, at: Where, message: impl Into<String>) -> PackError {
        PackError::Invalid {
            file: file.to_string(),
            at,
            message: message.into(),
        }
    }
}

/// Every problem found, one per line when displayed.
#[derive(Debug, Default, thiserror::Error)]
pub struct PackErrors(pub Vec<PackError>);

impl PackErrors {
    /// The problems, in the order found (files in name order).
    pub fn errors(&self) -> &[PackError] {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// `Ok(value)` when nothing was found, else `Err(self)`.
    pub(crate) fn into_result<T>(self, value: T) -> Result<T, PackErrors> {
        if self.0.is_empty() {
            Ok(value)
        } else {
            Err(self)
        }
    }
}

impl From<PackError> for PackErrors {
    fn from(e: PackError) -> Self {
        PackErrors(vec![e])
    }
}

impl IntoIterator for PackErrors {
    type Item = PackError;
    type IntoIter = std::vec::IntoIter<PackError>;
    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl Extend<PackError> for PackErrors {
    fn extend<I: IntoIterator<Item = PackError>>(&mut self, iter: I) {
        self.0.extend(iter);
    }
}

impl fmt::Display for PackErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}
