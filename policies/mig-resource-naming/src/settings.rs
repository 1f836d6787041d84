//! Settings of mig-resource-naming.

use gpu_policy_core::GpuCatalogue;
use serde::Deserialize;

use crate::mig_catalogue::{self, MODELS};
use crate::profile::Profile;

/// How the cluster's NVIDIA device plugin exposes MIG slices.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Strategy {
    /// `nvidia.com/mig-<profile>` resources (and whole GPUs as `nvidia.com/gpu`).
    Mixed,
    /// Every MIG slice is `nvidia.com/gpu`; no `nvidia.com/mig-*` names exist.
    Single,
    /// Node pools differ, or unknown: accept both namings.
    #[default]
    Any,
}

/// The policy's settings; every key is optional.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
pub struct Settings {
    /// The device plugin's MIG strategy.
    pub strategy: Strategy,
    /// Catalogue models present in the cluster; empty means all of them.
    pub gpu_models: Vec<String>,
    /// Further profile names (`1g.12gb+me`) to accept, for GPUs newer than
    /// the catalogue.
    pub extra_profiles: Vec<String>,
    /// Most MIG devices one container may ask for.
    pub max_mig_devices_per_container: u32,
    /// Whether `.shared` (time-sliced / MPS) MIG resources are allowed.
    pub allow_shared: bool,
    /// Extra DRA device classes (names or `*` patterns) that are GPUs:
    /// their claims' CEL selectors are read for MIG profiles.
    pub gpu_device_classes: Vec<String>,
}

/// The settings ready for the rules.
#[derive(Debug, Clone)]
pub struct Compiled {
    /// The settings as given.
    pub settings: Settings,
    /// The GPU catalogue with `gpuDeviceClasses`.
    pub catalogue: GpuCatalogue,
}

impl Default for Settings {
    fn default() -> Self {
        Settings {
            strategy: Strategy::Any,
            gpu_models: Vec::new(),
            extra_profiles: Vec::new(),
            max_mig_devices_per_container: 1,
            allow_shared: true,
            gpu_device_classes: Vec::new(),
        }
    }
}

impl Settings {
    /// The profiles a pod may name: those of `gpuModels` (all models when
    /// empty) and `extraProfiles`, without duplicates, in catalogue order.
    /// Built only when a request names a MIG resource.
    pub fn configured_profiles(&self) -> Vec<Profile> {
        let mut out: Vec<Profile> = Vec::new();
        for model in MODELS {
            if !self.gpu_models.is_empty() && !self.gpu_models.iter().any(|m| m == model.name) {
                continue;
            }
            for profile in model.profiles {
                if !out.contains(profile) {
                    out.push(*profile);
                }
            }
        }
        for profile in self.extra() {
            if !out.contains(&profile) {
                out.push(profile);
            }
        }
        out
    }

    /// `extraProfiles`, parsed (validated beforehand, so errors are skipped).
    pub fn extra(&self) -> impl Iterator<Item = Profile> + '_ {
        self.extra_profiles
            .iter()
            .filter_map(|p| Profile::parse(p).ok())
    }

    /// Describes the profile universe for messages.
    pub fn scope(&self) -> String {
        if self.gpu_models.is_empty() {
            "no GPU model in the MIG catalogue".to_owned()
        } else {
            format!("none of gpuModels ({})", self.gpu_models.join(", "))
        }
    }
}

impl Settings {
    /// Checks every key; the checked settings are what the rules use (the
    /// profile list is built lazily, only for requests that name MIG).
    pub fn compile(self) -> Result<Compiled, String> {
        self.check()?;
        let catalogue = GpuCatalogue::default().with_device_classes(&self.gpu_device_classes)?;
        Ok(Compiled {
            settings: self,
            catalogue,
        })
    }

