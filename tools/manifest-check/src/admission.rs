//! Wrapping an input object in the AdmissionRequest the API server would
//! send for `kubectl create` (operation CREATE), in kwctl's shape.

use gpu_policy_core::WorkloadKind;
use policy_cases::Rule;
use serde_json::{Value, json};

use crate::input::InputObject;

/// Group, version and resource of an object, as admission rules see them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceType {
    /// API group (`""` for core).
    pub group: String,
    pub version: String,
    pub kind: String,
    pub resource: String,
    /// Whether objects of this kind live in a namespace.
    pub namespaced: bool,
    /// Whether the kind is in the built-in table (else resource and scope
    /// were guessed).
    pub known: bool,
}

// Kinds besides the workload kinds (namespaced, from `WorkloadKind`), as
// `group/Kind` (`Kind` for core), by scope; the plural is `guess_plural`'s
// but for `Endpoints`. Kinds not listed get a guessed plural and are assumed
// namespaced (most custom resources are).
const NAMESPACED_KINDS: [&str; 22] = [
    "resource.k8s.io/ResourceClaim",
    "resource.k8s.io/ResourceClaimTemplate",
    "Service",
    "ConfigMap",
    "Secret",
    "ServiceAccount",
    "PersistentVolumeClaim",
    "ResourceQuota",
    "LimitRange",
    "Endpoints",
    "Event",
    "PodTemplate",
    "apps/ControllerRevision",
    "autoscaling/HorizontalPodAutoscaler",
    "policy/PodDisruptionBudget",
    "networking.k8s.io/NetworkPolicy",
    "networking.k8s.io/Ingress",
    "discovery.k8s.io/EndpointSlice",
    "rbac.authorization.k8s.io/Role",
    "rbac.authorization.k8s.io/RoleBinding",
    "policies.kubewarden.io/AdmissionPolicy",
    "policies.kubewarden.io/AdmissionPolicyGroup",
];
const CLUSTER_SCOPED_KINDS: [&str; 17] = [
    "resource.k8s.io/DeviceClass",
    "Namespace",
    "Node",
    "PersistentVolume",
    "networking.k8s.io/IngressClass",
    "rbac.authorization.k8s.io/ClusterRole",
    "rbac.authorization.k8s.io/ClusterRoleBinding",
    "storage.k8s.io/StorageClass",
    "storage.k8s.io/CSIDriver",
    "scheduling.k8s.io/PriorityClass",
    "node.k8s.io/RuntimeClass",
    "apiextensions.k8s.io/CustomResourceDefinition",
    "admissionregistration.k8s.io/ValidatingWebhookConfiguration",
    "admissionregistration.k8s.io/MutatingWebhookConfiguration",
    "policies.kubewarden.io/ClusterAdmissionPolicy",
    "policies.kubewarden.io/ClusterAdmissionPolicyGroup",
    "policies.kubewarden.io/PolicyServer",
];

impl ResourceType {
    /// Whether admission `rule` selects a request with `operation` on
    /// this type's objects.
    pub fn selected_by(&self, rule: &Rule, operation: &str) -> bool {
        rule.selects(
            &self.group,
            &self.version,
            &self.resource,
            self.namespaced,
            operation,
        )
    }

    pub fn of(api_version: &str, kind: &str) -> Self {
        let (group, version) = match api_version.split_once('/') {
            Some((g, v)) => (g, v),
            None => ("", api_version),
        };
        let known = WorkloadKind::from_group_kind(group, kind)
            .map(|k| (k.resource().to_owned(), true))
            .or_else(|| {
                let key = format!("{group}/{kind}");
                let key = key.trim_start_matches('/');
                let namespaced = NAMESPACED_KINDS.contains(&key);
                if !namespaced && !CLUSTER_SCOPED_KINDS.contains(&key) {
                    return None;
                }
                let plural = match kind {
                    "Endpoints" => "endpoints".to_owned(),
                    _ => guess_plural(kind),
                };
                Some((plural, namespaced))
            });
        let known_kind = known.is_some();
        let (resource, namespaced) = known.unwrap_or_else(|| (guess_plural(kind), true));
        Self {
            group: group.to_owned(),
            version: version.to_owned(),
            kind: kind.to_owned(),
            resource,
            namespaced,
            known: known_kind,
        }
    }
}

/// English plural of a lowercased kind, as the API server's default REST
/// mapper guesses it (`Policy` -> `policies`, `Ingress` -> `ingresses`).
pub fn guess_plural(kind: &str) -> String {
    let lower = kind.to_ascii_lowercase();
    if lower.ends_with('s')
        || lower.ends_with('x')
        || lower.ends_with("ch")
        || lower.ends_with("sh")
    {
        format!("{lower}es")
    } else if let Some(stem) = lower.strip_suffix('y')
        && !stem.ends_with(['a', 'e', 'i', 'o', 'u'])
    {
        format!("{stem}ies")
    } else {
        format!("{lower}s")
    }
}

/// An input object ready for the policies.
#[derive(Debug, Clone)]
pub struct Admission {
    pub resource_type: ResourceType,
    /// The namespace the request is made in (`None` for cluster-scoped kinds).
    pub namespace: Option<String>,
    /// The AdmissionRequest (the `request` of an AdmissionReview).
    pub request: Value,
}

/// Who the offline check pretends to be.
const USERNAME: &str = "gpu-policy-check";

