//! A lean model of the parts of a pod spec the GPU policies read.
//!
//! Policies sit in the admission path of every pod, so they deserialize only
//! what they look at (containers' resources and env, tolerations, node
//! selection, labels) and skip the rest of the object, managedFields included.
//! Every collection accepts `null` as empty, the way the API server does.

use std::collections::BTreeMap;
use std::fmt;

use serde::de::{self, Deserializer, IgnoredAny, Visitor};
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize, Serializer};

/// Deserializes `null` (or a missing field, with `#[serde(default)]`) as the
/// type's default.
pub fn null_as_default<'de, D, T>(deserializer: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Deserialize<'de> + Default,
{
    Ok(Option::<T>::deserialize(deserializer)?.unwrap_or_default())
}

/// Object metadata: only what messages and label checks need.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct ObjectMeta {
    /// `metadata.name` (may be empty for `generateName` objects).
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// `metadata.namespace`.
    #[serde(deserialize_with = "null_as_default")]
    pub namespace: String,
    /// `metadata.labels`.
    #[serde(deserialize_with = "null_as_default")]
    pub labels: BTreeMap<String, String>,
    /// `metadata.annotations` that inject CDI devices (keys starting with
    /// one of [`CDI_ANNOTATION_PREFIXES`]); the others are skipped unread
    /// (kubectl's last-applied-configuration copy is as large as the object).
    #[serde(deserialize_with = "cdi_annotations")]
    pub annotations: BTreeMap<String, String>,
}

/// Annotation prefixes that inject CDI devices into a pod's containers: the
/// CRI's own (`cdi.k8s.io/<name>`), and the GPU Operator's NRI plugin's
/// (`nvidia.cdi.k8s.io/container.<name>`).
pub const CDI_ANNOTATION_PREFIXES: [&str; 2] = ["cdi.k8s.io/", "nvidia.cdi.k8s.io/"];

fn cdi_annotations<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    struct Cdi;
    impl<'de> Visitor<'de> for Cdi {
        type Value = BTreeMap<String, String>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a map of annotations")
        }
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(BTreeMap::new())
        }
        fn visit_some<D2: Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_map(self)
        }
        fn visit_map<A: de::MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut out = BTreeMap::new();
            while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
                if CDI_ANNOTATION_PREFIXES.iter().any(|p| key.starts_with(p)) {
                    out.insert(key.into_owned(), map.next_value::<String>()?);
                } else {
                    map.next_value::<IgnoredAny>()?;
                }
            }
            Ok(out)
        }
    }
    deserializer.deserialize_option(Cdi)
}

/// The pod spec fields the GPU policies read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodSpec {
    /// `containers`.
    #[serde(deserialize_with = "null_as_default")]
    pub containers: Vec<Container>,
    /// `initContainers`, restartable sidecars included.
    #[serde(deserialize_with = "null_as_default")]
    pub init_containers: Vec<Container>,
    /// `ephemeralContainers` (debug containers; they cannot set resources).
    #[serde(deserialize_with = "null_as_default")]
    pub ephemeral_containers: Vec<Container>,
    /// `tolerations`.
    #[serde(deserialize_with = "null_as_default")]
    pub tolerations: Vec<Toleration>,
    /// `nodeSelector`.
    #[serde(deserialize_with = "null_as_default")]
    pub node_selector: BTreeMap<String, String>,
    /// `affinity` (only node affinity is read).
    #[serde(deserialize_with = "null_as_default")]
    pub affinity: Affinity,
    /// `runtimeClassName`.
    #[serde(deserialize_with = "null_as_default")]
    pub runtime_class_name: String,
    /// `resourceClaims`: the pod's DRA claims.
    #[serde(deserialize_with = "null_as_default")]
    pub resource_claims: Vec<PodResourceClaim>,
    /// `volumes` (only hostPath volumes are read).
    #[serde(deserialize_with = "null_as_default")]
    pub volumes: Vec<Volume>,
    /// `nodeName`: a pod that names its node skips the scheduler.
    #[serde(deserialize_with = "null_as_default")]
    pub node_name: String,
}

/// `spec.volumes[]`: its name and, for a hostPath volume, the host path.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Volume {
    /// `name`.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// `hostPath`.
    pub host_path: Option<HostPathSource>,
}

/// `hostPath`: a file or directory of the node.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct HostPathSource {
    /// `path`.
    #[serde(deserialize_with = "null_as_default")]
    pub path: String,
}

