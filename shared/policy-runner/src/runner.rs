//! Loading a policy `.wasm` and calling its waPC operations; where the
//! answers to its Kubernetes lookups come from.

use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow};
use policy_cases::{
    CapabilityError, CaseInputs, ContextAwareResource, Harness, HostCall, HostCallOutcome,
    InMemoryCluster, KubernetesRequest, ReplaySession, SettingsResponse, ValidationResponse,
    kubernetes_call, load_context_aware_resources, validate_payload,
};
use serde::de::DeserializeOwned;
use serde_json::Value;
use wapc::WapcHost;
use wasmtime_provider::{EpochDeadlines, WasmtimeEngineProviderBuilder, WasmtimeEngineProviderPre};

use crate::cache::{CacheStatus, ModuleCache, engine_config};

/// Epoch deadlines for every instance: the engine checks them as
/// policy-server's does, but no epoch tick ever comes, so none is reached.
const NEVER: EpochDeadlines = EpochDeadlines {
    wapc_init: 1 << 32,
    wapc_func: 1 << 32,
};

/// Answers a policy's Kubernetes lookups. The runner checks
/// `contextAwareResources` before asking, so implementations only answer.
pub trait HostCapabilities: Send + Sync {
    /// The JSON bytes to return to the guest, or why there are none.
    fn kubernetes(&self, request: &KubernetesRequest) -> Result<Vec<u8>, CapabilityError>;
}

/// A session answers what it recorded ([`ReplaySession::answer`]).
impl HostCapabilities for ReplaySession {
    fn kubernetes(&self, request: &KubernetesRequest) -> Result<Vec<u8>, CapabilityError> {
        self.answer(request)
    }
}

/// The in-memory cluster answers from the objects it holds
/// ([`InMemoryCluster::answer`]).
impl HostCapabilities for InMemoryCluster {
    fn kubernetes(&self, request: &KubernetesRequest) -> Result<Vec<u8>, CapabilityError> {
        self.answer(request)
    }
}

/// How a policy instance reaches the (simulated) cluster.
#[derive(Clone, Default)]
pub struct PolicyOptions {
    /// Answers Kubernetes lookups; `None` answers none (every lookup is an
    /// "unanswered" error).
    pub host_capabilities: Option<Arc<dyn HostCapabilities>>,
    /// The resource types the policy may read (`contextAwareResources` of its
    /// metadata.yml); anything else is refused, as policy-server does.
    pub context_aware_resources: Vec<ContextAwareResource>,
}

impl PolicyOptions {
    /// Answers lookups from a kwctl replay session file.
    pub fn replay_session_file(self, path: &Path) -> Result<Self> {
        Ok(self.host_capabilities(Arc::new(ReplaySession::from_file(path)?)))
    }

    /// Answers lookups with any [`HostCapabilities`] implementation.
    #[must_use]
    pub fn host_capabilities(mut self, capabilities: Arc<dyn HostCapabilities>) -> Self {
        self.host_capabilities = Some(capabilities);
        self
    }

    /// Allows the resource types listed in a policy's `metadata.yml`.
    pub fn metadata_file(self, path: &Path) -> Result<Self> {
        Ok(self.context_aware_resources(load_context_aware_resources(path)?))
    }

    /// Allows exactly these resource types.
    #[must_use]
    pub fn context_aware_resources(mut self, resources: Vec<ContextAwareResource>) -> Self {
        self.context_aware_resources = resources;
        self
    }
}

/// Time spent making a policy runnable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoadTimings {
    /// Reading + compiling the module (engine, module, linker pre-instance).
    pub compile: Duration,
    /// Instantiating it and running the waPC start-up (`wapc_init`).
    pub instantiate: Duration,
}

/// A compiled policy module, from which any number of independent
/// [`PolicyRunner`]s can be instantiated cheaply.
#[derive(Clone)]
pub struct CompiledPolicy {
    pre: WasmtimeEngineProviderPre,
    label: String,
    compile_time: Duration,
    cache_status: Option<CacheStatus>,
}

impl fmt::Debug for CompiledPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CompiledPolicy")
            .field("label", &self.label)
            .field("compile_time", &self.compile_time)
            .field("cache_status", &self.cache_status)
            .finish_non_exhaustive()
    }
}

// WASI as policy-server enables it: no preopened dirs, no env, no args.
fn wasi_params() -> wapc::WasiParams {
    wapc::WasiParams::default()
}

