//! Baseline + tenant pack → the ordered bindings one tenant runs.
//!
//! Rules (a tenant pack can add and tighten, never remove or loosen):
//! - Baseline bindings come first, in baseline order, with mode = the binding's `mode` or else
//!   the baseline pack's, and the binding's failure mode.
//! - `[[tighten]]` entries of the tenant pack can only raise a baseline binding to
//!   `enforce` / `closed`; they name an existing baseline binding id.
//! - Tenant bindings follow, in tenant order; mode = the binding's `mode` or else the tenant
//!   pack's. So a tenant pack in monitor mode makes its own bindings monitor, never baseline
//!   ones.
//! - A tenant binding cannot reuse a baseline binding id (that would read as replacing it).
//! - `audit_sample` is the larger of the two packs': a tenant can audit more, not less.
//! - `local_infile` (MySQL `LOAD DATA LOCAL INFILE`) is off unless a pack allows it: the
//!   tenant pack's word, else the baseline's; a tenant pack cannot allow what the baseline
//!   denies.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::Value;

use crate::error::{PackError, PackErrors, Where};
use crate::pack::{Binding, FailureMode, Hook, LocalInfile, Mode, Pack, PackKind};

/// The bindings one tenant runs, in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EffectivePack {
    pub bindings: Vec<EffectiveBinding>,
    /// Fraction of allowed queries to audit.
    pub audit_sample: f64,
    /// Whether MySQL clients may send files with `LOAD DATA LOCAL INFILE`.
    pub local_infile: bool,
}

/// One binding as it runs: pack defaults applied, tightening applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EffectiveBinding {
    pub id: String,
    pub plugin: String,
    /// Version pin, if the binding has one.
    pub version: Option<String>,
    pub mode: Mode,
    pub failure: FailureMode,
    pub hooks: Vec<Hook>,
    pub config: Value,
    /// `config` serialized once, as handed to the plugin's `configure`.
    #[serde(skip)]
    pub config_json: String,
    /// The pack file the binding comes from.
    pub source: String,
}

impl EffectiveBinding {
    fn new(b: &Binding, pack: &Pack) -> EffectiveBinding {
        EffectiveBinding {
            id: b.id.clone(),
            plugin: b.plugin.clone(),
            version: b.version.clone(),
            mode: b.mode.unwrap_or(pack.mode),
            failure: b.failure,
            hooks: b.hooks.clone(),
            config_json: b.config.to_string(),
            config: b.config.clone(),
            source: pack.source.clone(),
        }
    }
}

