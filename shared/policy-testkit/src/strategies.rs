//! The proptest strategies.

use gpu_policy_core::WorkloadKind;
use gpu_policy_core::targeting::DEFAULT_GPU_NODE_LABELS;
use proptest::collection::{btree_map, vec};
use proptest::option;
use proptest::prelude::*;
use proptest::sample::select;
use serde_json::{Value, json};

use crate::build;

/// Words the policies look at, so that random choices (here and in the fuzz
/// targets) hit the interesting branches often, not once in a billion.
pub const WORDS: &[&str] = &[
    "",
    "nvidia.com/gpu",
    "nvidia.com/gpu.present",
    "nvidia.com/gpu.product",
    "nvidia.com/mig.strategy",
    "amd.com/gpu",
    "gpu.intel.com/i915",
    "sku",
    "gpu",
    "true",
    "NVIDIA-A100-SXM4-40GB",
    "NVIDIA-H100-80GB-HBM3",
    "accelerator",
    "gpu-workload-type",
    "training",
    "inference",
    "batch",
    "ml",
    "default",
    "trainer",
    "nvidia",
    "Always",
    "*",
    "/",
    "a/b/c",
    "\u{0}",
    "ü",
    "💥",
    "mixed",
    "single",
    "NVIDIA_VISIBLE_DEVICES",
    "all",
    "none",
    "void",
    "Exists",
    "Equal",
    "NoSchedule",
    "NoExecute",
    "In",
    "NotIn",
    "Gt",
    "gpu.nvidia.com",
    "mig.nvidia.com",
    "vfio.gpu.nvidia.com",
    "gpu.amd.com",
    "gpu.intel.com",
    "nic.example.com",
    "ExactCount",
    "All",
    "1g.5gb",
    "1g.5g",
    "3g.20gb",
    "1g.10gb+me",
    "1g.12gb",
    "NVIDIA A100-SXM4-40GB",
    "gpu/big",
    "mig-1g-5gb-0",
];

/// GPU and non-GPU resource names, including near misses.
pub const RESOURCE_NAMES: &[&str] = &[
    "nvidia.com/gpu",
    "nvidia.com/gpu.shared",
    "nvidia.com/mig-1g.5gb",
    "nvidia.com/mig-1g.10gb",
    "nvidia.com/mig-2g.20gb",
    "nvidia.com/mig-3g.40gb",
    "nvidia.com/mig-7g.80gb",
    "nvidia.com/mig-1g.10gb+me",
    "nvidia.com/mig-1g.12gb.shared",
    "nvidia.com/mig-1c.3g.40gb",
    "nvidia.com/mig-",
    "nvidia.com/mig-9g.999gb",
    "nvidia.com/mig-1g.5GB",
    "nvidia.com/MIG-1g.5gb",
    "nvidia.com/a100",
    "nvidia.com/gpus",
    "nvidia.com/",
    "amd.com/gpu",
    "gpu.intel.com/i915",
    "gpu.intel.com/xe",
    "cpu",
    "memory",
    "ephemeral-storage",
    "hugepages-2Mi",
    "example.com/foo",
    "",
    "deviceclass.resource.kubernetes.io/gpu.nvidia.com",
    "deviceclass.resource.kubernetes.io/mig.nvidia.com",
    "nvidia.com/mig-1g.12gb",
    "nvidia.com/mig-1g.12g",
];

/// Quantity strings, odd ones on purpose.
pub const QUANTITIES: &[&str] = &[
    "0",
    "1",
    "2",
    "8",
    "1000m",
    "2000m",
    "1500m",
    "500m",
    "0.5",
    "1.0",
    "1k",
    "1Ki",
    "1M",
    "1e3",
    "1E",
    "1e400",
    "-1",
    "+1",
    " 1",
    "1 ",
    "",
    "one",
    "0x10",
    "1.",
    ".5",
    "∞",
    "NaN",
    "9223372036854775807",
    "18446744073709551616",
    "99999999999999999999999999999999",
    "4Gi",
    "100n",
    "1u",
    "1e-3",
    "1..0",
    "--1",
    "1m1",
];

