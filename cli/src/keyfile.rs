//! Signing-key files: the format lives in `ledger_core::keyfile`, shared
//! with `terroird`, which signs checkpoints with a regulator's key file.

pub(crate) use ledger_core::keyfile::{create, load};
