//! The fuzz targets' bodies and what they share: every policy of the
//! registry (`policy_registry::POLICIES`) through its native `validate` and
//! `validate_settings`, a structured request model built from fuzz bytes
//! (`arbitrary`: every workload kind, the DRA objects, pods' DRA claims
//! and the CEL selectors the policies read), and the in-memory cluster that answers the context-aware
//! policies' lookups (`policy_cases::InMemoryCluster`).
//!
//! Each target in `fuzz_targets/` calls one body here, for every policy: a
//! new policy is fuzzed without a change to this crate. The bodies are a
//! library so that `make lint` compiles them on the stable toolchain and the
//! unit tests below run each one on the bad-input seeds.
//!
//! A target fails (a "crash") on a panic anywhere in a policy, on an answer
//! that cannot be serialized, on an answer that is not deterministic, on a
//! rejection without a message, on `validate` accepting settings that
//! `validate_settings` refuses, and on the invariants of a mutate mode.

// A panic is how a target reports a finding.
#![allow(clippy::panic)]

use std::sync::OnceLock;

use arbitrary::Arbitrary;
use gpu_policy_core::dra::{DRA_API_VERSION, DraKind};
use gpu_policy_core::{KubernetesHost, PolicyInfo, WorkloadKind};
use policy_cases::InMemoryCluster;
use policy_testkit::{build, strategies};
use serde_json::{Map, Value, json};

pub use policy_registry::POLICIES;

/// `value[key]` without the panicking index: `null` when absent.
fn field<'a>(value: &'a Value, key: &str) -> &'a Value {
    value.get(key).unwrap_or(&Value::Null)
}

/// `policy`'s `validate` on `payload`, serialized as the wasm export
/// serializes it; panics (a finding) when it cannot be.
fn validate_bytes(policy: &PolicyInfo, payload: &[u8], cluster: &dyn KubernetesHost) -> Vec<u8> {
    match serde_json::to_vec(&(policy.validate)(payload, cluster)) {
        Ok(bytes) => bytes,
        Err(e) => panic!("{}: the answer cannot be serialized: {e}", policy.name),
    }
}

/// `validate` twice; the answers must be equal and readable, and a
/// rejection must say why. The answer as JSON.
pub fn validate_checked(
    policy: &PolicyInfo,
    payload: &[u8],
    cluster: &dyn KubernetesHost,
) -> Value {
    let name = policy.name;
    let first = validate_bytes(policy, payload, cluster);
    let second = validate_bytes(policy, payload, cluster);
    assert!(
        first == second,
        "{name}: two answers to the same input differ"
    );
    let answer: Value = match serde_json::from_slice(&first) {
        Ok(v) => v,
        Err(e) => panic!("{name}: the answer is not JSON: {e}"),
    };
    if field(&answer, "accepted") == &json!(false) {
        let message = field(&answer, "message").as_str().unwrap_or_default();
        assert!(!message.is_empty(), "{name}: a rejection without a message");
    }
    answer
}

/// `policy`'s `validate_settings`; the answer as JSON. Invalid settings
/// must say why.
pub fn validate_settings(policy: &PolicyInfo, payload: &[u8]) -> Value {
    let name = policy.name;
    let answer = match serde_json::to_value((policy.validate_settings)(payload)) {
        Ok(v) => v,
        Err(e) => panic!("{name}: the settings answer cannot be serialized: {e}"),
    };
    if field(&answer, "valid") == &json!(false) {
        let message = field(&answer, "message").as_str().unwrap_or_default();
        assert!(
            !message.is_empty(),
            "{name}: invalid settings without a message"
        );
    }
    answer
}

/// The settings keys fuzzed for `policy`: its own (from its Settings
/// struct) and one unknown key.
pub fn settings_keys(policy: &PolicyInfo) -> Vec<&'static str> {
    let mut keys = (policy.settings_keys)().to_vec();
    keys.push("unknownKey");
    keys
}

/// The policies with a `mode` setting that takes `validate` and `mutate`:
/// the ones whose mutate-mode invariants `mutate_structured` checks.
pub fn mode_policies() -> &'static [&'static PolicyInfo] {
    static MODE: OnceLock<Vec<&'static PolicyInfo>> = OnceLock::new();
    MODE.get_or_init(|| {
        POLICIES
            .iter()
            .filter(|p| {
                ["validate", "mutate"].iter().all(|mode| {
                    (p.validate_settings)(json!({ "mode": mode }).to_string().as_bytes()).valid
                })
            })
            .collect()
    })
}

// ---------------------------------------------------------------------------
// The in-memory cluster.

const NAMESPACE_LABEL: &str = "gpu-workload-type";

fn namespace(name: &str, labels: Value) -> Value {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}})
}

