//! A set of packs, usually a directory of `*.toml` files: at most one baseline, at most one
//! pack per tenant, and every tenant's effective pack built up front, so looking one up on the
//! connection path cannot fail.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::PluginManifest;
use crate::error::{PackError, PackErrors, Where};
use crate::merge::EffectivePack;
use crate::pack::{Pack, PackKind};

/// The pack files [`PackSet::load`] reads in `dir`: regular `*.toml` files directly inside it,
/// dotfiles skipped, sorted by name.
pub fn pack_files(dir: impl AsRef<Path>) -> Result<Vec<PathBuf>, PackErrors> {
    let dir = dir.as_ref();
    let io = |source| {
        PackErrors::from(PackError::Io {
            file: dir.display().to_string(),
            source,
        })
    };
    let mut files: Vec<PathBuf> = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io)? {
        let path = entry.map_err(io)?.path();
        let hidden = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_none_or(|n| n.starts_with('.'));
        if !hidden && path.extension().is_some_and(|e| e == "toml") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// Validated packs and the effective pack of every tenant that has one.
#[derive(Debug, Clone, Default)]
pub struct PackSet {
    baseline: Option<Pack>,
    tenants: BTreeMap<String, Pack>,
    /// The baseline alone: what tenants without a pack run.
    base_effective: EffectivePack,
    effective: BTreeMap<String, EffectivePack>,
}

impl PackSet {
    /// Loads every `*.toml` file directly inside `dir` (not recursing; dotfiles skipped), in
    /// file-name order. All problems of all files are reported together.
    pub fn load(dir: impl AsRef<Path>) -> Result<PackSet, PackErrors> {
        Self::load_files(pack_files(dir)?)
    }

    /// Loads the given pack files (in the order given).
    pub fn load_files(
        paths: impl IntoIterator<Item = impl AsRef<Path>>,
    ) -> Result<PackSet, PackErrors> {
        let mut errs = PackErrors::default();
        let mut packs = Vec::new();
        for p in paths {
            match Pack::load(p) {
                Ok(pack) => packs.push(pack),
                Err(e) => errs.extend(e),
            }
        }
        match Self::from_packs(packs) {
            Ok(set) => errs.into_result(set),
            Err(e) => {
                errs.extend(e);
                // Stable: the problems of one file stay in the order they were found.
                errs.0.sort_by(|a, b| a.file().cmp(b.file()));
                Err(errs)
            }
        }
    }

    /// Builds a set from packs already parsed (each is validated again, cheaply, so packs
    /// built by hand get the same checks).
    pub fn from_packs(packs: impl IntoIterator<Item = Pack>) -> Result<PackSet, PackErrors> {
        let mut errs = PackErrors::default();
        let mut set = PackSet::default();
        for pack in packs {
            if let Err(e) = pack.validate() {
                errs.extend(e);
                continue;
            }
            match (pack.kind, &pack.tenant) {
                (PackKind::Baseline, _) => {
                    if let Some(first) = &set.baseline {
                        errs.0.push(PackError::invalid(
                            &pack.source,
                            Where::field("kind"),
                            format!(
                                "a second baseline pack: {} is already the baseline, and exactly one is allowed",
                                first.source
                            ),
                        ));
                    } else {
                        set.baseline = Some(pack);
                    }
                }
                (PackKind::Tenant, Some(t)) => {
                    if let Some(first) = set.tenants.get(t) {
                        errs.0.push(PackError::invalid(
                            &pack.source,
                            Where::field("tenant"),
                            format!(
                                "tenant {t:?} already has a pack ({}); a tenant has at most one pack",
                                first.source
                            ),
                        ));
                    } else {
                        set.tenants.insert(t.clone(), pack);
                    }
                }
                // validate() refused a tenant pack without a tenant.
                (PackKind::Tenant, None) => {}
            }
        }
        match EffectivePack::build(set.baseline.as_ref(), None) {
            Ok(e) => set.base_effective = e,
            Err(e) => errs.extend(e),
        }
        for (tenant, pack) in &set.tenants {
            match EffectivePack::build(set.baseline.as_ref(), Some(pack)) {
                Ok(e) => {
                    set.effective.insert(tenant.clone(), e);
                }
                Err(e) => errs.extend(e),
            }
        }
        errs.into_result(set)
    }

    /// The bindings `tenant` runs: its merged pack, or the baseline alone when it has none
    /// (empty when there is no baseline either).
    pub fn effective_for(&self, tenant: &str) -> EffectivePack {
        self.effective_ref(tenant).clone()
    }

    /// [`PackSet::effective_for`] without the clone.
    pub fn effective_ref(&self, tenant: &str) -> &EffectivePack {
        self.effective.get(tenant).unwrap_or(&self.base_effective)
    }

    /// The baseline pack, if any.
    pub fn baseline(&self) -> Option<&Pack> {
        self.baseline.as_ref()
    }

    /// The pack of `tenant`, if it has one.
    pub fn tenant_pack(&self, tenant: &str) -> Option<&Pack> {
        self.tenants.get(tenant)
    }

    /// Tenants with a pack, sorted.
    pub fn tenants(&self) -> impl Iterator<Item = &str> {
        self.tenants.keys().map(String::as_str)
    }

    /// All packs: the baseline first, then tenant packs by tenant.
    pub fn packs(&self) -> impl Iterator<Item = &Pack> {
        self.baseline.iter().chain(self.tenants.values())
    }

    /// [`Pack::check_plugins`] for every pack, all problems together.
    pub fn check_plugins<'m>(
        &self,
        lookup: impl Fn(&str) -> Option<&'m PluginManifest>,
    ) -> Result<(), PackErrors> {
        let mut errs = PackErrors::default();
        for p in self.packs() {
            if let Err(e) = p.check_plugins(&lookup) {
                errs.extend(e);
            }
        }
        errs.into_result(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    const BASE: &str = "version = 1\nname = \"default\"\nkind = \"baseline\"\n[[binding]]\nid = \"sqli\"\nplugin = \"sqli-guard\"\n";

    fn tenant(t: &str, body: &str) -> String {
        format!("version = 1\nname = \"{t}\"\nkind = \"tenant\"\ntenant = \"{t}\"\n{body}")
    }

    #[test]
    fn loads_directory() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join("default.toml"), BASE).unwrap();
        fs::write(
            dir.path().join("acme.toml"),
            tenant("acme", "[[binding]]\nplugin = \"acl\"\n"),
        )
        .unwrap();
        fs::write(dir.path().join("notes.md"), "not a pack").unwrap();
        fs::write(dir.path().join(".swap.toml"), "garbage =").unwrap();
        fs::create_dir(dir.path().join("sub.toml")).unwrap();
        let set = PackSet::load(dir.path()).unwrap();
        assert_eq!(set.tenants().collect::<Vec<_>>(), ["acme"]);
        assert_eq!(set.packs().count(), 2);
        let ids = |e: EffectivePack| e.bindings.into_iter().map(|b| b.id).collect::<Vec<_>>();
        assert_eq!(ids(set.effective_for("acme")), ["sqli", "acl"]);
        assert_eq!(ids(set.effective_for("globex")), ["sqli"]);
        assert!(set.baseline().is_some());
        assert!(set.tenant_pack("acme").is_some());
    }

    #[test]
    fn empty_set_runs_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let set = PackSet::load(dir.path()).unwrap();
        assert!(set.effective_for("x").bindings.is_empty());
        assert!(set.check_plugins(|_| None).is_ok());
    }

    #[test]
    fn missing_directory() {
        let e = PackSet::load("/nonexistent/packs").unwrap_err().to_string();
        assert!(e.starts_with("/nonexistent/packs: cannot read: "), "{e}");
    }

    #[test]
    fn collects_errors_across_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path();
        fs::write(d.join("a-base.toml"), BASE).unwrap();
        fs::write(d.join("b-base.toml"), BASE).unwrap();
        fs::write(d.join("c.toml"), tenant("acme", "")).unwrap();
        fs::write(d.join("d.toml"), tenant("acme", "")).unwrap();
        fs::write(d.join("e.toml"), "version = ").unwrap();
        fs::write(
            d.join("f.toml"),
            tenant("globex", "[[binding]]\nplugin = \"sqli\"\n"),
        )
        .unwrap();
        fs::write(d.join("g.toml"), tenant("initech", "audit_sample = 2.0\n")).unwrap();
        let e = PackSet::load(d).unwrap_err();
        let files: Vec<String> = e
            .errors()
            .iter()
            .map(|e| {
                Path::new(e.file())
                    .file_name()
                    .unwrap()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        assert_eq!(
            files,
            ["b-base.toml", "d.toml", "e.toml", "f.toml", "g.toml"],
            "{e}"
        );
        let text = e.to_string();
        assert!(
            text.contains("b-base.toml: kind: a second baseline pack: "),
            "{text}"
        );
        assert!(text.contains("a-base.toml is already the baseline, and exactly one is allowed"));
        assert!(text.contains("d.toml: tenant: tenant \"acme\" already has a pack ("));
        assert!(text.contains("f.toml: binding \"sqli\" (#1): id: \"sqli\" is already a binding"));
        assert!(text.contains("TOML parse error at line 1"));
        assert_eq!(e.len(), 5);
    }

    #[test]
    fn check_plugins_covers_all_packs() {
        let base = Pack::parse(BASE, "base.toml").unwrap();
        let t = Pack::parse(
            &tenant("acme", "[[binding]]\nplugin = \"acl\"\n"),
            "acme.toml",
        )
        .unwrap();
        let set = PackSet::from_packs([base, t]).unwrap();
        let m = PluginManifest::default_for("sqli-guard");
        let e = set
            .check_plugins(|n| (n == "sqli-guard").then_some(&m))
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "acme.toml: binding \"acl\" (#1): plugin: \"acl\" not found in the plugin directory"
        );
    }
}
