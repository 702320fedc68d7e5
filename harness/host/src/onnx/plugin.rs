//! An ONNX plugin: a model from `plugin.toml`'s `[onnx]` table, checked against the manifest and
//! run on the four model shapes cpbench supports (DESIGN §3).
//!
//! [`OnnxPlugin::load`] verifies the model's SHA-256, loads it on the first execution provider
//! that works, reads the vocabulary and feature list, and checks that the model's declared
//! tensors fit the manifest (names, ranks, element types, fixed dimensions) before any data is
//! seen. The `encode_*` methods and [`OnnxPlugin::lookup`] then feed it in batches of
//! `batch_size` items and return row-major `[items, output_dim]` matrices.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};

use cpbench_core::hash::sha256_file;
use cpbench_core::manifest::{ExecutionProvider, Layout, OnnxShape, OnnxSpec, Vocabulary};
use ndarray::{ArrayD, ArrayViewD, IxDyn};

use super::model::{ElementType, OnnxModel, Provider, ProviderFallback, TensorInfo, TensorInput};
use crate::error::HostError;

/// The outputs of [`OnnxPlugin::encode_sets`].
#[derive(Debug, Clone, PartialEq)]
pub struct SetEncoding {
    /// Row-major `[sets, output_dim]`, one row per set in input order.
    pub values: Vec<f32>,
    /// Sets larger than the maximum set size, encoded in chunks and combined (see
    /// [`OnnxPlugin::encode_sets`]); recorded with the result because the combination is exact
    /// only for mean-pooled-then-affine heads.
    pub chunked_sets: usize,
    /// Model inputs (sets or chunks of sets) that were run; equals the number of sets when
    /// nothing was chunked.
    pub items: usize,
}

/// The outputs of [`OnnxPlugin::lookup`].
#[derive(Debug, Clone, PartialEq)]
pub struct LookupResult {
    /// Row-major `[found.len(), output_dim]`: the embedding of each key found, in `found` order.
    pub values: Vec<f32>,
    /// Positions (in the keys given) of the keys that are in the vocabulary, ascending.
    pub found: Vec<usize>,
    /// Keys not in the vocabulary, each once, in order of first appearance.
    pub missing: Vec<String>,
}

/// A model's vocabulary: tokens in index order and the index of each.
#[derive(Debug)]
struct Vocab {
    tokens: Vec<String>,
    index: HashMap<String, i64>,
}

/// One model input (a set, or a chunk of a large set) of [`OnnxPlugin::encode_sets`].
#[derive(Debug, Clone, Copy)]
struct SetItem {
    set: usize,
    start: usize,
    len: usize,
}

/// An ONNX model loaded for one plugin, ready to encode profiles, images, sets or keys.
#[derive(Debug)]
pub struct OnnxPlugin {
    model: Mutex<OnnxModel>,
    model_path: PathBuf,
    sha256: String,
    provider: Provider,
    fallbacks: Vec<ProviderFallback>,
    shape: OnnxShape,
    input: String,
    output: String,
    mask: Option<String>,
    mask_type: ElementType,
    layout: Layout,
    scale: Option<Vec<f32>>,
    batch_size: usize,
    /// Set size the model's `S` dimension is fixed to, if it is; every batch is padded to it.
    fixed_set_size: Option<usize>,
    max_set_size: Option<usize>,
    input_dims: Vec<i64>,
    output_dim: usize,
    vocabulary: Option<Vocab>,
    features: Option<Vec<String>>,
}

impl OnnxPlugin {
    /// Loads the plugin whose manifest's `[onnx]` table is `spec`, in manifest folder `dir`.
    ///
    /// Refuses a model whose SHA-256 differs from `spec.sha256`, then tries the execution
    /// providers in the manifest's order (see [`OnnxModel::load`]) with ONNX Runtime's default
    /// thread count.
    pub fn load(spec: &OnnxSpec, dir: &Path) -> Result<Self, HostError> {
        Self::load_with_threads(spec, dir, None)
    }

