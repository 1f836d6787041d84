//! Shared pieces of the fuzz targets: each policy's `validate` and
//! `validate_settings` entry points on bytes, a structured request model
//! built from fuzz bytes (`arbitrary`), and an in-memory cluster for the
//! context-aware gpu-isolated-namespace (host calls do not exist natively).
//!
//! A target fails (a "crash") on a panic anywhere in a policy, on an entry
//! point that returns an error instead of an answer (a failed waPC call, as
//! bad as a trap), on an answer that is not deterministic, and on the
//! invariants of gpu-toleration-required's mutate mode.

use std::collections::BTreeMap;

use arbitrary::Arbitrary;
use gpu_isolated_namespace::cluster::{
    ClusterReader, LookupError, Namespace, NetworkPolicy, ResourceQuota,
};
use gpu_policy_core::entry;
use serde_json::{Map, Value, json};

/// The four policies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Arbitrary)]
pub enum Policy {
    LimitRequired,
    TolerationRequired,
    IsolatedNamespace,
    MigResourceNaming,
}

pub const POLICIES: [Policy; 4] = [
    Policy::LimitRequired,
    Policy::TolerationRequired,
    Policy::IsolatedNamespace,
    Policy::MigResourceNaming,
];

/// The full `validate` waPC handler of `policy` on `payload`; the answer's
/// bytes. Panics (= a finding) when the handler returns an error.
pub fn validate(policy: Policy, payload: &[u8], cluster: &FakeCluster) -> Vec<u8> {
    let result = match policy {
        Policy::LimitRequired => entry::validate::<gpu_limit_required::settings::Settings, _>(
            payload,
            gpu_limit_required::evaluate,
        ),
        Policy::TolerationRequired => entry::validate::<
            gpu_toleration_required::settings::Settings,
            _,
        >(payload, gpu_toleration_required::evaluate),
        Policy::IsolatedNamespace => {
            entry::validate::<gpu_isolated_namespace::settings::Settings, _>(payload, |r, s| {
                gpu_isolated_namespace::evaluate_with(r, s, cluster)
            })
        }
        Policy::MigResourceNaming => entry::validate::<mig_resource_naming::settings::Settings, _>(
            payload,
            mig_resource_naming::evaluate,
        ),
    };
    match result {
        Ok(bytes) => bytes,
        Err(e) => panic!("{policy:?}: validate returned an error instead of an answer: {e}"),
    }
}

/// `validate` twice; the answers must be equal and readable, and a
/// rejection must say why.
pub fn validate_checked(policy: Policy, payload: &[u8], cluster: &FakeCluster) -> Value {
    let first = validate(policy, payload, cluster);
    let second = validate(policy, payload, cluster);
    assert!(
        first == second,
        "{policy:?}: two answers to the same input differ"
    );
    let answer: Value = match serde_json::from_slice(&first) {
        Ok(v) => v,
        Err(e) => panic!("{policy:?}: the answer is not JSON: {e}"),
    };
    if answer["accepted"] == json!(false) {
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            !message.is_empty(),
            "{policy:?}: a rejection without a message"
        );
    }
    answer
}

/// The `validate_settings` waPC handler of `policy`; the answer as JSON.
pub fn validate_settings(policy: Policy, payload: &[u8]) -> Value {
    let result = match policy {
        Policy::LimitRequired => {
            entry::validate_settings::<gpu_limit_required::settings::Settings>(payload)
        }
        Policy::TolerationRequired => {
            entry::validate_settings::<gpu_toleration_required::settings::Settings>(payload)
        }
        Policy::IsolatedNamespace => {
            entry::validate_settings::<gpu_isolated_namespace::settings::Settings>(payload)
        }
        Policy::MigResourceNaming => {
            entry::validate_settings::<mig_resource_naming::settings::Settings>(payload)
        }
    };
    let bytes = match result {
        Ok(bytes) => bytes,
        Err(e) => panic!("{policy:?}: validate_settings returned an error: {e}"),
    };
    let answer: Value = match serde_json::from_slice(&bytes) {
        Ok(v) => v,
        Err(e) => panic!("{policy:?}: the settings answer is not JSON: {e}"),
    };
    if answer["valid"] == json!(false) {
        let message = answer["message"].as_str().unwrap_or_default();
        assert!(
            !message.is_empty(),
            "{policy:?}: invalid settings without a message"
        );
    }
    answer
}