    fn check(&self) -> Result<(), String> {
        for (i, name) in self.gpu_models.iter().enumerate() {
            if mig_catalogue::model(name).is_none() {
                return Err(format!(
                    "gpuModels[{i}]: unknown GPU model {name:?}; known models: {}",
                    mig_catalogue::model_names()
                ));
            }
        }
        for (i, profile) in self.extra_profiles.iter().enumerate() {
            Profile::parse(profile).map_err(|e| format!("extraProfiles[{i}]: {e}"))?;
        }
        if self.max_mig_devices_per_container == 0 {
            return Err("maxMigDevicesPerContainer must be at least 1".to_owned());
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::POLICY;

    #[test]
    fn defaults() {
        let s: Settings = gpu_policy_core::settings::parse(b"{}").unwrap();
        assert_eq!(s, Settings::default());
        assert_eq!(s.strategy, Strategy::Any);
        assert_eq!(s.max_mig_devices_per_container, 1);
        assert!(s.allow_shared);
    }

    #[test]
    fn valid_settings() {
        for json in [
            r#"{"strategy": "mixed"}"#,
            r#"{"strategy": "single"}"#,
            r#"{"strategy": "any"}"#,
            r#"{"gpuModels": ["A100-80GB", "H100-80GB"]}"#,
            r#"{"extraProfiles": ["1g.12gb+me", "1g.24gb.me.all", "2g.24gb-me"]}"#,
            r#"{"maxMigDevicesPerContainer": 4, "allowShared": false}"#,
            r#"{"gpuDeviceClasses": ["mig-*.gpu.nvidia.com"]}"#,
        ] {
            assert_eq!(POLICY.settings_error(json), None, "{json}");
        }
    }

    #[test]
    fn invalid_settings_name_the_key() {
        for (json, needles) in [
            (
                r#"{"strategy": "none"}"#,
                vec!["strategy", "unknown variant `none`"],
            ),
            (r#"{"strategy": "Mixed"}"#, vec!["strategy"]),
            (
                r#"{"gpuModels": ["A100-80GB", "A100"]}"#,
                vec![
                    "gpuModels[1]",
                    "\"A100\"",
                    "A100-40GB, A100-80GB",
                    "RTX-PRO-6000-Blackwell-96GB",
                ],
            ),
            (
                r#"{"gpuModels": "A100-80GB"}"#,
                vec!["gpuModels", "expected a sequence"],
            ),
            (
                r#"{"gpuDeviceClasses": ["MIG.nvidia.com"]}"#,
                vec!["gpuDeviceClasses[0]", "DNS subdomain"],
            ),
            (
                r#"{"extraProfiles": ["1g.10g"]}"#,
                vec!["extraProfiles[0]", "1g.10g"],
            ),
            (
                r#"{"extraProfiles": ["1g.10gb+foo"]}"#,
                vec!["extraProfiles[0]", "unknown profile attribute"],
            ),
            (
                r#"{"maxMigDevicesPerContainer": 0}"#,
                vec!["maxMigDevicesPerContainer", "at least 1"],
            ),
            (
                r#"{"maxMigDevicesPerContainer": -1}"#,
                vec!["maxMigDevicesPerContainer"],
            ),
            (
                r#"{"allowShared": "no"}"#,
                vec!["allowShared", "expected a boolean"],
            ),
            (
                r#"{"maxMigDevices": 2}"#,
                vec!["unknown field `maxMigDevices`"],
            ),
        ] {
            let m = POLICY
                .settings_error(json)
                .unwrap_or_else(|| panic!("{json} accepted"));
            for needle in needles {
                assert!(m.contains(needle), "{json}: {m}");
            }
        }
    }

    #[test]
    fn configured_profiles_follow_gpu_models_and_extras() {
        let all = Settings::default().configured_profiles();
        assert!(all.contains(&Profile::parse("1g.6gb").unwrap()));
        assert!(all.contains(&Profile::parse("1g.24gb-me").unwrap()));
        let mut seen = std::collections::HashSet::new();
        assert!(all.iter().all(|p| seen.insert(*p)), "no duplicates");
        let s = Settings {
            gpu_models: vec!["A100-40GB".into()],
            extra_profiles: vec!["1g.11gb".into(), "1g.5gb".into()],
            ..Settings::default()
        };
        let names: Vec<String> = s
            .configured_profiles()
            .iter()
            .map(Profile::to_string)
            .collect();
        assert_eq!(
            names,
            [
                "1g.5gb",
                "1g.5gb+me",
                "1g.10gb",
                "2g.10gb",
                "3g.20gb",
                "4g.20gb",
                "7g.40gb",
                "1g.11gb"
            ]
        );
    }
}