/// `volumeMounts[]`: where a volume appears in the container (its field
/// path names it; the volume's name is not kept).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct VolumeMount {
    /// `mountPath`.
    #[serde(deserialize_with = "null_as_default")]
    pub mount_path: String,
}

/// `securityContext` of a container: only `privileged` is read.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct SecurityContext {
    /// `privileged`.
    #[serde(deserialize_with = "null_as_default")]
    pub privileged: bool,
}

/// A container, init container or ephemeral container.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Container {
    /// `name`.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// `resources`.
    #[serde(deserialize_with = "null_as_default")]
    pub resources: Resources,
    /// `env`.
    #[serde(deserialize_with = "null_as_default")]
    pub env: Vec<EnvVar>,
    /// `restartPolicy`: `Always` on an init container makes it a sidecar.
    #[serde(deserialize_with = "null_as_default")]
    pub restart_policy: String,
    /// `securityContext`.
    #[serde(deserialize_with = "null_as_default")]
    pub security_context: SecurityContext,
    /// `volumeMounts`.
    #[serde(deserialize_with = "null_as_default")]
    pub volume_mounts: Vec<VolumeMount>,
    /// How many `envFrom` sources (ConfigMaps, Secrets) it has.
    #[serde(deserialize_with = "count_entries")]
    pub env_from: usize,
}

/// `resources.limits` and `resources.requests`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct Resources {
    /// `limits`.
    #[serde(deserialize_with = "null_as_default")]
    pub limits: BTreeMap<String, Quantity>,
    /// `requests`.
    #[serde(deserialize_with = "null_as_default")]
    pub requests: BTreeMap<String, Quantity>,
    /// `claims`: the pod's DRA claims this container uses.
    #[serde(deserialize_with = "null_as_default")]
    pub claims: Vec<ContainerClaim>,
}

/// `resources.claims[]`: names an entry of `spec.resourceClaims`, and
/// optionally one request of that claim.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default)]
pub struct ContainerClaim {
    /// `name`: the `spec.resourceClaims[].name` it uses.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// `request`: one request of the claim; empty means all of them.
    #[serde(deserialize_with = "null_as_default")]
    pub request: String,
}

/// `spec.resourceClaims[]`: a DRA claim of the pod, a ResourceClaim by
/// name or one made for the pod from a ResourceClaimTemplate.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct PodResourceClaim {
    /// `name`, what containers' `resources.claims[].name` refer to.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// `resourceClaimName`: an existing ResourceClaim in the namespace.
    #[serde(deserialize_with = "null_as_default")]
    pub resource_claim_name: String,
    /// `resourceClaimTemplateName`: a ResourceClaimTemplate in the namespace.
    #[serde(deserialize_with = "null_as_default")]
    pub resource_claim_template_name: String,
}

/// The DRA object a pod claim names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimObject<'a> {
    /// `resourceClaimTemplateName`: a claim is made from it for the pod.
    Template(&'a str),
    /// `resourceClaimName`: an existing claim, shared by its users.
    Claim(&'a str),
}

impl ClaimObject<'_> {
    /// Its kind, `ResourceClaimTemplate` or `ResourceClaim`.
    pub fn kind(self) -> &'static str {
        match self {
            ClaimObject::Template(_) => "ResourceClaimTemplate",
            ClaimObject::Claim(_) => "ResourceClaim",
        }
    }

    /// Its name.
    pub fn name(&self) -> &str {
        match self {
            ClaimObject::Template(n) | ClaimObject::Claim(n) => n,
        }
    }

    /// Where its claim spec sits in the object: `spec.spec` of a template,
    /// `spec` of a claim.
    pub fn spec_path(self) -> &'static str {
        match self {
            ClaimObject::Template(_) => "spec.spec",
            ClaimObject::Claim(_) => "spec",
        }
    }
}

impl PodResourceClaim {
    /// The object it names (the template when both are set, as the API
    /// server allows only one); `None` when it names neither.
    pub fn object(&self) -> Option<ClaimObject<'_>> {
        if !self.resource_claim_template_name.is_empty() {
            Some(ClaimObject::Template(&self.resource_claim_template_name))
        } else if !self.resource_claim_name.is_empty() {
            Some(ClaimObject::Claim(&self.resource_claim_name))
        } else {
            None
        }
    }

    /// The object the claim comes from, e.g. `ResourceClaimTemplate single-gpu`.
    pub fn source(&self) -> String {
        match self.object() {
            Some(o) => format!("{} {}", o.kind(), o.name()),
            None => "no ResourceClaim or ResourceClaimTemplate named".to_owned(),
        }
    }
}

