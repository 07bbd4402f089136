//! Global settings, resolved once from the global flags.

use std::path::PathBuf;

use crate::cli::GlobalArgs;
use crate::output::Output;

/// What every command needs to know besides its own arguments.
#[derive(Debug, Clone)]
pub(crate) struct Settings {
    /// The ledger directory (`--ledger`, else `$TERROIR_HOME`, else `./.terroir`).
    pub(crate) ledger: PathBuf,
    /// How to print.
    pub(crate) out: Output,
}

impl Settings {
    pub(crate) fn from_args(g: &GlobalArgs) -> Self {
        Settings {
            ledger: g.ledger.clone(),
            out: Output {
                json: g.json,
                quiet: g.quiet,
            },
        }
    }
}
