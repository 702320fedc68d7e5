//! The wire protocol between the host and `cpbench plugin-worker`.
//!
//! Every message is one frame:
//!
//! ```text
//! offset  size  field
//!      0     4  magic  b"CPBW"
//!      4     2  protocol version (u16 LE)
//!      6     2  frame kind (u16 LE)
//!      8     4  JSON length in bytes (u32 LE)
//!     12     8  payload length in bytes (u64 LE), a multiple of 4
//!     20     …  JSON (UTF-8): metadata, config, context
//!      …     …  payload: row-major f32 values, little-endian
//! ```
//!
//! The host sends one `Job`; the worker answers `Loaded` once the library passed its checks,
//! a `Stage` before each plugin call, and finally `Output` or `Error`. Stage frames are what
//! lets the host say *where* a crash or hang happened.
//!
//! Reading never trusts a length: each is checked against [`FrameLimits`] before anything is
//! read, and payload memory is only touched as bytes arrive (at most one 64 MiB step beyond
//! them), so a corrupt or hostile header costs address space, not memory.

use std::io::{self, Read, Write};
#[cfg(target_os = "linux")]
use std::os::fd::AsRawFd;
use std::os::fd::{AsFd, BorrowedFd};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// First bytes of every frame.
pub(crate) const MAGIC: [u8; 4] = *b"CPBW";
/// Version of this frame format and of the JSON messages below.
pub(crate) const PROTOCOL_VERSION: u16 = 1;
/// Size of the fixed header.
pub(crate) const HEADER_LEN: usize = 20;

/// Payload values filled in one step while reading (64 MiB of f32).
const READ_STEP_VALUES: usize = 16 << 20;

/// What a frame carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameKind {
    /// Host → worker: [`JobMessage`] and the input matrix.
    Job = 1,
    /// Worker → host: [`LoadedMessage`], the library loaded and passed the interface check.
    Loaded = 2,
    /// Worker → host: [`StageMessage`], the plugin call about to start.
    Stage = 3,
    /// Worker → host: [`OutputMessage`] and the output matrix.
    Output = 4,
    /// Worker → host: [`ErrorMessage`].
    Error = 5,
}

impl FrameKind {
    fn from_u16(v: u16) -> Option<FrameKind> {
        Some(match v {
            1 => FrameKind::Job,
            2 => FrameKind::Loaded,
            3 => FrameKind::Stage,
            4 => FrameKind::Output,
            5 => FrameKind::Error,
            _ => return None,
        })
    }
}

/// Upper bounds on the lengths a reader accepts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct FrameLimits {
    /// Largest JSON part, in bytes.
    pub max_json_bytes: u64,
    /// Largest payload, in bytes.
    pub max_payload_bytes: u64,
}

impl FrameLimits {
    /// Generous bounds for real jobs: JSON holds per-row context (tens of bytes a row), the
    /// payload is the matrix (64 GiB = 16 × 10⁹ values, far beyond a benchmark's size).
    pub const DEFAULT: FrameLimits = FrameLimits {
        max_json_bytes: 1 << 30,
        max_payload_bytes: 64 << 30,
    };
}

/// One decoded frame.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Frame {
    /// What it carries.
    pub kind: FrameKind,
    /// The JSON part, unparsed.
    pub json: Vec<u8>,
    /// The f32 payload.
    pub payload: Vec<f32>,
}

impl Frame {
    /// Parses the JSON part as `T`.
    pub fn message<T: for<'de> Deserialize<'de>>(&self) -> Result<T, ProtocolError> {
        serde_json::from_slice(&self.json)
            .map_err(|e| ProtocolError::Json(format!("{:?} frame: {e}", self.kind)))
    }
}