    /// [`OnnxPlugin::load`] with ONNX Runtime's intra-op thread count (`None`: its default).
    pub fn load_with_threads(
        spec: &OnnxSpec,
        dir: &Path,
        threads: Option<usize>,
    ) -> Result<Self, HostError> {
        let model_path = dir.join(&spec.model);
        if !model_path.is_file() {
            return Err(HostError::ModelNotFound { path: model_path });
        }
        let sha256 = sha256_file(&model_path).map_err(|source| HostError::Io {
            path: model_path.clone(),
            source,
        })?;
        if let Some(expected) = &spec.sha256
            && *expected != sha256
        {
            return Err(HostError::ArtifactHash {
                key: "onnx.model".into(),
                path: model_path,
                expected: expected.clone(),
                actual: sha256,
            });
        }
        let providers: Vec<Provider> = spec
            .execution_providers
            .iter()
            .map(|p| match p {
                ExecutionProvider::Cuda => Provider::Cuda,
                ExecutionProvider::Cpu => Provider::Cpu,
            })
            .collect();
        let model = OnnxModel::load(&model_path, &providers, spec.require_gpu, threads)?;

        let vocabulary = match &spec.vocabulary {
            Some(Vocabulary::Inline(tokens)) => {
                Some(vocab(tokens.clone(), &dir.join("plugin.toml"))?)
            }
            Some(Vocabulary::File(file)) => {
                let path = dir.join(file);
                Some(vocab(read_lines(&path)?, &path)?)
            }
            None => None,
        };
        let features = match &spec.features {
            Some(file) => {
                let path = dir.join(file);
                let names = read_lines(&path)?;
                check_unique(&names, &path, "feature")?;
                Some(names)
            }
            None => None,
        };

        let mut plugin = Self {
            model_path: model_path.clone(),
            sha256,
            provider: model.provider(),
            fallbacks: model.fallbacks().to_vec(),
            shape: spec.shape,
            input: spec.input.clone(),
            output: spec.output.clone(),
            mask: spec.mask_input.clone(),
            mask_type: ElementType::Float32,
            layout: spec.layout.unwrap_or(Layout::Nchw),
            scale: spec.scale.clone(),
            batch_size: usize::try_from(spec.batch_size)
                .unwrap_or(usize::MAX)
                .max(1),
            fixed_set_size: None,
            max_set_size: spec.max_set_size.map(|m| m as usize),
            input_dims: Vec::new(),
            output_dim: 0,
            vocabulary,
            features,
            model: Mutex::new(model),
        };
        plugin.check_contract()?;
        if plugin.shape == OnnxShape::Lookup {
            plugin.probe_vocabulary()?;
        }
        Ok(plugin)
    }

