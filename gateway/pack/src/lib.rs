//! Rule packs and plugin manifests.
