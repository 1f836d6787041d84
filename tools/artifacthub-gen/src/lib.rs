//! One source of truth for the packaging files: each policy's `metadata.yml`
//! (rules, mutating, context-aware resources, annotations), its
//! `questions-ui.yml` and its `README.md` become Artifact Hub's
//! `artifacthub/<policy>/<version>/{artifacthub-pkg.yml, README.md}`, in the
//! format `kwctl scaffold artifacthub` writes (same keys, same order, same
//! `kubewarden/*` annotations, serialized by serde_yaml as kwctl does).
//!
//! Two deliberate differences from kwctl's output:
//! - `createdAt` is the date the version's folder was first generated (kept
//!   from the committed file on every later run), not "now", so regenerating
//!   is a no-op and a test can compare byte for byte;
//! - the `policy` link points at this monorepo's release tag
//!   `<policy>/v<version>`, not at `v<version>`.
//!
//! The test `tests/tests/packaging.rs` regenerates in memory and compares.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, ensure};
use serde::{Deserialize, Serialize};

pub use policy_cases::{ContextAwareResource, Rule};

/// Where the policy crates live, relative to the workspace root.
pub const POLICIES_DIR: &str = "policies";
/// Where the Artifact Hub files go, relative to the workspace root.
pub const ARTIFACTHUB_DIR: &str = "artifacthub";

/// Annotations every metadata.yml must carry (kwctl annotate input, Artifact
/// Hub and the Rancher UI read them).
pub const REQUIRED_ANNOTATIONS: [&str; 13] = [
    "io.kubewarden.policy.title",
    "io.kubewarden.policy.version",
    "io.kubewarden.policy.description",
    "io.kubewarden.policy.author",
    "io.kubewarden.policy.url",
    "io.kubewarden.policy.source",
    "io.kubewarden.policy.license",
    "io.kubewarden.policy.category",
    "io.kubewarden.policy.severity",
    "io.kubewarden.policy.ociUrl",
    "io.artifacthub.displayName",
    "io.artifacthub.resources",
    "io.artifacthub.keywords",
];

/// metadata.yml as `kwctl annotate -m` reads it (kwctl's
/// `policy_metadata::Metadata`), stricter: every field the project relies on
/// must be spelt out, and unknown fields are an error (a typo would otherwise
/// be dropped silently by kwctl).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Metadata {
    #[serde(default)]
    pub protocol_version: Option<String>,
    pub rules: Vec<Rule>,
    pub mutating: bool,
    pub context_aware: bool,
    #[serde(default)]
    pub context_aware_resources: Vec<ContextAwareResource>,
    pub execution_mode: String,
    pub background_audit: bool,
    pub annotations: BTreeMap<String, String>,
}

const OPERATIONS: [&str; 5] = ["CREATE", "UPDATE", "DELETE", "CONNECT", "*"];

impl Metadata {
    pub fn parse(yaml: &str) -> Result<Self> {
        let metadata: Metadata = serde_yaml::from_str(yaml)?;
        metadata.check()?;
        Ok(metadata)
    }

    /// The checks kwctl and policy-server would make, plus the project's own.
    pub fn check(&self) -> Result<()> {
        ensure!(
            self.execution_mode == "kubewarden-wapc",
            "executionMode is {:?}; these policies are kubewarden-wapc",
            self.execution_mode
        );
        ensure!(!self.rules.is_empty(), "rules: must list at least one rule");
        for (i, rule) in self.rules.iter().enumerate() {
            for (field, list) in [
                ("apiGroups", &rule.api_groups),
                ("apiVersions", &rule.api_versions),
                ("resources", &rule.resources),
                ("operations", &rule.operations),
            ] {
                ensure!(!list.is_empty(), "rules[{i}].{field}: must not be empty");
            }
            for op in &rule.operations {
                ensure!(
                    OPERATIONS.contains(&op.as_str()),
                    "rules[{i}].operations: {op:?} is not one of {OPERATIONS:?}"
                );
            }
        }
        ensure!(
            self.context_aware != self.context_aware_resources.is_empty(),
            "contextAware is {} but contextAwareResources lists {} resource(s)",
            self.context_aware,
            self.context_aware_resources.len()
        );
        for key in REQUIRED_ANNOTATIONS {
            self.annotation(key)?;
        }
        Ok(())
    }