impl CompiledPolicy {
    /// Reads and compiles a `.wasm` file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let start = Instant::now();
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read policy module {}", path.display()))?;
        let mut compiled = Self::from_bytes(&bytes, &path.display().to_string())?;
        compiled.compile_time = start.elapsed();
        Ok(compiled)
    }

    /// Compiles a module held in memory; `label` names it in messages.
    pub fn from_bytes(bytes: &[u8], label: &str) -> Result<Self> {
        let start = Instant::now();
        let engine = wasmtime::Engine::new(&engine_config())
            .map_err(|e| anyhow!("cannot create the wasmtime engine: {e:#}"))?;
        let pre = WasmtimeEngineProviderBuilder::new()
            .engine(engine)
            .module_bytes(bytes)
            .wasi_params(wasi_params())
            .build_pre()
            .map_err(|e| anyhow!("cannot compile policy module {label}: {e}"))?;
        Ok(Self {
            pre,
            label: label.to_owned(),
            compile_time: start.elapsed(),
            cache_status: None,
        })
    }

    /// Reads a `.wasm` file and loads it through `cache`
    /// ([`from_bytes_cached`](Self::from_bytes_cached)).
    pub fn from_file_cached(path: impl AsRef<Path>, cache: &ModuleCache) -> Result<Self> {
        let path = path.as_ref();
        let start = Instant::now();
        let bytes = std::fs::read(path)
            .with_context(|| format!("cannot read policy module {}", path.display()))?;
        let mut compiled = Self::from_bytes_cached(&bytes, &path.display().to_string(), cache)?;
        compiled.compile_time = start.elapsed();
        Ok(compiled)
    }

    /// Like [`from_bytes`](Self::from_bytes), with `cache`'s engine: the
    /// machine code comes from its folder when a verified entry is there,
    /// else it is compiled and stored ([`ModuleCache::load`]).
    pub fn from_bytes_cached(bytes: &[u8], label: &str, cache: &ModuleCache) -> Result<Self> {
        let start = Instant::now();
        let (module, status) = cache
            .load(bytes)
            .map_err(|e| anyhow!("cannot compile policy module {label}: {e:#}"))?;
        let pre = WasmtimeEngineProviderBuilder::new()
            .engine(cache.engine().clone())
            .module(module)
            .wasi_params(wasi_params())
            .build_pre()
            .map_err(|e| anyhow!("cannot prepare policy module {label}: {e}"))?;
        Ok(Self {
            pre,
            label: label.to_owned(),
            compile_time: start.elapsed(),
            cache_status: Some(status),
        })
    }

    /// What the cache did when this module was loaded; `None` when it was
    /// loaded without one ([`from_file`](Self::from_file), [`from_bytes`](Self::from_bytes)).
    pub fn cache_status(&self) -> Option<&CacheStatus> {
        self.cache_status.as_ref()
    }

    /// Time taken to read and compile (or load from the cache) the module.
    pub fn compile_time(&self) -> Duration {
        self.compile_time
    }

    /// A new, independent instance of the policy.
    pub fn instantiate(&self, options: PolicyOptions) -> Result<PolicyRunner> {
        let start = Instant::now();
        let engine = self
            .pre
            .rehydrate(Some(NEVER))
            .map_err(|e| anyhow!("cannot instantiate policy module {}: {e}", self.label))?;
        let state = Arc::new(Mutex::new(HostState {
            capabilities: options.host_capabilities,
            allowed: options.context_aware_resources,
            calls: Vec::new(),
        }));
        let callback_state = Arc::clone(&state);
        let host = WapcHost::new(
            Box::new(engine),
            Some(Box::new(
                move |_id, binding, namespace, operation, payload| {
                    host_call(&callback_state, binding, namespace, operation, payload)
                },
            )),
        )
        .map_err(|e| {
            let label = &self.label;
            anyhow!("cannot start policy module {label} (is it a waPC module?): {e}")
        })?;
        Ok(PolicyRunner {
            host,
            state,
            label: self.label.clone(),
            timings: LoadTimings {
                compile: self.compile_time,
                instantiate: start.elapsed(),
            },
        })
    }
}

struct HostState {
    capabilities: Option<Arc<dyn HostCapabilities>>,
    allowed: Vec<ContextAwareResource>,
    calls: Vec<HostCall>,
}