    /// Checks the model's declared inputs and output against the manifest and records the
    /// dimensions the encoders need.
    fn check_contract(&mut self) -> Result<(), HostError> {
        let model = lock(&self.model);
        let contract = |message: String| HostError::OnnxContract {
            path: self.model_path.clone(),
            message,
        };
        let tensor_list = |tensors: &[TensorInfo]| -> String {
            let shown: Vec<String> = tensors.iter().map(describe).collect();
            shown.join(", ")
        };

        let mut expected = vec![self.input.as_str()];
        if self.shape == OnnxShape::Set {
            match &self.mask {
                Some(mask) => expected.push(mask),
                None => return Err(contract("`shape = \"set\"` needs `mask_input`".into())),
            }
        }
        for name in &expected {
            if !model.inputs().iter().any(|t| t.name == *name) {
                return Err(contract(format!(
                    "plugin.toml names input '{name}', but the model's inputs are {}",
                    tensor_list(model.inputs())
                )));
            }
        }
        if let Some(extra) = model
            .inputs()
            .iter()
            .find(|t| !expected.contains(&t.name.as_str()))
        {
            return Err(contract(format!(
                "the model has an input {} that plugin.toml does not name (it names {})",
                describe(extra),
                expected.join(", ")
            )));
        }
        let Some(output) = model.outputs().iter().find(|t| t.name == self.output) else {
            return Err(contract(format!(
                "plugin.toml names output '{}', but the model's outputs are {}",
                self.output,
                tensor_list(model.outputs())
            )));
        };

        let input = model
            .inputs()
            .iter()
            .find(|t| t.name == self.input)
            .expect("checked above");
        let (rank, element, what) = match self.shape {
            OnnxShape::Profile => (2, ElementType::Float32, "[N, d] profiles"),
            OnnxShape::Image => (
                4,
                ElementType::Float32,
                match self.layout {
                    Layout::Nchw => "[N, C, H, W] images",
                    Layout::Nhwc => "[N, H, W, C] images",
                },
            ),
            OnnxShape::Set => (3, ElementType::Float32, "[B, S, d] sets"),
            OnnxShape::Lookup => (1, ElementType::Int64, "[N] int64 indices"),
        };
        if input.dims.len() != rank || input.element_type != element {
            return Err(contract(format!(
                "`shape = \"{}\"` needs {what} as input '{}', but the model declares {}",
                shape_name(self.shape),
                self.input,
                describe(input)
            )));
        }
        if input.dims[0] >= 0 {
            return Err(contract(format!(
                "input {} has a fixed batch dimension; export the model with a dynamic first \
                 dimension so batches of any size (`batch_size`, and the last, smaller batch) run",
                describe(input)
            )));
        }
        if output.dims.len() != 2 || output.element_type != ElementType::Float32 {
            return Err(contract(format!(
                "output must be f32 [N, k], but the model declares {}",
                describe(output)
            )));
        }
        let Ok(output_dim) = usize::try_from(output.dims[1]) else {
            return Err(contract(format!(
                "output {} has a dynamic width; export the model with a fixed embedding width",
                describe(output)
            )));
        };
        if output_dim == 0 {
            return Err(contract(format!("output {} has width 0", describe(output))));
        }

        match self.shape {
            OnnxShape::Set => {
                let mask_name = self.mask.as_deref().expect("checked above");
                let mask = model
                    .inputs()
                    .iter()
                    .find(|t| t.name == mask_name)
                    .expect("checked above");
                let mask_ok = mask.dims.len() == 2
                    && matches!(mask.element_type, ElementType::Float32 | ElementType::Int64);
                if !mask_ok {
                    return Err(contract(format!(
                        "the mask '{mask_name}' must be f32 or i64 [B, S], but the model declares {}",
                        describe(mask)
                    )));
                }
                let fixed: Vec<i64> = [input.dims[1], mask.dims[1]]
                    .into_iter()
                    .filter(|&s| s >= 0)
                    .collect();
                if fixed.len() == 2 && fixed[0] != fixed[1] {
                    return Err(contract(format!(
                        "the set input {} and the mask {} disagree on the set size S",
                        describe(input),
                        describe(mask)
                    )));
                }
                if let Some(&s) = fixed.first() {
                    if s == 0 {
                        return Err(contract("the set size S is fixed to 0".into()));
                    }
                    self.fixed_set_size = Some(s as usize);
                }
                self.mask_type = mask.element_type.clone();
            }
            OnnxShape::Image => {
                let channel_axis = match self.layout {
                    Layout::Nchw => 1,
                    Layout::Nhwc => 3,
                };
                if let (Some(scale), Ok(c)) =
                    (&self.scale, usize::try_from(input.dims[channel_axis]))
                    && scale.len() != c
                {
                    return Err(contract(format!(
                        "`scale` lists {} multipliers, but the model's input {} has {c} channels",
                        scale.len(),
                        describe(input)
                    )));
                }
            }
            OnnxShape::Profile | OnnxShape::Lookup => {}
        }
        if let (Some(features), Some(&d)) = (&self.features, input.dims.last())
            && self.shape != OnnxShape::Lookup
            && d >= 0
            && features.len() != d as usize
        {
            return Err(contract(format!(
                "the feature list names {} features, but the model's input {} takes {d}",
                features.len(),
                describe(input)
            )));
        }
        let input_dims = input.dims.clone();
        drop(model);
        self.input_dims = input_dims;
        self.output_dim = output_dim;
        Ok(())
    }