    /// A required, non-empty annotation.
    pub fn annotation(&self, key: &str) -> Result<&str> {
        match self.annotations.get(key).map(|v| v.trim()) {
            Some(v) if !v.is_empty() => Ok(v),
            _ => Err(anyhow!("annotations: {key} is missing or empty")),
        }
    }
}

/// Everything about one policy crate the packaging files are made from.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The folder name under policies/ (= crate name = OCI repository name).
    pub name: String,
    pub dir: PathBuf,
    /// `package.version` of the policy's Cargo.toml: the one version.
    pub cargo_version: String,
    pub metadata: Metadata,
    /// questions-ui.yml, verbatim, when present.
    pub questions: Option<String>,
    pub readme: String,
}

impl Policy {
    pub fn load(dir: &Path) -> Result<Self> {
        let name = dir
            .file_name()
            .and_then(|n| n.to_str())
            .ok_or_else(|| anyhow!("{}: not a policy folder", dir.display()))?
            .to_owned();
        let cargo_version = cargo_version(&dir.join("Cargo.toml"), &name)?;
        let metadata_path = dir.join("metadata.yml");
        let metadata = Metadata::parse(&read(&metadata_path)?)
            .with_context(|| format!("{}", metadata_path.display()))?;
        let questions_path = dir.join("questions-ui.yml");
        let questions = questions_path
            .exists()
            .then(|| read(&questions_path))
            .transpose()?;
        let readme = read(&dir.join("README.md"))?;
        Ok(Policy {
            name,
            dir: dir.to_path_buf(),
            cargo_version,
            metadata,
            questions,
            readme,
        })
    }

    /// The version the packaging files use: metadata.yml's, which must be
    /// Cargo.toml's.
    pub fn version(&self) -> Result<&str> {
        let version = self.metadata.annotation("io.kubewarden.policy.version")?;
        ensure!(
            version == self.cargo_version,
            "{}: metadata.yml io.kubewarden.policy.version is {version} but Cargo.toml says {}",
            self.name,
            self.cargo_version
        );
        Ok(version)
    }

    /// `ghcr.io/gpu-policies/<policy>:v<version>`.
    pub fn oci_reference(&self) -> Result<String> {
        let url = self.metadata.annotation("io.kubewarden.policy.ociUrl")?;
        ensure!(
            url.rsplit('/').next() == Some(self.name.as_str()),
            "{}: io.kubewarden.policy.ociUrl {url} does not end in /{}",
            self.name,
            self.name
        );
        Ok(format!("{url}:v{}", self.version()?))
    }

    /// `registry://ghcr.io/gpu-policies/<policy>:v<version>`, the module of a
    /// ClusterAdmissionPolicy.
    pub fn module_uri(&self) -> Result<String> {
        Ok(format!("registry://{}", self.oci_reference()?))
    }

    /// `artifacthub/<policy>/<version>`, relative to the workspace root.
    pub fn artifacthub_dir(&self) -> Result<PathBuf> {
        Ok(Path::new(ARTIFACTHUB_DIR)
            .join(&self.name)
            .join(self.version()?))
    }
}

fn read(path: &Path) -> Result<String> {
    fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
}

