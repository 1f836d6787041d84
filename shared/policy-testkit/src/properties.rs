//! The property suite every policy runs, written once: a policy's
//! `tests/properties.rs` describes the policy ([`Properties`]) and calls
//! [`crate::policy_properties!`], which defines the property tests (listed in
//! the crate README). Every answer goes through `POLICY.validate` with the
//! kwctl payload; a context-aware policy's lookups are answered by an
//! [`InMemoryCluster`] generated for the request's namespace from the types
//! its metadata.yml lists in `contextAwareResources` (refusing the others,
//! as policy-server does).

use std::path::Path;

use gpu_policy_core::PolicyInfo;
use policy_cases::{ContextAwareResource, InMemoryCluster, PolicyUnderTest, ValidationResponse};
use proptest::collection::vec;
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use proptest::test_runner::TestCaseError;
use serde_json::{Value, json};

use crate::build;
use crate::strategies::{Plausible, any_json, cluster_object, plausible_values, settings_value};

/// The key [`Properties::any_settings`] adds to the policy's own: settings
/// must refuse what they do not know.
pub const UNKNOWN_KEY: &str = "unknownKey";

/// No plausible value: arbitrary JSON only.
pub fn no_values(_: &str) -> Value {
    Value::Null
}

/// What the property suite needs to know about a policy; built with
/// [`Properties::new`] and the builders that follow it.
#[derive(Debug, Clone, Copy)]
pub struct Properties {
    policy: PolicyInfo,
    manifest_dir: &'static str,
    plausible_settings: Plausible,
    plausible_objects: Plausible,
    probe: fn() -> Value,
    modes: Option<(&'static str, &'static str, &'static str)>,
}

impl Properties {
    /// The suite for `policy`, whose crate directory
    /// (`env!("CARGO_MANIFEST_DIR")`) holds its settings files and
    /// metadata.yml; `plausible_settings` gives plausible values of a
    /// settings key (valid and nearly valid ones; arbitrary JSON is tried
    /// too).
    pub const fn new(
        policy: PolicyInfo,
        manifest_dir: &'static str,
        plausible_settings: Plausible,
    ) -> Self {
        Self {
            policy,
            manifest_dir,
            plausible_settings,
            plausible_objects: no_values,
            probe: || {
                build::pod_request(json!({"containers": [
                    {"name": "c", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}))
            },
            modes: None,
        }
    }

    /// Plausible objects of a kind a context-aware policy reads
    /// (`Namespace`, `NetworkPolicy`, ...), name and namespace left out;
    /// arbitrary objects are tried too.
    #[must_use]
    pub const fn objects(mut self, plausible_objects: Plausible) -> Self {
        self.plausible_objects = plausible_objects;
        self
    }

    /// The request `any_settings_get_a_clear_answer` sends, one the policy
    /// judges (default: a pod with one `nvidia.com/gpu` limit).
    #[must_use]
    pub const fn probe(mut self, probe: fn() -> Value) -> Self {
        self.probe = probe;
        self
    }

    /// A mutating policy, switched between its modes by settings key `key`
    /// set to `mutate` or to `validate`.
    #[must_use]
    pub const fn modes(
        mut self,
        key: &'static str,
        mutate: &'static str,
        validate: &'static str,
    ) -> Self {
        self.modes = Some((key, mutate, validate));
        self
    }

    /// `{}` and every `*.json` in the policy's `test_data/valid-settings/`
    /// and `test_data/settings/`, parsed, in name order. Unreadable files are
    /// skipped (the policy's own tests check them).
    pub fn settings_files(&self) -> Vec<Value> {
        let mut out = vec![json!({})];
        for folder in ["valid-settings", "settings"] {
            let dir = Path::new(self.manifest_dir).join("test_data").join(folder);
            let Ok(entries) = std::fs::read_dir(&dir) else {
                continue;
            };
            let mut paths: Vec<_> = entries
                .filter_map(Result::ok)
                .map(|e| e.path())
                .filter(|p| p.extension().is_some_and(|e| e == "json"))
                .collect();
            paths.sort();
            let parsed = paths.iter().filter_map(|path| std::fs::read(path).ok());
            out.extend(parsed.filter_map(|bytes| serde_json::from_slice(&bytes).ok()));
        }
        out
    }

    /// Settings of the policy's keys (`POLICY.settings_keys`), each absent,
    /// plausible or arbitrary, sometimes with [`UNKNOWN_KEY`].
    pub fn any_settings(&self) -> BoxedStrategy<Value> {
        let keys = (self.policy.settings_keys)();
        (
            settings_value(keys, self.plausible_settings),
            option::weighted(0.4, any_json()),
        )
            .prop_map(|(mut settings, unknown)| {
                if let (Value::Object(map), Some(value)) = (&mut settings, unknown) {
                    map.insert(UNKNOWN_KEY.to_owned(), value);
                }
                settings
            })
            .boxed()
    }

    /// The resource types the policy may read: its metadata.yml's
    /// `contextAwareResources` (none for a policy that reads nothing).
    pub fn resources(&self) -> Vec<ContextAwareResource> {
        if !self.policy.context_aware {
            return Vec::new();
        }
        PolicyUnderTest::at(Path::new(self.manifest_dir))
            .allowed_resources()
            .unwrap_or_default()
    }

    /// What the cluster holds for each type the policy may read: a few
    /// plausible or arbitrary objects, or a lookup error.
    pub fn cluster(&self) -> BoxedStrategy<ClusterState> {
        let plausible = self.plausible_objects;
        let per_type: Vec<BoxedStrategy<TypeContents>> = self
            .resources()
            .into_iter()
            .map(|resource| {
                let values = plausible_values(plausible, &resource.kind);
                let object = if values.is_empty() {
                    cluster_object()
                } else {
                    prop_oneof![3 => select(values), 1 => cluster_object()].boxed()
                };
                let failure = select(
                    &[
                        "forbidden",
                        "Cannot find the object",
                        "error trying to connect: tcp connect error",
                    ][..],
                )
                .prop_map(str::to_owned);
                let contents =
                    prop_oneof![9 => vec(object, 0..3).prop_map(Ok), 1 => failure.prop_map(Err)];
                (Just(resource), contents).boxed()
            })
            .collect();
        per_type.prop_map(|types| ClusterState { types }).boxed()
    }

    /// The policy's answer to `request` with `settings`, lookups answered
    /// from `cluster`.
    pub fn answer(
        &self,
        request: &Value,
        settings: &Value,
        cluster: &ClusterState,
    ) -> Result<ValidationResponse, TestCaseError> {
        policy_cases::native_validate(
            &self.policy,
            request,
            settings,
            &cluster.for_request(request),
        )
        .map_err(|e| TestCaseError::fail(format!("{e:#}")))
    }

    /// `any_request_gets_a_deterministic_answer` for one input.
    pub fn check_any_request(
        &self,
        request: &Value,
        settings: &Value,
        cluster: &ClusterState,
    ) -> Result<(), TestCaseError> {
        let first = self.answer(request, settings, cluster)?;
        prop_assert_eq!(&first, &self.answer(request, settings, cluster)?);
        if !first.accepted {
            prop_assert!(
                !first.message.as_deref().unwrap_or_default().is_empty(),
                "rejected without a message: {:?}",
                first
            );
        }
        if self.modes.is_none() {
            prop_assert!(first.mutated_object.is_none(), "{:?}", first);
        }
        Ok(())
    }

    /// `any_settings_get_a_clear_answer` for one input.
    pub fn check_any_settings(
        &self,
        settings: &Value,
        cluster: &ClusterState,
    ) -> Result<(), TestCaseError> {
        let checked = policy_cases::native_validate_settings(&self.policy, settings)
            .map_err(|e| TestCaseError::fail(format!("{e:#}")))?;
        prop_assert_eq!(checked.valid, checked.message.is_none());
        let response = self.answer(&(self.probe)(), settings, cluster)?;
        if !checked.valid {
            prop_assert_eq!(response.code, Some(400), "{:?}", response);
        }
        Ok(())
    }

    /// `mutation_satisfies_validation_and_is_idempotent` for one input:
    /// mutate mode adds exactly what validate mode asks for. Without a
    /// mutation both modes decide the same; with one, validate mode rejects
    /// the original, accepts the mutated object, and mutate mode leaves the
    /// mutated object as it is.
    pub fn check_mutation(&self, request: &Value, settings: &Value) -> Result<(), TestCaseError> {
        let Some((key, mutate, validate)) = self.modes else {
            return Err(TestCaseError::fail(
                "policy_properties!(.., mutating) needs Properties::modes",
            ));
        };
        let cluster = ClusterState::default();
        let with_mode = |mode: &str| {
            let mut settings = settings.clone();
            if let Value::Object(map) = &mut settings {
                map.insert(key.to_owned(), json!(mode));
            }
            settings
        };
        let (mutate, validate) = (with_mode(mutate), with_mode(validate));
        let by_mutate = self.answer(request, &mutate, &cluster)?;
        let by_validate = self.answer(request, &validate, &cluster)?;
        let Some(mutated) = by_mutate.mutated_object else {
            prop_assert_eq!(by_mutate.accepted, by_validate.accepted);
            return Ok(());
        };
        prop_assert!(by_mutate.accepted);
        prop_assert!(!by_validate.accepted);
        let mut again = request.clone();
        if let Value::Object(map) = &mut again {
            map.insert("object".to_owned(), mutated);
        }
        let revalidated = self.answer(&again, &validate, &cluster)?;
        prop_assert!(revalidated.accepted, "{:?}", revalidated);
        let remutated = self.answer(&again, &mutate, &cluster)?;
        prop_assert!(remutated.mutated_object.is_none(), "{:?}", remutated);
        prop_assert!(remutated.accepted);
        Ok(())
    }
}

/// A resource type and what the cluster holds of it: objects (any JSON), or
/// the host's error text for every lookup of the type.
pub type TypeContents = (ContextAwareResource, Result<Vec<Value>, String>);

/// What a generated cluster holds for each resource type a policy may read
/// (the types it may not read are refused).
#[derive(Debug, Clone, Default)]
pub struct ClusterState {
    pub types: Vec<TypeContents>,
}

impl ClusterState {
    /// The cluster as a request sees it: a `Namespace` object is the
    /// request's namespace (`namespace`, else the object's
    /// `metadata.namespace`), every other object is in that namespace.
    pub fn for_request(&self, request: &Value) -> InMemoryCluster {
        let text = |pointer: &str| request.pointer(pointer).and_then(Value::as_str);
        let namespace = text("/namespace")
            .filter(|ns| !ns.is_empty())
            .or_else(|| text("/object/metadata/namespace"))
            .unwrap_or_default();
        let mut cluster = InMemoryCluster::new();
        cluster.allow_only(self.types.iter().map(|(r, _)| r.clone()).collect());
        for (resource, contents) in &self.types {
            let (api_version, kind) = (resource.api_version.as_str(), resource.kind.as_str());
            match contents {
                Err(host_text) => {
                    cluster.fail(kind, host_text);
                }
                Ok(objects) => {
                    for object in objects {
                        let name = object.pointer("/metadata/name").and_then(Value::as_str);
                        let (namespace, name) = match kind {
                            "Namespace" => (None, namespace),
                            _ => (Some(namespace), name.unwrap_or("x")),
                        };
                        cluster.add_as(api_version, kind, namespace, name, object.clone());
                    }
                }
            }
        }
        cluster
    }
}