    /// Looks up the vocabulary's last index once, so a vocabulary longer than the model's
    /// embedding table fails at load rather than on the first benchmark that uses those genes.
    fn probe_vocabulary(&self) -> Result<(), HostError> {
        let vocab = self
            .vocabulary
            .as_ref()
            .ok_or_else(|| HostError::OnnxContract {
                path: self.model_path.clone(),
                message: "`shape = \"lookup\"` needs a `vocabulary`".into(),
            })?;
        let last = vocab.tokens.len() as i64 - 1;
        let indices = ArrayD::from_shape_vec(IxDyn(&[1]), vec![last]).expect("one element");
        self.run_checked(
            &[(self.input.as_str(), TensorInput::I64(indices.view()))],
            1,
        )
        .map_err(|e| HostError::OnnxContract {
            path: self.model_path.clone(),
            message: format!(
                "looking up the vocabulary's last token ('{}', index {last}) failed, so the \
                     model's table has fewer rows than the vocabulary's {} tokens: {e}",
                vocab.tokens[last as usize],
                vocab.tokens.len()
            ),
        })?;
        Ok(())
    }

    /// The model file.
    pub fn model_path(&self) -> &Path {
        &self.model_path
    }

    /// The model file's SHA-256 (lowercase hex), as checked at load.
    pub fn sha256(&self) -> &str {
        &self.sha256
    }

    /// What the model consumes.
    pub fn shape(&self) -> OnnxShape {
        self.shape
    }

    /// Width `k` of the model's output.
    pub fn output_dim(&self) -> usize {
        self.output_dim
    }

    /// Width of each input profile or set member, when the model fixes it.
    pub fn input_dim(&self) -> Option<usize> {
        match self.shape {
            OnnxShape::Profile | OnnxShape::Set => self
                .input_dims
                .last()
                .and_then(|&d| usize::try_from(d).ok()),
            OnnxShape::Image | OnnxShape::Lookup => None,
        }
    }

    /// The input tensor's declared dimensions, -1 where dynamic (e.g. `[-1, 5, 128, 128]`).
    pub fn input_dims(&self) -> &[i64] {
        &self.input_dims
    }

    /// Items per inference call.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// Largest set run at once (the manifest's `max_set_size`, capped by a fixed `S` in the model).
    pub fn max_set_size(&self) -> Option<usize> {
        match (self.max_set_size, self.fixed_set_size) {
            (Some(m), Some(s)) => Some(m.min(s)),
            (m, s) => m.or(s),
        }
    }