/// Word `i` (modulo their number) of [`WORDS`], [`RESOURCE_NAMES`] and
/// [`QUANTITIES`] together: the fuzz targets pick their words by index.
pub fn dictionary_word(i: usize) -> &'static str {
    let lists = [WORDS, RESOURCE_NAMES, QUANTITIES];
    let mut i = i % lists.iter().map(|list| list.len()).sum::<usize>();
    for list in lists {
        match list.get(i) {
            Some(word) => return word,
            None => i -= list.len(),
        }
    }
    ""
}

/// A JSON object of the fields that are `Some`.
fn object<const N: usize>(fields: [(&str, Option<Value>); N]) -> Value {
    let fields = fields.into_iter();
    Value::Object(
        fields
            .filter_map(|(key, value)| Some((key.to_owned(), value?)))
            .collect(),
    )
}

/// A short string: usually an interesting word, sometimes anything.
pub fn word() -> BoxedStrategy<String> {
    prop_oneof![
        6 => select(WORDS).prop_map(str::to_owned),
        2 => "[a-z0-9./_-]{0,16}",
        1 => ".{0,8}",
    ]
    .boxed()
}

/// A resource name.
pub fn resource_name() -> BoxedStrategy<String> {
    prop_oneof![
        8 => select(RESOURCE_NAMES).prop_map(str::to_owned),
        1 => "nvidia\\.com/mig-[0-9]{1,2}[gc]\\.[0-9]{1,3}gb(\\+me|\\.shared)?",
        1 => "[a-z.]{1,8}/[a-z0-9.+-]{1,12}",
    ]
    .boxed()
}

/// A quantity as JSON: usually a string, sometimes a bare number, `null` or
/// a boolean.
pub fn quantity() -> BoxedStrategy<Value> {
    prop_oneof![
        8 => select(QUANTITIES).prop_map(Value::from),
        2 => "[0-9]{1,22}(m|k|Ki|Mi|M|G|e3|E|)".prop_map(Value::from),
        1 => any::<i64>().prop_map(Value::from),
        1 => any::<u64>().prop_map(Value::from),
        1 => any::<f64>().prop_map(Value::from),
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::from),
    ]
    .boxed()
}

/// `limits` or `requests`: absent, `null`, or a map.
fn resource_list() -> BoxedStrategy<Option<Value>> {
    prop_oneof![
        1 => Just(None),
        1 => Just(Some(Value::Null)),
        6 => btree_map(resource_name(), quantity(), 0..4)
            .prop_map(|m| Some(Value::Object(m.into_iter().collect()))),
    ]
    .boxed()
}

/// An env var, `NVIDIA_VISIBLE_DEVICES` often.
fn env_var() -> BoxedStrategy<Value> {
    let name = prop_oneof![
        4 => Just("NVIDIA_VISIBLE_DEVICES".to_owned()),
        1 => Just("CUDA_VISIBLE_DEVICES".to_owned()),
        1 => Just("NVIDIA_DRIVER_CAPABILITIES".to_owned()),
        2 => word(),
    ];
    let value = option::of(prop_oneof![
        select(
            &[
                "all", "none", "void", "0", "0,1", "GPU-8a9b", "", " all", "ALL"
            ][..]
        )
        .prop_map(str::to_owned),
        word(),
    ]);
    (name, value, any::<bool>())
        .prop_map(|(name, value, from)| {
            let value_from = json!({"configMapKeyRef": {"name": "gpu", "key": "devices"}});
            object([
                ("name", Some(json!(name))),
                ("value", value.map(Value::from)),
                ("valueFrom", from.then_some(value_from)),
            ])
        })
        .boxed()
}

/// Paths of hostPath volumes and volume mounts: GPU device nodes, their
/// directories, the NVIDIA runtime's device-list directory, odd spellings.
const PATHS: [&str; 12] = [
    "/dev/nvidia0",
    "/dev//nvidia0/",
    "/dev/dri/renderD128",
    "/dev/kfd",
    "/dev",
    "/",
    "/var/run/nvidia-container-devices/all",
    "/run/nvidia-container-devices",
    "/var/lib/kubelet",
    "/dev/./../dev/accel/accel0",
    "",
    "relative/path",
];

