//! One ONNX model loaded into an ONNX Runtime session.

use std::borrow::Cow;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use ndarray::{ArrayD, ArrayViewD, CowArray, IxDyn};
use ort::ep::{self, ExecutionProvider};
use ort::session::{OutputSelector, RunOptions, Session, SessionInputValue};
use ort::value::{Outlet, TensorElementType, TensorRef, ValueType};

use super::runtime::{self, CUDA_PROVIDER_NAME};
use crate::error::HostError;

/// An ONNX Runtime execution provider cpbench can ask for (`execution_providers` in `plugin.toml`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Provider {
    /// NVIDIA GPUs through CUDA (needs the `onnxruntime-gpu` build, `ci/setup-onnxruntime.sh --gpu`).
    Cuda,
    /// The CPU; always available.
    Cpu,
}

impl Provider {
    /// The manifest spelling: "cuda" or "cpu".
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Cuda => "cuda",
            Self::Cpu => "cpu",
        }
    }

    /// ONNX Runtime's name, as recorded in results: "CUDAExecutionProvider" or "CPUExecutionProvider".
    pub fn ort_name(self) -> &'static str {
        match self {
            Self::Cuda => CUDA_PROVIDER_NAME,
            Self::Cpu => ep::CPU::NAME,
        }
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = HostError;

    /// Parses "cuda" or "cpu" (any case) or ONNX Runtime's full names.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let lower = s.trim().to_ascii_lowercase();
        match lower.as_str() {
            "cuda" | "cudaexecutionprovider" => Ok(Self::Cuda),
            "cpu" | "cpuexecutionprovider" => Ok(Self::Cpu),
            _ => Err(HostError::UnknownProvider { name: s.to_owned() }),
        }
    }
}

/// An execution provider that was asked for but not used, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderFallback {
    /// The provider that was skipped.
    pub provider: Provider,
    /// Why it could not be used (ONNX Runtime's message or cpbench's check).
    pub reason: String,
}

/// The element type of a model input or output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElementType {
    /// 32-bit float.
    Float32,
    /// 64-bit signed integer (indices, e.g. an embedding lookup).
    Int64,
    /// Any other tensor element type or a non-tensor value, as ONNX Runtime describes it.
    Other(String),
}

impl ElementType {
    fn from_value_type(ty: &ValueType) -> Self {
        match ty.tensor_type() {
            Some(TensorElementType::Float32) => Self::Float32,
            Some(TensorElementType::Int64) => Self::Int64,
            Some(other) => Self::Other(other.to_string()),
            None => Self::Other(ty.to_string()),
        }
    }
}

impl fmt::Display for ElementType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Float32 => f.write_str("f32"),
            Self::Int64 => f.write_str("i64"),
            Self::Other(name) => f.write_str(name),
        }
    }
}

/// Name, element type and shape of a model input or output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TensorInfo {
    /// The tensor's name in the graph.
    pub name: String,
    /// Its element type.
    pub element_type: ElementType,
    /// Its dimensions; -1 where dynamic (e.g. the batch dimension). Empty for non-tensors.
    pub dims: Vec<i64>,
    /// The symbolic name of each dynamic dimension (e.g. "N"), `None` where fixed or unnamed.
    pub dim_names: Vec<Option<String>>,
}

impl TensorInfo {
    fn from_outlet(outlet: &Outlet) -> Self {
        let ty = outlet.dtype();
        let (dims, dim_names) = match ty {
            ValueType::Tensor {
                shape,
                dimension_symbols,
                ..
            } => {
                let dims: Vec<i64> = shape.iter().copied().collect();
                let names = (0..dims.len())
                    .map(|i| dimension_symbols.get(i).filter(|s| !s.is_empty()).cloned())
                    .collect();
                (dims, names)
            }
            _ => (Vec::new(), Vec::new()),
        };
        Self {
            name: outlet.name().to_owned(),
            element_type: ElementType::from_value_type(ty),
            dims,
            dim_names,
        }
    }