/// A cluster held in memory. Objects are JSON values, read the way the host
/// answers are read (an unreadable object is a lookup error).
#[derive(Debug, Clone, Default)]
pub struct FakeCluster {
    pub namespaces: BTreeMap<String, Value>,
    pub network_policies: Option<Vec<Value>>,
    pub quotas: Option<Vec<Value>>,
}

impl FakeCluster {
    /// `ml` and `ml-training` labelled as training namespaces, with a
    /// default-deny NetworkPolicy and a GPU quota.
    pub fn standard() -> Self {
        let mut namespaces = BTreeMap::new();
        for name in ["ml", "ml-training"] {
            namespaces.insert(
                name.to_owned(),
                json!({"metadata": {"name": name, "labels": {"gpu-workload-type": "training"}}}),
            );
        }
        FakeCluster {
            namespaces,
            network_policies: Some(vec![json!({"metadata": {"name": "default-deny"},
                "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]}})]),
            quotas: Some(vec![json!({"metadata": {"name": "gpu"},
                "spec": {"hard": {"requests.nvidia.com/gpu": "8"}}})]),
        }
    }
}

fn read<T: serde::de::DeserializeOwned>(v: &Value) -> Result<T, LookupError> {
    serde_json::from_value(v.clone()).map_err(|e| LookupError(e.to_string()))
}

fn read_all<T: serde::de::DeserializeOwned>(
    list: &Option<Vec<Value>>,
) -> Result<Vec<T>, LookupError> {
    match list {
        None => Err(LookupError("forbidden".to_owned())),
        Some(items) => items.iter().map(read).collect(),
    }
}

impl ClusterReader for FakeCluster {
    fn get_namespace(&self, name: &str) -> Result<Namespace, LookupError> {
        match self.namespaces.get(name) {
            Some(v) => read(v),
            None => Err(LookupError(format!("namespaces \"{name}\" not found"))),
        }
    }
    fn list_network_policies(&self, _: &str) -> Result<Vec<NetworkPolicy>, LookupError> {
        read_all(&self.network_policies)
    }
    fn list_resource_quotas(&self, _: &str) -> Result<Vec<ResourceQuota>, LookupError> {
        read_all(&self.quotas)
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

const WORDS: &[&str] = &[
    "",
    "nvidia.com/gpu",
    "nvidia.com/gpu.shared",
    "nvidia.com/mig-1g.5gb",
    "nvidia.com/mig-1g.10gb",
    "nvidia.com/mig-3g.40gb",
    "nvidia.com/mig-1g.10gb+me",
    "nvidia.com/mig-1g.12gb.shared",
    "nvidia.com/mig-",
    "nvidia.com/mig-1c.3g.40gb",
    "nvidia.com/a100",
    "amd.com/gpu",
    "gpu.intel.com/i915",
    "gpu.intel.com/xe",
    "cpu",
    "memory",
    "nvidia.com/gpu.present",
    "nvidia.com/gpu.product",
    "nvidia.com/mig.strategy",
    "NVIDIA-A100-SXM4-40GB",
    "NVIDIA-H100-80GB-HBM3",
    "mixed",
    "single",
    "accelerator",
    "gpu-workload-type",
    "training",
    "inference",
    "NVIDIA_VISIBLE_DEVICES",
    "all",
    "none",
    "void",
    "0",
    "1",
    "2",
    "1000m",
    "0.5",
    "1e3",
    "-1",
    "1Ki",
    "18446744073709551616",
    "Exists",
    "Equal",
    "NoSchedule",
    "NoExecute",
    "sku",
    "gpu",
    "true",
    "Always",
    "In",
    "NotIn",
    "Gt",
    "nvidia",
    "ml",
    "*",
];

impl Text {
    pub fn get(&self) -> String {
        match self {
            Text::Known(i) => WORDS
                .get(usize::from(*i) % WORDS.len())
                .copied()
                .unwrap_or_default()
                .to_owned(),
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
                let mut e = Map::new();
                e.insert("name".into(), json!(name.get()));
                if let Some(v) = value {
                    e.insert("value".into(), json!(v.get()));
                }
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
        let mut t = Map::new();
        for (name, field) in [
            ("key", &self.key),
            ("operator", &self.operator),
            ("value", &self.value),
            ("effect", &self.effect),
        ] {
            if let Some(v) = field {
                t.insert(name.into(), json!(v.get()));
            }
        }
        if let Some(s) = self.seconds {
            t.insert("tolerationSeconds".into(), json!(s));
        }
        Value::Object(t)
    }
}

#[derive(Debug, Clone, Arbitrary)]
pub struct PodSpecM {
    pub containers: Vec<ContainerM>,
    pub init_containers: Option<Vec<ContainerM>>,
    pub ephemeral_containers: Option<Vec<ContainerM>>,
    pub tolerations: Option<Vec<TolerationM>>,
    pub node_selector: Option<Vec<(Text, Text)>>,
    pub affinity: Option<Vec<Vec<(Text, Text, Option<Vec<Text>>)>>>,
    pub runtime_class: Option<Text>,
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
            spec.insert(
                "nodeSelector".into(),
                Value::Object(s.iter().map(|(k, v)| (k.get(), json!(v.get()))).collect()),
            );
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
        Value::Object(spec)
    }
}

#[derive(Debug, Clone, Copy, Arbitrary)]
pub enum KindM {
    Pod,
    Deployment,
    ReplicaSet,
    StatefulSet,
    DaemonSet,
    Job,
    CronJob,
    ReplicationController,
    NetworkPolicy,
    ConfigMap,
    WrongGroupDeployment,
}

impl KindM {
    fn gvkr(self) -> (&'static str, &'static str, &'static str, &'static str) {
        use policy_testkit::build::WORKLOAD_KINDS as K;
        let pick = |i: usize| K.get(i).copied().unwrap_or(("", "v1", "Pod", "pods"));
        match self {
            KindM::Pod => pick(0),
            KindM::Deployment => pick(1),
            KindM::ReplicaSet => pick(2),
            KindM::StatefulSet => pick(3),
            KindM::DaemonSet => pick(4),
            KindM::Job => pick(5),
            KindM::CronJob => pick(6),
            KindM::ReplicationController => pick(7),
            KindM::NetworkPolicy => (
                "networking.k8s.io",
                "v1",
                "NetworkPolicy",
                "networkpolicies",
            ),
            KindM::ConfigMap => ("", "v1", "ConfigMap", "configmaps"),
            KindM::WrongGroupDeployment => ("extensions", "v1beta1", "Deployment", "deployments"),
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

/// A wrong-typed value put at one place of the object.
#[derive(Debug, Clone, Arbitrary)]
pub struct Spoil {
    pub slot: u8,
    pub junk: Junk,
}

const SPOIL_SLOTS: &[&str] = &[
    "/containers",
    "/containers/0",
    "/containers/0/resources",
    "/containers/0/resources/limits",
    "/containers/0/resources/requests",
    "/containers/0/env",
    "/containers/0/env/0",
    "/containers/0/name",
    "/initContainers",
    "/initContainers/0/restartPolicy",
    "/ephemeralContainers",
    "/tolerations",
    "/tolerations/0",
    "/tolerations/0/key",
    "/tolerations/0/tolerationSeconds",
    "/nodeSelector",
    "/affinity",
    "/affinity/nodeAffinity",
    "/runtimeClassName",
    "//metadata",
    "//metadata/labels",
    "//spec",
    "//kind",
    "//spec/template",
    "//spec/jobTemplate",
    "//spec/podSelector",
    "//spec/policyTypes",
    "//spec/ingress",
];

/// An AdmissionRequest with one pod (or NetworkPolicy) and optional spoils.
#[derive(Debug, Clone, Arbitrary)]
pub struct RequestM {
    pub kind: KindM,
    pub operation: OperationM,
    pub namespace: Text,
    pub labels: Option<Vec<(Text, Text)>>,
    pub spec: PodSpecM,
    pub old_spec: Option<PodSpecM>,
    pub network_policy_spec: Junk,
    pub spoils: Vec<Spoil>,
}

impl RequestM {
    fn object(&self, spec: &PodSpecM) -> Value {
        let (group, version, kind, _) = self.kind.gvkr();
        let labels: Value = match &self.labels {
            None => Value::Null,
            Some(l) => Value::Object(l.iter().map(|(k, v)| (k.get(), json!(v.get()))).collect()),
        };
        let mut object = if kind == "NetworkPolicy" {
            json!({"apiVersion": "networking.k8s.io/v1", "kind": kind,
                   "metadata": {"name": "np", "namespace": self.namespace.get(), "labels": labels},
                   "spec": self.network_policy_spec.value()})
        } else {
            policy_testkit::build::workload_object(
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
            let slot = SPOIL_SLOTS
                .get(usize::from(spoil.slot) % SPOIL_SLOTS.len())
                .copied()
                .unwrap_or("/containers");
            let pointer = match slot.strip_prefix('/').filter(|s| s.starts_with('/')) {
                Some(absolute) => absolute.to_owned(),
                None => format!(
                    "{}{slot}",
                    policy_testkit::strategies::pod_spec_pointer(kind)
                ),
            };
            policy_testkit::build::set_pointer(&mut object, &pointer, spoil.junk.value());
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
        policy_testkit::build::admission_request(
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

/// Settings from fuzz bytes: each of `keys` absent, plausible or junk.
#[derive(Debug, Clone, Arbitrary)]
pub struct SettingsM {
    pub entries: Vec<(u8, SettingValue)>,
}

#[derive(Debug, Clone, Arbitrary)]
pub enum SettingValue {
    Junk(Junk),
    Text(Text),
    List(Vec<Text>),
    Number(u32),
    Taints(Vec<(Option<Text>, Option<Text>, Option<Text>, Option<Text>)>),
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
                            let mut m = Map::new();
                            for (name, f) in [
                                ("resourcePattern", a),
                                ("key", b),
                                ("value", c),
                                ("effect", d),
                            ] {
                                if let Some(t) = f {
                                    m.insert(name.into(), json!(t.get()));
                                }
                            }
                            Value::Object(m)
                        })
                        .collect(),
                ),
            };
            map.insert((*key).to_owned(), value);
        }
        Value::Object(map)
    }
}

/// Every settings key of each policy (and one unknown key).
pub fn settings_keys(policy: Policy) -> &'static [&'static str] {
    match policy {
        Policy::LimitRequired => &[
            "gpuResources",
            "gpuNodeSelectorLabels",
            "gpuTaints",
            "maxGpusPerContainer",
            "maxGpusPerPod",
            "checkVisibleDevicesEnv",
            "unknownKey",
        ],
        Policy::TolerationRequired => &[
            "taints",
            "rejectNonGpuTolerations",
            "mode",
            "gpuResources",
            "unknownKey",
        ],
        Policy::IsolatedNamespace => &[
            "namespaceLabel",
            "podLabel",
            "workloadTypes",
            "requireDefaultDenyNetworkPolicy",
            "requireGpuQuota",
            "protectDefaultDeny",
            "gpuResources",
            "unknownKey",
        ],
        Policy::MigResourceNaming => &[
            "strategy",
            "gpuModels",
            "extraProfiles",
            "maxMigDevicesPerContainer",
            "allowShared",
            "unknownKey",
        ],
    }
}

/// A cluster from fuzz bytes.
#[derive(Debug, Clone, Arbitrary)]
pub struct ClusterM {
    pub namespace_labels: Option<Vec<(Text, Text)>>,
    pub network_policies: Option<Vec<Junk>>,
    pub quotas: Option<Vec<Junk>>,
    pub standard: bool,
}

impl ClusterM {
    pub fn cluster(&self, namespace: &str) -> FakeCluster {
        if self.standard {
            return FakeCluster::standard();
        }
        let mut c = FakeCluster::default();
        if let Some(labels) = &self.namespace_labels {
            let labels: Map<String, Value> = labels
                .iter()
                .map(|(k, v)| (k.get(), json!(v.get())))
                .collect();
            c.namespaces.insert(
                namespace.to_owned(),
                json!({"metadata": {"name": namespace, "labels": labels}}),
            );
        }
        c.network_policies = self
            .network_policies
            .as_ref()
            .map(|l| l.iter().map(Junk::value).collect());
        c.quotas = self
            .quotas
            .as_ref()
            .map(|l| l.iter().map(Junk::value).collect());
        c
    }
}