fn namespaced(api_version: &str, kind: &str, name: &str, namespace: &str, spec: Value) -> Value {
    json!({"apiVersion": api_version, "kind": kind,
           "metadata": {"name": name, "namespace": namespace}, "spec": spec})
}

/// `ml` and `ml-training` labelled as training namespaces, each with a
/// default-deny NetworkPolicy and a GPU quota.
pub fn standard_cluster() -> InMemoryCluster {
    let mut cluster = InMemoryCluster::new();
    for name in ["ml", "ml-training"] {
        cluster
            .add(namespace(name, json!({ NAMESPACE_LABEL: "training" })))
            .add(namespaced(
                "networking.k8s.io/v1",
                "NetworkPolicy",
                "default-deny",
                name,
                json!({"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}),
            ))
            .add(namespaced(
                "v1",
                "ResourceQuota",
                "gpu",
                name,
                json!({"hard": {"requests.nvidia.com/gpu": "8"}}),
            ));
    }
    cluster
}

/// A cluster from fuzz bytes: the request's namespace with fuzzed labels
/// (or absent), NetworkPolicies and ResourceQuotas with fuzzed specs or as
/// any JSON (or every list of them forbidden), the ResourceClaims and
/// ResourceClaimTemplates a pod's claims name (or every one forbidden), or
/// the standard cluster.
#[derive(Debug, Clone, Arbitrary)]
pub struct ClusterM {
    pub namespace_labels: Option<Vec<(Text, Text)>>,
    pub network_policies: Option<Vec<Junk>>,
    pub quotas: Option<Vec<Junk>>,
    pub claims: Option<Vec<ClusterClaimM>>,
    pub standard: bool,
}

/// A claim object the cluster holds: a template or a claim, named by
/// [`claim_name`], with a fuzzed claim spec or any JSON.
#[derive(Debug, Clone, Arbitrary)]
pub struct ClusterClaimM {
    pub name: u8,
    pub template: bool,
    pub spec: Result<ClaimSpecM, Junk>,
}

impl ClusterM {
    pub fn cluster(&self, ns: &str) -> InMemoryCluster {
        if self.standard {
            return standard_cluster();
        }
        let mut cluster = InMemoryCluster::new();
        if let Some(labels) = &self.namespace_labels {
            cluster.add(namespace(ns, text_map(labels)));
        }
        for (api_version, kind, items) in [
            (
                "networking.k8s.io/v1",
                "NetworkPolicy",
                &self.network_policies,
            ),
            ("v1", "ResourceQuota", &self.quotas),
        ] {
            Self::add_items(&mut cluster, ns, api_version, kind, items);
        }
        match &self.claims {
            None => {
                for kind in [DraKind::ResourceClaim, DraKind::ResourceClaimTemplate] {
                    cluster.fail(kind.name(), &format!("{} is forbidden", kind.name()));
                }
            }
            Some(claims) => {
                for c in claims {
                    let (kind, spec) = match &c.spec {
                        Ok(spec) if c.template => (
                            DraKind::ResourceClaimTemplate,
                            json!({"spec": spec.value()}),
                        ),
                        Ok(spec) => (DraKind::ResourceClaim, spec.value()),
                        Err(junk) => (
                            if c.template {
                                DraKind::ResourceClaimTemplate
                            } else {
                                DraKind::ResourceClaim
                            },
                            junk.value(),
                        ),
                    };
                    let name = claim_name(c.name);
                    cluster.add(namespaced(DRA_API_VERSION, kind.name(), name, ns, spec));
                }
            }
        }
        cluster
    }

    /// `items` as `kind` objects in `ns`, or every list of `kind` forbidden.
    fn add_items(
        cluster: &mut InMemoryCluster,
        ns: &str,
        api_version: &str,
        kind: &str,
        items: &Option<Vec<Junk>>,
    ) {
        let Some(items) = items else {
            cluster.fail(kind, &format!("{kind} is forbidden"));
            return;
        };
        for (i, junk) in items.iter().enumerate() {
            let name = format!("o{i}");
            match junk {
                // A readable object with a fuzzed spec...
                Junk::Obj(_) => {
                    cluster.add(namespaced(api_version, kind, &name, ns, junk.value()));
                }
                // ...or any JSON at all, as a broken host might answer.
                _ => {
                    cluster.add_as(api_version, kind, Some(ns), &name, junk.value());
                }
            }
        }
    }
}

/// The names pods' claims and the cluster's claim objects share, so that
/// lookups find something.
const CLAIM_NAMES: &[&str] = &["gpu", "mig-devices", "nic", "missing"];

fn claim_name(i: u8) -> &'static str {
    CLAIM_NAMES
        .get(usize::from(i) % CLAIM_NAMES.len())
        .copied()
        .unwrap_or("gpu")
}

// ---------------------------------------------------------------------------
// The DRA model: claim specs, CEL selectors, DeviceClasses, pods' claims.

/// A CEL selector: one of the comparison forms the policies read, with
/// fuzzed values, combined, or any text.
#[derive(Debug, Clone, Arbitrary)]
pub enum CelM {
    /// `device.attributes[<quote>gpu.nvidia.com<quote>].<attribute> == '<v>'`
    /// (`attribute`: profile, productName or another), maybe reversed.
    Equals {
        attribute: u8,
        double_quotes: bool,
        reversed: bool,
        value: Text,
    },
    /// `... .profile in ['<v>', ...]`.
    In {
        attribute: u8,
        values: Vec<Text>,
    },
    /// `a && b`, `a || b`, `!(a)`.
    And(Vec<CelM>),
    Or(Vec<CelM>),
    Not(Box<CelM>),
    /// `device.driver == '<v>'`.
    Driver(Text),
    /// Anything.
    Raw(Text),
}

const CEL_ATTRIBUTES: &[&str] = &["profile", "productName", "type", "uuid", "parentUUID"];

impl CelM {
    pub fn expression(&self) -> String {
        let attribute = |i: &u8| {
            CEL_ATTRIBUTES
                .get(usize::from(*i) % CEL_ATTRIBUTES.len())
                .copied()
                .unwrap_or("profile")
        };
        match self {
            CelM::Equals {
                attribute: a,
                double_quotes,
                reversed,
                value,
            } => {
                let q = if *double_quotes { '"' } else { '\'' };
                let lhs = format!("device.attributes[{q}gpu.nvidia.com{q}].{}", attribute(a));
                let rhs = format!("{q}{}{q}", value.get());
                if *reversed {
                    format!("{rhs} == {lhs}")
                } else {
                    format!("{lhs} == {rhs}")
                }
            }
            CelM::In {
                attribute: a,
                values,
            } => {
                let values: Vec<String> = values.iter().map(|v| format!("'{}'", v.get())).collect();
                format!(
                    "device.attributes['gpu.nvidia.com'].{} in [{}]",
                    attribute(a),
                    values.join(", ")
                )
            }
            CelM::And(parts) => join(parts, " && "),
            CelM::Or(parts) => join(parts, " || "),
            CelM::Not(inner) => format!("!({})", inner.expression()),
            CelM::Driver(driver) => format!("device.driver == '{}'", driver.get()),
            CelM::Raw(text) => text.get(),
        }
    }
}

fn join(parts: &[CelM], separator: &str) -> String {
    let parts: Vec<String> = parts.iter().map(CelM::expression).collect();
    parts.join(separator)
}

/// One `exactly` or `firstAvailable` entry of a device request.
#[derive(Debug, Clone, Arbitrary)]
pub struct ExactM {
    pub name: Option<Text>,
    pub device_class: Option<Text>,
    pub allocation_mode: Option<Text>,
    pub count: Option<Qty>,
    pub selectors: Option<Vec<Option<CelM>>>,
    pub admin_access: Option<Junk>,
}

impl ExactM {
    fn value(&self) -> Value {
        let mut e = text_fields(&[
            ("name", &self.name),
            ("deviceClassName", &self.device_class),
            ("allocationMode", &self.allocation_mode),
        ]);
        if let Some(count) = &self.count {
            e.insert("count".into(), count.value());
        }
        if let Some(selectors) = &self.selectors {
            let selectors = selectors
                .iter()
                .map(|cel| match cel {
                    Some(cel) => json!({"cel": {"expression": cel.expression()}}),
                    None => json!({}),
                })
                .collect();
            e.insert("selectors".into(), Value::Array(selectors));
        }
        if let Some(admin) = &self.admin_access {
            e.insert("adminAccess".into(), admin.value());
        }
        Value::Object(e)
    }
}

/// A device request: `exactly`, `firstAvailable`, both or neither.
#[derive(Debug, Clone, Arbitrary)]
pub struct DeviceRequestM {
    pub name: Text,
    pub exactly: Option<ExactM>,
    pub first_available: Option<Vec<ExactM>>,
}

/// A claim spec (`spec` of a ResourceClaim, `spec.spec` of a template).
#[derive(Debug, Clone, Arbitrary)]
pub struct ClaimSpecM {
    pub requests: Vec<DeviceRequestM>,
}

impl ClaimSpecM {
    pub fn value(&self) -> Value {
        let requests: Vec<Value> = self
            .requests
            .iter()
            .map(|r| {
                let mut m = Map::new();
                m.insert("name".into(), json!(r.name.get()));
                if let Some(e) = &r.exactly {
                    m.insert("exactly".into(), e.value());
                }
                if let Some(list) = &r.first_available {
                    m.insert(
                        "firstAvailable".into(),
                        Value::Array(list.iter().map(ExactM::value).collect()),
                    );
                }
                Value::Object(m)
            })
            .collect();
        json!({"devices": {"requests": requests}})
    }
}

/// A DeviceClass spec: selectors and an extended resource name.
#[derive(Debug, Clone, Arbitrary)]
pub struct DeviceClassM {
    pub selectors: Option<Vec<CelM>>,
    pub extended_resource_name: Option<Text>,
}

impl DeviceClassM {
    fn value(&self) -> Value {
        let mut spec = text_fields(&[("extendedResourceName", &self.extended_resource_name)]);
        if let Some(selectors) = &self.selectors {
            let selectors = selectors
                .iter()
                .map(|cel| json!({"cel": {"expression": cel.expression()}}))
                .collect();
            spec.insert("selectors".into(), Value::Array(selectors));
        }
        Value::Object(spec)
    }
}

/// An entry of a pod's `spec.resourceClaims`: by template or by claim.
#[derive(Debug, Clone, Arbitrary)]
pub struct PodClaimM {
    pub name: u8,
    pub object: u8,
    pub template: bool,
}

impl PodClaimM {
    fn value(&self) -> Value {
        let field = if self.template {
            "resourceClaimTemplateName"
        } else {
            "resourceClaimName"
        };
        json!({"name": claim_name(self.name), field: claim_name(self.object)})
    }
}

// ---------------------------------------------------------------------------
// The structured model: an AdmissionRequest from fuzz bytes.

/// A string: one the policies look at, or anything.
#[derive(Debug, Clone, Arbitrary)]
pub enum Text {
    Known(u8),
    Any(String),
}

/// The present `fields`, each as its string.
fn text_fields(fields: &[(&str, &Option<Text>)]) -> Map<String, Value> {
    let field =
        |(name, t): &(&str, &Option<Text>)| Some(((*name).to_owned(), json!(t.as_ref()?.get())));
    fields.iter().filter_map(field).collect()
}

/// `pairs` as a JSON object of strings.
fn text_map(pairs: &[(Text, Text)]) -> Value {
    let pairs = pairs.iter().map(|(k, v)| (k.get(), json!(v.get())));
    Value::Object(pairs.collect())
}

impl Text {
    pub fn get(&self) -> String {
        match self {
            Text::Known(i) => strategies::dictionary_word(usize::from(*i)).to_owned(),
            Text::Any(s) => s.clone(),
        }
    }
}

/// Any JSON value (for wrong types).
#[derive(Debug, Clone, Arbitrary)]
pub enum Junk {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Text),
    Arr(Vec<Junk>),
    Obj(Vec<(Text, Junk)>),
}