/// A container's DRA claim use (`resources.claims[]`).
fn container_claim() -> BoxedStrategy<Value> {
    (
        select(&["gpu", "nic", "ghost", ""][..]),
        option::of(select(&["gpu", "gpu/big", "nic", ""][..])),
    )
        .prop_map(|(name, request)| {
            object([
                ("name", Some(json!(name))),
                ("request", request.map(Value::from)),
            ])
        })
        .boxed()
}

/// A container (app, init or ephemeral: the shape is the same).
pub fn container() -> BoxedStrategy<Value> {
    (
        word(),
        resource_list(),
        resource_list(),
        option::of(vec(env_var(), 0..3)),
        option::of(select(&["Always", "Never", "OnFailure", "", "always"][..])),
        option::of(vec(container_claim(), 0..3)),
        option::of(any::<bool>()),
        option::of(vec(select(&PATHS[..]), 0..3)),
        option::of(0..3usize),
    )
        .prop_map(
            |(name, limits, requests, env, restart, claims, privileged, mounts, env_from)| {
                object([
                    ("name", Some(json!(name))),
                    ("image", Some(json!("nvcr.io/nvidia/pytorch:24.01-py3"))),
                    (
                        "resources",
                        Some(object([
                            ("limits", limits),
                            ("requests", requests),
                            ("claims", claims.map(Value::Array)),
                        ])),
                    ),
                    ("env", env.map(Value::Array)),
                    ("restartPolicy", restart.map(Value::from)),
                    (
                        "securityContext",
                        privileged.map(|p| json!({"privileged": p})),
                    ),
                    (
                        "volumeMounts",
                        mounts.map(|m| {
                            m.iter()
                                .enumerate()
                                .map(
                                    |(i, path)| json!({"name": format!("v{i}"), "mountPath": path}),
                                )
                                .collect()
                        }),
                    ),
                    (
                        "envFrom",
                        env_from.map(|n| {
                            (0..n)
                                .map(|i| json!({"configMapRef": {"name": format!("env-{i}")}}))
                                .collect()
                        }),
                    ),
                ])
            },
        )
        .boxed()
}

/// A toleration with random key, operator, value and effect.
pub fn toleration() -> BoxedStrategy<Value> {
    let key = prop_oneof![
        4 => select(&["nvidia.com/gpu", "amd.com/gpu", "gpu.intel.com/i915", "sku", ""][..])
            .prop_map(str::to_owned),
        1 => word(),
    ];
    let operator = prop_oneof![
        4 => select(&["Exists", "Equal", "", "exists", "In"][..]).prop_map(str::to_owned),
        1 => word(),
    ];
    let value = option::of(prop_oneof![
        select(&["present", "gpu", "true", ""][..]).prop_map(str::to_owned),
        word(),
    ]);
    let effect = option::of(prop_oneof![
        4 => select(&["NoSchedule", "PreferNoSchedule", "NoExecute", ""][..])
            .prop_map(str::to_owned),
        1 => word(),
    ]);
    (key, operator, value, effect, option::of(any::<i64>()))
        .prop_map(|(key, operator, value, effect, seconds)| {
            object([
                ("key", Some(json!(key))),
                ("operator", Some(json!(operator))),
                ("value", value.map(Value::from)),
                ("effect", effect.map(Value::from)),
                ("tolerationSeconds", seconds.map(Value::from)),
            ])
        })
        .boxed()
}

/// A label key: GPU node labels often (the policies' defaults, a pattern
/// such as `amd.com/gpu.*` as a key it matches), and two that are not.
fn label_key() -> BoxedStrategy<String> {
    let keys: Vec<String> = DEFAULT_GPU_NODE_LABELS
        .iter()
        .map(|key| key.replace('*', "family"))
        .chain(["gpu-workload-type", "topology.kubernetes.io/zone"].map(str::to_owned))
        .collect();
    prop_oneof![
        4 => select(keys),
        1 => word(),
    ]
    .boxed()
}

/// A label value.
fn label_value() -> BoxedStrategy<String> {
    prop_oneof![
        3 => select(&[
            "true", "training", "inference", "batch", "NVIDIA-A100-SXM4-40GB",
            "NVIDIA-A100-SXM4-80GB", "NVIDIA-H100-80GB-HBM3", "NVIDIA-A30", "mixed", "single", "1",
        ][..])
        .prop_map(str::to_owned),
        1 => word(),
    ]
    .boxed()
}

