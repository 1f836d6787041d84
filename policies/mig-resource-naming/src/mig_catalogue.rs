//! The built-in MIG catalogue: every GPU model, the product labels that name
//! it, and its GPU-instance profiles. A static table (no parsing at request
//! time) that mirrors `mig-profiles.yaml` in this crate; the tests fail when
//! the two disagree.

use crate::profile::{Attr as A, Profile as P};

/// A MIG-capable GPU model.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GpuModel {
    /// The catalogue name (`A100-40GB`), used in `gpuModels`.
    pub name: &'static str,
    /// `nvidia.com/gpu.product` label values (prefixes) of this model.
    pub products: &'static [&'static str],
    /// GPU-instance profiles that become resources (compute slices = GPU
    /// slices), in NVIDIA's order.
    pub profiles: &'static [P],
}

impl GpuModel {
    /// Whether the model offers `profile`.
    pub fn offers(&self, profile: &P) -> bool {
        self.profiles.contains(profile)
    }
}

/// Every model, in `mig-profiles.yaml`'s order.
pub static MODELS: &[GpuModel] = &[
    GpuModel {
        name: "A30-24GB",
        products: &["NVIDIA-A30"],
        profiles: &[
            P::new(1, 6, A::None),
            P::new(1, 6, A::Me),
            P::new(2, 12, A::None),
            P::new(2, 12, A::Me),
            P::new(4, 24, A::None),
        ],
    },
    GpuModel {
        name: "A100-40GB",
        products: &[
            "NVIDIA-A100-SXM4-40GB",
            "NVIDIA-A100-PCIE-40GB",
            "NVIDIA-A800-SXM4-40GB",
        ],
        profiles: &[
            P::new(1, 5, A::None),
            P::new(1, 5, A::Me),
            P::new(1, 10, A::None),
            P::new(2, 10, A::None),
            P::new(3, 20, A::None),
            P::new(4, 20, A::None),
            P::new(7, 40, A::None),
        ],
    },
    GpuModel {
        name: "A100-80GB",
        products: &[
            "NVIDIA-A100-SXM4-80GB",
            "NVIDIA-A100-80GB-PCIe",
            "NVIDIA-A800-SXM4-80GB",
        ],
        profiles: &[
            P::new(1, 10, A::None),
            P::new(1, 10, A::Me),
            P::new(1, 20, A::None),
            P::new(2, 20, A::None),
            P::new(3, 40, A::None),
            P::new(4, 40, A::None),
            P::new(7, 80, A::None),
        ],
    },
    GpuModel {
        name: "H100-80GB",
        products: &["NVIDIA-H100-80GB-HBM3", "NVIDIA-H100-PCIe", "NVIDIA-H800"],
        profiles: &[
            P::new(1, 10, A::None),
            P::new(1, 10, A::Me),
            P::new(1, 20, A::None),
            P::new(2, 20, A::None),
            P::new(3, 40, A::None),
            P::new(4, 40, A::None),
            P::new(7, 80, A::None),
        ],
    },
    GpuModel {
        name: "H100-NVL-94GB",
        products: &["NVIDIA-H100-NVL", "NVIDIA-H800-NVL"],
        profiles: &[
            P::new(1, 12, A::None),
            P::new(1, 12, A::Me),
            P::new(1, 24, A::None),
            P::new(2, 24, A::None),
            P::new(3, 47, A::None),
            P::new(4, 47, A::None),
            P::new(7, 94, A::None),
        ],
    },
    GpuModel {
        name: "H100-96GB",
        products: &["NVIDIA-H100-96GB", "NVIDIA-GH200-480GB", "NVIDIA-H20"],
        profiles: &[
            P::new(1, 12, A::None),
            P::new(1, 12, A::Me),
            P::new(1, 24, A::None),
            P::new(2, 24, A::None),
            P::new(3, 48, A::None),
            P::new(4, 48, A::None),
            P::new(7, 96, A::None),
        ],
    },
    GpuModel {
        name: "H200-141GB",
        products: &["NVIDIA-H200", "NVIDIA-H200-NVL"],
        profiles: &[
            P::new(1, 18, A::None),
            P::new(1, 18, A::Me),
            P::new(1, 35, A::None),
            P::new(2, 35, A::None),
            P::new(3, 71, A::None),
            P::new(4, 71, A::None),
            P::new(7, 141, A::None),
        ],
    },
    GpuModel {
        name: "GH200-144GB",
        products: &["NVIDIA-GH200-144G-HBM3e"],
        profiles: &[
            P::new(1, 18, A::None),
            P::new(1, 18, A::Me),
            P::new(1, 36, A::None),
            P::new(2, 36, A::None),
            P::new(3, 72, A::None),
            P::new(4, 72, A::None),
            P::new(7, 144, A::None),
        ],
    },
    GpuModel {
        name: "B200-180GB",
        products: &["NVIDIA-B200"],
        profiles: &[
            P::new(1, 23, A::None),
            P::new(1, 23, A::Me),
            P::new(1, 45, A::None),
            P::new(2, 45, A::None),
            P::new(3, 90, A::None),
            P::new(4, 90, A::None),
            P::new(7, 180, A::None),
        ],
    },
    GpuModel {
        name: "GB200-186GB",
        products: &["NVIDIA-GB200"],
        profiles: &[
            P::new(1, 23, A::None),
            P::new(1, 23, A::Me),
            P::new(1, 47, A::None),
            P::new(2, 47, A::None),
            P::new(3, 93, A::None),
            P::new(4, 93, A::None),
            P::new(7, 186, A::None),
        ],
    },
    GpuModel {
        name: "B300-269GB",
        products: &["NVIDIA-B300"],
        profiles: &[
            P::new(1, 34, A::None),
            P::new(1, 34, A::Me),
            P::new(1, 67, A::None),
            P::new(2, 67, A::None),
            P::new(3, 135, A::None),
            P::new(4, 135, A::None),
            P::new(7, 269, A::None),
        ],
    },
    GpuModel {
        name: "GB300-278GB",
        products: &["NVIDIA-GB300"],
        profiles: &[
            P::new(1, 35, A::None),
            P::new(1, 35, A::Me),
            P::new(1, 70, A::None),
            P::new(2, 70, A::None),
            P::new(3, 139, A::None),
            P::new(4, 139, A::None),
            P::new(7, 278, A::None),
        ],
    },
    GpuModel {
        name: "RTX-PRO-6000-Blackwell-96GB",
        products: &["NVIDIA-RTX-PRO-6000-Blackwell-Server-Edition"],
        profiles: &[
            P::new(1, 24, A::None),
            P::new(1, 24, A::Me),
            P::new(1, 24, A::Gfx),
            P::new(1, 24, A::MeAll),
            P::new(1, 24, A::NoMe),
            P::new(2, 48, A::None),
            P::new(2, 48, A::Gfx),
            P::new(2, 48, A::MeAll),
            P::new(2, 48, A::NoMe),
            P::new(4, 96, A::None),
            P::new(4, 96, A::Gfx),
        ],
    },
];