    /// The execution provider that runs the model, as ONNX Runtime names it (e.g. `CPUExecutionProvider`).
    pub fn execution_provider(&self) -> &'static str {
        self.provider.ort_name()
    }

    /// The execution provider that runs the model.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Providers asked for before the one used, each with why it was skipped.
    pub fn fallbacks(&self) -> &[ProviderFallback] {
        &self.fallbacks
    }

    /// The model's input features in order (the manifest's `features` file), if it names them.
    pub fn features(&self) -> Option<&[String]> {
        self.features.as_deref()
    }

    /// The lookup vocabulary in index order (`shape = "lookup"`).
    pub fn vocabulary(&self) -> Option<&[String]> {
        self.vocabulary.as_ref().map(|v| v.tokens.as_slice())
    }

    /// Positions in `available` of the model's features, in the model's order.
    ///
    /// Without a feature list the columns are taken as they are (`0..available.len()`). A
    /// feature the model needs but `available` lacks is an error listing the missing names.
    pub fn feature_columns(&self, available: &[String]) -> Result<Vec<usize>, HostError> {
        let Some(features) = &self.features else {
            return Ok((0..available.len()).collect());
        };
        let position: HashMap<&str, usize> = available
            .iter()
            .enumerate()
            .rev()
            .map(|(i, name)| (name.as_str(), i))
            .collect();
        let mut columns = Vec::with_capacity(features.len());
        let mut missing = Vec::new();
        for f in features {
            match position.get(f.as_str()) {
                Some(&i) => columns.push(i),
                None => missing.push(f.as_str()),
            }
        }
        if !missing.is_empty() {
            const SHOWN: usize = 10;
            let mut listed = missing[..missing.len().min(SHOWN)].join(", ");
            if missing.len() > SHOWN {
                listed.push_str(&format!(", ... ({} more)", missing.len() - SHOWN));
            }
            return Err(self.input_error(format!(
                "{} of the model's {} input features are not among the {} columns given: {listed}",
                missing.len(),
                features.len(),
                available.len()
            )));
        }
        Ok(columns)
    }

    /// Encodes `n` profiles of `d` features (row-major `x`) into `[n, output_dim]`.
    pub fn encode_profiles(&self, x: &[f32], n: usize, d: usize) -> Result<Vec<f32>, HostError> {
        self.expect_shape(OnnxShape::Profile)?;
        if x.len() != n * d {
            return Err(self.input_error(format!(
                "{} values given for {n} profiles of {d} features ({} expected)",
                x.len(),
                n * d
            )));
        }
        let mut out = Vec::with_capacity(n * self.output_dim);
        for start in (0..n).step_by(self.batch_size) {
            let b = self.batch_size.min(n - start);
            let view = ArrayViewD::from_shape(IxDyn(&[b, d]), &x[start * d..(start + b) * d])
                .expect("length checked above");
            let y = self.run_checked(&[(self.input.as_str(), TensorInput::F32(view))], b)?;
            out.extend_from_slice(&y);
        }
        Ok(out)
    }

    /// Encodes `n` image crops of `c` channels, `h` × `w` pixels into `[n, output_dim]`.
    ///
    /// `pixels` is always `[n, c, h, w]` (channel-first) in memory; with `layout = "NHWC"` each
    /// batch is transposed for the model, and a manifest `scale` multiplies channel `i` by
    /// `scale[i]` first.
    pub fn encode_images(
        &self,
        pixels: &[f32],
        n: usize,
        c: usize,
        h: usize,
        w: usize,
    ) -> Result<Vec<f32>, HostError> {
        self.expect_shape(OnnxShape::Image)?;
        let crop = c * h * w;
        if pixels.len() != n * crop {
            return Err(self.input_error(format!(
                "{} pixel values given for {n} crops of {c} × {h} × {w} ({} expected)",
                pixels.len(),
                n * crop
            )));
        }
        if let Some(scale) = &self.scale
            && scale.len() != c
        {
            return Err(self.input_error(format!(
                "the crops have {c} channels, but `scale` lists {} multipliers",
                scale.len()
            )));
        }
        let plane = h * w;
        let mut out = Vec::with_capacity(n * self.output_dim);
        let mut buffer = Vec::new();
        for start in (0..n).step_by(self.batch_size) {
            let b = self.batch_size.min(n - start);
            let src = &pixels[start * crop..(start + b) * crop];
            let needs_copy = self.scale.is_some() || self.layout == Layout::Nhwc;
            let data: &[f32] = if needs_copy {
                buffer.clear();
                buffer.resize(b * crop, 0.0);
                for (i, crop_pixels) in src.chunks_exact(crop).enumerate() {
                    let dst = &mut buffer[i * crop..(i + 1) * crop];
                    for (ch, channel) in crop_pixels.chunks_exact(plane).enumerate() {
                        let s = self.scale.as_ref().map_or(1.0, |s| s[ch]);
                        match self.layout {
                            Layout::Nchw => {
                                for (d, &p) in
                                    dst[ch * plane..(ch + 1) * plane].iter_mut().zip(channel)
                                {
                                    *d = p * s;
                                }
                            }
                            Layout::Nhwc => {
                                for (d, &p) in dst[ch..].iter_mut().step_by(c).zip(channel) {
                                    *d = p * s;
                                }
                            }
                        }
                    }
                }
                &buffer
            } else {
                src
            };
            let dims = match self.layout {
                Layout::Nchw => [b, c, h, w],
                Layout::Nhwc => [b, h, w, c],
            };
            let view = ArrayViewD::from_shape(IxDyn(&dims), data).expect("length checked above");
            let y = self.run_checked(&[(self.input.as_str(), TensorInput::F32(view))], b)?;
            out.extend_from_slice(&y);
        }
        Ok(out)
    }

    /// Encodes sets of `d`-wide members into one `[sets, output_dim]` row each.
    ///
    /// `x` holds all members row-major; set `s` is rows `offsets[s]..offsets[s + 1]`
    /// (`offsets[0] = 0`, the last offset is the number of rows). Sets are batched
    /// `batch_size` at a time, largest first, each batch padded with zeros to its largest set
    /// and a mask marking real members (1) and padding (0); a correctly masked model gives a
    /// set the same output whatever shares its batch.
    ///
    /// A set larger than [`OnnxPlugin::max_set_size`] is split into near-equal chunks of at
    /// most that size, each encoded as a set, and its output is the mean of the chunks'
    /// outputs weighted by chunk size. That equals encoding the whole set only for models
    /// whose pooling is a (masked) mean followed by affine layers; for any other head it is an
    /// approximation, so the number of chunked sets is reported.
    pub fn encode_sets(
        &self,
        x: &[f32],
        d: usize,
        offsets: &[usize],
    ) -> Result<SetEncoding, HostError> {
        self.expect_shape(OnnxShape::Set)?;
        let items = self.set_items(x, d, offsets)?;
        let sets = offsets.len() - 1;
        let k = self.output_dim;
        let chunked_sets = {
            let mut chunked = vec![false; sets];
            let mut count = 0;
            for pair in items.windows(2) {
                if pair[0].set == pair[1].set && !chunked[pair[0].set] {
                    chunked[pair[0].set] = true;
                    count += 1;
                }
            }
            count
        };

        // Largest first keeps the padding of each batch small; ties keep input order, so the
        // batches (and thus the result) depend only on the input.
        let mut order: Vec<usize> = (0..items.len()).collect();
        order.sort_by(|&a, &b| items[b].len.cmp(&items[a].len).then(a.cmp(&b)));

        let mut item_out = vec![0f32; items.len() * k];
        let mut xs = Vec::new();
        let mut mask_f = Vec::new();
        let mut mask_i = Vec::new();
        for batch in order.chunks(self.batch_size) {
            let b = batch.len();
            let s = self
                .fixed_set_size
                .unwrap_or_else(|| batch.iter().map(|&i| items[i].len).max().unwrap_or(1));
            xs.clear();
            xs.resize(b * s * d, 0.0);
            mask_f.clear();
            mask_f.resize(b * s, 0.0);
            mask_i.clear();
            mask_i.resize(b * s, 0);
            for (slot, &i) in batch.iter().enumerate() {
                let item = items[i];
                let rows = &x[item.start * d..(item.start + item.len) * d];
                xs[slot * s * d..slot * s * d + rows.len()].copy_from_slice(rows);
                mask_f[slot * s..slot * s + item.len].fill(1.0);
                mask_i[slot * s..slot * s + item.len].fill(1);
            }
            let xv = ArrayViewD::from_shape(IxDyn(&[b, s, d]), &xs).expect("sized above");
            let mask_input = match self.mask_type {
                ElementType::Int64 => TensorInput::I64(
                    ArrayViewD::from_shape(IxDyn(&[b, s]), &mask_i).expect("sized above"),
                ),
                _ => TensorInput::F32(
                    ArrayViewD::from_shape(IxDyn(&[b, s]), &mask_f).expect("sized above"),
                ),
            };
            let mask_name = self.mask.as_deref().expect("checked at load");
            let y = self.run_checked(
                &[
                    (self.input.as_str(), TensorInput::F32(xv)),
                    (mask_name, mask_input),
                ],
                b,
            )?;
            for (slot, &i) in batch.iter().enumerate() {
                item_out[i * k..(i + 1) * k].copy_from_slice(&y[slot * k..(slot + 1) * k]);
            }
        }

        let mut values = vec![0f32; sets * k];
        let mut i = 0;
        while i < items.len() {
            let set = items[i].set;
            let mut j = i;
            while j < items.len() && items[j].set == set {
                j += 1;
            }
            let dst = &mut values[set * k..(set + 1) * k];
            if j - i == 1 {
                // Unchunked: the model's output as is, bit for bit.
                dst.copy_from_slice(&item_out[i * k..(i + 1) * k]);
            } else {
                let total = (offsets[set + 1] - offsets[set]) as f64;
                let mut acc = vec![0f64; k];
                for item in i..j {
                    let weight = items[item].len as f64 / total;
                    for (a, &v) in acc.iter_mut().zip(&item_out[item * k..(item + 1) * k]) {
                        *a += weight * f64::from(v);
                    }
                }
                for (d, a) in dst.iter_mut().zip(acc) {
                    *d = a as f32;
                }
            }
            i = j;
        }
        Ok(SetEncoding {
            values,
            chunked_sets,
            items: items.len(),
        })
    }

    /// Checks the set boundaries and splits sets larger than the maximum set size into chunks.
    fn set_items(&self, x: &[f32], d: usize, offsets: &[usize]) -> Result<Vec<SetItem>, HostError> {
        let rows = offsets.last().copied().unwrap_or(0);
        if offsets.first() != Some(&0) {
            return Err(self.input_error(
                "set offsets must start with 0 and end with the number of rows".into(),
            ));
        }
        if x.len() != rows * d {
            return Err(self.input_error(format!(
                "{} values given, but the set offsets end at row {rows} of {d} features ({} values)",
                x.len(),
                rows * d
            )));
        }
        let max = self.max_set_size();
        let mut items = Vec::with_capacity(offsets.len().saturating_sub(1));
        for (set, pair) in offsets.windows(2).enumerate() {
            let (start, end) = (pair[0], pair[1]);
            if end < start {
                return Err(self.input_error(format!(
                    "set offsets must not decrease: set {set} would run from row {start} to {end}"
                )));
            }
            let len = end - start;
            if len == 0 {
                return Err(self.input_error(format!(
                    "set {set} (rows {start}..{end}) is empty; a set encoder needs at least one member"
                )));
            }
            let chunks = max.map_or(1, |m| len.div_ceil(m));
            let (base, extra) = (len / chunks, len % chunks);
            let mut at = start;
            for c in 0..chunks {
                let chunk_len = base + usize::from(c < extra);
                items.push(SetItem {
                    set,
                    start: at,
                    len: chunk_len,
                });
                at += chunk_len;
            }
        }
        Ok(items)
    }

    /// Looks up `keys` in the vocabulary and returns the embeddings of those found.
    ///
    /// Keys not in the vocabulary are listed in [`LookupResult::missing`], never dropped
    /// silently; what to do about them (fail, or score without them) is the caller's decision.
    pub fn lookup(&self, keys: &[String]) -> Result<LookupResult, HostError> {
        self.expect_shape(OnnxShape::Lookup)?;
        let vocab = self
            .vocabulary
            .as_ref()
            .expect("a lookup plugin loads its vocabulary");
        let mut found = Vec::new();
        let mut indices = Vec::new();
        let mut missing: Vec<String> = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            match vocab.index.get(key) {
                Some(&idx) => {
                    found.push(i);
                    indices.push(idx);
                }
                None => {
                    if !missing.contains(key) {
                        missing.push(key.clone());
                    }
                }
            }
        }
        let mut values = Vec::with_capacity(indices.len() * self.output_dim);
        for batch in indices.chunks(self.batch_size) {
            let view = ArrayViewD::from_shape(IxDyn(&[batch.len()]), batch).expect("1-d");
            let y = self.run_checked(
                &[(self.input.as_str(), TensorInput::I64(view))],
                batch.len(),
            )?;
            values.extend_from_slice(&y);
        }
        Ok(LookupResult {
            values,
            found,
            missing,
        })
    }

    /// Runs one batch of `b` items and returns its output, checked to be `[b, output_dim]`.
    fn run_checked(
        &self,
        inputs: &[(&str, TensorInput<'_>)],
        b: usize,
    ) -> Result<Vec<f32>, HostError> {
        let y = lock(&self.model).run(inputs, &self.output)?;
        if y.shape() != [b, self.output_dim] {
            return Err(HostError::OnnxContract {
                path: self.model_path.clone(),
                message: format!(
                    "output '{}' has shape {:?} for a batch of {b}, expected [{b}, {}]",
                    self.output,
                    y.shape(),
                    self.output_dim
                ),
            });
        }
        Ok(y.iter().copied().collect())
    }

    fn expect_shape(&self, wanted: OnnxShape) -> Result<(), HostError> {
        if self.shape == wanted {
            Ok(())
        } else {
            Err(self.input_error(format!(
                "the plugin's model has `shape = \"{}\"`; it cannot encode {} input",
                shape_name(self.shape),
                shape_name(wanted)
            )))
        }
    }

    fn input_error(&self, message: String) -> HostError {
        HostError::OnnxInput {
            path: self.model_path.clone(),
            message,
        }
    }
}

/// Locks the session; a panic while it was held (in our code, not ONNX Runtime's, which
/// reports errors) leaves the session itself usable.
fn lock(model: &Mutex<OnnxModel>) -> MutexGuard<'_, OnnxModel> {
    model.lock().unwrap_or_else(|e| e.into_inner())
}

