//! Finding the pod template in Pods and the seven workload kinds, with the
//! JSON path of every piece so messages can point at it.

use std::fmt;
use std::marker::PhantomData;

use serde::de::value::MapAccessDeserializer;
use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer};

use crate::admitted::Admitted;
use crate::json_path;
use crate::pod::{
    Container, NodeSelectorRequirement, ObjectMeta, PodResourceClaim, PodSpec, null_as_default,
};
use crate::request::AdmissionRequest;
use crate::violation::Violation;

/// The kinds that carry a pod template.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum WorkloadKind {
    /// `v1/Pod`.
    #[default]
    Pod,
    /// `apps/v1/Deployment`.
    Deployment,
    /// `apps/v1/ReplicaSet`.
    ReplicaSet,
    /// `apps/v1/StatefulSet`.
    StatefulSet,
    /// `apps/v1/DaemonSet`.
    DaemonSet,
    /// `batch/v1/Job`.
    Job,
    /// `batch/v1/CronJob`.
    CronJob,
    /// `v1/ReplicationController`.
    ReplicationController,
}

impl WorkloadKind {
    /// Every kind, in the order the docs list them.
    pub const ALL: [WorkloadKind; 8] = [
        WorkloadKind::Pod,
        WorkloadKind::Deployment,
        WorkloadKind::ReplicaSet,
        WorkloadKind::StatefulSet,
        WorkloadKind::DaemonSet,
        WorkloadKind::Job,
        WorkloadKind::CronJob,
        WorkloadKind::ReplicationController,
    ];

    /// The kind for an API group and kind name. The group must match too:
    /// a CRD called `Job` in another group (Volcano, Kueue) has another schema.
    pub fn from_group_kind(group: &str, kind: &str) -> Option<Self> {
        WorkloadKind::ALL
            .into_iter()
            .find(|k| k.group() == group && k.name() == kind)
    }

    /// The kind's name.
    pub fn name(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "Pod",
            WorkloadKind::Deployment => "Deployment",
            WorkloadKind::ReplicaSet => "ReplicaSet",
            WorkloadKind::StatefulSet => "StatefulSet",
            WorkloadKind::DaemonSet => "DaemonSet",
            WorkloadKind::Job => "Job",
            WorkloadKind::CronJob => "CronJob",
            WorkloadKind::ReplicationController => "ReplicationController",
        }
    }

    /// The kind's API group (empty for the core group).
    pub fn group(self) -> &'static str {
        match self {
            WorkloadKind::Pod | WorkloadKind::ReplicationController => "",
            WorkloadKind::Deployment
            | WorkloadKind::ReplicaSet
            | WorkloadKind::StatefulSet
            | WorkloadKind::DaemonSet => "apps",
            WorkloadKind::Job | WorkloadKind::CronJob => "batch",
        }
    }

    /// The API version: `v1` for every kind (Kubernetes serves each of them
    /// at `v1` only).
    pub fn version(self) -> &'static str {
        "v1"
    }

    /// The object's `apiVersion`: `v1`, `apps/v1` or `batch/v1`
    /// (`group/version`, or the version alone in the core group).
    pub fn api_version(self) -> &'static str {
        match self.group() {
            "" => "v1",
            "apps" => "apps/v1",
            _ => "batch/v1",
        }
    }

    /// The plural resource name, as in an AdmissionRequest's `resource`.
    pub fn resource(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "pods",
            WorkloadKind::Deployment => "deployments",
            WorkloadKind::ReplicaSet => "replicasets",
            WorkloadKind::StatefulSet => "statefulsets",
            WorkloadKind::DaemonSet => "daemonsets",
            WorkloadKind::Job => "jobs",
            WorkloadKind::CronJob => "cronjobs",
            WorkloadKind::ReplicationController => "replicationcontrollers",
        }
    }

    /// JSON path of the pod template's metadata (where pod labels live).
    pub fn pod_metadata_path(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "metadata",
            WorkloadKind::CronJob => "spec.jobTemplate.spec.template.metadata",
            _ => "spec.template.metadata",
        }
    }

    /// JSON path of the pod spec.
    pub fn pod_spec_path(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "spec",
            WorkloadKind::CronJob => "spec.jobTemplate.spec.template.spec",
            _ => "spec.template.spec",
        }
    }

    /// JSON pointer of the pod spec, for patches (`/spec/template/spec`).
    pub fn pod_spec_pointer(self) -> &'static str {
        match self {
            WorkloadKind::Pod => "/spec",
            WorkloadKind::CronJob => "/spec/jobTemplate/spec/template/spec",
            _ => "/spec/template/spec",
        }
    }
}