impl Junk {
    pub fn value(&self) -> Value {
        match self {
            Junk::Null => Value::Null,
            Junk::Bool(b) => json!(b),
            Junk::Int(i) => json!(i),
            Junk::Float(f) => Value::from(*f),
            Junk::Str(t) => json!(t.get()),
            Junk::Arr(items) => Value::Array(items.iter().map(Junk::value).collect()),
            Junk::Obj(pairs) => {
                Value::Object(pairs.iter().map(|(k, v)| (k.get(), v.value())).collect())
            }
        }
    }
}

/// A quantity as JSON.
#[derive(Debug, Clone, Arbitrary)]
pub enum Qty {
    Text(Text),
    Int(i64),
    Uint(u64),
    Float(f64),
    Other(Junk),
}

impl Qty {
    fn value(&self) -> Value {
        match self {
            Qty::Text(t) => json!(t.get()),
            Qty::Int(i) => json!(i),
            Qty::Uint(u) => json!(u),
            Qty::Float(f) => Value::from(*f),
            Qty::Other(j) => j.value(),
        }
    }
}

#[derive(Debug, Clone, Arbitrary)]
pub struct ContainerM {
    pub name: Text,
    pub limits: Option<Vec<(Text, Qty)>>,
    pub requests: Option<Vec<(Text, Qty)>>,
    pub env: Vec<(Text, Option<Text>, bool)>,
    pub restart_policy: Option<Text>,
    /// `resources.claims`: a claim's name and the request it names.
    pub claims: Option<Vec<(u8, Option<Text>)>>,
}

