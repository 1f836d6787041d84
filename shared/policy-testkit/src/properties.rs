//! The property suite every policy runs, written once: a policy's
//! `tests/properties.rs` describes the policy ([`Properties`]: its
//! [`PolicyInfo`], where its test data is, plausible settings values) and
//! calls [`crate::policy_properties!`], which defines the property tests:
//!
//! - `any_request_gets_a_deterministic_answer`: no request (of any kind and
//!   operation, with any settings file, whatever the cluster holds) makes the
//!   policy panic; the same input gets the same answer; a rejection has a
//!   message; a policy that does not mutate never returns a mutated object;
//! - `any_settings_get_a_clear_answer`: any settings (every key of the
//!   Settings struct, from `POLICY.settings_keys`, plus an unknown one) are
//!   valid exactly when `validate_settings` gives no message, and `validate`
//!   refuses invalid ones with code 400;
//! - with `mutating`, `mutation_satisfies_validation_and_is_idempotent`:
//!   the object mutate mode returns passes validate mode, and mutating it
//!   again changes nothing.
//!
//! Every answer goes through `POLICY.validate` with the kwctl payload; a
//! context-aware policy's lookups are answered by an
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

use crate::strategies::{any_json, cluster_object, settings_value};
use crate::{build, fixtures};

/// The key [`Properties::any_settings`] adds to the policy's own: settings
/// must refuse what they do not know.
pub const UNKNOWN_KEY: &str = "unknownKey";

/// How a mutating policy is switched between its modes: settings key `key`
/// set to `mutate` or to `validate`.
#[derive(Debug, Clone, Copy)]
pub struct Modes {
    /// The settings key (`mode`).
    pub key: &'static str,
    /// Its value in mutate mode.
    pub mutate: &'static str,
    /// Its value in validate mode.
    pub validate: &'static str,
}

/// What the property suite needs to know about a policy.
#[derive(Debug, Clone, Copy)]
pub struct Properties {
    /// The policy.
    pub policy: PolicyInfo,
    /// Its crate directory (`env!("CARGO_MANIFEST_DIR")`): settings files,
    /// metadata.yml.
    pub manifest_dir: &'static str,
    /// Plausible values of a settings key (valid and nearly valid ones);
    /// arbitrary JSON is tried too.
    pub plausible_settings: fn(&str) -> Vec<Value>,
    /// Plausible objects of a kind the policy reads (`Namespace`,
    /// `NetworkPolicy`, ...), name and namespace left out; arbitrary objects
    /// are tried too. Only read for a context-aware policy.
    pub plausible_objects: fn(&str) -> Vec<Value>,
    /// The request `any_settings_get_a_clear_answer` sends: one the policy
    /// judges (default: a pod with one `nvidia.com/gpu`).
    pub probe: fn() -> Value,
    /// How to switch a mutating policy's modes; `None` for a policy that
    /// never mutates.
    pub modes: Option<Modes>,
}

/// No plausible value: arbitrary JSON only.
pub fn no_values(_: &str) -> Vec<Value> {
    Vec::new()
}

/// A GPU pod: one container with an `nvidia.com/gpu` limit of 1.
pub fn gpu_pod() -> Value {
    build::pod_request(json!({"containers": [
        {"name": "c", "resources": {"limits": {"nvidia.com/gpu": "1"}}}]}))
}

impl Properties {
    /// The suite for `policy` (crate directory `manifest_dir`), settings
    /// drawn with `plausible_settings`.
    pub const fn new(
        policy: PolicyInfo,
        manifest_dir: &'static str,
        plausible_settings: fn(&str) -> Vec<Value>,
    ) -> Self {
        Self {
            policy,
            manifest_dir,
            plausible_settings,
            plausible_objects: no_values,
            probe: gpu_pod,
            modes: None,
        }
    }

    /// Cluster objects drawn with `plausible_objects` (context-aware policies).
    #[must_use]
    pub const fn objects(mut self, plausible_objects: fn(&str) -> Vec<Value>) -> Self {
        self.plausible_objects = plausible_objects;
        self
    }

    /// Another request for the settings property.
    #[must_use]
    pub const fn probe(mut self, probe: fn() -> Value) -> Self {
        self.probe = probe;
        self
    }

    /// A mutating policy, switched by settings key `key`.
    #[must_use]
    pub const fn modes(
        mut self,
        key: &'static str,
        mutate: &'static str,
        validate: &'static str,
    ) -> Self {
        self.modes = Some(Modes {
            key,
            mutate,
            validate,
        });
        self
    }

    /// The policy's own settings files (`valid-settings/`, `settings/`) and `{}`.
    pub fn settings_files(&self) -> Vec<Value> {
        fixtures::settings_files(self.manifest_dir, &["valid-settings", "settings"])
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
            .context_aware_resources()
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
                let values = plausible(&resource.kind);
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
        let allowed = self.resources();
        per_type
            .prop_map(move |types| ClusterState {
                allowed: allowed.clone(),
                types,
            })
            .boxed()
    }

    /// The policy's answer to `request` with `settings`, lookups answered
    /// from `cluster`.
    pub fn answer(
        &self,
        request: &Value,
        settings: &Value,
        cluster: &ClusterState,
    ) -> Result<ValidationResponse, TestCaseError> {
        policy_cases::native::validate(
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
        let checked = policy_cases::native::validate_settings(&self.policy, settings)
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
        let Some(modes) = self.modes else {
            return Err(TestCaseError::fail(
                "policy_properties!(.., mutating) needs Properties::modes",
            ));
        };
        let cluster = ClusterState::default();
        let with_mode = |mode: &str| {
            let mut settings = settings.clone();
            if let Value::Object(map) = &mut settings {
                map.insert(modes.key.to_owned(), json!(mode));
            }
            settings
        };
        let (mutate, validate) = (with_mode(modes.mutate), with_mode(modes.validate));
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

/// What a generated cluster holds for each resource type a policy may read.
#[derive(Debug, Clone, Default)]
pub struct ClusterState {
    /// The types the policy may read.
    pub allowed: Vec<ContextAwareResource>,
    /// Per type, its objects or its lookup error.
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
        cluster.allow_only(self.allowed.clone());
        for (resource, contents) in &self.types {
            let (api_version, kind) = (resource.api_version.as_str(), resource.kind.as_str());
            match contents {
                Err(host_text) => {
                    cluster.fail(kind, host_text);
                }
                Ok(objects) => {
                    for object in objects {
                        let name = object
                            .pointer("/metadata/name")
                            .and_then(Value::as_str)
                            .unwrap_or("x");
                        if kind == "Namespace" {
                            cluster.add_as(api_version, kind, None, namespace, object.clone());
                        } else {
                            cluster.add_as(
                                api_version,
                                kind,
                                Some(namespace),
                                name,
                                object.clone(),
                            );
                        }
                    }
                }
            }
        }
        cluster
    }
}