fn shape_name(shape: OnnxShape) -> &'static str {
    match shape {
        OnnxShape::Profile => "profile",
        OnnxShape::Image => "image",
        OnnxShape::Set => "set",
        OnnxShape::Lookup => "lookup",
    }
}

fn describe(t: &TensorInfo) -> String {
    let dims: Vec<String> = t
        .dims
        .iter()
        .zip(&t.dim_names)
        .map(|(&d, name)| match (d, name) {
            (d, _) if d >= 0 => d.to_string(),
            (_, Some(name)) => name.clone(),
            _ => "?".to_owned(),
        })
        .collect();
    format!("'{}' {} [{}]", t.name, t.element_type, dims.join(", "))
}

/// The lines of a text file, one entry each; a final newline (LF or CRLF) is fine, an empty
/// line elsewhere is an error because it would shift every later index.
fn read_lines(path: &Path) -> Result<Vec<String>, HostError> {
    let text = std::fs::read_to_string(path).map_err(|source| HostError::Io {
        path: path.to_path_buf(),
        source,
    })?;
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    while lines.last().is_some_and(String::is_empty) {
        lines.pop();
    }
    if lines.is_empty() {
        return Err(HostError::PluginFile {
            path: path.to_path_buf(),
            message: "the file lists nothing (one entry per line expected)".into(),
        });
    }
    if let Some(i) = lines.iter().position(String::is_empty) {
        return Err(HostError::PluginFile {
            path: path.to_path_buf(),
            message: format!("line {} is empty (one entry per line expected)", i + 1),
        });
    }
    Ok(lines)
}

fn check_unique(names: &[String], path: &Path, what: &str) -> Result<(), HostError> {
    let mut seen: HashMap<&str, usize> = HashMap::with_capacity(names.len());
    for (i, name) in names.iter().enumerate() {
        if let Some(first) = seen.insert(name, i) {
            return Err(HostError::PluginFile {
                path: path.to_path_buf(),
                message: format!(
                    "{what} '{name}' is listed twice (entries {} and {})",
                    first + 1,
                    i + 1
                ),
            });
        }
    }
    Ok(())
}

fn vocab(tokens: Vec<String>, path: &Path) -> Result<Vocab, HostError> {
    if tokens.is_empty() {
        return Err(HostError::PluginFile {
            path: path.to_path_buf(),
            message: "the vocabulary is empty".into(),
        });
    }
    check_unique(&tokens, path, "token")?;
    let index = tokens
        .iter()
        .enumerate()
        .map(|(i, t)| (t.clone(), i as i64))
        .collect();
    Ok(Vocab { tokens, index })
}