/// The model called `name` (exact catalogue name).
pub fn model(name: &str) -> Option<&'static GpuModel> {
    MODELS.iter().find(|m| m.name == name)
}

/// The catalogue's model names, comma-separated, for messages.
pub fn model_names() -> String {
    MODELS.iter().map(|m| m.name).collect::<Vec<_>>().join(", ")
}

/// The model a `nvidia.com/gpu.product` value names, with the `-SHARED` and
/// `-MIG-<profile>` suffixes already removed. A product matches a prefix when
/// it equals it or continues it after a `-` (so `NVIDIA-H20` does not claim
/// `NVIDIA-H200`); the longest matching prefix wins (`NVIDIA-H800-NVL` is the
/// NVL model, not `NVIDIA-H800`). Case is ignored.
pub fn model_for_product(product: &str) -> Option<&'static GpuModel> {
    let mut best: Option<(&'static GpuModel, usize)> = None;
    for model in MODELS {
        for prefix in model.products {
            if product_has_prefix(product, prefix) && best.is_none_or(|(_, len)| prefix.len() > len)
            {
                best = Some((model, prefix.len()));
            }
        }
    }
    best.map(|(model, _)| model)
}

fn product_has_prefix(product: &str, prefix: &str) -> bool {
    match product.get(..prefix.len()) {
        Some(head) if head.eq_ignore_ascii_case(prefix) => {
            matches!(product.as_bytes().get(prefix.len()), None | Some(b'-'))
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Debug, PartialEq, serde::Deserialize)]
    struct Facts {
        models: BTreeMap<String, FactModel>,
    }

    #[derive(Debug, Clone, PartialEq, serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct FactModel {
        products: Vec<String>,
        profiles: Vec<String>,
    }

    /// The crate's copy of the facts, as committed.
    const COMMITTED: &str = include_str!("../mig-profiles.yaml");

    fn facts(text: &str) -> Facts {
        serde_yaml::from_str(text).unwrap()
    }

    fn table() -> BTreeMap<String, FactModel> {
        MODELS
            .iter()
            .map(|m| {
                (
                    m.name.to_owned(),
                    FactModel {
                        products: m.products.iter().map(|p| (*p).to_owned()).collect(),
                        profiles: m.profiles.iter().map(P::to_string).collect(),
                    },
                )
            })
            .collect()
    }

    #[test]
    fn rust_table_matches_the_committed_facts() {
        let committed = facts(COMMITTED).models;
        let table = table();
        assert_eq!(
            table.keys().collect::<Vec<_>>(),
            committed.keys().collect::<Vec<_>>(),
            "models differ between src/mig_catalogue.rs and mig-profiles.yaml"
        );
        for (name, model) in &committed {
            assert_eq!(table.get(name), Some(model), "model {name}");
        }
        // Same order as the file, too (messages list models in this order).
        let order: Vec<&str> = COMMITTED
            .lines()
            .filter_map(|l| l.strip_prefix("  "))
            .filter(|l| !l.starts_with(' ') && l.contains(':'))
            .filter_map(|l| l.split(':').next())
            .collect();
        assert_eq!(order, MODELS.iter().map(|m| m.name).collect::<Vec<_>>());
    }

    #[test]
    fn every_profile_round_trips_through_its_resource_name() {
        for model in MODELS {
            for profile in model.profiles {
                let text = profile.to_string();
                assert_eq!(P::parse(&text), Ok(*profile), "{text}");
                let resource = profile.resource_name(false);
                assert_eq!(
                    resource,
                    format!("nvidia.com/mig-{}", text.replace('+', ".")),
                    "{}",
                    model.name
                );
            }
        }
    }

    /// Two facts that published MIG tables get wrong, checked against
    /// NVIDIA's documentation (README, "The catalogue and its facts"):
    /// (model, profile, offered).
    const CHECKED_FACTS: &[(&str, &str, bool)] = &[
        // NVIDIA's H100 94GB table, mig-parted's default config and
        // `nvidia-smi mig -lgip` on an H100 NVL: no 1g.24gb+me.
        ("H100-NVL-94GB", "1g.24gb+me", false),
        // MIG user guide, "GPU Instance Profiles on RTX PRO 6000":
        // MIG 1g.24gb+me, one instance.
        ("RTX-PRO-6000-Blackwell-96GB", "1g.24gb+me", true),
    ];

    #[test]
    fn checked_facts_hold() {
        let ours = facts(COMMITTED);
        for (model, profile, offered) in CHECKED_FACTS {
            let entry = &ours.models[*model];
            assert_eq!(
                entry.profiles.iter().any(|p| p == profile),
                *offered,
                "{model} {profile}"
            );
        }
    }

    #[test]
    fn products_resolve_by_longest_boundary_prefix() {
        let name = |p: &str| model_for_product(p).map(|m| m.name);
        assert_eq!(name("NVIDIA-A100-SXM4-40GB"), Some("A100-40GB"));
        assert_eq!(name("nvidia-a100-sxm4-40gb"), Some("A100-40GB"));
        assert_eq!(name("NVIDIA-H100-80GB-HBM3"), Some("H100-80GB"));
        assert_eq!(name("NVIDIA-H800"), Some("H100-80GB"));
        assert_eq!(name("NVIDIA-H800-NVL"), Some("H100-NVL-94GB"));
        assert_eq!(name("NVIDIA-H20"), Some("H100-96GB"));
        assert_eq!(name("NVIDIA-H200"), Some("H200-141GB"));
        assert_eq!(name("NVIDIA-H200-NVL"), Some("H200-141GB"));
        assert_eq!(name("NVIDIA-GH200-480GB"), Some("H100-96GB"));
        assert_eq!(name("NVIDIA-GH200-144G-HBM3e"), Some("GH200-144GB"));
        assert_eq!(name("NVIDIA-B200"), Some("B200-180GB"));
        assert_eq!(name("NVIDIA-GB200"), Some("GB200-186GB"));
        assert_eq!(name("NVIDIA-A100-80GB-PCIe-EXTRA"), Some("A100-80GB"));
        assert_eq!(name("NVIDIA-H200X"), None);
        assert_eq!(name("NVIDIA-L40S"), None);
        assert_eq!(name(""), None);
        assert_eq!(name("NVIDIA-A1"), None);
    }
}