/// Required node affinity terms.
fn affinity() -> BoxedStrategy<Value> {
    let expression = (
        label_key(),
        select(
            &[
                "In",
                "NotIn",
                "Exists",
                "DoesNotExist",
                "Gt",
                "Lt",
                "in",
                "",
            ][..],
        ),
        option::of(vec(label_value(), 0..3)),
    )
        .prop_map(|(key, operator, values)| {
            object([
                ("key", Some(json!(key))),
                ("operator", Some(json!(operator))),
                ("values", values.map(|v| json!(v))),
            ])
        });
    vec(vec(expression, 0..3), 0..3)
        .prop_map(|terms| {
            let terms: Vec<Value> = terms
                .into_iter()
                .map(|exprs| json!({"matchExpressions": exprs}))
                .collect();
            json!({"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": terms}}})
        })
        .boxed()
}

/// A pod spec: containers, init containers (sidecars too), ephemeral
/// containers, tolerations, nodeSelector, node affinity, runtimeClassName,
/// DRA claims, hostPath volumes, nodeName.
pub fn pod_spec() -> BoxedStrategy<Value> {
    (
        vec(container(), 0..4),
        option::of(vec(container(), 0..3)),
        option::of(vec(container(), 0..2)),
        option::of(vec(toleration(), 0..4)),
        option::of(btree_map(label_key(), label_value(), 0..3)),
        option::of(affinity()),
        option::of(select(&["nvidia", "nvidia-cdi", "runc", ""][..])),
        option::of(vec(
            (select(&["gpu", "nic", "bare"][..]), any::<bool>(), word()),
            0..3,
        )),
        option::of(vec(select(&PATHS[..]), 0..3)),
        option::of(select(&["gpu-node-0", "cpu-node-0", ""][..])),
    )
        .prop_map(
            |(
                containers,
                init,
                ephemeral,
                tolerations,
                selector,
                affinity,
                runtime,
                claims,
                volumes,
                node,
            )| {
                object([
                    ("containers", Some(Value::Array(containers))),
                    ("initContainers", init.map(Value::Array)),
                    ("ephemeralContainers", ephemeral.map(Value::Array)),
                    ("tolerations", tolerations.map(Value::Array)),
                    ("nodeSelector", selector.map(|v| json!(v))),
                    ("affinity", affinity),
                    ("runtimeClassName", runtime.map(Value::from)),
                    ("restartPolicy", Some(json!("Never"))),
                    (
                        "resourceClaims",
                        claims.map(|c| {
                            c.into_iter()
                                .map(|(name, template, source)| {
                                    let key = if template {
                                        "resourceClaimTemplateName"
                                    } else {
                                        "resourceClaimName"
                                    };
                                    json!({"name": name, key: source})
                                })
                                .collect()
                        }),
                    ),
                    (
                        "volumes",
                        volumes.map(|v| {
                            v.iter()
                                .enumerate()
                                .map(|(i, path)| json!({"name": format!("v{i}"), "hostPath": {"path": path}}))
                                .collect()
                        }),
                    ),
                    ("nodeName", node.map(Value::from)),
                ])
            },
        )
        .boxed()
}

/// `(group, version, kind, resource)`: the workload kinds
/// ([`WorkloadKind::ALL`]) mostly, then NetworkPolicy, kinds no policy
/// knows, and known kinds in the wrong group.
pub fn workload_kind() -> BoxedStrategy<(String, String, String, String)> {
    let own = |(g, v, k, r): (&str, &str, &str, &str)| {
        (g.to_owned(), v.to_owned(), k.to_owned(), r.to_owned())
    };
    prop_oneof![
        16 => select(WorkloadKind::ALL.to_vec())
            .prop_map(move |k| own((k.group(), k.version(), k.name(), k.resource()))),
        2 => Just(own(("networking.k8s.io", "v1", "NetworkPolicy", "networkpolicies"))),
        1 => Just(own(("", "v1", "ConfigMap", "configmaps"))),
        1 => select(WorkloadKind::ALL.to_vec())
            .prop_map(move |k| own(("extensions", "v1beta1", k.name(), k.resource()))),
        1 => (word(), word()).prop_map(|(g, k)| (g, "v1".to_owned(), k, "things".to_owned())),
    ]
    .boxed()
}