    /// Whether `shape` fits: same rank, equal wherever this tensor's dimension is fixed.
    fn accepts(&self, shape: &[usize]) -> bool {
        self.dims.len() == shape.len()
            && self
                .dims
                .iter()
                .zip(shape)
                .all(|(&d, &s)| d < 0 || u64::try_from(d) == Ok(s as u64))
    }
}

/// One input tensor for [`OnnxModel::run`]: float features or integer indices.
#[derive(Debug, Clone)]
pub enum TensorInput<'a> {
    /// 32-bit floats (profiles, images, masks).
    F32(ArrayViewD<'a, f32>),
    /// 64-bit integers (indices for an embedding lookup).
    I64(ArrayViewD<'a, i64>),
}

impl TensorInput<'_> {
    fn element_type(&self) -> ElementType {
        match self {
            Self::F32(_) => ElementType::Float32,
            Self::I64(_) => ElementType::Int64,
        }
    }

    fn shape(&self) -> &[usize] {
        match self {
            Self::F32(a) => a.shape(),
            Self::I64(a) => a.shape(),
        }
    }
}

impl<'a> From<ArrayViewD<'a, f32>> for TensorInput<'a> {
    fn from(view: ArrayViewD<'a, f32>) -> Self {
        Self::F32(view)
    }
}

impl<'a> From<ArrayViewD<'a, i64>> for TensorInput<'a> {
    fn from(view: ArrayViewD<'a, i64>) -> Self {
        Self::I64(view)
    }
}

