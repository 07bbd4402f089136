//! The one canonical encoding: bincode 2 with fixed-width little-endian
//! integers. Signed and hashed bytes come only from here; decoding refuses
//! oversized input, trailing bytes and anything that does not re-encode to
//! exactly the bytes given. The layout is specified in `docs/encoding.md`.

use bincode::config::{self, Configuration, Fixint, LittleEndian, NoLimit};
use bincode::{Decode, Encode};

/// The largest encoded signed record a node accepts, in bytes.
///
/// Real records are a few hundred bytes; 64 KiB leaves room for a transform
/// with many inputs while keeping every buffer small.
pub const MAX_RECORD_BYTES: usize = 64 * 1024;

/// The largest trace bundle `verify` will read, in bytes (64 MiB: a lineage
/// of ~200,000 records).
pub const MAX_BUNDLE_BYTES: usize = 64 * 1024 * 1024;

fn canonical() -> Configuration<LittleEndian, Fixint, NoLimit> {
    config::standard()
        .with_fixed_int_encoding()
        .with_little_endian()
}

/// Encodes `value` canonically.
pub fn encode<T: Encode>(value: &T) -> Vec<u8> {
    #[allow(clippy::expect_used)]
    // Encoding derived plain data into a Vec has no failure path: the only
    // errors bincode's encoder can raise come from the writer or custom impls.
    bincode::encode_to_vec(value, canonical()).expect("encoding into a Vec cannot fail")
}

/// Why bytes were refused by a decoder.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input exceeds the size allowed for this kind of value.
    #[error("{what} is {len} bytes, more than the {max}-byte limit")]
    TooLarge {
        /// What was being decoded.
        what: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// bincode could not decode it (truncated, bad tag, invalid UTF-8 …).
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// bincode's description.
        reason: String,
    },
    /// Bytes were left after a complete value.
    #[error("{what} has {extra} trailing bytes")]
    TrailingBytes {
        /// What was being decoded.
        what: &'static str,
        /// How many bytes were left.
        extra: usize,
    },
    /// The value decodes but re-encodes differently: not canonical.
    #[error("{what} is not in canonical encoding")]
    NonCanonical {
        /// What was being decoded.
        what: &'static str,
    },
}

/// bincode's reason in plain words (its own `Display` is Rust Debug
/// output such as `UnexpectedEnd { additional: 8 }`).
fn explain(e: &bincode::error::DecodeError) -> String {
    use bincode::error::DecodeError as E;
    match e {
        E::UnexpectedEnd { additional } => {
            format!("it ends too early (at least {additional} more bytes were expected)")
        }
        E::LimitExceeded => "a length inside it is larger than the data can hold".into(),
        E::UnexpectedVariant { found, .. } => format!("it names an unknown kind (number {found})"),
        E::Utf8 { .. } => "it holds text that is not UTF-8".into(),
        E::InvalidCharEncoding(_) => "it holds a character that is not valid".into(),
        E::InvalidBooleanValue(v) => format!("a yes/no byte holds {v}, not 0 or 1"),
        E::ArrayLengthMismatch { required, found } => {
            format!("a list holds {found} items where {required} are required")
        }
        E::OutsideUsizeRange(n) => format!("a length of {n} is too large"),
        E::InvalidIntegerType { .. } | E::NonZeroTypeIsZero { .. } => {
            "a number inside it is not of the expected kind".into()
        }
        E::Other(why) => (*why).to_owned(),
        E::OtherString(why) => why.clone(),
        _ => "its bytes do not form a valid value".into(),
    }
}

/// Decodes one `T` that must fill `bytes` exactly and be canonical.
///
/// `max` bounds the input; bincode's allocation limit is set to a multiple
/// of it so a forged length prefix cannot make the decoder allocate more.
pub fn decode<T: Encode + Decode<()>>(
    bytes: &[u8],
    max: usize,
    what: &'static str,
) -> Result<T, DecodeError> {
    if bytes.len() > max {
        return Err(DecodeError::TooLarge {
            what,
            len: bytes.len(),
            max,
        });
    }
    let malformed = |e: bincode::error::DecodeError| DecodeError::Malformed {
        what,
        reason: explain(&e),
    };
    // bincode reserves memory for a container from its length prefix,
    // charged against a limit. In-memory values are at most ~2× their
    // encoding (a `LotAmount` is 72 bytes for at least 52 encoded), so a
    // limit of ~4× the input, rounded up to a tier, stops a forged prefix in
    // a short input from reserving much more than the input itself.
    let (value, used): (T, usize) = if bytes.len() <= MAX_RECORD_BYTES {
        bincode::decode_from_slice(bytes, canonical().with_limit::<{ 4 * MAX_RECORD_BYTES }>())
            .map_err(malformed)?
    } else if bytes.len() <= 4 << 20 {
        bincode::decode_from_slice(bytes, canonical().with_limit::<{ 16 << 20 }>())
            .map_err(malformed)?
    } else {
        bincode::decode_from_slice(bytes, canonical().with_limit::<{ 4 * MAX_BUNDLE_BYTES }>())
            .map_err(malformed)?
    };
    if used != bytes.len() {
        return Err(DecodeError::TrailingBytes {
            what,
            extra: bytes.len() - used,
        });
    }
    if encode(&value) != bytes {
        return Err(DecodeError::NonCanonical { what });
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// bincode's reasons reach people in words, never as Rust Debug text.
    #[test]
    fn malformed_bytes_are_explained_in_words() {
        let bytes = encode(&(7u64, String::from("千岛湖茶")));
        let e = decode::<(u64, String)>(&bytes[..bytes.len() - 3], 1024, "test value")
            .expect_err("truncated");
        let text = e.to_string();
        assert!(text.contains("ends too early"), "{text}");
        for debug in ["{", "}", "UnexpectedEnd", "additional"] {
            assert!(!text.contains(debug), "{text}");
        }
        let mut bad_text = encode(&String::from("ab"));
        if let Some(last) = bad_text.last_mut() {
            *last = 0xff;
        }
        let e = decode::<String>(&bad_text, 1024, "test text").expect_err("not UTF-8");
        assert!(e.to_string().contains("not UTF-8"), "{e}");
    }
}