/// A NetworkPolicy spec (for gpu-isolated-namespace's protection rule).
fn network_policy_spec() -> BoxedStrategy<Value> {
    (
        option::of(btree_map(label_key(), label_value(), 0..2)),
        option::of(vec(select(&["Ingress", "Egress", "ingress", ""][..]), 0..3)),
        option::of(vec(
            prop_oneof![
                Just(json!({})),
                Just(json!({"from": [{"podSelector": {}}]}))
            ],
            0..2,
        )),
        option::of(vec(
            prop_oneof![Just(json!({})), Just(json!({"ports": [{"port": 53}]}))],
            0..2,
        )),
    )
        .prop_map(|(labels, types, ingress, egress)| {
            let selector = labels.map_or_else(|| json!({}), |l| json!({"matchLabels": l}));
            object([
                ("podSelector", Some(selector)),
                ("policyTypes", types.map(|t| json!(t))),
                ("ingress", ingress.map(Value::Array)),
                ("egress", egress.map(Value::Array)),
            ])
        })
        .boxed()
}

/// An arbitrary JSON value, a few levels deep.
pub fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        any::<f64>().prop_map(Value::from),
        word().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 16, 4, |inner| {
        prop_oneof![
            vec(inner.clone(), 0..4).prop_map(Value::Array),
            btree_map(word(), inner, 0..4).prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
    .boxed()
}

/// The object of a request: the pod (or NetworkPolicy) of `kind`.
fn object_of(kind: (String, String, String, String)) -> BoxedStrategy<Value> {
    let (group, version, kind, _) = kind;
    let labels = option::of(btree_map(label_key(), label_value(), 0..3));
    if kind == "NetworkPolicy" {
        return (labels, network_policy_spec())
            .prop_map(move |(labels, spec)| {
                json!({"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
                       "metadata": {"name": "default-deny", "namespace": "ml", "labels": labels},
                       "spec": spec})
            })
            .boxed();
    }
    (
        labels,
        pod_spec(),
        option::weighted(0.15, (select(build::SPOIL_SLOTS), any_json())),
    )
        .prop_map(move |(labels, spec, spoil)| {
            let mut metadata = labels.map_or_else(|| json!({}), |l| json!({"labels": l}));
            // A CDI annotation now and then (a GPU device or another).
            let one_container = spec
                .get("containers")
                .and_then(Value::as_array)
                .is_some_and(|c| c.len() == 1);
            if let (true, Some(m)) = (one_container, metadata.as_object_mut()) {
                m.insert(
                    "annotations".to_owned(),
                    json!({"cdi.k8s.io/dev": "nvidia.com/gpu=all,vendor.example.com/nic=0"}),
                );
            }
            let mut object =
                build::workload_object(&group, &version, &kind, "trainer", "ml", metadata, spec);
            if let Some((slot, junk)) = spoil {
                build::spoil(&mut object, &kind, slot, junk);
            }
            object
        })
        .boxed()
}

/// A whole AdmissionRequest: kind, operation (CREATE, UPDATE, DELETE,
/// CONNECT), namespace, object and oldObject as the API server sends them.
pub fn admission_request() -> BoxedStrategy<Value> {
    let namespace = prop_oneof![
        4 => select(&["ml", "ml-training", "default", ""][..]).prop_map(str::to_owned),
        1 => word(),
    ];
    (
        workload_kind(),
        select(&["CREATE", "CREATE", "UPDATE", "DELETE", "CONNECT"][..]),
        namespace,
    )
        .prop_flat_map(|(kind, operation, namespace)| {
            (
                Just(kind.clone()),
                Just(operation),
                Just(namespace),
                object_of(kind.clone()),
                object_of(kind),
            )
        })
        .prop_map(
            |((group, version, kind, resource), operation, namespace, object, old)| {
                let (object, old) = match operation {
                    "DELETE" => (Value::Null, old),
                    "UPDATE" => (object, old),
                    _ => (object, Value::Null),
                };
                build::admission_request(
                    &group, &version, &kind, &resource, operation, "trainer", &namespace, object,
                    old,
                )
            },
        )
        .boxed()
}

/// Settings built from `keys` (a policy's settings keys): each key absent,
/// or given a plausible value from `plausible`, or an arbitrary JSON value.
/// Most results are invalid; the policies must say so, never trap.
/// Plausible values of a settings key or of the objects of a kind, as one
/// JSON array (valid and nearly valid ones); anything else means none.
pub type Plausible = fn(&str) -> Value;

/// The values `plausible` gives for `key`.
pub fn plausible_values(plausible: Plausible, key: &str) -> Vec<Value> {
    match plausible(key) {
        Value::Array(values) => values,
        _ => Vec::new(),
    }
}

pub fn settings_value(keys: &'static [&'static str], plausible: Plausible) -> BoxedStrategy<Value> {
    let per_key: Vec<BoxedStrategy<Option<(String, Value)>>> = keys
        .iter()
        .map(|key| {
            let values = plausible_values(plausible, key);
            let value = if values.is_empty() {
                any_json()
            } else {
                prop_oneof![3 => select(values), 1 => any_json()].boxed()
            };
            option::weighted(0.4, value.prop_map(move |v| ((*key).to_owned(), v))).boxed()
        })
        .collect();
    per_key
        .prop_map(|pairs| Value::Object(pairs.into_iter().flatten().collect()))
        .boxed()
}