/// An environment variable; only whether it has a value source matters.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct EnvVar {
    /// `name`.
    #[serde(deserialize_with = "null_as_default")]
    pub name: String,
    /// `value`, when set literally.
    pub value: Option<String>,
    /// Whether `valueFrom` is set (a ConfigMap, Secret or field reference).
    #[serde(deserialize_with = "is_present")]
    pub value_from: bool,
}

fn count_entries<'de, D: Deserializer<'de>>(deserializer: D) -> Result<usize, D::Error> {
    Ok(Option::<Vec<IgnoredAny>>::deserialize(deserializer)?.map_or(0, |v| v.len()))
}

fn is_present<'de, D: Deserializer<'de>>(deserializer: D) -> Result<bool, D::Error> {
    Ok(Option::<IgnoredAny>::deserialize(deserializer)?.is_some())
}

/// A quantity as written in the manifest. The API server sends strings, but a
/// hand-written request may carry a bare number; both are kept as text and
/// parsed by [`crate::quantity`].
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
pub struct Quantity(pub String);

impl fmt::Display for Quantity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Quantity {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct QuantityVisitor;
        impl Visitor<'_> for QuantityVisitor {
            type Value = Quantity;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a quantity string or number")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Quantity, E> {
                Ok(Quantity(v.to_owned()))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Quantity, E> {
                Ok(Quantity(v))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Quantity, E> {
                Ok(Quantity(v.to_string()))
            }
        }
        deserializer.deserialize_any(QuantityVisitor)
    }
}

/// A pod toleration. Empty strings stand for unset fields, as in Kubernetes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Toleration {
    /// `key`; empty with `Exists` matches every key.
    #[serde(deserialize_with = "null_as_default")]
    pub key: String,
    /// `operator`: `Equal` (the default when empty) or `Exists`.
    #[serde(deserialize_with = "null_as_default")]
    pub operator: String,
    /// `value`, compared by `Equal`.
    #[serde(deserialize_with = "null_as_default")]
    pub value: String,
    /// `effect`; empty matches every effect.
    #[serde(deserialize_with = "null_as_default")]
    pub effect: String,
    /// `tolerationSeconds` (NoExecute only); not used for matching.
    pub toleration_seconds: Option<i64>,
}

/// Written with its unset fields left out, as the API server stores it.
impl Serialize for Toleration {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let strings = [
            ("key", &self.key),
            ("operator", &self.operator),
            ("value", &self.value),
            ("effect", &self.effect),
        ];
        let mut map = serializer.serialize_map(None)?;
        for (name, value) in strings.iter().filter(|(_, v)| !v.is_empty()) {
            map.serialize_entry(name, value)?;
        }
        if let Some(seconds) = self.toleration_seconds {
            map.serialize_entry("tolerationSeconds", &seconds)?;
        }
        map.end()
    }
}

/// `affinity`: only the node affinity part.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Affinity {
    /// `nodeAffinity`.
    #[serde(deserialize_with = "null_as_default")]
    pub node_affinity: NodeAffinity,
}

/// `nodeAffinity`: only the required part decides where a pod may run.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeAffinity {
    /// `requiredDuringSchedulingIgnoredDuringExecution`.
    #[serde(deserialize_with = "null_as_default")]
    pub required_during_scheduling_ignored_during_execution: NodeSelector,
}

/// A node selector: its terms are ORed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeSelector {
    /// `nodeSelectorTerms`.
    #[serde(deserialize_with = "null_as_default")]
    pub node_selector_terms: Vec<NodeSelectorTerm>,
}

/// One node selector term: its expressions are ANDed.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeSelectorTerm {
    /// `matchExpressions` (on node labels; `matchFields` is not about labels).
    #[serde(deserialize_with = "null_as_default")]
    pub match_expressions: Vec<NodeSelectorRequirement>,
}