fn resource_map(list: &Option<Vec<(Text, Qty)>>) -> Value {
    match list {
        None => Value::Null,
        Some(items) => Value::Object(items.iter().map(|(k, q)| (k.get(), q.value())).collect()),
    }
}

impl ContainerM {
    fn value(&self) -> Value {
        let env: Vec<Value> = self
            .env
            .iter()
            .map(|(name, value, from)| {
                let mut e = text_fields(&[("value", value)]);
                e.insert("name".into(), json!(name.get()));
                if *from {
                    e.insert("valueFrom".into(), json!({"fieldRef": {"fieldPath": "x"}}));
                }
                Value::Object(e)
            })
            .collect();
        let mut c = json!({
            "name": self.name.get(),
            "resources": {"limits": resource_map(&self.limits), "requests": resource_map(&self.requests)},
            "env": env,
        });
        if let (Some(r), Some(map)) = (&self.restart_policy, c.as_object_mut()) {
            map.insert("restartPolicy".into(), json!(r.get()));
        }
        if let (Some(claims), Some(resources)) = (&self.claims, c.get_mut("resources")) {
            let claims: Vec<Value> = claims
                .iter()
                .map(|(name, request)| {
                    let mut m = text_fields(&[("request", request)]);
                    m.insert("name".into(), json!(claim_name(*name)));
                    Value::Object(m)
                })
                .collect();
            resources["claims"] = Value::Array(claims);
        }
        c
    }
}

