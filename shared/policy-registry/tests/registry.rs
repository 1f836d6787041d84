//! The registry against the tree: its names are exactly the `policies/*`
//! folders, and what it says of each policy agrees with the policy's
//! metadata.yml and with the policy's own entry points.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use gpu_policy_core::host::NoCluster;
use policy_registry::{POLICIES, get};

fn policies_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies")
}

#[test]
fn names_are_exactly_the_policy_folders() {
    let folders: BTreeSet<String> = std::fs::read_dir(policies_dir())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("Cargo.toml").is_file())
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    let names: Vec<&str> = policy_registry::names().collect();
    let unique: BTreeSet<String> = names.iter().map(|n| (*n).to_owned()).collect();
    assert_eq!(unique.len(), names.len(), "a name twice: {names:?}");
    assert_eq!(unique, folders);
    assert!(!POLICIES.is_empty());
}

#[test]
fn context_awareness_matches_metadata() {
    for policy in POLICIES {
        let path = policies_dir().join(policy.name).join("metadata.yml");
        let text =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let metadata = artifacthub_gen::Metadata::parse(&text).unwrap();
        assert_eq!(
            policy.context_aware, metadata.context_aware,
            "{}: Policy::CONTEXT_AWARE vs metadata.yml contextAware",
            policy.name
        );
        assert_eq!(
            policy.context_aware,
            !metadata.context_aware_resources.is_empty(),
            "{}: Policy::CONTEXT_AWARE vs metadata.yml contextAwareResources",
            policy.name
        );
    }
}

#[test]
fn entry_points_answer() {
    for policy in POLICIES {
        let keys = (policy.settings_keys)();
        assert!(!keys.is_empty(), "{}: no settings keys", policy.name);
        // No settings at all, as kwctl and policy-server may send them.
        for defaults in ["{}", "", "null"] {
            let answer = policy.settings_error(defaults);
            assert_eq!(answer, None, "{}: {defaults:?} refused", policy.name);
        }
        let unknown = (policy.validate_settings)(br#"{"noSuchKey": 1}"#);
        assert!(
            !unknown.valid,
            "{}: an unknown key is accepted",
            policy.name
        );
        let garbage = (policy.validate)(b"not json", &NoCluster);
        assert!(
            !garbage.accepted && garbage.code == Some(400),
            "{}",
            policy.name
        );
        assert_eq!(get(policy.name).map(|p| p.name), Some(policy.name));
    }
}
