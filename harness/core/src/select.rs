//! Feature column selectors: regex include/exclude and CellProfiler-name filters
//! (compartment, channel, positional), as used to pick e.g. nuclear DNA features.
//!
//! CellProfiler names features `Compartment_Module_Measurement[_Channel][_Params]`, for example
//! `Nuclei_Intensity_MeanIntensity_DNA` or `Cells_Correlation_Correlation_DNA_ER`. A feature's
//! channels are its tokens that name a known channel (also with CellProfiler's `Orig`/`Corr`
//! image prefixes, as in `OrigDNA`). A channel filter keeps features whose channels all lie in
//! the allowed set; features that mention no channel (AreaShape, Neighbors, counts) are kept
//! unless `keep_channel_free` is false.

use regex::Regex;

use crate::error::{Error, Result};
use crate::profiles::Profiles;

/// Stain channel names recognised by default (Cell Painting, JUMP and BBBC021 naming).
pub const DEFAULT_CHANNELS: &[&str] = &[
    "DNA",
    "RNA",
    "ER",
    "AGP",
    "Mito",
    "DAPI",
    "Hoechst",
    "Actin",
    "Tubulin",
    "Brightfield",
    "BF",
];

/// Parts of a CellProfiler feature name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CpName<'a> {
    /// Object the measurement is made on (`Cells`, `Nuclei`, `Cytoplasm`, `Image`, ...).
    pub compartment: &'a str,
    /// Measurement module (`AreaShape`, `Intensity`, `Texture`, `Location`, ...).
    pub module: &'a str,
    /// Channels the feature mentions, normalised to the known channel names.
    pub channels: Vec<&'a str>,
    /// Whether the feature measures position or object bookkeeping rather than morphology.
    pub positional: bool,
}

/// Splits a CellProfiler feature name into its parts; `known` lists channel names.
pub fn parse_cp_name<'a>(name: &'a str, known: &'a [String]) -> CpName<'a> {
    let mut tokens = name.split('_');
    let compartment = tokens.next().unwrap_or("");
    let module = tokens.next().unwrap_or("");
    let rest: Vec<&str> = tokens.collect();
    let mut channels: Vec<&str> = Vec::new();
    for t in &rest {
        let bare = t
            .strip_prefix("Orig")
            .or_else(|| t.strip_prefix("Corr"))
            .unwrap_or(t);
        if let Some(ch) = known.iter().find(|k| k.as_str() == bare)
            && !channels.contains(&ch.as_str())
        {
            channels.push(ch.as_str());
        }
    }
    let measurement = rest.first().copied().unwrap_or("");
    let positional = matches!(module, "Location" | "Parent" | "Children")
        || (module == "AreaShape"
            && (measurement == "Center" || measurement.starts_with("BoundingBox")))
        || (module == "Number" && measurement == "Object")
        || (module == "Neighbors" && measurement.ends_with("ObjectNumber"))
        || name.ends_with("_ObjectNumber");
    CpName {
        compartment,
        module,
        channels,
        positional,
    }
}

/// Which feature columns to keep.
#[derive(Debug, Clone)]
pub struct FeatureSelector {
    include: Vec<Regex>,
    exclude: Vec<Regex>,
    compartments: Vec<String>,
    channels: Vec<String>,
    keep_channel_free: bool,
    drop_positional: bool,
    known_channels: Vec<String>,
}

impl Default for FeatureSelector {
    fn default() -> Self {
        FeatureSelector {
            include: Vec::new(),
            exclude: Vec::new(),
            compartments: Vec::new(),
            channels: Vec::new(),
            keep_channel_free: true,
            drop_positional: false,
            known_channels: DEFAULT_CHANNELS.iter().map(|s| s.to_string()).collect(),
        }
    }
}

impl FeatureSelector {
    /// A selector that keeps every feature.
    pub fn all() -> Self {
        Self::default()
    }

    /// Keeps only features matching at least one of these regexes (searched, not anchored).
    pub fn include(mut self, patterns: &[impl AsRef<str>]) -> Result<Self> {
        self.include = compile(patterns)?;
        Ok(self)
    }

    /// Drops features matching any of these regexes.
    pub fn exclude(mut self, patterns: &[impl AsRef<str>]) -> Result<Self> {
        self.exclude = compile(patterns)?;
        Ok(self)
    }

    /// Keeps only these compartments (first name token, e.g. `Nuclei`); empty keeps all.
    pub fn compartments(mut self, compartments: &[impl AsRef<str>]) -> Self {
        self.compartments = compartments
            .iter()
            .map(|c| c.as_ref().to_string())
            .collect();
        self
    }

    /// Keeps only features whose channels all lie in this set; empty disables the filter.
    pub fn channels(mut self, channels: &[impl AsRef<str>]) -> Result<Self> {
        for c in channels {
            if !self.known_channels.iter().any(|k| k == c.as_ref()) {
                return Err(Error::BadSelector {
                    pattern: c.as_ref().to_string(),
                    reason: format!(
                        "unknown channel (known: {}); add it with known_channels",
                        self.known_channels.join(", ")
                    ),
                });
            }
        }
        self.channels = channels.iter().map(|c| c.as_ref().to_string()).collect();
        Ok(self)
    }

    /// Whether a channel filter keeps features that mention no channel (default true).
    pub fn keep_channel_free(mut self, keep: bool) -> Self {
        self.keep_channel_free = keep;
        self
    }