impl EffectivePack {
    /// Merges a baseline and a tenant pack (either may be absent). Both are expected to have
    /// passed [`Pack::validate`]; whatever they say, the result never runs a baseline binding
    /// more loosely than the baseline does.
    pub fn build(
        baseline: Option<&Pack>,
        tenant: Option<&Pack>,
    ) -> Result<EffectivePack, PackErrors> {
        let mut errs = PackErrors::default();
        if let Some(b) = baseline
            && b.kind != PackKind::Baseline
        {
            errs.0.push(PackError::invalid(
                &b.source,
                Where::field("kind"),
                "used as the baseline but it is a tenant pack",
            ));
        }
        if let Some(t) = tenant
            && t.kind != PackKind::Tenant
        {
            errs.0.push(PackError::invalid(
                &t.source,
                Where::field("kind"),
                "used as a tenant pack but it is a baseline pack",
            ));
        }

        let mut out = EffectivePack::default();
        let mut by_id: HashMap<&str, usize> = HashMap::new();
        if let Some(base) = baseline {
            for b in &base.bindings {
                by_id.insert(&b.id, out.bindings.len());
                out.bindings.push(EffectiveBinding::new(b, base));
            }
            out.audit_sample = base.audit_sample;
            out.local_infile = base.local_infile == Some(LocalInfile::Allow);
        }
        let Some(ten) = tenant else {
            return errs.into_result(out);
        };

        for (i, t) in ten.tighten.iter().enumerate() {
            let Some(&at) = by_id.get(t.binding.as_str()) else {
                let message = match baseline {
                    None => "there is no baseline pack, so there is nothing to tighten".to_string(),
                    Some(base) => format!(
                        "no binding of the baseline pack {} has this id (its bindings: {})",
                        base.source,
                        list_ids(base)
                    ),
                };
                errs.0.push(PackError::invalid(
                    &ten.source,
                    Where::tighten(i + 1, &t.binding, "binding"),
                    message,
                ));
                continue;
            };
            let eb = &mut out.bindings[at];
            // Only ever towards stricter: a loosening value was refused by validate() and is
            // ignored here, so an unvalidated pack still cannot weaken the baseline.
            if t.mode == Some(Mode::Enforce) {
                eb.mode = Mode::Enforce;
            }
            if t.failure == Some(FailureMode::Closed) {
                eb.failure = FailureMode::Closed;
            }
        }

        for (i, b) in ten.bindings.iter().enumerate() {
            if by_id.contains_key(b.id.as_str()) {
                let base_file = baseline.map(|p| p.source.as_str()).unwrap_or_default();
                let implicit = if b.id == b.plugin {
                    " (a binding's id defaults to its plugin name)"
                } else {
                    ""
                };
                errs.0.push(PackError::invalid(
                    &ten.source,
                    Where::binding(ten.binding_ref(i), "id"),
                    format!(
                        "{:?} is already a binding of the baseline pack {base_file}{implicit}; a tenant pack cannot replace or loosen baseline rules: give this binding a new `id` to add a second one, or use [[tighten]] to make the baseline one stricter",
                        b.id
                    ),
                ));
                continue;
            }
            out.bindings.push(EffectiveBinding::new(b, ten));
        }
        if ten.audit_sample > out.audit_sample {
            out.audit_sample = ten.audit_sample;
        }
        match (baseline.and_then(|b| b.local_infile), ten.local_infile) {
            (Some(LocalInfile::Deny), Some(LocalInfile::Allow)) => {
                errs.0.push(PackError::invalid(
                    &ten.source,
                    Where::field("local_infile"),
                    format!(
                        "the baseline pack {} denies LOCAL INFILE; a tenant pack cannot allow it",
                        baseline.map(|b| b.source.as_str()).unwrap_or_default()
                    ),
                ));
            }
            (_, Some(t)) => out.local_infile = t == LocalInfile::Allow,
            (_, None) => {}
        }
        errs.into_result(out)
    }
}