/// `package.version` of a Cargo.toml, checking `package.name`.
pub fn cargo_version(path: &Path, expected_name: &str) -> Result<String> {
    let table: toml::Table =
        toml::from_str(&read(path)?).with_context(|| format!("{}", path.display()))?;
    let package = table
        .get("package")
        .and_then(|p| p.as_table())
        .ok_or_else(|| anyhow!("{}: no [package]", path.display()))?;
    let name = package.get("name").and_then(|v| v.as_str());
    ensure!(
        name == Some(expected_name),
        "{}: package.name is {name:?}, the folder is {expected_name}",
        path.display()
    );
    package
        .get("version")
        .and_then(|v| v.as_str())
        .map(str::to_owned)
        .ok_or_else(|| {
            anyhow!(
                "{}: package.version must be a literal string",
                path.display()
            )
        })
}

/// Every policy under `<root>/policies/*/` (a folder with a Cargo.toml), by name.
pub fn discover(root: &Path) -> Result<Vec<Policy>> {
    let dir = root.join(POLICIES_DIR);
    let mut dirs = Vec::new();
    for entry in fs::read_dir(&dir).with_context(|| format!("listing {}", dir.display()))? {
        let path = entry?.path();
        if path.join("Cargo.toml").is_file() {
            dirs.push(path);
        }
    }
    dirs.sort();
    dirs.iter().map(|d| Policy::load(d)).collect()
}

// ---- artifacthub-pkg.yml, in kwctl's key order

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Package<'a> {
    version: &'a str,
    name: &'a str,
    display_name: &'a str,
    created_at: &'a str,
    description: &'a str,
    license: &'a str,
    #[serde(rename = "homeURL")]
    home_url: &'a str,
    containers_images: Vec<NamedImage>,
    keywords: Vec<&'a str>,
    links: Vec<Link>,
    install: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    maintainers: Vec<Maintainer>,
    // One-key mappings: `provider: {name}`, `recommendations: [{url}]`.
    provider: BTreeMap<&'static str, &'static str>,
    recommendations: [BTreeMap<&'static str, &'static str>; 1],
    annotations: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct NamedImage {
    name: &'static str,
    image: String,
}

#[derive(Serialize)]
struct Link {
    name: &'static str,
    url: String,
}

#[derive(Serialize)]
struct Maintainer {
    name: String,
    email: String,
}

const PKG_HEADER: &str = "\
# Kubewarden Artifacthub Package config
#
# Use this config to submit the policy to https://artifacthub.io.
#
# Generated by `make artifacthub` (tools/artifacthub-gen) from the policy's
# metadata.yml, questions-ui.yml and README.md, in the format of
# `kwctl scaffold artifacthub`: edit those files, not this one.
";

/// Artifact Hub's repository file for a repository of kind Kubewarden.
pub const REPO_FILE: &str = "\
# Artifact Hub repository metadata (https://artifacthub.io/docs/topics/repositories/).
# Register this folder as a repository of kind \"Kubewarden policies\" with the URL
#   https://github.com/gpu-policies/kubewarden-gpu-policies/artifacthub
# Layout: <policy>/<version>/{artifacthub-pkg.yml, README.md}, written by
# `make artifacthub`.
#
# After registering, add the repositoryID Artifact Hub shows (for the
# Verified Publisher badge) and the owners' emails (for ownership claims):
# repositoryID: <uuid>
# owners:
#   - name: GPU policies for Kubewarden developers
#     email: <maintainers' list>
ignore: []
";

/// `Name <email>` entries of `io.kubewarden.policy.author` (comma separated);
/// entries without an email are left out, as Artifact Hub needs one.
fn maintainers(author: &str) -> Vec<Maintainer> {
    author
        .split(',')
        .filter_map(|entry| {
            let (name, rest) = entry.split_once('<')?;
            let email = rest.strip_suffix('>').unwrap_or(rest).trim();
            (!email.is_empty()).then(|| Maintainer {
                name: name.trim().to_owned(),
                email: email.to_owned(),
            })
        })
        .collect()
}