/// Why a frame could not be read.
#[derive(Debug, thiserror::Error)]
pub(crate) enum ProtocolError {
    /// The pipe failed.
    #[error("pipe error: {0}")]
    Io(#[from] io::Error),
    /// The stream ended inside a frame.
    #[error("frame truncated: the stream ended after {got} of the {expected} bytes of its {part}")]
    Truncated {
        /// Header, JSON or payload.
        part: &'static str,
        /// Bytes received.
        got: u64,
        /// Bytes announced.
        expected: u64,
    },
    /// The first four bytes are not [`MAGIC`].
    #[error("not a cpbench worker frame: magic {found:02x?}, expected {MAGIC:02x?}")]
    BadMagic {
        /// What was read.
        found: [u8; 4],
    },
    /// The peer speaks another protocol version (host and worker from different builds).
    #[error(
        "worker protocol version {found}, but this cpbench speaks version {PROTOCOL_VERSION}; \
         the worker must be the same cpbench build as the host"
    )]
    Version {
        /// The version in the frame.
        found: u16,
    },
    /// A frame kind this build does not know.
    #[error("unknown frame kind {0}")]
    UnknownKind(u16),
    /// A length beyond the reader's limit.
    #[error("{part} of {len} bytes exceeds the limit of {max} bytes")]
    TooLarge {
        /// JSON or payload.
        part: &'static str,
        /// The announced length.
        len: u64,
        /// The limit.
        max: u64,
    },
    /// A payload length that is not a whole number of f32 values.
    #[error("payload of {0} bytes is not a whole number of 4-byte f32 values")]
    Unaligned(u64),
    /// The JSON part does not parse as the expected message.
    #[error("invalid JSON in {0}")]
    Json(String),
    /// A well-formed frame that makes no sense at this point (wrong kind, shapes that disagree).
    #[error("{0}")]
    Invalid(String),
}

/// The header and JSON of a frame whose payload has `payload_bytes` bytes.
fn frame_head(kind: FrameKind, json: &[u8], payload_bytes: usize) -> io::Result<Vec<u8>> {
    let json_len = u32::try_from(json.len()).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("frame JSON of {} bytes exceeds 4 GiB", json.len()),
        )
    })?;
    let mut head = Vec::with_capacity(HEADER_LEN + json.len());
    head.extend_from_slice(&MAGIC);
    head.extend_from_slice(&PROTOCOL_VERSION.to_le_bytes());
    head.extend_from_slice(&(kind as u16).to_le_bytes());
    head.extend_from_slice(&json_len.to_le_bytes());
    head.extend_from_slice(&(payload_bytes as u64).to_le_bytes());
    head.extend_from_slice(json);
    Ok(head)
}

/// Writes one frame.
pub(crate) fn write_frame<W: Write>(
    w: &mut W,
    kind: FrameKind,
    json: &[u8],
    payload: &[f32],
) -> io::Result<()> {
    w.write_all(&frame_head(kind, json, size_of_val(payload))?)?;
    write_f32s(w, payload)?;
    w.flush()
}

/// Serializes `message` and writes it as one frame.
pub(crate) fn write_message<W: Write, T: Serialize>(
    w: &mut W,
    kind: FrameKind,
    message: &T,
    payload: &[f32],
) -> io::Result<()> {
    let json = serde_json::to_vec(message).map_err(io::Error::other)?;
    write_frame(w, kind, &json, payload)
}

/// Writes one frame to a pipe, handing the payload's pages to the pipe (`vmsplice`) instead of
/// copying them; falls back to copying when `w` is not a pipe.
///
/// Copying into a pipe means writing into fresh kernel pages, which on a virtual machine costs
/// about as much as the reader's copy out; splicing measured 30–40% less worker overhead. The
/// caller must leave `payload` unmodified, and its memory unreused, until the reader has read
/// it: the pipe refers to those pages until then. Memory safety does not depend on this (the
/// pipe holds its own references to the pages), only the bytes the reader sees.
pub(crate) fn write_frame_spliced<W: Write + AsFd>(
    w: &mut W,
    kind: FrameKind,
    json: &[u8],
    payload: &[f32],
) -> io::Result<()> {
    w.write_all(&frame_head(kind, json, size_of_val(payload))?)?;
    w.flush()?;
    if cfg!(target_endian = "little") && splice_all(w.as_fd(), f32_bytes(payload))? {
        return Ok(());
    }
    write_f32s(w, payload)?;
    w.flush()
}