fn lock(state: &Mutex<HostState>) -> MutexGuard<'_, HostState> {
    // A panic elsewhere cannot leave HostState inconsistent: keep going.
    state.lock().unwrap_or_else(PoisonError::into_inner)
}

type HostCallResult = std::result::Result<Vec<u8>, Box<dyn std::error::Error + Send + Sync>>;

fn host_call(
    state: &Mutex<HostState>,
    binding: &str,
    namespace: &str,
    operation: &str,
    payload: &[u8],
) -> HostCallResult {
    // The SDK's logging goes through this binding; policy-server swallows it
    // into its own traces, so do we.
    if binding == "kubewarden" && namespace == "tracing" {
        return Ok(Vec::new());
    }
    let mut state = lock(state);
    let (call, result) = if binding == "kubewarden" && namespace == "kubernetes" {
        let state = &*state;
        kubernetes_call(
            operation,
            payload,
            Some(&state.allowed),
            |request| match &state.capabilities {
                Some(capabilities) => capabilities.kubernetes(request),
                None => Err(CapabilityError::Unanswered(format!(
                    "no replay session given, cannot answer {request}"
                ))),
            },
        )
    } else {
        let message = format!(
            "host capability {binding}/{namespace}/{operation} is not provided by policy-runner"
        );
        let call = HostCall {
            binding: binding.to_owned(),
            namespace: namespace.to_owned(),
            operation: operation.to_owned(),
            request: None,
            outcome: HostCallOutcome::Unsupported(message.clone()),
        };
        (call, Err(message))
    };
    state.calls.push(call);
    result.map_err(Into::into)
}

/// One instantiated policy. Reuse it for any number of calls; each call
/// starts from the guest state the previous one left, as in policy-server.
pub struct PolicyRunner {
    host: WapcHost,
    state: Arc<Mutex<HostState>>,
    label: String,
    timings: LoadTimings,
}

impl fmt::Debug for PolicyRunner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicyRunner")
            .field("label", &self.label)
            .field("timings", &self.timings)
            .finish_non_exhaustive()
    }
}

impl PolicyRunner {
    /// Reads, compiles and instantiates a `.wasm` file.
    pub fn from_file(wasm_path: impl AsRef<Path>, options: PolicyOptions) -> Result<Self> {
        CompiledPolicy::from_file(wasm_path)?.instantiate(options)
    }

    /// Compiles and instantiates a module held in memory.
    pub fn from_bytes(bytes: &[u8], options: PolicyOptions) -> Result<Self> {
        CompiledPolicy::from_bytes(bytes, "<in-memory module>")?.instantiate(options)
    }

    /// The module's path (or label).
    pub fn label(&self) -> &str {
        &self.label
    }

    /// How long compiling and instantiating took.
    pub fn load_timings(&self) -> LoadTimings {
        self.timings
    }

    /// Replaces the source of Kubernetes answers (e.g. one session per case).
    pub fn set_host_capabilities(&self, capabilities: Option<Arc<dyn HostCapabilities>>) {
        lock(&self.state).capabilities = capabilities;
    }

    /// Replaces the allowed context-aware resources.
    pub fn set_context_aware_resources(&self, resources: Vec<ContextAwareResource>) {
        lock(&self.state).allowed = resources;
    }

    /// The host calls the guest made during the last waPC call.
    pub fn host_calls(&self) -> Vec<HostCall> {
        lock(&self.state).calls.clone()
    }

    /// Calls waPC `operation` with `payload` and reads the JSON answer,
    /// naming `expected` when it is not one.
    fn call<T: DeserializeOwned>(
        &self,
        operation: &str,
        payload: &[u8],
        expected: &str,
    ) -> Result<T> {
        lock(&self.state).calls.clear();
        let label = &self.label;
        let bytes = self.host.call(operation, payload).map_err(|e| {
            anyhow!("policy {label}: guest error (trap or error returned) in waPC operation {operation}: {e}")
        })?;
        serde_json::from_slice(&bytes).with_context(|| {
            let answer = String::from_utf8_lossy(&bytes);
            format!("policy {label}: {operation} answer is not {expected}: {answer}")
        })
    }

    /// The `protocol_version` operation (`"v1"` for SDK policies).
    pub fn protocol_version(&self) -> Result<String> {
        Ok(match self.call("protocol_version", b"", "JSON")? {
            Value::String(s) => s,
            other => other.to_string(),
        })
    }