/// artifacthub-pkg.yml for a policy, with the given `createdAt`.
pub fn render_package(policy: &Policy, created_at: &str) -> Result<String> {
    let m = &policy.metadata;
    let version = policy.version()?;
    let oci = policy.oci_reference()?;
    let module = policy.module_uri()?;
    let source = m.annotation("io.kubewarden.policy.source")?;
    let title = m.annotation("io.kubewarden.policy.title")?;
    ensure!(
        title == policy.name,
        "{}: io.kubewarden.policy.title is {title}, the policy is {}",
        policy.name,
        policy.name
    );
    // The git tag that releases this version.
    let tag = format!("{}/v{version}", policy.name);
    let allow_context_aware = if m.context_aware {
        " \\\n    --allow-context-aware"
    } else {
        ""
    };
    let install = format!(
        "The policy can be obtained using [`kwctl`](https://github.com/kubewarden/kwctl):\n\
         ```console\n\
         kwctl pull {oci}\n\
         ```\n\
         Then, generate the policy manifest and tune it to your liking. For example:\n\
         ```console\n\
         kwctl scaffold manifest -t ClusterAdmissionPolicy{allow_context_aware} \\\n    {module}\n\
         ```\n\
         A ready-made ClusterAdmissionPolicy is in the source repository under \
         `policies/{name}/examples/`.\n",
        name = policy.name,
    );
    let mut annotations = BTreeMap::new();
    if !m.context_aware_resources.is_empty() {
        annotations.insert(
            "kubewarden/contextAwareResources",
            serde_yaml::to_string(&m.context_aware_resources)?,
        );
    }
    annotations.insert("kubewarden/mutation", m.mutating.to_string());
    if let Some(questions) = &policy.questions {
        annotations.insert("kubewarden/questions-ui", questions.clone());
    }
    annotations.insert(
        "kubewarden/resources",
        m.annotation("io.artifacthub.resources")?.to_owned(),
    );
    annotations.insert("kubewarden/rules", serde_yaml::to_string(&m.rules)?);
    let package = Package {
        version,
        name: title,
        display_name: m.annotation("io.artifacthub.displayName")?,
        created_at,
        description: m.annotation("io.kubewarden.policy.description")?,
        license: m.annotation("io.kubewarden.policy.license")?,
        home_url: m.annotation("io.kubewarden.policy.url")?,
        containers_images: vec![NamedImage {
            name: "policy",
            image: oci,
        }],
        keywords: m
            .annotation("io.artifacthub.keywords")?
            .split(',')
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .collect(),
        links: vec![
            Link {
                name: "policy",
                url: format!("{source}/releases/download/{tag}/policy.wasm"),
            },
            Link {
                name: "source",
                url: format!("{source}/tree/main/{POLICIES_DIR}/{}", policy.name),
            },
        ],
        install,
        maintainers: maintainers(m.annotation("io.kubewarden.policy.author")?),
        provider: BTreeMap::from([("name", "kubewarden")]),
        recommendations: [BTreeMap::from([(
            "url",
            "https://artifacthub.io/packages/helm/kubewarden/kubewarden-controller",
        )])],
        annotations,
    };
    Ok(format!("{PKG_HEADER}{}", serde_yaml::to_string(&package)?))
}

/// `createdAt` of a committed artifacthub-pkg.yml.
pub fn created_at_of(pkg_yml: &str) -> Option<String> {
    pkg_yml
        .lines()
        .find_map(|l| l.strip_prefix("createdAt:"))
        .map(|v| v.trim().trim_matches(['\'', '"']).to_owned())
        .filter(|v| !v.is_empty())
}

/// Today (UTC) at midnight, RFC 3339: the `createdAt` of a new version.
pub fn today_utc() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let (y, m, d) = civil_from_days(i64::try_from(secs / 86_400).unwrap_or(0));
    format!("{y:04}-{m:02}-{d:02}T00:00:00Z")
}

/// Days since 1970-01-01 to (year, month, day), proleptic Gregorian
/// (H. Hinnant's algorithm).
fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (
        y,
        u32::try_from(m).unwrap_or(1),
        u32::try_from(d).unwrap_or(1),
    )
}