impl fmt::Display for WorkloadKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A Pod, or the pod template of a workload, with where it sits.
#[derive(Debug, Clone, Default)]
pub struct Workload {
    /// Which kind it came from.
    pub kind: WorkloadKind,
    /// The object's own metadata.
    pub metadata: ObjectMeta,
    /// The pod's metadata: the Pod's own, or the template's.
    pub pod_metadata: ObjectMeta,
    /// The pod spec.
    pub spec: PodSpec,
    /// A Job's `spec.suspend` (false for the other kinds): Kueue creates
    /// Jobs suspended and unsuspends them when it admits them.
    pub suspended: bool,
}

/// Where a container is declared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContainerKind {
    /// An init container that runs to completion before the app containers.
    Init,
    /// An init container with `restartPolicy: Always`: runs beside the app.
    Sidecar,
    /// An app container.
    App,
    /// An ephemeral (debug) container.
    Ephemeral,
}

impl ContainerKind {
    /// The pod spec field that lists this kind.
    pub fn field(self) -> &'static str {
        match self {
            ContainerKind::Init | ContainerKind::Sidecar => "initContainers",
            ContainerKind::App => "containers",
            ContainerKind::Ephemeral => "ephemeralContainers",
        }
    }
}

/// A container with its place in the pod spec.
#[derive(Debug, Clone, Copy)]
pub struct ContainerRef<'a> {
    /// What kind of container it is.
    pub kind: ContainerKind,
    /// Its index in its list.
    pub index: usize,
    /// The container.
    pub container: &'a Container,
    spec_path: &'static str,
}

impl ContainerRef<'_> {
    /// The container's JSON path, e.g. `spec.template.spec.initContainers[0]`.
    pub fn path(&self) -> String {
        format!("{}.{}[{}]", self.spec_path, self.kind.field(), self.index)
    }

    /// A path below the container, e.g. `resources.limits["nvidia.com/gpu"]`.
    pub fn field_path(&self, below: &str) -> String {
        format!("{}.{}", self.path(), below)
    }
}

/// A DRA claim a container uses: its `resources.claims[]` entry and the
/// `spec.resourceClaims[]` entry that entry names.
#[derive(Debug, Clone, Copy)]
pub struct ClaimUse<'w> {
    /// The container.
    pub container: ContainerRef<'w>,
    /// Its index in the container's `resources.claims`.
    pub index: usize,
    /// The pod's claim it names.
    pub claim: &'w PodResourceClaim,
    /// The claim's index in `spec.resourceClaims`.
    pub claim_index: usize,
}

impl ClaimUse<'_> {
    /// The path of the pod's claim, e.g. `spec.resourceClaims[0]`.
    pub fn claim_path(&self) -> String {
        format!(
            "{}.resourceClaims[{}]",
            self.container.spec_path, self.claim_index
        )
    }

    /// The claim for messages: `spec.resourceClaims[0] "gpu" (ResourceClaimTemplate
    /// single-gpu), used by spec.containers[0] "ctr"`.
    pub fn describe(&self) -> String {
        format!(
            "{} {:?} ({}), used by {} {:?}",
            self.claim_path(),
            self.claim.name,
            self.claim.source(),
            self.container.path(),
            self.container.container.name
        )
    }
}

impl Workload {
    /// The DRA claims the container uses, in `resources.claims` order.
    /// Entries naming no `spec.resourceClaims` entry are left out (the API
    /// server refuses such pods). Ephemeral containers cannot use claims.
    pub fn claim_uses<'w>(&'w self, container: ContainerRef<'w>) -> Vec<ClaimUse<'w>> {
        if container.kind == ContainerKind::Ephemeral {
            return Vec::new();
        }
        container
            .container
            .resources
            .claims
            .iter()
            .enumerate()
            .filter_map(|(index, used)| {
                let (claim_index, claim) = self
                    .spec
                    .resource_claims
                    .iter()
                    .enumerate()
                    .find(|(_, c)| c.name == used.name)?;
                Some(ClaimUse {
                    container,
                    index,
                    claim,
                    claim_index,
                })
            })
            .collect()
    }