/// Serializes `message` and writes it as one frame with [`write_frame_spliced`] (same contract).
pub(crate) fn write_message_spliced<W: Write + AsFd, T: Serialize>(
    w: &mut W,
    kind: FrameKind,
    message: &T,
    payload: &[f32],
) -> io::Result<()> {
    let json = serde_json::to_vec(message).map_err(io::Error::other)?;
    write_frame_spliced(w, kind, &json, payload)
}

/// Hands `bytes` to the pipe `fd`; `Ok(false)` when `fd` is not a pipe and nothing was sent.
#[cfg(target_os = "linux")]
fn splice_all(fd: BorrowedFd<'_>, bytes: &[u8]) -> io::Result<bool> {
    let mut sent = 0;
    while sent < bytes.len() {
        let rest = &bytes[sent..];
        let iov = libc::iovec {
            iov_base: rest.as_ptr() as *mut libc::c_void,
            iov_len: rest.len(),
        };
        // SAFETY: `iov` describes `rest`, which outlives the call; without SPLICE_F_GIFT the
        // kernel only reads the pages, and keeps its own references to them.
        let n = unsafe { libc::vmsplice(fd.as_raw_fd(), &iov, 1, 0) };
        if n < 0 {
            let e = io::Error::last_os_error();
            match e.raw_os_error() {
                Some(libc::EINTR) => continue,
                Some(libc::EBADF | libc::EINVAL | libc::ENOSYS) if sent == 0 => return Ok(false),
                _ => return Err(e),
            }
        }
        sent += n as usize;
    }
    Ok(true)
}

#[cfg(not(target_os = "linux"))]
fn splice_all(_fd: BorrowedFd<'_>, _bytes: &[u8]) -> io::Result<bool> {
    Ok(false)
}

fn write_f32s<W: Write>(w: &mut W, values: &[f32]) -> io::Result<()> {
    if cfg!(target_endian = "little") {
        w.write_all(f32_bytes(values))
    } else {
        for chunk in values.chunks(1 << 14) {
            let bytes: Vec<u8> = chunk.iter().flat_map(|v| v.to_le_bytes()).collect();
            w.write_all(&bytes)?;
        }
        Ok(())
    }
}

/// The in-memory bytes of `values`, which are the wire bytes on little-endian machines.
fn f32_bytes(values: &[f32]) -> &[u8] {
    // SAFETY: f32 has no padding and every byte of it is initialized; u8 has alignment 1; the
    // length is the slice's size in bytes and the lifetime is the input's.
    unsafe { std::slice::from_raw_parts(values.as_ptr().cast::<u8>(), size_of_val(values)) }
}

/// Mutable bytes of `values`, to read wire bytes straight into an f32 buffer.
fn f32_bytes_mut(values: &mut [f32]) -> &mut [u8] {
    // SAFETY: as in `f32_bytes`; in addition every bit pattern is a valid f32, so any bytes
    // written through the returned slice leave valid values.
    unsafe { std::slice::from_raw_parts_mut(values.as_mut_ptr().cast::<u8>(), size_of_val(values)) }
}

/// Asks for transparent huge pages on the unused capacity of a large buffer.
///
/// Every payload lands in fresh memory, and on virtual machines a 4 KiB page fault costs
/// microseconds: faulting in 80 MB page by page took longer than moving it through the pipe.
/// With 2 MiB pages the faults all but disappear. Only advice: where THP is off, nothing changes.
#[cfg(target_os = "linux")]
fn advise_huge_pages(values: &mut Vec<f32>) {
    const HUGE: usize = 2 << 20;
    let spare = values.spare_capacity_mut();
    if size_of_val(spare) < 2 * HUGE {
        return;
    }
    let begin = spare.as_mut_ptr() as usize;
    let end = begin + size_of_val(spare);
    let page = 4096;
    let (begin, end) = (begin.next_multiple_of(page), end / page * page);
    // SAFETY: the range lies inside this Vec's allocation, page-aligned; MADV_HUGEPAGE changes
    // how the kernel backs those pages, never their contents or validity.
    unsafe {
        libc::madvise(begin as *mut libc::c_void, end - begin, libc::MADV_HUGEPAGE);
    }
}