/// An input converted to the contiguous row-major layout ONNX Runtime needs; borrows when the
/// caller's view already is, copies otherwise.
enum Contiguous<'a> {
    F32(CowArray<'a, f32, IxDyn>),
    I64(CowArray<'a, i64, IxDyn>),
}

/// An ONNX model in an ONNX Runtime session, with the execution provider that runs it.
#[derive(Debug)]
pub struct OnnxModel {
    path: PathBuf,
    session: Session,
    provider: Provider,
    fallbacks: Vec<ProviderFallback>,
    inputs: Vec<TensorInfo>,
    outputs: Vec<TensorInfo>,
}

impl OnnxModel {
    /// Loads `path`, trying `providers` in order and keeping the first that works.
    ///
    /// CUDA that cannot be used falls back to the next provider; the CPU, always present in
    /// ONNX Runtime, is the last resort even when not listed. With `require_gpu` only CUDA is
    /// tried, and failing to use it is an error saying why. `threads` sets ONNX Runtime's
    /// intra-op threads (`None`: its default, one per physical core).
    pub fn load(
        path: impl AsRef<Path>,
        providers: &[Provider],
        require_gpu: bool,
        threads: Option<usize>,
    ) -> Result<Self, HostError> {
        let path = path.as_ref().to_path_buf();
        let rt = runtime::runtime()?;
        if !path.is_file() {
            return Err(HostError::ModelNotFound { path });
        }

        if require_gpu {
            if !providers.contains(&Provider::Cuda) {
                return Err(HostError::CudaRequired {
                    path,
                    reason: format!(
                        "the execution providers asked for ([{}]) do not include cuda",
                        join(providers.iter().map(|p| p.as_str()))
                    ),
                });
            }
            return match Self::try_session(&rt.info, &rt.env, &path, Provider::Cuda, threads) {
                Ok(session) => Ok(Self::new(path, session, Provider::Cuda, Vec::new())),
                Err(reason) => Err(HostError::CudaRequired { path, reason }),
            };
        }

        let mut fallbacks = Vec::new();
        // Accelerators listed before "cpu" are tried in order; "cpu" ends the list, because
        // the CPU provider never fails for reasons a later entry could avoid.
        for &provider in providers.iter().take_while(|&&p| p != Provider::Cpu) {
            match Self::try_session(&rt.info, &rt.env, &path, provider, threads) {
                Ok(session) => return Ok(Self::new(path, session, provider, fallbacks)),
                // Expected on machines without a GPU build or a GPU: record why and go on.
                Err(reason) => fallbacks.push(ProviderFallback { provider, reason }),
            }
        }
        match Self::try_session(&rt.info, &rt.env, &path, Provider::Cpu, threads) {
            Ok(session) => Ok(Self::new(path, session, Provider::Cpu, fallbacks)),
            Err(message) => Err(HostError::ModelLoad {
                path,
                provider: Provider::Cpu.ort_name(),
                message: with_fallbacks(message, &fallbacks),
            }),
        }
    }

    fn new(
        path: PathBuf,
        session: Session,
        provider: Provider,
        fallbacks: Vec<ProviderFallback>,
    ) -> Self {
        let inputs = session
            .inputs()
            .iter()
            .map(TensorInfo::from_outlet)
            .collect();
        let outputs = session
            .outputs()
            .iter()
            .map(TensorInfo::from_outlet)
            .collect();
        Self {
            path,
            session,
            provider,
            fallbacks,
            inputs,
            outputs,
        }
    }

    /// Creates a session for `provider` only; `Err` carries why it could not be used.
    fn try_session(
        info: &runtime::RuntimeInfo,
        env: &ort::environment::Environment,
        path: &Path,
        provider: Provider,
        threads: Option<usize>,
    ) -> Result<Session, String> {
        if provider == Provider::Cuda && !info.cuda_available {
            // Checked here rather than left to ONNX Runtime, whose message ("CUDA execution
            // provider is not enabled in this build") does not say which library was loaded.
            return Err(format!(
                "the ONNX Runtime at {} ({}) is a build without the CUDA execution provider \
                 (it has {})",
                info.path.display(),
                info.source,
                join(info.available_providers.iter().map(String::as_str))
            ));
        }
        let mut builder = Session::builder(env).map_err(|e| e.to_string())?;
        if let Some(n) = threads {
            builder = builder.with_intra_threads(n).map_err(|e| e.to_string())?;
        }
        if provider == Provider::Cuda {
            // error_on_failure: without it ort logs a failed registration and silently goes on
            // with the CPU, and the provider recorded would be wrong.
            builder = builder
                .with_execution_providers([ep::CUDA::default().build().error_on_failure()])
                .map_err(|e| format!("registering the CUDA execution provider failed: {e}"))?;
        }
        builder.commit_from_file(path).map_err(|e| e.to_string())
    }

    /// The model file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The execution provider that runs the model, as ONNX Runtime names it (recorded in results).
    pub fn execution_provider(&self) -> &str {
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

    /// The model's inputs in graph order.
    pub fn inputs(&self) -> &[TensorInfo] {
        &self.inputs
    }

    /// The model's outputs in graph order.
    pub fn outputs(&self) -> &[TensorInfo] {
        &self.outputs
    }

    /// Runs the model on float inputs (by name) and returns the float output `output`.
    pub fn run_f32(
        &mut self,
        inputs: &[(&str, ArrayViewD<'_, f32>)],
        output: &str,
    ) -> Result<ArrayD<f32>, HostError> {
        let inputs: Vec<(&str, TensorInput<'_>)> = inputs
            .iter()
            .map(|(name, view)| (*name, TensorInput::F32(view.view())))
            .collect();
        self.run(&inputs, output)
    }

    /// Runs the model on named inputs of any supported element type and returns the float output `output`.
    ///
    /// Every model input must be given once, with the model's element type and a shape that
    /// fits its fixed dimensions; these are checked before ONNX Runtime is called.
    pub fn run(
        &mut self,
        inputs: &[(&str, TensorInput<'_>)],
        output: &str,
    ) -> Result<ArrayD<f32>, HostError> {
        self.check_inputs(inputs)?;
        self.check_output(output, &ElementType::Float32)?;

        let contiguous: Vec<(&str, Contiguous<'_>)> = inputs
            .iter()
            .map(|(name, input)| {
                let c = match input {
                    TensorInput::F32(v) => Contiguous::F32(v.as_standard_layout()),
                    TensorInput::I64(v) => Contiguous::I64(v.as_standard_layout()),
                };
                (*name, c)
            })
            .collect();
        let run_error = |message: String| HostError::Run {
            path: self.path.clone(),
            inputs: inputs.iter().map(|(n, _)| (*n).to_owned()).collect(),
            output: output.to_owned(),
            message,
        };

        let mut values: Vec<(Cow<'_, str>, SessionInputValue<'_>)> =
            Vec::with_capacity(contiguous.len());
        for (name, data) in &contiguous {
            let value: SessionInputValue<'_> = match data {
                Contiguous::F32(a) => TensorRef::from_array_view(a).map(Into::into),
                Contiguous::I64(a) => TensorRef::from_array_view(a).map(Into::into),
            }
            .map_err(|e| run_error(format!("input '{name}': {e}")))?;
            values.push((Cow::Borrowed(*name), value));
        }
        // Only the requested output is computed; ONNX Runtime prunes what it does not need.
        let options = RunOptions::new()
            .map_err(|e| run_error(e.to_string()))?
            .with_outputs(OutputSelector::no_default().with(output));
        let result = self
            .session
            .run_with_options(values, &options)
            .map_err(|e| run_error(e.to_string()))?;
        let value = result
            .get(output)
            .ok_or_else(|| run_error(format!("ONNX Runtime returned no output '{output}'")))?;
        let array = value
            .try_extract_array::<f32>()
            .map_err(|e| run_error(format!("output '{output}': {e}")))?;
        Ok(array.to_owned())
    }

    fn check_inputs(&self, inputs: &[(&str, TensorInput<'_>)]) -> Result<(), HostError> {
        for (i, (name, input)) in inputs.iter().enumerate() {
            let Some(info) = self.inputs.iter().find(|t| t.name == *name) else {
                return Err(HostError::UnknownInput {
                    path: self.path.clone(),
                    name: (*name).to_owned(),
                    expected: self.inputs.iter().map(|t| t.name.clone()).collect(),
                });
            };
            if inputs[..i].iter().any(|(n, _)| n == name) {
                return Err(HostError::DuplicateInput {
                    path: self.path.clone(),
                    name: (*name).to_owned(),
                });
            }
            if input.element_type() != info.element_type {
                return Err(HostError::InputType {
                    path: self.path.clone(),
                    name: (*name).to_owned(),
                    expected: info.element_type.clone(),
                    got: input.element_type(),
                });
            }
            if !info.accepts(input.shape()) {
                return Err(HostError::InputShape {
                    path: self.path.clone(),
                    name: (*name).to_owned(),
                    expected: info.dims.clone(),
                    got: input.shape().to_vec(),
                });
            }
        }
        if let Some(missing) = self
            .inputs
            .iter()
            .find(|t| !inputs.iter().any(|(n, _)| *n == t.name))
        {
            return Err(HostError::MissingInput {
                path: self.path.clone(),
                name: missing.name.clone(),
            });
        }
        Ok(())
    }

    fn check_output(&self, output: &str, expected: &ElementType) -> Result<(), HostError> {
        let Some(info) = self.outputs.iter().find(|t| t.name == output) else {
            return Err(HostError::UnknownOutput {
                path: self.path.clone(),
                name: output.to_owned(),
                available: self.outputs.iter().map(|t| t.name.clone()).collect(),
            });
        };
        if &info.element_type != expected {
            return Err(HostError::OutputType {
                path: self.path.clone(),
                name: output.to_owned(),
                expected: expected.clone(),
                got: info.element_type.clone(),
            });
        }
        Ok(())
    }
}

fn join<'a>(items: impl Iterator<Item = &'a str>) -> String {
    items.collect::<Vec<_>>().join(", ")
}

/// Appends the reasons earlier providers were skipped to a final failure, so the user sees all.
fn with_fallbacks(message: String, fallbacks: &[ProviderFallback]) -> String {
    if fallbacks.is_empty() {
        return message;
    }
    let skipped: Vec<String> = fallbacks
        .iter()
        .map(|f| format!("{} skipped: {}", f.provider, f.reason))
        .collect();
    format!("{message} ({})", skipped.join("; "))
}
