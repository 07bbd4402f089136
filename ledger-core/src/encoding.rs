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
        reason: e.to_string(),
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