fn list_ids(p: &Pack) -> String {
    if p.bindings.is_empty() {
        return "none".to_string();
    }
    p.bindings
        .iter()
        .map(|b| format!("{:?}", b.id))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn baseline(extra: &str) -> Pack {
        Pack::parse(
            &format!(
                "version = 1\nname = \"default\"\nkind = \"baseline\"\n{extra}\n\
                 [[binding]]\nid = \"sqli\"\nplugin = \"sqli-guard\"\n\
                 [[binding]]\nid = \"watch\"\nplugin = \"echo\"\nmode = \"monitor\"\nfailure = \"open\"\nhooks = [\"query\"]\n"
            ),
            "base.toml",
        )
        .unwrap()
    }

    fn tenant(body: &str) -> Pack {
        Pack::parse(
            &format!("version = 1\nname = \"acme\"\nkind = \"tenant\"\ntenant = \"acme\"\n{body}"),
            "acme.toml",
        )
        .unwrap()
    }

    fn summary(e: &EffectivePack) -> Vec<(String, Mode, FailureMode, String)> {
        e.bindings
            .iter()
            .map(|b| (b.id.clone(), b.mode, b.failure, b.source.clone()))
            .collect()
    }

    fn row(id: &str, m: Mode, f: FailureMode, src: &str) -> (String, Mode, FailureMode, String) {
        (id.to_string(), m, f, src.to_string())
    }

    use FailureMode::{Closed, Open};
    use Mode::{Enforce, Monitor};

    #[test]
    fn baseline_only() {
        let e = EffectivePack::build(Some(&baseline("")), None).unwrap();
        assert_eq!(
            summary(&e),
            [
                row("sqli", Enforce, Closed, "base.toml"),
                row("watch", Monitor, Open, "base.toml")
            ]
        );
        assert_eq!(e.bindings[1].hooks, [Hook::Query]);
        assert_eq!(e.bindings[0].config_json, "{}");
    }

    #[test]
    fn baseline_pack_mode_applies_unless_binding_overrides() {
        let base = Pack::parse(
            "version = 1\nname = \"d\"\nkind = \"baseline\"\nmode = \"monitor\"\n\
             [[binding]]\nplugin = \"a\"\n[[binding]]\nplugin = \"b\"\nmode = \"enforce\"\n",
            "b.toml",
        )
        .unwrap();
        let e = EffectivePack::build(Some(&base), None).unwrap();
        assert_eq!(
            summary(&e),
            [
                row("a", Monitor, Closed, "b.toml"),
                row("b", Enforce, Closed, "b.toml")
            ]
        );
    }

    #[test]
    fn tenant_bindings_follow_baseline() {
        let t = tenant(
            "audit_sample = 0.25\n[[binding]]\nplugin = \"acl\"\nconfig = { x = 1 }\n\
             [[binding]]\nplugin = \"network\"\nfailure = \"open\"\n",
        );
        let e = EffectivePack::build(Some(&baseline("audit_sample = 0.1")), Some(&t)).unwrap();
        assert_eq!(
            summary(&e),
            [
                row("sqli", Enforce, Closed, "base.toml"),
                row("watch", Monitor, Open, "base.toml"),
                row("acl", Enforce, Closed, "acme.toml"),
                row("network", Enforce, Open, "acme.toml"),
            ]
        );
        assert_eq!(e.bindings[2].config, json!({"x": 1}));
        assert_eq!(e.bindings[2].config_json, r#"{"x":1}"#);
        assert_eq!(e.audit_sample, 0.25);
    }

    #[test]
    fn tenant_cannot_lower_audit_sample() {
        let t = tenant("audit_sample = 0.0\n");
        let e = EffectivePack::build(Some(&baseline("audit_sample = 0.5")), Some(&t)).unwrap();
        assert_eq!(e.audit_sample, 0.5);
    }

    #[test]
    fn local_infile_is_off_unless_a_pack_allows_it_and_a_baseline_deny_holds() {
        let build = |b: &str, t: Option<&str>| {
            EffectivePack::build(Some(&baseline(b)), t.map(tenant).as_ref())
        };
        assert!(!build("", None).unwrap().local_infile);
        assert!(!build("", Some("")).unwrap().local_infile);
        assert!(
            build("", Some("local_infile = \"allow\"\n"))
                .unwrap()
                .local_infile
        );
        assert!(
            build("local_infile = \"allow\"", None)
                .unwrap()
                .local_infile
        );
        assert!(
            build("local_infile = \"allow\"", Some(""))
                .unwrap()
                .local_infile
        );
        // A tenant may turn off what the baseline allows, not on what it denies.
        assert!(
            !build(
                "local_infile = \"allow\"",
                Some("local_infile = \"deny\"\n")
            )
            .unwrap()
            .local_infile
        );
        let e = build(
            "local_infile = \"deny\"",
            Some("local_infile = \"allow\"\n"),
        )
        .unwrap_err();
        assert!(e.to_string().contains("cannot allow it"), "{e}");
        assert!(e.to_string().contains("local_infile"), "{e}");
        // Anything else is refused by name.
        let bad = Pack::parse(
            "version = 1\nname = \"t\"\nkind = \"tenant\"\ntenant = \"acme\"\nlocal_infile = true\n",
            "t.toml",
        )
        .unwrap_err();
        assert!(bad.to_string().contains("local_infile"), "{bad}");
    }

    #[test]
    fn tenant_monitor_mode_only_affects_its_own_bindings() {
        let t = tenant(
            "mode = \"monitor\"\n[[binding]]\nplugin = \"acl\"\n\
             [[binding]]\nplugin = \"network\"\nmode = \"enforce\"\n",
        );
        let e = EffectivePack::build(Some(&baseline("")), Some(&t)).unwrap();
        assert_eq!(
            summary(&e),
            [
                row("sqli", Enforce, Closed, "base.toml"),
                row("watch", Monitor, Open, "base.toml"),
                row("acl", Monitor, Closed, "acme.toml"),
                row("network", Enforce, Closed, "acme.toml"),
            ]
        );
    }

    #[test]
    fn tighten_raises_baseline_binding() {
        let t =
            tenant("[[tighten]]\nbinding = \"watch\"\nmode = \"enforce\"\nfailure = \"closed\"\n");
        let e = EffectivePack::build(Some(&baseline("")), Some(&t)).unwrap();
        assert_eq!(e.bindings[1].mode, Enforce);
        assert_eq!(e.bindings[1].failure, Closed);
        assert_eq!(e.bindings[1].source, "base.toml");
        let t = tenant("[[tighten]]\nbinding = \"watch\"\nfailure = \"closed\"\n");
        let e = EffectivePack::build(Some(&baseline("")), Some(&t)).unwrap();
        assert_eq!(
            (e.bindings[1].mode, e.bindings[1].failure),
            (Monitor, Closed)
        );
    }

    #[test]
    fn unvalidated_loosening_tighten_is_ignored() {
        let mut t = tenant("");
        t.tighten.push(crate::Tighten {
            binding: "sqli".into(),
            mode: Some(Monitor),
            failure: Some(Open),
        });
        let e = EffectivePack::build(Some(&baseline("")), Some(&t)).unwrap();
        assert_eq!(
            (e.bindings[0].mode, e.bindings[0].failure),
            (Enforce, Closed)
        );
    }

    #[test]
    fn tighten_unknown_binding() {
        let t = tenant("[[tighten]]\nbinding = \"nope\"\nmode = \"enforce\"\n");
        let e = EffectivePack::build(Some(&baseline("")), Some(&t)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "acme.toml: tighten #1 (binding \"nope\"): binding: no binding of the baseline pack base.toml has this id (its bindings: \"sqli\", \"watch\")"
        );
        let e = EffectivePack::build(None, Some(&t)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "acme.toml: tighten #1 (binding \"nope\"): binding: there is no baseline pack, so there is nothing to tighten"
        );
    }

    #[test]
    fn tenant_cannot_reuse_baseline_id() {
        let t = tenant(
            "[[binding]]\nplugin = \"sqli\"\nconfig = { off = true }\n\
             [[binding]]\nid = \"watch\"\nplugin = \"other\"\n[[binding]]\nid = \"ok\"\nplugin = \"echo\"\n",
        );
        let e = EffectivePack::build(Some(&baseline("")), Some(&t)).unwrap_err();
        let lines: Vec<String> = e.to_string().lines().map(String::from).collect();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            lines[0],
            "acme.toml: binding \"sqli\" (#1): id: \"sqli\" is already a binding of the baseline pack base.toml (a binding's id defaults to its plugin name); a tenant pack cannot replace or loosen baseline rules: give this binding a new `id` to add a second one, or use [[tighten]] to make the baseline one stricter"
        );
        assert!(lines[1].starts_with("acme.toml: binding \"watch\" (#2): id: \"watch\" is already a binding of the baseline pack base.toml; "));
    }

    #[test]
    fn tenant_without_baseline() {
        let t = tenant("[[binding]]\nplugin = \"acl\"\n");
        let e = EffectivePack::build(None, Some(&t)).unwrap();
        assert_eq!(summary(&e), [row("acl", Enforce, Closed, "acme.toml")]);
        assert_eq!(
            EffectivePack::build(None, None).unwrap(),
            EffectivePack::default()
        );
    }

    #[test]
    fn kinds_must_match_roles() {
        let base = baseline("");
        let t = tenant("");
        let e = EffectivePack::build(Some(&t), Some(&base)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "acme.toml: kind: used as the baseline but it is a tenant pack\n\
             base.toml: kind: used as a tenant pack but it is a baseline pack"
        );
    }
}