#[cfg(not(target_os = "linux"))]
fn advise_huge_pages(_values: &mut Vec<f32>) {}

/// Reads exactly `buf.len()` bytes, reporting how many arrived when the stream ends early.
fn read_full<R: Read>(r: &mut R, buf: &mut [u8]) -> Result<usize, io::Error> {
    let mut got = 0;
    while got < buf.len() {
        match r.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(k) => got += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// Reads one frame; `Ok(None)` when the stream ends cleanly before a new frame.
pub(crate) fn read_frame<R: Read>(
    r: &mut R,
    limits: &FrameLimits,
) -> Result<Option<Frame>, ProtocolError> {
    let mut head = [0u8; HEADER_LEN];
    let got = read_full(r, &mut head)?;
    if got == 0 {
        return Ok(None);
    }
    if got < HEADER_LEN {
        return Err(ProtocolError::Truncated {
            part: "header",
            got: got as u64,
            expected: HEADER_LEN as u64,
        });
    }
    let magic: [u8; 4] = head[0..4].try_into().expect("4 bytes");
    if magic != MAGIC {
        return Err(ProtocolError::BadMagic { found: magic });
    }
    let version = u16::from_le_bytes([head[4], head[5]]);
    if version != PROTOCOL_VERSION {
        return Err(ProtocolError::Version { found: version });
    }
    let raw_kind = u16::from_le_bytes([head[6], head[7]]);
    let kind = FrameKind::from_u16(raw_kind).ok_or(ProtocolError::UnknownKind(raw_kind))?;
    let json_len = u64::from(u32::from_le_bytes(head[8..12].try_into().expect("4 bytes")));
    let payload_len = u64::from_le_bytes(head[12..20].try_into().expect("8 bytes"));
    if json_len > limits.max_json_bytes {
        return Err(ProtocolError::TooLarge {
            part: "JSON",
            len: json_len,
            max: limits.max_json_bytes,
        });
    }
    if payload_len > limits.max_payload_bytes {
        return Err(ProtocolError::TooLarge {
            part: "payload",
            len: payload_len,
            max: limits.max_payload_bytes,
        });
    }
    if payload_len % 4 != 0 {
        return Err(ProtocolError::Unaligned(payload_len));
    }
    let mut json = Vec::new();
    let got = r.take(json_len).read_to_end(&mut json)?;
    if (got as u64) < json_len {
        return Err(ProtocolError::Truncated {
            part: "JSON",
            got: got as u64,
            expected: json_len,
        });
    }
    let payload = read_payload(r, payload_len)?;
    Ok(Some(Frame {
        kind,
        json,
        payload,
    }))
}

fn read_payload<R: Read>(r: &mut R, bytes: u64) -> Result<Vec<f32>, ProtocolError> {
    let total = usize::try_from(bytes / 4).map_err(|_| ProtocolError::TooLarge {
        part: "payload",
        len: bytes,
        max: usize::MAX as u64,
    })?;
    // Reserving takes address space only; pages are touched step by step as bytes arrive, so a
    // lying header costs at most one step of real memory. One reservation also means no
    // reallocation copies, and one huge-page advice that covers the whole payload.
    let mut values: Vec<f32> = Vec::new();
    values
        .try_reserve_exact(total)
        .map_err(|e| io::Error::new(io::ErrorKind::OutOfMemory, e.to_string()))?;
    advise_huge_pages(&mut values);
    while values.len() < total {
        let step = (total - values.len()).min(READ_STEP_VALUES);
        let start = values.len();
        values.resize(start + step, 0.0);
        let got = read_full(r, f32_bytes_mut(&mut values[start..]))?;
        if got < step * 4 {
            return Err(ProtocolError::Truncated {
                part: "payload",
                got: (start * 4 + got) as u64,
                expected: bytes,
            });
        }
    }
    if cfg!(target_endian = "big") {
        for v in &mut values {
            *v = f32::from_bits(u32::from_le(v.to_bits()));
        }
    }
    Ok(values)
}

/// One context column as JSON.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ContextMessage {
    /// Column name (one of the plugin API's allowed names; the worker re-checks).
    pub name: String,
    /// One value per row of the job's matrix.
    pub values: Vec<String>,
}

/// Host → worker: what to run. The payload is the `n × d` input matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct JobMessage {
    /// The plugin library to load.
    pub library: PathBuf,
    /// The plugin's config, as the JSON text handed to its `new`.
    pub config_json: String,
    /// Rows of the matrix.
    pub n: u64,
    /// Columns of the matrix.
    pub d: u64,
    /// Rows `fit` may see, ascending.
    pub fit_rows: Vec<u64>,
    /// Allowed context, one entry per column, each with `n` values.
    pub context: Vec<ContextMessage>,
}