/// One generated file, relative to the workspace root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    pub path: PathBuf,
    pub contents: String,
}

/// Every file under artifacthub/ as `make artifacthub` writes it. `createdAt`
/// is kept from the committed artifacthub-pkg.yml of the same version, else
/// `new_version_date`.
pub fn generate(root: &Path, new_version_date: &str) -> Result<Vec<OutputFile>> {
    let mut out = vec![OutputFile {
        path: Path::new(ARTIFACTHUB_DIR).join("artifacthub-repo.yml"),
        contents: REPO_FILE.to_owned(),
    }];
    for policy in discover(root)? {
        let dir = policy.artifacthub_dir()?;
        let pkg_path = dir.join("artifacthub-pkg.yml");
        let created_at = fs::read_to_string(root.join(&pkg_path))
            .ok()
            .and_then(|text| created_at_of(&text))
            .unwrap_or_else(|| new_version_date.to_owned());
        out.push(OutputFile {
            contents: render_package(&policy, &created_at)
                .with_context(|| format!("policy {}", policy.name))?,
            path: pkg_path,
        });
        out.push(OutputFile {
            path: dir.join("README.md"),
            contents: policy.readme.clone(),
        });
    }
    Ok(out)
}

/// The generated files whose committed copy is missing or different.
pub fn stale(root: &Path, files: &[OutputFile]) -> Vec<PathBuf> {
    files
        .iter()
        .filter(|f| fs::read_to_string(root.join(&f.path)).ok().as_deref() != Some(&f.contents))
        .map(|f| f.path.clone())
        .collect()
}

/// Writes the files that changed; returns their paths.
pub fn write(root: &Path, files: &[OutputFile]) -> Result<Vec<PathBuf>> {
    let changed = stale(root, files);
    for file in files.iter().filter(|f| changed.contains(&f.path)) {
        let path = root.join(&file.path);
        if let Some(parent) = path.parent() {
            fs::create_dir_all(parent).with_context(|| format!("creating {}", parent.display()))?;
        }
        fs::write(&path, &file.contents).with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(changed)
}

/// Fails unless `root` looks like the workspace root.
pub fn check_root(root: &Path) -> Result<()> {
    ensure!(
        root.join(POLICIES_DIR).is_dir(),
        "{}: no {POLICIES_DIR}/ folder; run from the workspace root or pass it",
        root.display()
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(20_419), (2025, 11, 27));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn created_at_is_read_back() {
        let text = "version: 0.1.0\ncreatedAt: 2025-11-27T00:00:00Z\n";
        assert_eq!(created_at_of(text).as_deref(), Some("2025-11-27T00:00:00Z"));
        assert_eq!(
            created_at_of("createdAt: '2025-01-02T00:00:00Z'\n").as_deref(),
            Some("2025-01-02T00:00:00Z")
        );
        assert_eq!(created_at_of("version: 1\n"), None);
    }

    #[test]
    fn maintainers_need_an_email() {
        assert!(maintainers("GPU policies for Kubewarden developers").is_empty());
        let m = maintainers("Ada <ada@example.com>, Bob");
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].name, "Ada");
        assert_eq!(m[0].email, "ada@example.com");
    }

    const METADATA: &str = r#"
rules:
  - apiGroups: [""]
    apiVersions: ["v1"]
    resources: ["pods"]
    operations: ["CREATE"]
mutating: false
contextAware: false
executionMode: kubewarden-wapc
backgroundAudit: true
annotations:
  io.kubewarden.policy.title: p
"#;

    #[test]
    fn metadata_needs_every_annotation() {
        let err = Metadata::parse(METADATA).unwrap_err().to_string();
        assert!(err.contains("io.kubewarden.policy.version"), "{err}");
    }

    #[test]
    fn metadata_rejects_unknown_fields() {
        let text = METADATA.replace("mutating:", "mutatting: false\nmutating:");
        assert!(Metadata::parse(&text).is_err());
    }
}