#[derive(Debug, Clone, Arbitrary)]
pub struct TolerationM {
    pub key: Option<Text>,
    pub operator: Option<Text>,
    pub value: Option<Text>,
    pub effect: Option<Text>,
    pub seconds: Option<i64>,
}

impl TolerationM {
    fn value(&self) -> Value {
        let mut t = text_fields(&[
            ("key", &self.key),
            ("operator", &self.operator),
            ("value", &self.value),
            ("effect", &self.effect),
        ]);
        if let Some(s) = self.seconds {
            t.insert("tolerationSeconds".into(), json!(s));
        }
        Value::Object(t)
    }
}

/// A node affinity match expression: key, operator, values.
pub type ExpressionM = (Text, Text, Option<Vec<Text>>);

#[derive(Debug, Clone, Arbitrary)]
pub struct PodSpecM {
    pub containers: Vec<ContainerM>,
    pub init_containers: Option<Vec<ContainerM>>,
    pub ephemeral_containers: Option<Vec<ContainerM>>,
    pub tolerations: Option<Vec<TolerationM>>,
    pub node_selector: Option<Vec<(Text, Text)>>,
    pub affinity: Option<Vec<Vec<ExpressionM>>>,
    pub runtime_class: Option<Text>,
    pub resource_claims: Option<Vec<PodClaimM>>,
}

fn containers(list: &[ContainerM]) -> Value {
    Value::Array(list.iter().map(ContainerM::value).collect())
}

impl PodSpecM {
    pub fn value(&self) -> Value {
        let mut spec = Map::new();
        spec.insert("containers".into(), containers(&self.containers));
        if let Some(c) = &self.init_containers {
            spec.insert("initContainers".into(), containers(c));
        }
        if let Some(c) = &self.ephemeral_containers {
            spec.insert("ephemeralContainers".into(), containers(c));
        }
        if let Some(t) = &self.tolerations {
            spec.insert(
                "tolerations".into(),
                Value::Array(t.iter().map(TolerationM::value).collect()),
            );
        }
        if let Some(s) = &self.node_selector {
            spec.insert("nodeSelector".into(), text_map(s));
        }
        if let Some(terms) = &self.affinity {
            let terms: Vec<Value> = terms
                .iter()
                .map(|exprs| {
                    let exprs: Vec<Value> = exprs
                        .iter()
                        .map(|(key, op, values)| {
                            let values: Option<Vec<String>> =
                                values.as_ref().map(|v| v.iter().map(Text::get).collect());
                            json!({"key": key.get(), "operator": op.get(), "values": values})
                        })
                        .collect();
                    json!({"matchExpressions": exprs})
                })
                .collect();
            spec.insert(
                "affinity".into(),
                json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}}),
            );
        }
        if let Some(r) = &self.runtime_class {
            spec.insert("runtimeClassName".into(), json!(r.get()));
        }
        if let Some(claims) = &self.resource_claims {
            spec.insert(
                "resourceClaims".into(),
                Value::Array(claims.iter().map(PodClaimM::value).collect()),
            );
        }
        Value::Object(spec)
    }
}

/// The request's kind: one of [`WorkloadKind::ALL`] or [`DraKind::ALL`]
/// mostly, else a NetworkPolicy, a ConfigMap, or a workload kind's name in
/// another group.
#[derive(Debug, Clone, Copy, Arbitrary)]
pub struct KindM(pub u8);

/// The kinds other than the workload kinds that [`KindM`] picks.
const OTHER_KINDS: usize = 3;