/// Worker → host: the library loaded and its interface version matches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct LoadedMessage {
    /// The plugin's id.
    pub name: String,
    /// The plugin's version.
    pub version: String,
}

/// A plugin call, as reported in [`StageMessage`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Stage {
    /// `new(config)`.
    New,
    /// `fit` on the fit rows.
    Fit,
    /// `transform` on all rows.
    Transform,
}

impl Stage {
    /// The name used in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::New => "new",
            Stage::Fit => "fit",
            Stage::Transform => "transform",
        }
    }
}

/// Worker → host: the plugin call about to start.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct StageMessage {
    /// The call.
    pub stage: Stage,
    /// Rows passed to it (0 for `new`).
    pub rows: u64,
}

/// Worker → host: the result. The payload is the `n × k` output matrix.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct OutputMessage {
    /// Rows of the output.
    pub n: u64,
    /// Columns of the output.
    pub k: u64,
    /// Wall-clock seconds spent inside the plugin's `new`, `fit` and `transform`.
    pub plugin_seconds: f64,
}

/// What went wrong, as the worker classifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum ErrorKind {
    /// The plugin panicked and the panic was caught.
    Panic,
    /// The plugin returned an error.
    PluginError,
    /// The library could not be loaded (missing file, not a plugin, layout mismatch).
    LoadFailed,
    /// The plugin was built for another interface version.
    InterfaceMismatch,
    /// The job itself was malformed.
    Protocol,
}