    /// Drops positional and bookkeeping features (locations, centers, bounding boxes, object numbers).
    pub fn drop_positional(mut self, drop: bool) -> Self {
        self.drop_positional = drop;
        self
    }

    /// Adds channel names beyond [`DEFAULT_CHANNELS`].
    pub fn known_channels(mut self, extra: &[impl AsRef<str>]) -> Self {
        for c in extra {
            if !self.known_channels.iter().any(|k| k == c.as_ref()) {
                self.known_channels.push(c.as_ref().to_string());
            }
        }
        self
    }

    /// Whether one feature name passes.
    pub fn keeps(&self, name: &str) -> bool {
        if !self.include.is_empty() && !self.include.iter().any(|r| r.is_match(name)) {
            return false;
        }
        if self.exclude.iter().any(|r| r.is_match(name)) {
            return false;
        }
        let needs_cp =
            !self.compartments.is_empty() || !self.channels.is_empty() || self.drop_positional;
        if !needs_cp {
            return true;
        }
        let cp = parse_cp_name(name, &self.known_channels);
        if !self.compartments.is_empty() && !self.compartments.iter().any(|c| c == cp.compartment) {
            return false;
        }
        if self.drop_positional && cp.positional {
            return false;
        }
        if !self.channels.is_empty() {
            if cp.channels.is_empty() {
                return self.keep_channel_free;
            }
            return cp
                .channels
                .iter()
                .all(|ch| self.channels.iter().any(|c| c == ch));
        }
        true
    }

    /// Indices of the kept features among `names`, in order.
    pub fn indices(&self, names: &[String]) -> Vec<usize> {
        names
            .iter()
            .enumerate()
            .filter(|(_, n)| self.keeps(n))
            .map(|(i, _)| i)
            .collect()
    }

    /// The profiles restricted to the kept features; an error if none remain.
    pub fn apply(&self, profiles: &Profiles) -> Result<Profiles> {
        let idx = self.indices(profiles.feature_names());
        if idx.is_empty() {
            return Err(Error::NoFeatures {
                path: "profiles".into(),
                reason: format!(
                    "the feature selector kept none of {} features",
                    profiles.n_features()
                ),
            });
        }
        profiles.select_features(&idx)
    }
}

fn compile(patterns: &[impl AsRef<str>]) -> Result<Vec<Regex>> {
    patterns
        .iter()
        .map(|p| {
            Regex::new(p.as_ref()).map_err(|e| Error::BadSelector {
                pattern: p.as_ref().to_string(),
                reason: e.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names() -> Vec<String> {
        [
            "Nuclei_Intensity_MeanIntensity_DNA",
            "Nuclei_Intensity_MeanIntensity_RNA",
            "Nuclei_AreaShape_Area",
            "Nuclei_AreaShape_Center_X",
            "Nuclei_Location_Center_Y",
            "Nuclei_Texture_Contrast_OrigDNA_3_00_256",
            "Cells_Correlation_Correlation_DNA_ER",
            "Cells_Intensity_MeanIntensity_DNA",
            "Cytoplasm_Number_Object_Number",
            "Nuclei_Parent_Cells",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn kept(sel: &FeatureSelector) -> Vec<String> {
        let n = names();
        sel.indices(&n).into_iter().map(|i| n[i].clone()).collect()
    }

    #[test]
    fn parses_channels_and_positional_features() {
        let known: Vec<String> = DEFAULT_CHANNELS.iter().map(|s| s.to_string()).collect();
        let cp = parse_cp_name("Cells_Correlation_Correlation_DNA_ER", &known);
        assert_eq!((cp.compartment, cp.module), ("Cells", "Correlation"));
        assert_eq!(cp.channels, ["DNA", "ER"]);
        assert!(!cp.positional);
        assert_eq!(
            parse_cp_name("Nuclei_Texture_Contrast_OrigDNA_3_00_256", &known).channels,
            ["DNA"]
        );
        assert!(parse_cp_name("Nuclei_Location_Center_Y", &known).positional);
        assert!(parse_cp_name("Nuclei_AreaShape_Center_X", &known).positional);
        assert!(parse_cp_name("Cytoplasm_Number_Object_Number", &known).positional);
        assert!(!parse_cp_name("Nuclei_AreaShape_Area", &known).positional);
    }

    #[test]
    fn nuclear_dna_selection() {
        let sel = FeatureSelector::all()
            .compartments(&["Nuclei"])
            .channels(&["DNA"])
            .unwrap()
            .drop_positional(true);
        assert_eq!(
            kept(&sel),
            [
                "Nuclei_Intensity_MeanIntensity_DNA",
                "Nuclei_AreaShape_Area",
                "Nuclei_Texture_Contrast_OrigDNA_3_00_256",
            ]
        );
        let strict = sel.keep_channel_free(false);
        assert_eq!(kept(&strict).len(), 2);
    }

    #[test]
    fn regex_include_exclude() {
        let sel = FeatureSelector::all()
            .include(&["^Nuclei_"])
            .unwrap()
            .exclude(&["_Center_", "Parent"])
            .unwrap();
        assert_eq!(kept(&sel).len(), 4);
        let e = FeatureSelector::all().include(&["(unclosed"]).unwrap_err();
        assert!(e.to_string().contains("(unclosed"), "{e}");
        let e = FeatureSelector::all().channels(&["Nope"]).unwrap_err();
        assert!(e.to_string().contains("unknown channel"), "{e}");
    }
}