impl KindM {
    fn gvkr(self) -> (&'static str, &'static str, &'static str, &'static str) {
        let kinds = WorkloadKind::ALL.len();
        let dra = DraKind::ALL.len();
        let pick = usize::from(self.0) % (kinds + dra + OTHER_KINDS);
        if let Some(kind) = WorkloadKind::ALL.get(pick) {
            return (kind.group(), kind.version(), kind.name(), kind.resource());
        }
        if let Some(kind) = DraKind::ALL.get(pick - kinds) {
            return (
                DraKind::GROUP,
                DraKind::VERSION,
                kind.name(),
                kind.resource(),
            );
        }
        match pick - kinds - dra {
            0 => (
                "networking.k8s.io",
                "v1",
                "NetworkPolicy",
                "networkpolicies",
            ),
            1 => ("", "v1", "ConfigMap", "configmaps"),
            _ => {
                let kind = WorkloadKind::ALL
                    .get(usize::from(self.0) / (kinds + dra + OTHER_KINDS) % kinds)
                    .copied()
                    .unwrap_or_default();
                ("extensions", "v1beta1", kind.name(), kind.resource())
            }
        }
    }
}

#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum OperationM {
    Create,
    Update,
    Delete,
    Connect,
}

/// A wrong-typed value put at one of [`build::SPOIL_SLOTS`] of the object.
#[derive(Debug, Clone, Arbitrary)]
pub struct Spoil {
    pub slot: u8,
    pub junk: Junk,
}

/// An AdmissionRequest with one pod (or NetworkPolicy, DRA claim or
/// DeviceClass) and optional spoils.
#[derive(Debug, Clone, Arbitrary)]
pub struct RequestM {
    pub kind: KindM,
    pub operation: OperationM,
    pub namespace: Text,
    pub labels: Option<Vec<(Text, Text)>>,
    pub spec: PodSpecM,
    pub old_spec: Option<PodSpecM>,
    pub network_policy_spec: Junk,
    /// The claim spec of a ResourceClaim or ResourceClaimTemplate.
    pub claim: ClaimSpecM,
    pub device_class: DeviceClassM,
    pub spoils: Vec<Spoil>,
}

impl RequestM {
    fn object(&self, spec: &PodSpecM) -> Value {
        let (group, version, kind, _) = self.kind.gvkr();
        let labels = self.labels.as_deref().map_or(Value::Null, text_map);
        let metadata =
            json!({"name": "trainer", "namespace": self.namespace.get(), "labels": labels});
        let dra = DraKind::from_group_version_kind(group, version, kind);
        let mut object = if kind == "NetworkPolicy" {
            json!({"apiVersion": "networking.k8s.io/v1", "kind": kind,
                   "metadata": metadata, "spec": self.network_policy_spec.value()})
        } else if let Some(dra) = dra {
            let spec = match dra {
                DraKind::ResourceClaim => self.claim.value(),
                DraKind::ResourceClaimTemplate => json!({"spec": self.claim.value()}),
                DraKind::DeviceClass => self.device_class.value(),
            };
            json!({"apiVersion": DRA_API_VERSION, "kind": kind, "metadata": metadata, "spec": spec})
        } else {
            build::workload_object(
                group,
                version,
                kind,
                "trainer",
                &self.namespace.get(),
                json!({"labels": labels}),
                spec.value(),
            )
        };
        for spoil in &self.spoils {
            let slots = build::SPOIL_SLOTS;
            let slot = slots
                .get(usize::from(spoil.slot) % slots.len())
                .copied()
                .unwrap_or("/containers");
            build::spoil(&mut object, kind, slot, spoil.junk.value());
        }
        object
    }

    /// The AdmissionRequest JSON.
    pub fn request(&self) -> Value {
        let (group, version, kind, resource) = self.kind.gvkr();
        let object = self.object(&self.spec);
        let old = self.old_spec.as_ref().map(|s| self.object(s));
        let (operation, object, old) = match self.operation {
            OperationM::Create => ("CREATE", object, Value::Null),
            OperationM::Update => ("UPDATE", object, old.unwrap_or(Value::Null)),
            OperationM::Delete => ("DELETE", Value::Null, old.unwrap_or(object)),
            OperationM::Connect => ("CONNECT", object, Value::Null),
        };
        build::admission_request(
            group,
            version,
            kind,
            resource,
            operation,
            "trainer",
            &self.namespace.get(),
            object,
            old,
        )
    }
}

/// The `validate` payload kwctl sends.
pub fn payload(request: &Value, settings: &Value) -> Vec<u8> {
    serde_json::to_vec(&json!({"request": request, "settings": settings})).unwrap_or_default()
}

/// Settings from fuzz bytes: each of a policy's keys absent, plausible or
/// junk.
#[derive(Debug, Clone, Arbitrary)]
pub struct SettingsM {
    pub entries: Vec<(u8, SettingValue)>,
}

/// A taint setting: resourcePattern, key, value, effect.
pub type TaintM = (Option<Text>, Option<Text>, Option<Text>, Option<Text>);

#[derive(Debug, Clone, Arbitrary)]
pub enum SettingValue {
    Junk(Junk),
    Text(Text),
    List(Vec<Text>),
    Number(u32),
    Taints(Vec<TaintM>),
}