    /// Every DRA claim use of the pod, container by container.
    pub fn all_claim_uses(&self) -> Vec<ClaimUse<'_>> {
        self.containers().flat_map(|c| self.claim_uses(c)).collect()
    }

    /// Extracts the pod template from an admission request.
    ///
    /// `Ok(None)` when the policy has nothing to look at: a kind without a pod
    /// template, or no object (DELETE). `Err` when the object cannot be read
    /// (wrong types): a violation naming the path that is wrong.
    pub fn from_request(request: &AdmissionRequest) -> Result<Option<Workload>, Violation> {
        if WorkloadKind::from_group_kind(&request.kind.group, &request.kind.kind).is_none() {
            return Ok(None);
        }
        Ok(match Admitted::from_request(request)? {
            Some(Admitted::Workload(workload)) => Some(workload),
            _ => None,
        })
    }

    /// Extracts the pod template from an object of a known kind.
    pub fn from_json(kind: WorkloadKind, json: &str) -> Result<Workload, Violation> {
        parse_object_with(json, |d| Workload::read(kind, d))
    }

    /// Reads the pod template of an object of `kind`, which must be a JSON
    /// mapping.
    pub(crate) fn read<'de, D: Deserializer<'de>>(
        kind: WorkloadKind,
        d: D,
    ) -> Result<Workload, D::Error> {
        Ok(match kind {
            WorkloadKind::Pod => {
                let pod: PodObject = read_mapping(d)?;
                Workload {
                    kind,
                    pod_metadata: pod.metadata.clone(),
                    metadata: pod.metadata,
                    spec: pod.spec,
                    suspended: false,
                }
            }
            WorkloadKind::CronJob => {
                let cron: CronJobObject = read_mapping(d)?;
                let template = cron.spec.job_template.spec.template;
                Workload {
                    kind,
                    metadata: cron.metadata,
                    pod_metadata: template.metadata,
                    spec: template.spec,
                    suspended: false,
                }
            }
            _ => {
                let object: TemplatedObject = read_mapping(d)?;
                Workload {
                    kind,
                    metadata: object.metadata,
                    pod_metadata: object.spec.template.metadata,
                    spec: object.spec.template.spec,
                    suspended: kind == WorkloadKind::Job && object.spec.suspend,
                }
            }
        })
    }

    /// JSON path of the pod spec, e.g. `spec.template.spec`.
    pub fn spec_path(&self) -> &'static str {
        self.kind.pod_spec_path()
    }

    /// Every node label requirement of the pod's required node affinity,
    /// with where it sits (`...nodeSelectorTerms[t].matchExpressions[e]`,
    /// formatted only when a rule names it).
    pub fn required_node_expressions(
        &self,
    ) -> impl Iterator<Item = (NodeExpressionPath, &NodeSelectorRequirement)> + '_ {
        let spec_path = self.spec_path();
        self.spec
            .affinity
            .node_affinity
            .required_during_scheduling_ignored_during_execution
            .node_selector_terms
            .iter()
            .enumerate()
            .flat_map(move |(term, t)| {
                t.match_expressions
                    .iter()
                    .enumerate()
                    .map(move |(expression, expr)| {
                        let path = NodeExpressionPath {
                            spec_path,
                            term,
                            expression,
                        };
                        (path, expr)
                    })
            })
    }

    /// Every container in pod order: init containers and sidecars, app
    /// containers, then ephemeral containers.
    pub fn containers<'w>(&'w self) -> impl Iterator<Item = ContainerRef<'w>> {
        let spec_path = self.spec_path();
        let list = |containers: &'w [Container], kind: fn(&Container) -> ContainerKind| {
            containers
                .iter()
                .enumerate()
                .map(move |(index, c)| ContainerRef {
                    kind: kind(c),
                    index,
                    container: c,
                    spec_path,
                })
        };
        let init = |c: &Container| {
            if c.restart_policy == "Always" {
                ContainerKind::Sidecar
            } else {
                ContainerKind::Init
            }
        };
        list(&self.spec.init_containers, init)
            .chain(list(&self.spec.containers, |_| ContainerKind::App))
            .chain(list(&self.spec.ephemeral_containers, |_| {
                ContainerKind::Ephemeral
            }))
    }
}

