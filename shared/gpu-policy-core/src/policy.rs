//! What every policy is to the shared entry points: its settings, what they
//! compile to, which requests it judges, and its rules. [`crate::entry`] does
//! the rest (parsing, compiling the settings once, the operation filter,
//! rendering), so no two policies can differ in it.

use kubewarden_policy_sdk::response::ValidationResponse;
use kubewarden_policy_sdk::settings::SettingsValidationResponse;
use serde::de::DeserializeOwned;

use crate::entry::Outcome;
use crate::host::KubernetesHost;
use crate::request::AdmissionRequest;

/// A GPU policy.
pub trait Policy {
    /// The settings as written: every key optional, unknown keys refused.
    type Settings: DeserializeOwned + Default;
    /// The settings ready for the rules (catalogues built, patterns parsed).
    type Compiled;
    /// Whether the rules read the cluster (the module's metadata says
    /// `contextAwareResources`).
    const CONTEXT_AWARE: bool = false;

    /// Checks and compiles the settings; the error is the message of
    /// `validate_settings` (`key: what is wrong`). `validate_settings`
    /// accepts exactly the settings that compile.
    fn compile(settings: Self::Settings) -> Result<Self::Compiled, String>;

    /// Whether the policy judges this request at all; the others are
    /// accepted without reading the object. Workload policies judge CREATE
    /// and UPDATE (see [`judges_workload_operation`]).
    fn judges(request: &AdmissionRequest) -> bool {
        judges_workload_operation(request)
    }

    /// Decides one judged request. `cluster` answers lookups (context-aware
    /// policies only; the others never call it).
    fn evaluate(
        request: &AdmissionRequest,
        settings: &Self::Compiled,
        cluster: &dyn KubernetesHost,
    ) -> Outcome;
}

/// The operations a workload rule judges: CREATE and UPDATE. DELETE and
/// CONNECT (exec, attach, port-forward) change no pod spec and are accepted.
pub fn judges_workload_operation(request: &AdmissionRequest) -> bool {
    matches!(request.operation.as_str(), "CREATE" | "UPDATE")
}

/// A policy as the native tools see it (fuzzing, benchmarks, the offline
/// checker's tests): its name and its two entry points. Every policy crate
/// exports one as `POLICY` (through [`crate::register_policy!`]).
#[derive(Clone, Copy)]
pub struct PolicyInfo {
    /// The crate's name, which is also the module's name (`gpu-limit-required`).
    pub name: &'static str,
    /// Whether it reads the cluster.
    pub context_aware: bool,
    /// The settings keys, in declaration order.
    pub settings_keys: fn() -> &'static [&'static str],
    /// `validate` on a kwctl payload, lookups answered by the host given.
    pub validate: fn(&[u8], &dyn KubernetesHost) -> ValidationResponse,
    /// `validate_settings` on a settings document.
    pub validate_settings: fn(&[u8]) -> SettingsValidationResponse,
}

impl std::fmt::Debug for PolicyInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PolicyInfo")
            .field("name", &self.name)
            .field("context_aware", &self.context_aware)
            .finish_non_exhaustive()
    }
}

impl PolicyInfo {
    /// The entry of policy `P`, named `name`.
    pub const fn of<P: Policy>(name: &'static str) -> Self {
        Self {
            name,
            context_aware: P::CONTEXT_AWARE,
            settings_keys: crate::settings::keys::<P::Settings>,
            validate: crate::entry::evaluate::<P>,
            validate_settings: crate::entry::check_settings::<P>,
        }
    }

    /// The `validate_settings` message for a settings document, `None` when
    /// the settings are valid.
    pub fn settings_error(&self, json: &str) -> Option<String> {
        let answer = (self.validate_settings)(json.as_bytes());
        (!answer.valid).then(|| answer.message.unwrap_or_default())
    }
}