impl SettingsM {
    pub fn value(&self, keys: &[&str]) -> Value {
        let mut map = Map::new();
        for (k, v) in &self.entries {
            let Some(key) = keys.get(usize::from(*k) % keys.len().max(1)) else {
                continue;
            };
            let value = match v {
                SettingValue::Junk(j) => j.value(),
                SettingValue::Text(t) => json!(t.get()),
                SettingValue::List(l) => json!(l.iter().map(Text::get).collect::<Vec<_>>()),
                SettingValue::Number(n) => json!(n),
                SettingValue::Taints(list) => Value::Array(
                    list.iter()
                        .map(|(a, b, c, d)| {
                            let f = [
                                ("resourcePattern", a),
                                ("key", b),
                                ("value", c),
                                ("effect", d),
                            ];
                            Value::Object(text_fields(&f))
                        })
                        .collect(),
                ),
            };
            map.insert((*key).to_owned(), value);
        }
        Value::Object(map)
    }

    /// The settings for `policy` (its keys and one unknown key).
    pub fn for_policy(&self, policy: &PolicyInfo) -> Value {
        self.value(&settings_keys(policy))
    }
}

// ---------------------------------------------------------------------------
// The targets' bodies.

/// `validate_raw`: every policy's `validate` on raw bytes (kwctl's payload
/// `{"request": ..., "settings": ...}`, or anything else), lookups answered
/// by the standard cluster.
pub fn validate_raw(data: &[u8]) {
    let cluster = standard_cluster();
    for policy in POLICIES {
        validate_checked(policy, data, &cluster);
    }
}

/// `validate_structured`: every policy's `validate` on an AdmissionRequest
/// built from fuzz bytes (every workload kind, random containers,
/// quantities, tolerations, affinities, wrong-typed fields), with fuzzed
/// settings and a fuzzed cluster.
pub fn validate_structured(request: &RequestM, settings: Option<&SettingsM>, cluster: &ClusterM) {
    let request = request.request();
    let namespace = field(&request, "namespace")
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let cluster = cluster.cluster(&namespace);
    for policy in POLICIES {
        let settings = settings.map_or(json!({}), |s| s.for_policy(policy));
        validate_checked(policy, &payload(&request, &settings), &cluster);
    }
}

/// `mutate_structured`: the invariants of [`check_mode_invariants`] for
/// every policy with a validate/mutate `mode` ([`mode_policies`]), on
/// AdmissionRequests and settings built from fuzz bytes.
pub fn mutate_structured(request: &RequestM, settings: Option<&SettingsM>) {
    let cluster = standard_cluster();
    let request = request.request();
    for policy in mode_policies() {
        let settings = settings.map_or(json!({}), |s| s.for_policy(policy));
        check_mode_invariants(policy, &request, &settings, &cluster);
    }
}

/// On `settings` with `mode` set to `mutate` and to `validate`:
/// - a mutated object passes validate mode, and mutating it again changes
///   nothing (idempotent);
/// - without a mutation, both modes give the same decision (a mutation only
///   adds what is missing; it never fixes another rule).
///
/// Returns whether mutate mode mutated the object.
pub fn check_mode_invariants(
    policy: &PolicyInfo,
    request: &Value,
    settings: &Value,
    cluster: &dyn KubernetesHost,
) -> bool {
    validate_checked(policy, &payload(request, settings), cluster);
    let Value::Object(settings) = settings else {
        return false;
    };
    let mut mutate = settings.clone();
    mutate.insert("mode".into(), json!("mutate"));
    let mut validate = mutate.clone();
    validate.insert("mode".into(), json!("validate"));
    let (mutate, validate) = (Value::Object(mutate), Value::Object(validate));
    let by_mutate = validate_checked(policy, &payload(request, &mutate), cluster);
    let by_validate = validate_checked(policy, &payload(request, &validate), cluster);
    let name = policy.name;
    let Some(mutated) = by_mutate.get("mutated_object").filter(|m| !m.is_null()) else {
        assert_eq!(
            field(&by_mutate, "accepted"),
            field(&by_validate, "accepted"),
            "{name}: no mutation, yet the modes disagree: {by_mutate} / {by_validate}"
        );
        return false;
    };
    assert_eq!(field(&by_mutate, "accepted"), &json!(true), "{name}");
    let mut again = request.clone();
    if let Some(object) = again.get_mut("object") {
        *object = mutated.clone();
    }
    let revalidated = validate_checked(policy, &payload(&again, &validate), cluster);
    assert_eq!(
        field(&revalidated, "accepted"),
        &json!(true),
        "{name}: the mutated object fails validation: {revalidated}"
    );
    let remutated = validate_checked(policy, &payload(&again, &mutate), cluster);
    assert!(
        remutated.get("mutated_object").is_none_or(Value::is_null),
        "{name}: mutating twice changed the object again: {remutated}"
    );
    assert_eq!(field(&remutated, "accepted"), &json!(true), "{name}");
    true
}