/// Builds the CREATE AdmissionRequest for `object`; `index` makes the uid
/// unique and reproducible across runs.
pub fn build(input: &InputObject, index: usize) -> Admission {
    let resource_type = ResourceType::of(input.api_version(), input.kind());
    let namespace = resource_type.namespaced.then(|| {
        input
            .meta("namespace")
            .filter(|ns| !ns.is_empty())
            .unwrap_or("default")
            .to_owned()
    });
    let mut object = input.object.clone();
    normalize_quantities(&mut object);
    // The API server sets metadata.namespace before admission, as
    // `kubectl apply` without `-n` lands in `default`.
    if let Some(ns) = &namespace
        && let Some(map) = object.as_object_mut()
    {
        let meta = map.entry("metadata").or_insert(Value::Null);
        if meta.is_null() {
            *meta = json!({});
        }
        if let Some(meta) = meta.as_object_mut() {
            meta.insert("namespace".to_owned(), Value::String(ns.clone()));
        }
    }
    let kind = json!({
        "group": resource_type.group,
        "version": resource_type.version,
        "kind": resource_type.kind,
    });
    let resource = json!({
        "group": resource_type.group,
        "version": resource_type.version,
        "resource": resource_type.resource,
    });
    let request = json!({
        "uid": format!("00000000-0000-4000-8000-{:012x}", index),
        "kind": kind,
        "resource": resource,
        "requestKind": kind,
        "requestResource": resource,
        "name": input.meta("name").unwrap_or_default(),
        "namespace": namespace.clone().unwrap_or_default(),
        "operation": "CREATE",
        "userInfo": {
            "username": USERNAME,
            "groups": ["system:authenticated"],
        },
        "object": object,
        "oldObject": null,
        "dryRun": true,
        "options": {
            "apiVersion": "meta.k8s.io/v1",
            "kind": "CreateOptions",
            "fieldManager": USERNAME,
        },
    });
    Admission {
        resource_type,
        namespace,
        request,
    }
}

/// Maps of resource quantities: container `resources.limits/requests`,
/// pod `overhead`, ResourceQuota `hard`, LimitRange defaults.
const QUANTITY_MAPS: [&str; 8] = [
    "limits",
    "requests",
    "overhead",
    "hard",
    "default",
    "defaultRequest",
    "max",
    "min",
];

/// Writes numeric quantities as strings (`nvidia.com/gpu: 1` -> `"1"`), as
/// the API server does when it decodes an object into its Quantity type
/// before admission; policies then see what they would see in the cluster.
pub fn normalize_quantities(value: &mut Value) {
    match value {
        Value::Object(map) => {
            for (key, child) in map.iter_mut() {
                if QUANTITY_MAPS.contains(&key.as_str())
                    && let Value::Object(quantities) = child
                {
                    for q in quantities.values_mut() {
                        if let Value::Number(n) = q {
                            *q = Value::String(n.to_string());
                        }
                    }
                }
                normalize_quantities(child);
            }
        }
        Value::Array(items) => items.iter_mut().for_each(normalize_quantities),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::input::Source;

    fn input(object: Value) -> InputObject {
        InputObject {
            source: Source {
                file: "f.yaml".into(),
                document: 0,
                item: None,
            },
            object,
            positions: Default::default(),
        }
    }

    #[test]
    fn numeric_quantities_become_strings() {
        let mut v = json!({"spec": {"containers": [{"resources": {"limits": {"nvidia.com/gpu": 2, "cpu": 0.5}}, "ports": [{"containerPort": 80}]}]}});
        normalize_quantities(&mut v);
        let limits = &v["spec"]["containers"][0]["resources"]["limits"];
        assert_eq!(limits["nvidia.com/gpu"], "2");
        assert_eq!(limits["cpu"], "0.5");
        assert_eq!(v["spec"]["containers"][0]["ports"][0]["containerPort"], 80);
    }

    #[test]
    fn workload_kinds_are_known() {
        for kind in WorkloadKind::ALL {
            let t = ResourceType::of(kind.api_version(), kind.name());
            assert_eq!(t.resource, kind.resource(), "{kind}");
            assert!(t.known && t.namespaced, "{kind}");
        }
    }

    #[test]
    fn known_and_guessed_types() {
        let d = ResourceType::of("apps/v1", "Deployment");
        assert_eq!((d.group.as_str(), d.version.as_str()), ("apps", "v1"));
        assert_eq!(d.resource, "deployments");
        assert!(d.known && d.namespaced);
        let ns = ResourceType::of("v1", "Namespace");
        assert!(!ns.namespaced);
        assert_eq!(ResourceType::of("v1", "Endpoints").resource, "endpoints");
        let np = ResourceType::of("networking.k8s.io/v1", "NetworkPolicy");
        assert!(np.known && np.resource == "networkpolicies");
        let crd = ResourceType::of("example.com/v1alpha1", "GpuPolicy");
        assert_eq!(crd.resource, "gpupolicies");
        assert!(!crd.known && crd.namespaced);
        assert_eq!(guess_plural("Gateway"), "gateways");
        assert_eq!(guess_plural("Mailbox"), "mailboxes");
        assert_eq!(guess_plural("Widget"), "widgets");
    }

    #[test]
    fn request_has_kwctl_shape_and_default_namespace() {
        let a = build(
            &input(json!({"apiVersion": "batch/v1", "kind": "Job", "metadata": {"name": "train"}})),
            7,
        );
        let r = &a.request;
        assert_eq!(
            r["kind"],
            json!({"group": "batch", "version": "v1", "kind": "Job"})
        );
        assert_eq!(r["resource"]["resource"], "jobs");
        assert_eq!(r["namespace"], "default");
        assert_eq!(r["object"]["metadata"]["namespace"], "default");
        assert_eq!(r["operation"], "CREATE");
        assert_eq!(r["name"], "train");
        assert!(r["uid"].as_str().unwrap().ends_with("000000000007"));
        let ns = build(
            &input(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "x"}})),
            0,
        );
        assert_eq!(ns.namespace, None);
        assert_eq!(ns.request["namespace"], "");
        assert!(ns.request["object"]["metadata"].get("namespace").is_none());
    }
}