/// One `key operator values` node label requirement.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct NodeSelectorRequirement {
    /// `key`.
    #[serde(deserialize_with = "null_as_default")]
    pub key: String,
    /// `operator`: In, NotIn, Exists, DoesNotExist, Gt, Lt.
    #[serde(deserialize_with = "null_as_default")]
    pub operator: String,
    /// `values`.
    #[serde(deserialize_with = "null_as_default")]
    pub values: Vec<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    #[test]
    fn nulls_read_as_empty() {
        let spec: PodSpec = serde_json::from_str(
            r#"{"containers": null, "tolerations": null, "nodeSelector": null,
                "affinity": {"nodeAffinity": null}, "runtimeClassName": null}"#,
        )
        .unwrap();
        assert!(spec.containers.is_empty());
        assert!(spec.tolerations.is_empty());
        assert!(spec.runtime_class_name.is_empty());
    }

    #[test]
    fn only_cdi_annotations_are_kept() {
        let meta: ObjectMeta = serde_json::from_str(
            r#"{"annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{\"big\": 1}",
                "cdi.k8s.io/gpus": "nvidia.com/gpu=all", "nvidia.cdi.k8s.io/container.ctr": "nvidia.com/gpu=0",
                "odd": {"not": "a string"}, "cdi.k8s.io\/escaped": "x"}}"#,
        )
        .unwrap();
        let keys: Vec<&str> = meta.annotations.keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "cdi.k8s.io/escaped",
                "cdi.k8s.io/gpus",
                "nvidia.cdi.k8s.io/container.ctr"
            ]
        );
        let none: ObjectMeta = serde_json::from_str(r#"{"annotations": null}"#).unwrap();
        assert!(none.annotations.is_empty());
        assert!(
            serde_json::from_str::<ObjectMeta>(r#"{"annotations": {"cdi.k8s.io/x": 1}}"#).is_err()
        );
        assert!(serde_json::from_str::<ObjectMeta>(r#"{"annotations": []}"#).is_err());
    }

    #[test]
    fn device_access_fields_are_read() {
        let c: Container = serde_json::from_str(
            r#"{"name": "c", "securityContext": {"privileged": true}, "envFrom": [{"configMapRef": {"name": "a"}}, {}],
                "volumeMounts": [{"name": "v", "mountPath": "/x"}]}"#,
        )
        .unwrap();
        assert!(c.security_context.privileged);
        assert_eq!(c.env_from, 2);
        assert_eq!(c.volume_mounts[0].mount_path, "/x");
        let plain: Container = serde_json::from_str(
            r#"{"securityContext": {"privileged": null}, "envFrom": null, "volumeMounts": null}"#,
        )
        .unwrap();
        assert!(!plain.security_context.privileged);
        assert_eq!(plain.env_from, 0);
        let spec: PodSpec = serde_json::from_str(
            r#"{"volumes": [{"name": "d", "hostPath": {"path": "/dev"}}, {"name": "e", "emptyDir": {}}, {"name": "n", "hostPath": null}]}"#,
        )
        .unwrap();
        assert_eq!(spec.volumes[0].host_path.as_ref().unwrap().path, "/dev");
        assert!(spec.volumes[1].host_path.is_none());
        assert!(spec.volumes[2].host_path.is_none());
    }

    #[test]
    fn quantities_accept_strings_and_numbers_but_not_booleans() {
        let r: Resources =
            serde_json::from_str(r#"{"limits": {"a": "1", "b": 2, "c": 0.5, "d": -1}}"#).unwrap();
        let texts: Vec<&str> = r.limits.values().map(|q| q.0.as_str()).collect();
        assert_eq!(texts, ["1", "2", "0.5", "-1"]);
        assert!(serde_json::from_str::<Resources>(r#"{"limits": {"a": true}}"#).is_err());
    }

    #[test]
    fn env_value_from_is_detected() {
        let c: Container = serde_json::from_str(
            r#"{"name": "c", "env": [{"name": "A", "valueFrom": {"configMapKeyRef": {}}}, {"name": "B", "value": "x"}]}"#,
        )
        .unwrap();
        assert!(c.env[0].value_from);
        assert_eq!(c.env[1].value.as_deref(), Some("x"));
        assert!(!c.env[1].value_from);
    }

    #[test]
    fn toleration_serializes_without_empty_fields() {
        let t = Toleration {
            key: "nvidia.com/gpu".into(),
            operator: "Exists".into(),
            effect: "NoSchedule".into(),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"key":"nvidia.com/gpu","operator":"Exists","effect":"NoSchedule"}"#
        );
        let t = Toleration {
            key: "gpu".into(),
            value: "a100".into(),
            effect: "NoExecute".into(),
            toleration_seconds: Some(30),
            ..Default::default()
        };
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            r#"{"key":"gpu","value":"a100","effect":"NoExecute","tolerationSeconds":30}"#
        );
    }
}