    /// The `validate_settings` operation; the payload is the settings JSON.
    pub fn validate_settings(&self, settings: &Value) -> Result<SettingsResponse> {
        self.validate_settings_raw(&serde_json::to_vec(settings)?)
    }

    /// The `validate` operation with kwctl's payload
    /// `{"request": <AdmissionRequest>, "settings": <settings>}`. `request`
    /// may also be a whole AdmissionReview, unwrapped as kwctl does.
    pub fn validate(&self, request: &Value, settings: &Value) -> Result<ValidationResponse> {
        self.validate_raw(&validate_payload(request, settings)?)
    }

    /// The `validate` operation with `payload` sent as is: bytes that are not
    /// JSON, not UTF-8 or not kwctl's envelope (robustness tests).
    pub fn validate_raw(&self, payload: &[u8]) -> Result<ValidationResponse> {
        self.call("validate", payload, "a ValidationResponse")
    }

    /// The `validate_settings` operation with `payload` sent as is.
    pub fn validate_settings_raw(&self, payload: &[u8]) -> Result<SettingsResponse> {
        self.call("validate_settings", payload, "a SettingsValidationResponse")
    }
}

/// The wasm run of the case harness: each case's session answers the
/// lookups, as in `kwctl run --replay-host-capabilities-interactions`.
impl Harness for PolicyRunner {
    fn check_settings(&self, settings: &Value) -> Result<SettingsResponse> {
        self.validate_settings(settings)
    }

    fn evaluate(&self, case: &CaseInputs) -> (Result<ValidationResponse>, Vec<HostCall>) {
        self.set_host_capabilities(
            case.session
                .clone()
                .map(|s| Arc::new(s) as Arc<dyn HostCapabilities>),
        );
        let response = self.validate(&case.request, &case.settings);
        (response, self.host_calls())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_modules_are_errors_naming_what_is_wrong() {
        let path =
            std::env::temp_dir().join(format!("policy-runner-corrupt-{}.wasm", std::process::id()));
        // Not even a wasm header.
        std::fs::write(&path, [0x13u8, 0x37, 0xde, 0xad, 0xbe, 0xef, 0x00, 0x42]).unwrap();
        let corrupt = PolicyRunner::from_file(&path, PolicyOptions::default());
        std::fs::remove_file(&path).ok();
        let corrupt_path = path.display().to_string();
        for (result, wanted) in [
            (
                PolicyRunner::from_file("/nonexistent/policy.wasm", PolicyOptions::default()),
                &["/nonexistent/policy.wasm"][..],
            ),
            (corrupt, &[corrupt_path.as_str(), "cannot compile"]),
            // The smallest valid module: header only, no waPC exports.
            (
                PolicyRunner::from_bytes(b"\0asm\x01\0\0\0", PolicyOptions::default()),
                &["waPC"],
            ),
        ] {
            let text = format!("{:#}", result.unwrap_err());
            for part in wanted {
                assert!(text.contains(part), "{text}");
            }
        }
    }

    #[test]
    fn host_calls_are_answered_refused_or_swallowed_and_recorded() {
        let state = Mutex::new(HostState {
            capabilities: None,
            allowed: vec![ContextAwareResource::new("v1", "Namespace")],
            calls: Vec::new(),
        });
        let secret = br#"{"api_version":"v1","kind":"Secret","name":"s","namespace":"ns","disable_cache":false}"#;
        let namespace = br#"{"api_version":"v1","kind":"Namespace","name":"n","namespace":null,"disable_cache":false}"#;
        let call = |namespace: &str, operation: &str, payload: &[u8]| {
            host_call(&state, "kubewarden", namespace, operation, payload)
        };
        let err = call("kubernetes", "get_resource", secret).unwrap_err();
        assert!(
            err.to_string().contains("Kubernetes v1/Secret resources"),
            "{err}"
        );
        let err = call("kubernetes", "get_resource", namespace).unwrap_err();
        assert!(err.to_string().contains("name: n"), "{err}");
        assert!(call("tracing", "log", b"{}").is_ok());
        assert!(call("oci", "manifest_digest", b"\"x\"").is_err());
        assert!(call("kubernetes", "can_i", b"{}").is_err());
        let calls = lock(&state).calls.clone();
        assert!(matches!(calls[0].outcome, HostCallOutcome::Denied(_)));
        assert!(matches!(calls[1].outcome, HostCallOutcome::Unanswered(_)));
        assert_eq!(calls.len(), 4);
    }
}
