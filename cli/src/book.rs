//! The address book: every participant the ledger knows (genesis
//! authorities and enrollments), so that people can be named by display
//! name, by key hex, by a unique key prefix, or by a key file.

use std::path::Path;

use anyhow::{bail, Result};
use ledger_core::event::Location;
use ledger_core::reader::Participant;
use ledger_core::{Event, PublicKey};

use crate::backend::Backend;
use crate::keyfile;

/// The participants of a ledger.
#[derive(Debug)]
pub(crate) struct Book {
    entries: Vec<Participant>,
    /// Where the participants were read, for messages.
    place: String,
}

impl Book {
    /// Reads the participants of `ledger`.
    pub(crate) fn load(ledger: &dyn Backend) -> Result<Self> {
        Ok(Book {
            entries: ledger.participants()?,
            place: ledger.place(),
        })
    }

    /// Every participant.
    pub(crate) fn entries(&self) -> &[Participant] {
        &self.entries
    }

    /// A participant by identity key.
    pub(crate) fn get(&self, key: &PublicKey) -> Option<&Participant> {
        self.entries.iter().find(|p| p.key == *key)
    }

    /// `name (role)` or the short key.
    pub(crate) fn label(&self, key: &PublicKey) -> String {
        match self.get(key) {
            Some(p) => format!("{} ({})", p.name, p.role),
            None => key.short(),
        }
    }

    /// Just the name, or the short key.
    pub(crate) fn name(&self, key: &PublicKey) -> String {
        self.get(key)
            .map_or_else(|| key.short(), |p| p.name.clone())
    }

    /// Resolves a participant named by key hex, key file, display name or
    /// unique key prefix.
    pub(crate) fn resolve(&self, who: &str) -> Result<PublicKey> {
        let w = who.trim();
        if let Ok(k) = PublicKey::from_hex(w) {
            return Ok(k);
        }
        let by_name: Vec<&Participant> = self
            .entries
            .iter()
            .filter(|p| p.name == w || p.name.to_lowercase() == w.to_lowercase())
            .collect();
        match by_name.as_slice() {
            [one] => return Ok(one.key),
            [] => {}
            many => bail!(
                "{} participants are named {w:?}: {}; name one by key",
                many.len(),
                many.iter()
                    .map(|p| p.key.short())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        }
        if w.len() >= 4 && w.chars().all(|c| c.is_ascii_hexdigit()) {
            let lw = w.to_lowercase();
            let hits: Vec<&Participant> = self
                .entries
                .iter()
                .filter(|p| p.key.to_hex().starts_with(&lw))
                .collect();
            match hits.as_slice() {
                [one] => return Ok(one.key),
                [] => {}
                many => bail!(
                    "key prefix {w} matches {} participants ({}); give more digits",
                    many.len(),
                    many.iter()
                        .map(|p| p.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            }
        }
        if Path::new(w).is_file() {
            return Ok(keyfile::read_public(Path::new(w))?.public);
        }
        let known: Vec<&str> = self.entries.iter().map(|p| p.name.as_str()).collect();
        if let Some(near) = crate::parse::closest(w, known.iter().copied()) {
            bail!(
                "unknown participant {w:?}: not a key, a key file, or a name in {}; \
                 did you mean {near:?}?",
                self.place
            );
        }
        bail!(
            "unknown participant {w:?}: not a key, a key file, or a name in {} (known: {})",
            self.place,
            known.join(", ")
        )
    }

    /// Where a participant was enrolled (empty for genesis authorities).
    pub(crate) fn location(&self, ledger: &dyn Backend, key: &PublicKey) -> Result<Location> {
        if let Some(h) = self.get(key).and_then(|p| p.enrolled_by) {
            if let Some(r) = ledger.record(&h)? {
                if let Event::Enroll { location, .. } = r.record.event {
                    return Ok(location);
                }
            }
        }
        Ok(Location {
            description: String::new(),
            gln: None,
        })
    }
}