/// The JSON reader every object is read with. One reader type, because
/// each one instantiates every deserializer of the pod and DRA types once
/// more in the wasm module. A `str` reader: the text is checked for UTF-8
/// once, not string by string.
pub(crate) type ObjectReader<'de> = serde_json::Deserializer<serde_json::de::StrRead<'de>>;

/// Parses an object with `read`; on failure, says which field has the
/// wrong shape.
pub(crate) fn parse_object_with<T>(
    json: &str,
    read: impl FnOnce(&mut ObjectReader<'_>) -> serde_json::Result<T>,
) -> Result<T, Violation> {
    // serde also fills structs from arrays; an object must be a mapping.
    if !json.trim_start().starts_with('{') {
        return Err(
            Violation::new("object", "is not a JSON object").fix("send a valid Kubernetes object")
        );
    }
    // The parse carries no path bookkeeping; only a failure pays for finding
    // the field, from the error's position.
    let mut reader = serde_json::Deserializer::from_str(json);
    read(&mut reader)
        .and_then(|value| reader.end().map(|()| value))
        .map_err(|e| {
            Violation::new(
                object_path(json_path::error_path(json, &e)),
                format!("cannot be read: {e}"),
            )
            .fix("send a valid Kubernetes object")
        })
}

/// Reads `T` from a JSON mapping only: serde also fills structs from
/// arrays. The struct is read from the mapping's own entries, so its
/// deserializer is the one a plain read instantiates.
pub(crate) fn read_mapping<'de, T: Deserialize<'de>, D: Deserializer<'de>>(
    d: D,
) -> Result<T, D::Error> {
    struct Mapping<T>(PhantomData<T>);
    impl<'de, T: Deserialize<'de>> Visitor<'de> for Mapping<T> {
        type Value = T;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("a JSON object")
        }
        fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<T, A::Error> {
            T::deserialize(MapAccessDeserializer::new(map))
        }
    }
    d.deserialize_map(Mapping(PhantomData))
}