/// A Kubernetes object the cluster might hold, for fake cluster readers:
/// a plausible shape most of the time, any JSON sometimes.
pub fn cluster_object() -> BoxedStrategy<Value> {
    prop_oneof![
        4 => (option::of(btree_map(label_key(), label_value(), 0..3)), network_policy_spec())
            .prop_map(|(labels, spec)| json!({"metadata": {"name": "x", "labels": labels}, "spec": spec})),
        1 => any_json(),
    ]
    .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::strategy::ValueTree;
    use proptest::test_runner::TestRunner;

    #[test]
    fn requests_cover_every_kind_and_operation() {
        let mut runner = TestRunner::deterministic();
        let strategy = admission_request();
        let mut kinds = std::collections::BTreeSet::new();
        let mut operations = std::collections::BTreeSet::new();
        for _ in 0..300 {
            let v = strategy.new_tree(&mut runner).unwrap().current();
            kinds.insert(v["kind"]["kind"].as_str().unwrap().to_owned());
            operations.insert(v["operation"].as_str().unwrap().to_owned());
            if v["operation"] == "DELETE" {
                assert!(v["object"].is_null());
            }
        }
        for kind in WorkloadKind::ALL {
            assert!(kinds.contains(kind.name()), "{kind} never generated");
        }
        assert!(kinds.contains("NetworkPolicy"));
        assert!(operations.len() >= 4, "{operations:?}");
    }

    #[test]
    fn settings_draw_the_plausible_values() {
        fn plausible(key: &str) -> Value {
            match key {
                "mode" => json!(["validate", "mutate"]),
                _ => Value::Null,
            }
        }
        assert!(plausible_values(plausible, "other").is_empty());
        let mut runner = TestRunner::deterministic();
        let strategy = settings_value(&["mode"], plausible);
        let drawn: std::collections::BTreeSet<String> = (0..200)
            .filter_map(|_| {
                let v = strategy.new_tree(&mut runner).unwrap().current();
                v["mode"].as_str().map(str::to_owned)
            })
            .collect();
        assert!(
            drawn.contains("validate") && drawn.contains("mutate"),
            "{drawn:?}"
        );
    }

    #[test]
    fn dictionary_words_run_through_every_list_and_wrap() {
        let total = WORDS.len() + RESOURCE_NAMES.len() + QUANTITIES.len();
        let words: Vec<&str> = (0..total).map(dictionary_word).collect();
        assert_eq!(words, [WORDS, RESOURCE_NAMES, QUANTITIES].concat());
        assert_eq!(dictionary_word(total + 1), WORDS[1]);
    }
}