/// `settings_raw`: every policy's `validate_settings` on raw bytes.
pub fn settings_raw(data: &[u8]) {
    for policy in POLICIES {
        validate_settings(policy, data);
    }
}

/// `settings_structured`: every policy's `validate_settings` on settings
/// built from its own keys with plausible, wrong-typed and out-of-range
/// values; `validate` must refuse (400) exactly the settings that
/// `validate_settings` refuses, and settings that validate must evaluate a
/// GPU pod without error.
pub fn settings_structured(settings: &SettingsM) {
    let cluster = standard_cluster();
    let request = build::pod_request(json!({
        "containers": [{"name": "trainer", "resources": {"limits": {"nvidia.com/gpu": "1", "nvidia.com/mig-1g.10gb": "1"}}}],
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
        "nodeSelector": {"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB"}
    }));
    for policy in POLICIES {
        let settings = settings.for_policy(policy);
        let bytes = serde_json::to_vec(&settings).unwrap_or_default();
        let answer = validate_settings(policy, &bytes);
        let response = validate_checked(policy, &payload(&request, &settings), &cluster);
        let refused = field(&response, "code") == &json!(400);
        assert_eq!(
            field(&answer, "valid") == &json!(false),
            refused,
            "{}: validate_settings and validate disagree on {settings}: {answer} / {response}",
            policy.name
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use arbitrary::Unstructured;

    /// The bad-input seeds `make fuzz` starts from.
    fn seeds() -> Vec<Vec<u8>> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/bad-input");
        let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
        seeds.extend([
            b"".to_vec(),
            b"{}".to_vec(),
            b"null".to_vec(),
            vec![0xff, 0x7b],
        ]);
        seeds
    }

    /// Reproducible pseudo-random bytes (xorshift), for `arbitrary`.
    fn noise(seed: u64, len: usize) -> Vec<u8> {
        let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x.to_le_bytes()[0]
            })
            .collect()
    }

    #[test]
    fn raw_bodies_run_on_the_seeds() {
        for seed in seeds() {
            validate_raw(&seed);
            settings_raw(&seed);
        }
    }

    #[test]
    fn structured_bodies_run_on_generated_inputs() {
        let mut kinds = std::collections::BTreeSet::new();
        let mut pods_with_claims = 0;
        for i in 0..64 {
            let bytes = noise(i, 4096);
            let mut u = Unstructured::new(&bytes);
            let (request, settings, cluster): (RequestM, Option<SettingsM>, ClusterM) =
                Arbitrary::arbitrary(&mut u).unwrap();
            kinds.insert(request.kind.gvkr().2);
            pods_with_claims += usize::from(request.spec.resource_claims.is_some());
            validate_structured(&request, settings.as_ref(), &cluster);
            mutate_structured(&request, settings.as_ref());
            if let Some(settings) = &settings {
                settings_structured(settings);
            }
        }
        // The generated inputs reach the DRA objects and pods' claims.
        for kind in DraKind::ALL {
            assert!(
                kinds.contains(kind.name()),
                "{} never generated",
                kind.name()
            );
        }
        assert!(pods_with_claims > 0, "no pod with resourceClaims generated");
    }

    #[test]
    fn a_gpu_pod_without_its_toleration_is_mutated_and_the_invariants_hold() {
        let request = build::pod_request(json!({"containers": [
            {"name": "trainer", "resources": {"limits": {"nvidia.com/gpu": "1"}}}
        ]}));
        let cluster = standard_cluster();
        let mutated = mode_policies()
            .iter()
            .filter(|p| check_mode_invariants(p, &request, &json!({}), &cluster))
            .count();
        assert!(
            mutated > 0,
            "no mode policy mutated a GPU pod without tolerations"
        );
    }

    #[test]
    fn the_model_reaches_every_kind_and_a_mode_policy_exists() {
        let names: std::collections::BTreeSet<&str> =
            (0..=u8::MAX).map(|i| KindM(i).gvkr().2).collect();
        for kind in WorkloadKind::ALL {
            assert!(names.contains(kind.name()), "{kind}");
        }
        for kind in DraKind::ALL {
            assert!(names.contains(kind.name()), "{}", kind.name());
        }
        assert!(names.contains("NetworkPolicy") && names.contains("ConfigMap"));
        assert!(
            !mode_policies().is_empty(),
            "no policy has a validate/mutate mode: mutate_structured checks nothing"
        );
        let standard = standard_cluster();
        let answer = standard
            .call(
                "get_resource",
                br#"{"api_version": "v1", "kind": "Namespace", "name": "ml"}"#,
            )
            .unwrap();
        assert!(String::from_utf8(answer).unwrap().contains("training"));
    }
}