/// The root has no path; messages say `object`.
fn object_path(path: String) -> String {
    if path.is_empty() {
        "object".to_owned()
    } else {
        path
    }
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct PodObject {
    #[serde(deserialize_with = "null_as_default")]
    metadata: ObjectMeta,
    #[serde(deserialize_with = "null_as_default")]
    spec: PodSpec,
}

/// A pod template reads like a pod: metadata and spec.
type PodTemplate = PodObject;

#[derive(Deserialize, Default)]
#[serde(default)]
struct TemplateSpec {
    #[serde(deserialize_with = "null_as_default")]
    template: PodTemplate,
    /// A Job's `suspend`.
    #[serde(deserialize_with = "null_as_default")]
    suspend: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct TemplatedObject {
    #[serde(deserialize_with = "null_as_default")]
    metadata: ObjectMeta,
    #[serde(deserialize_with = "null_as_default")]
    spec: TemplateSpec,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct JobTemplate {
    #[serde(deserialize_with = "null_as_default")]
    spec: TemplateSpec,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", default)]
struct CronJobSpec {
    #[serde(deserialize_with = "null_as_default")]
    job_template: JobTemplate,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct CronJobObject {
    #[serde(deserialize_with = "null_as_default")]
    metadata: ObjectMeta,
    #[serde(deserialize_with = "null_as_default")]
    spec: CronJobSpec,
}

/// The field path of a required node-affinity expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NodeExpressionPath {
    spec_path: &'static str,
    term: usize,
    expression: usize,
}

impl fmt::Display for NodeExpressionPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.affinity.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution.nodeSelectorTerms[{}].matchExpressions[{}]",
            self.spec_path, self.term, self.expression
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::request::ValidationPayload;
    #[cfg(target_arch = "wasm32")]
    use wasm_bindgen_test::wasm_bindgen_test as test;

    const POD_SPEC: &str = r#"{"initContainers": [{"name": "setup"}, {"name": "proxy", "restartPolicy": "Always"}],
        "containers": [{"name": "main"}], "ephemeralContainers": [{"name": "debug"}]}"#;

    fn wrap(kind: WorkloadKind) -> String {
        let template =
            format!(r#"{{"metadata": {{"labels": {{"tier": "pod"}}}}, "spec": {POD_SPEC}}}"#);
        match kind {
            WorkloadKind::Pod => {
                format!(
                    r#"{{"metadata": {{"name": "p", "labels": {{"tier": "pod"}}}}, "spec": {POD_SPEC}}}"#
                )
            }
            WorkloadKind::CronJob => format!(
                r#"{{"metadata": {{"name": "w"}}, "spec": {{"schedule": "* * * * *", "jobTemplate": {{"spec": {{"template": {template}}}}}}}}}"#
            ),
            _ => format!(
                r#"{{"metadata": {{"name": "w"}}, "spec": {{"replicas": 2, "template": {template}}}}}"#
            ),
        }
    }

    #[test]
    fn every_kind_yields_its_template_and_paths() {
        let expected_spec_paths = [
            (WorkloadKind::Pod, "spec"),
            (WorkloadKind::Deployment, "spec.template.spec"),
            (WorkloadKind::ReplicaSet, "spec.template.spec"),
            (WorkloadKind::StatefulSet, "spec.template.spec"),
            (WorkloadKind::DaemonSet, "spec.template.spec"),
            (WorkloadKind::Job, "spec.template.spec"),
            (WorkloadKind::CronJob, "spec.jobTemplate.spec.template.spec"),
            (WorkloadKind::ReplicationController, "spec.template.spec"),
        ];
        for (kind, spec_path) in expected_spec_paths {
            let w = Workload::from_json(kind, &wrap(kind)).unwrap();
            assert_eq!(w.spec_path(), spec_path, "{kind}");
            assert_eq!(
                w.pod_metadata.labels.get("tier").map(String::as_str),
                Some("pod"),
                "{kind}"
            );
            let paths: Vec<(ContainerKind, String, &str)> = w
                .containers()
                .map(|c| (c.kind, c.path(), c.container.name.as_str()))
                .collect();
            assert_eq!(
                paths,
                vec![
                    (
                        ContainerKind::Init,
                        format!("{spec_path}.initContainers[0]"),
                        "setup"
                    ),
                    (
                        ContainerKind::Sidecar,
                        format!("{spec_path}.initContainers[1]"),
                        "proxy"
                    ),
                    (
                        ContainerKind::App,
                        format!("{spec_path}.containers[0]"),
                        "main"
                    ),
                    (
                        ContainerKind::Ephemeral,
                        format!("{spec_path}.ephemeralContainers[0]"),
                        "debug"
                    ),
                ],
                "{kind}"
            );
        }
    }

    #[test]
    fn claim_uses_name_the_pod_claim_for_every_container_kind_but_ephemeral() {
        let claims = r#"{"resources": {"claims": [{"name": "gpu"}, {"name": "nic", "request": "port-0"}, {"name": "gone"}]}}"#;
        let spec = format!(
            r#"{{"resourceClaims": [{{"name": "nic", "resourceClaimName": "rdma"}}, {{"name": "gpu", "resourceClaimTemplateName": "single-gpu"}}, {{"name": "bare"}}],
               "initContainers": [{{"name": "setup", {c}}}, {{"name": "proxy", "restartPolicy": "Always", {c}}}],
               "containers": [{{"name": "main", {c}}}, {{"name": "cpu"}}], "ephemeralContainers": [{{"name": "debug", {c}}}]}}"#,
            c = &claims[1..claims.len() - 1]
        );
        for kind in WorkloadKind::ALL {
            let json = wrap(kind).replace(POD_SPEC, &spec);
            let w = Workload::from_json(kind, &json).unwrap();
            let sp = w.spec_path();
            let uses: Vec<(String, usize, String)> = w
                .all_claim_uses()
                .iter()
                .map(|u| (u.container.path(), u.index, u.describe()))
                .collect();
            let mut expected = Vec::new();
            for (field, name) in [
                ("initContainers[0]", "setup"),
                ("initContainers[1]", "proxy"),
                ("containers[0]", "main"),
            ] {
                let path = format!("{sp}.{field}");
                expected.push((path.clone(), 0, format!(r#"{sp}.resourceClaims[1] "gpu" (ResourceClaimTemplate single-gpu), used by {path} "{name}""#)));
                expected.push((path.clone(), 1, format!(r#"{sp}.resourceClaims[0] "nic" (ResourceClaim rdma), used by {path} "{name}""#)));
            }
            assert_eq!(uses, expected, "{kind}");
            assert_eq!(
                w.all_claim_uses()[1].container.container.resources.claims[1].request,
                "port-0"
            );
            assert_eq!(
                w.spec.resource_claims[2].source(),
                "no ResourceClaim or ResourceClaimTemplate named"
            );
        }
        // null and absent read as none.
        let w = Workload::from_json(WorkloadKind::Pod, r#"{"spec": {"resourceClaims": null, "containers": [{"resources": {"claims": null}}]}}"#).unwrap();
        assert!(w.all_claim_uses().is_empty());
    }

    #[test]
    fn api_versions_join_group_and_version() {
        for kind in WorkloadKind::ALL {
            let expected = match kind.group() {
                "" => kind.version().to_owned(),
                group => format!("{group}/{}", kind.version()),
            };
            assert_eq!(kind.api_version(), expected, "{kind}");
        }
    }

    #[test]
    fn only_a_job_is_suspended() {
        let job = r#"{"spec": {"suspend": true, "template": {"spec": {"containers": []}}}}"#;
        assert!(
            Workload::from_json(WorkloadKind::Job, job)
                .unwrap()
                .suspended
        );
        let running = job.replace("true", "false");
        assert!(
            !Workload::from_json(WorkloadKind::Job, &running)
                .unwrap()
                .suspended
        );
        let unset = job.replace(r#""suspend": true, "#, r#""suspend": null, "#);
        assert!(
            !Workload::from_json(WorkloadKind::Job, &unset)
                .unwrap()
                .suspended
        );
        // A Deployment has no suspend (an unknown field is ignored).
        assert!(
            !Workload::from_json(WorkloadKind::Deployment, job)
                .unwrap()
                .suspended
        );
    }

    #[test]
    fn kinds_are_matched_with_their_group() {
        assert_eq!(
            WorkloadKind::from_group_kind("batch", "Job"),
            Some(WorkloadKind::Job)
        );
        assert_eq!(
            WorkloadKind::from_group_kind("batch.volcano.sh", "Job"),
            None
        );
        assert_eq!(WorkloadKind::from_group_kind("", "Deployment"), None);
        assert_eq!(
            WorkloadKind::from_group_kind("", "Pod"),
            Some(WorkloadKind::Pod)
        );
        assert_eq!(WorkloadKind::from_group_kind("", "Service"), None);
    }

    #[test]
    fn unknown_kinds_and_deletes_have_no_workload() {
        let svc = r#"{"request": {"kind": {"group": "", "version": "v1", "kind": "Service"}, "object": {"spec": {}}}}"#;
        let p: ValidationPayload = serde_json::from_str(svc).unwrap();
        assert!(Workload::from_request(&p.request).unwrap().is_none());
        let delete = r#"{"request": {"kind": {"group": "", "version": "v1", "kind": "Pod"}, "operation": "DELETE", "object": null}}"#;
        let p: ValidationPayload = serde_json::from_str(delete).unwrap();
        assert!(Workload::from_request(&p.request).unwrap().is_none());
    }

    #[test]
    fn missing_or_null_parts_give_an_empty_spec() {
        for json in [
            r#"{}"#,
            r#"{"spec": null}"#,
            r#"{"spec": {"template": null}}"#,
        ] {
            let w = Workload::from_json(WorkloadKind::Deployment, json).unwrap();
            assert_eq!(w.containers().count(), 0);
        }
        let w =
            Workload::from_json(WorkloadKind::CronJob, r#"{"spec": {"jobTemplate": {}}}"#).unwrap();
        assert_eq!(w.containers().count(), 0);
    }

    /// Every value of a realistic Deployment replaced, one at a time, by
    /// each JSON type: wherever the parse fails, the field named from the
    /// error's position is the one serde_path_to_error tracks during the
    /// parse (compact and pretty-printed text).
    #[test]
    fn error_paths_agree_with_a_path_tracking_parse() {
        use serde_json::{Value, json};
        let object = json!({
            "apiVersion": "apps/v1", "kind": "Deployment",
            "metadata": {"name": "t", "namespace": "ml", "labels": {"app": "t"},
                "annotations": {"cdi.k8s.io/x": "nvidia.com/gpu=0"},
                "managedFields": [{"manager": "kubectl", "fieldsV1": {"f:spec": {}}}]},
            "spec": {"replicas": 2, "template": {
                "metadata": {"labels": {"app": "t"}},
                "spec": {
                    "nodeSelector": {"sku": "gpu"},
                    "tolerations": [{"key": "sku", "operator": "Equal", "value": "gpu", "effect": "NoSchedule"}],
                    "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [{"matchExpressions": [{"key": "k", "operator": "In", "values": ["a"]}]}]}}},
                    "resourceClaims": [{"name": "gpu", "resourceClaimTemplateName": "t"}],
                    "volumes": [{"name": "dev", "hostPath": {"path": "/dev/nvidia0"}}],
                    "securityContext": {"runAsNonRoot": true},
                    "initContainers": [{"name": "i", "image": "busybox"}],
                    "containers": [{"name": "c", "image": "cuda",
                        "env": [{"name": "NVIDIA_VISIBLE_DEVICES", "value": "all"}],
                        "envFrom": [{"configMapRef": {"name": "m"}}],
                        "securityContext": {"privileged": false},
                        "volumeMounts": [{"name": "dev", "mountPath": "/dev/nvidia0"}],
                        "resources": {"limits": {"nvidia.com/gpu": "1", "cpu": 2},
                            "requests": {"nvidia.com/gpu": 1}, "claims": [{"name": "gpu"}]}}]}}}
        });
        let mut pointers = Vec::new();
        fn walk(v: &Value, at: String, out: &mut Vec<String>) {
            match v {
                Value::Object(m) => m.iter().for_each(|(k, v)| {
                    walk(
                        v,
                        format!("{at}/{}", k.replace('~', "~0").replace('/', "~1")),
                        out,
                    )
                }),
                Value::Array(a) => a
                    .iter()
                    .enumerate()
                    .for_each(|(i, v)| walk(v, format!("{at}/{i}"), out)),
                _ => {}
            }
            out.push(at);
        }
        walk(&object, String::new(), &mut pointers);
        let replacements = [
            json!(7),
            json!("x"),
            json!(true),
            json!({}),
            json!([]),
            json!(-1.5),
        ];
        let mut failures = 0;
        for pointer in pointers.iter().filter(|p| !p.is_empty()) {
            for replacement in &replacements {
                let mut bad = object.clone();
                *bad.pointer_mut(pointer).unwrap() = replacement.clone();
                for text in [bad.to_string(), serde_json::to_string_pretty(&bad).unwrap()] {
                    let de = &mut serde_json::Deserializer::from_str(&text);
                    let Err(tracked) = serde_path_to_error::deserialize::<_, TemplatedObject>(de)
                    else {
                        continue;
                    };
                    failures += 1;
                    let err = Workload::from_json(WorkloadKind::Deployment, &text).unwrap_err();
                    // read with the envelope, the same violation
                    let envelope = format!(
                        r#"{{"request": {{"kind": {{"group": "apps", "version": "v1", "kind": "Deployment"}}, "object": {text}}}}}"#
                    );
                    let request = ValidationPayload::parse(envelope.as_bytes())
                        .unwrap()
                        .request;
                    assert_eq!(Workload::from_request(&request).unwrap_err(), err);
                    // serde_path_to_error says `.` for the root.
                    let tracked = tracked.path().to_string();
                    let tracked = if tracked == "." {
                        String::new()
                    } else {
                        tracked
                    };
                    assert_eq!(err.path, object_path(tracked), "{pointer} = {replacement}");
                }
            }
        }
        assert!(failures > 100, "only {failures} failing parses");
    }

    #[test]
    fn wrong_types_name_the_field() {
        let err =
            Workload::from_json(WorkloadKind::Pod, r#"{"spec": {"containers": {}}}"#).unwrap_err();
        assert_eq!(err.path, "spec.containers");
        assert!(err.reason.contains("invalid type: map"), "{}", err.reason);

        let err = Workload::from_json(
            WorkloadKind::Deployment,
            r#"{"spec": {"template": {"spec": {"containers": [{"name": "a", "resources": {"limits": {"nvidia.com/gpu": true}}}]}}}}"#,
        )
        .unwrap_err();
        assert_eq!(
            err.path,
            "spec.template.spec.containers[0].resources.limits.nvidia.com/gpu"
        );

        let err = Workload::from_json(WorkloadKind::Pod, "[1, 2]").unwrap_err();
        assert_eq!(err.path, "object");
        assert_eq!(err.reason, "is not a JSON object");
        let err = Workload::from_json(WorkloadKind::Pod, "{\"spec\": ").unwrap_err();
        assert!(err.reason.contains("cannot be read"));
    }
}