/// Worker → host: why the job failed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub(crate) struct ErrorMessage {
    /// The classification.
    pub kind: ErrorKind,
    /// A readable reason; the plugin's own message for plugin errors.
    pub message: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(kind: FrameKind, json: &[u8], payload: &[f32]) -> Vec<u8> {
        let mut buf = Vec::new();
        write_frame(&mut buf, kind, json, payload).unwrap();
        buf
    }

    fn decode(bytes: &[u8], limits: &FrameLimits) -> Result<Option<Frame>, ProtocolError> {
        read_frame(&mut &bytes[..], limits)
    }

    #[test]
    fn frames_round_trip_bit_for_bit() {
        let payload = [
            1.5f32,
            -0.0,
            f32::NAN,
            f32::INFINITY,
            f32::MIN_POSITIVE,
            3e38,
        ];
        let json = br#"{"n":2,"k":3,"plugin_seconds":0.5}"#;
        let bytes = encode(FrameKind::Output, json, &payload);
        assert_eq!(bytes.len(), HEADER_LEN + json.len() + 24);
        assert_eq!(&bytes[0..4], b"CPBW");
        // Little-endian on the wire whatever the machine: 1.5 = 0x3fc00000.
        let at = HEADER_LEN + json.len();
        assert_eq!(&bytes[at..at + 4], &[0, 0, 0xc0, 0x3f]);
        let mut reader = &bytes[..];
        let frame = read_frame(&mut reader, &FrameLimits::DEFAULT)
            .unwrap()
            .unwrap();
        assert_eq!(frame.kind, FrameKind::Output);
        let got: Vec<u32> = frame.payload.iter().map(|v| v.to_bits()).collect();
        let want: Vec<u32> = payload.iter().map(|v| v.to_bits()).collect();
        assert_eq!(got, want);
        assert_eq!(
            frame.message::<OutputMessage>().unwrap(),
            OutputMessage {
                n: 2,
                k: 3,
                plugin_seconds: 0.5
            }
        );
        assert!(
            read_frame(&mut reader, &FrameLimits::DEFAULT)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn consecutive_frames_and_large_payloads() {
        let big: Vec<f32> = (0..READ_STEP_VALUES + 12345).map(|i| i as f32).collect();
        let mut bytes = encode(FrameKind::Stage, b"{}", &[]);
        bytes.extend(encode(FrameKind::Job, b"[]", &big));
        let mut reader = &bytes[..];
        let first = read_frame(&mut reader, &FrameLimits::DEFAULT)
            .unwrap()
            .unwrap();
        assert_eq!((first.kind, first.payload.len()), (FrameKind::Stage, 0));
        let second = read_frame(&mut reader, &FrameLimits::DEFAULT)
            .unwrap()
            .unwrap();
        assert_eq!(second.payload.len(), big.len());
        assert_eq!(second.payload.capacity(), big.len());
        assert_eq!(second.payload[READ_STEP_VALUES + 12344], big[big.len() - 1]);
    }

    #[test]
    fn spliced_frames_match_copied_ones_through_a_pipe_and_a_file() {
        let payload: Vec<f32> = (0..(3 << 18) + 7).map(|i| i as f32 * 0.25).collect();
        let (mut reader, mut writer) = io::pipe().unwrap();
        let sent = payload.clone();
        let writer_thread = std::thread::spawn(move || {
            write_frame_spliced(&mut writer, FrameKind::Output, b"{}", &sent).unwrap();
            write_frame_spliced(&mut writer, FrameKind::Stage, b"[]", &[]).unwrap();
            // The pipe may refer to `sent` until it is read: keep it until the reader is done.
            sent
        });
        let frame = read_frame(&mut reader, &FrameLimits::DEFAULT)
            .unwrap()
            .unwrap();
        assert_eq!(bits(&frame.payload), bits(&payload));
        let empty = read_frame(&mut reader, &FrameLimits::DEFAULT)
            .unwrap()
            .unwrap();
        assert_eq!((empty.kind, empty.payload.len()), (FrameKind::Stage, 0));
        drop(writer_thread.join().unwrap());

        // A regular file is not a pipe: the same bytes are written by copying.
        let mut file = tempfile::tempfile().unwrap();
        write_frame_spliced(&mut file, FrameKind::Output, b"{}", &payload[..5]).unwrap();
        use std::io::Seek;
        file.rewind().unwrap();
        let mut written = Vec::new();
        file.read_to_end(&mut written).unwrap();
        assert_eq!(written, encode(FrameKind::Output, b"{}", &payload[..5]));
    }

    fn bits(values: &[f32]) -> Vec<u32> {
        values.iter().map(|v| v.to_bits()).collect()
    }

    #[test]
    fn messages_round_trip() {
        let job = JobMessage {
            library: PathBuf::from("/x/libcpbench_plugin_pca.so"),
            config_json: r#"{"dim":3}"#.into(),
            n: 2,
            d: 1,
            fit_rows: vec![1],
            context: vec![ContextMessage {
                name: "control".into(),
                values: vec!["true".into(), "false".into()],
            }],
        };
        let mut buf = Vec::new();
        write_message(&mut buf, FrameKind::Job, &job, &[1.0, 2.0]).unwrap();
        let frame = decode(&buf, &FrameLimits::DEFAULT).unwrap().unwrap();
        assert_eq!(frame.message::<JobMessage>().unwrap(), job);
        let err = frame.message::<ErrorMessage>().unwrap_err();
        assert!(matches!(err, ProtocolError::Json(_)), "{err}");
        let json = serde_json::to_string(&ErrorMessage {
            kind: ErrorKind::InterfaceMismatch,
            message: "m".into(),
        })
        .unwrap();
        assert_eq!(json, r#"{"kind":"interface-mismatch","message":"m"}"#);
    }

    #[test]
    fn truncated_frames_are_rejected() {
        let bytes = encode(FrameKind::Output, b"{\"n\":1}", &[1.0, 2.0, 3.0]);
        for cut in [1, HEADER_LEN - 1] {
            let err = decode(&bytes[..cut], &FrameLimits::DEFAULT).unwrap_err();
            assert!(
                matches!(err, ProtocolError::Truncated { part: "header", .. }),
                "{err}"
            );
        }
        let err = decode(&bytes[..HEADER_LEN + 3], &FrameLimits::DEFAULT).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame truncated: the stream ended after 3 of the 7 bytes of its JSON"
        );
        let err = decode(&bytes[..bytes.len() - 1], &FrameLimits::DEFAULT).unwrap_err();
        assert_eq!(
            err.to_string(),
            "frame truncated: the stream ended after 11 of the 12 bytes of its payload"
        );
    }

    #[test]
    fn oversized_and_malformed_headers_are_rejected_before_reading_on() {
        let limits = FrameLimits {
            max_json_bytes: 8,
            max_payload_bytes: 16,
        };
        let err = decode(&encode(FrameKind::Job, &[b' '; 9], &[]), &limits).unwrap_err();
        assert_eq!(
            err.to_string(),
            "JSON of 9 bytes exceeds the limit of 8 bytes"
        );
        let err = decode(&encode(FrameKind::Job, b"{}", &[0.0; 5]), &limits).unwrap_err();
        assert_eq!(
            err.to_string(),
            "payload of 20 bytes exceeds the limit of 16 bytes"
        );
        // A header announcing 2^60 bytes with nothing behind it: refused by the limit, and
        // under the default limit still refused without allocating.
        let mut huge = encode(FrameKind::Output, b"", &[]);
        huge[12..20].copy_from_slice(&(1u64 << 60).to_le_bytes());
        let err = decode(&huge, &FrameLimits::DEFAULT).unwrap_err();
        assert!(matches!(err, ProtocolError::TooLarge { .. }), "{err}");
        let mut lying = encode(FrameKind::Output, b"", &[]);
        lying[12..20].copy_from_slice(&(8u64 << 30).to_le_bytes());
        let err = decode(&lying, &FrameLimits::DEFAULT).unwrap_err();
        assert!(
            matches!(err, ProtocolError::Truncated { got: 0, .. }),
            "{err}"
        );

        let good = encode(FrameKind::Job, b"{}", &[1.0]);
        let mut bad = good.clone();
        bad[0] = b'X';
        let err = decode(&bad, &FrameLimits::DEFAULT).unwrap_err();
        assert!(matches!(err, ProtocolError::BadMagic { .. }), "{err}");
        let mut bad = good.clone();
        bad[4] = 2;
        let err = decode(&bad, &FrameLimits::DEFAULT).unwrap_err();
        assert!(err.to_string().contains("protocol version 2"), "{err}");
        let mut bad = good.clone();
        bad[6] = 99;
        let err = decode(&bad, &FrameLimits::DEFAULT).unwrap_err();
        assert_eq!(err.to_string(), "unknown frame kind 99");
        let mut bad = good;
        bad[12] = 3;
        let err = decode(&bad, &FrameLimits::DEFAULT).unwrap_err();
        assert!(matches!(err, ProtocolError::Unaligned(3)), "{err}");
    }
}
