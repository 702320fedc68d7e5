//! Reading NumPy `.npy` arrays (format 1.0–3.0, C order): image crop stacks for image encoders.

use std::path::Path;

use crate::error::{Error, Result};

/// An array read from a `.npy` file, converted to `f32`.
#[derive(Debug, Clone, PartialEq)]
pub struct NpyArray {
    /// Dimensions, outermost first.
    pub shape: Vec<usize>,
    /// Values in C (row-major) order.
    pub data: Vec<f32>,
}

/// Reads a little-endian C-order `.npy` of `f4`, `f8`, `u1` or `u2` values as `f32`.
pub fn read_npy(path: &Path) -> Result<NpyArray> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    parse_npy(&bytes).map_err(|what| Error::Parse {
        path: path.to_path_buf(),
        what,
    })
}

fn parse_npy(bytes: &[u8]) -> std::result::Result<NpyArray, String> {
    if bytes.len() < 10 || &bytes[..6] != b"\x93NUMPY" {
        return Err("not a NumPy .npy file (magic bytes missing)".into());
    }
    let (header_len, start) = match bytes[6] {
        1 => (u16::from_le_bytes([bytes[8], bytes[9]]) as usize, 10),
        2 | 3 if bytes.len() >= 12 => (
            u32::from_le_bytes([bytes[8], bytes[9], bytes[10], bytes[11]]) as usize,
            12,
        ),
        v => return Err(format!(".npy format version {v} is not supported")),
    };
    let header = bytes
        .get(start..start + header_len)
        .ok_or("the .npy header is truncated")?;
    let header = std::str::from_utf8(header).map_err(|_| "the .npy header is not text")?;
    let field = |key: &str| -> std::result::Result<&str, String> {
        let at = header
            .find(&format!("'{key}'"))
            .ok_or(format!("the .npy header has no '{key}'"))?;
        let rest = &header[at + key.len() + 2..];
        Ok(rest.trim_start().trim_start_matches(':').trim_start())
    };
    let descr = field("descr")?;
    let descr = descr
        .strip_prefix('\'')
        .and_then(|d| d.split('\'').next())
        .ok_or("unreadable 'descr' in the .npy header")?;
    if field("fortran_order")?.starts_with("True") {
        return Err(
            "Fortran-order arrays are not supported; save with np.ascontiguousarray".into(),
        );
    }
    let shape_text = field("shape")?;
    let shape_text = shape_text
        .strip_prefix('(')
        .and_then(|s| s.split(')').next())
        .ok_or("unreadable 'shape' in the .npy header")?;
    let shape = shape_text
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(|s| {
            s.parse::<usize>()
                .map_err(|_| format!("bad dimension '{s}' in 'shape'"))
        })
        .collect::<std::result::Result<Vec<_>, _>>()?;
    let count: usize = shape.iter().product();
    let payload = &bytes[start + header_len..];
    let (width, convert): (usize, fn(&[u8]) -> f32) = match descr {
        "<f4" => (4, |b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        "<f8" => (8, |b| {
            f64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]) as f32
        }),
        "|u1" => (1, |b| f32::from(b[0])),
        "<u2" => (2, |b| f32::from(u16::from_le_bytes([b[0], b[1]]))),
        other => {
            return Err(format!(
                "dtype '{other}' is not supported (use little-endian float32, float64, uint8 or uint16)"
            ));
        }
    };
    if payload.len() != count * width {
        return Err(format!(
            "the .npy data holds {} bytes, the header's shape {shape:?} of '{descr}' needs {}",
            payload.len(),
            count * width
        ));
    }
    let data = payload.chunks_exact(width).map(convert).collect();
    Ok(NpyArray { shape, data })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn npy(descr: &str, shape: &str, payload: &[u8]) -> Vec<u8> {
        let mut header =
            format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}");
        while (10 + header.len() + 1) % 64 != 0 {
            header.push(' ');
        }
        header.push('\n');
        let mut out = b"\x93NUMPY\x01\x00".to_vec();
        out.extend_from_slice(&(header.len() as u16).to_le_bytes());
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn reads_float32_and_uint16_in_c_order() {
        let payload: Vec<u8> = [1.5f32, -2.0, 0.25, 8.0]
            .iter()
            .flat_map(|v| v.to_le_bytes())
            .collect();
        let a = parse_npy(&npy("<f4", "(2, 2)", &payload)).unwrap();
        assert_eq!(a.shape, [2, 2]);
        assert_eq!(a.data, [1.5, -2.0, 0.25, 8.0]);
        let payload: Vec<u8> = [7u16, 65535].iter().flat_map(|v| v.to_le_bytes()).collect();
        let a = parse_npy(&npy("<u2", "(2,)", &payload)).unwrap();
        assert_eq!(a.data, [7.0, 65535.0]);
    }

    #[test]
    fn refuses_wrong_sizes_types_and_order() {
        let err = parse_npy(&npy("<f4", "(3,)", &[0; 8])).unwrap_err();
        assert!(err.contains("needs 12"), "{err}");
        let err = parse_npy(&npy(">f4", "(1,)", &[0; 4])).unwrap_err();
        assert!(err.contains("not supported"), "{err}");
        let mut bytes = npy("<f4", "(1,)", &[0; 4]);
        let at = bytes.windows(5).position(|w| w == b"False").unwrap();
        bytes[at..at + 5].copy_from_slice(b"True ");
        let err = parse_npy(&bytes).unwrap_err();
        assert!(err.contains("Fortran"), "{err}");
        assert!(parse_npy(b"hello world").unwrap_err().contains("magic"));
    }
}
