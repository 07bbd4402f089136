//! The log as a transparency log: the newest final checkpoint and any
//! older one as C2SP signed notes, the tree as C2SP tlog-tiles, and
//! inclusion, consistency and lot status proofs against it. Everything
//! here is a read of state the ledger keeps as checkpoints land (the
//! tree's rows, the status map); nothing is recomputed per request.
//!
//! Client input is checked against the newest checkpoint before the
//! ledger is asked: the reader treats a size beyond its tree as damage.

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use ledger_core::checkpoint::{Checkpoint, SignedCheckpoint};
use ledger_core::merkle::{self, TileKind};
use ledger_core::store::SledStore;
use ledger_core::{Hash, LotId, PublicKey, Reader, StoreError};
use serde::{Deserialize, Serialize};
use serde_json::json;

use super::edge::{ApiPath, ApiQuery};
use super::{ApiError, ApiResult, AppState};

/// The media type of a signed note.
const NOTE_TYPE: &str = "text/plain; charset=utf-8";
/// What never changes once served: an older checkpoint, a full tile.
pub(super) const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// A partial tile: the next checkpoint may complete it, and a client
/// should then fetch the full one.
const PARTIAL_TILE: &str = "public, max-age=60";
/// The newest checkpoint changes with every checkpoint.
const FRESH: &str = "no-cache";
/// Most lots one `POST /proof/status` may ask about: a bundle's lots are
/// a handful, a retailer's shelf a few hundred; each costs a map proof.
pub const MAX_STATUS_LOTS: usize = 1_000;

const NO_CHECKPOINT: &str = "no checkpoint is final yet";

/// A read's answer, or a refusal in words.
type Refusal = Result<Response, ApiError>;

/// Runs `f` on a reader and flattens the store's failure into a 500.
async fn read_log<T: Send + 'static>(
    st: &AppState,
    f: impl FnOnce(&Reader<SledStore>) -> Result<T, StoreError> + Send + 'static,
) -> ApiResult<T> {
    st.metrics.inc(&st.metrics.http_requests);
    st.ledger.read(f).await?.map_err(ApiError::internal)
}

fn note_answer(note: String, cache: &'static str) -> Response {
    (
        [
            (header::CONTENT_TYPE, NOTE_TYPE),
            (header::CACHE_CONTROL, cache),
        ],
        note,
    )
        .into_response()
}

/// `GET /checkpoint`: the newest final checkpoint's signed note.
pub(super) async fn newest(State(st): State<AppState>) -> Refusal {
    let note = read_log(&st, |r| {
        Ok(r.log().checkpoint.as_ref().map(SignedCheckpoint::to_note))
    })
    .await?
    .ok_or_else(|| ApiError::not_found(NO_CHECKPOINT))?;
    Ok(note_answer(note, FRESH))
}

/// `GET /checkpoint/{height}`: the final checkpoint of that height.
pub(super) async fn at_height(
    State(st): State<AppState>,
    ApiPath(height): ApiPath<String>,
) -> Refusal {
    let height: u64 = height
        .parse()
        .map_err(|_| ApiError::bad(format!("height {height:?} is not a whole number")))?;
    let note = read_log(&st, move |r| r.checkpoint_note(height))
        .await?
        .ok_or_else(|| ApiError::not_found(format!("no checkpoint of height {height} is final")))?;
    Ok(note_answer(note, IMMUTABLE))
}

/// `GET /tile/{*path}`: a C2SP tile of the newest checkpoint's tree, or
/// an entry bundle (the record hashes, in log order).
pub(super) async fn tile(State(st): State<AppState>, ApiPath(rest): ApiPath<String>) -> Refusal {
    let path = format!("tile/{rest}");
    let (kind, index, width) =
        merkle::parse_tile_path(&path).map_err(|e| ApiError::bad(format!("{path}: {e}")))?;
    let bytes = read_log(&st, move |r| match kind {
        TileKind::Hashes { level } => r.tile(level, index, width),
        TileKind::Entries => r.entries_tile(index, width),
    })
    .await?
    .ok_or_else(|| {
        ApiError::not_found(format!(
            "{path} lies beyond the newest checkpoint's tree (or no checkpoint is final)"
        ))
    })?;
    let cache = if width == merkle::TILE_WIDTH {
        IMMUTABLE
    } else {
        PARTIAL_TILE
    };
    Ok((
        [
            (header::CONTENT_TYPE, "application/octet-stream"),
            (header::CACHE_CONTROL, cache),
        ],
        bytes,
    )
        .into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct SizeQuery {
    size: Option<u64>,
}

/// An inclusion proof, as served.
#[derive(Debug, Serialize, Deserialize)]
pub struct InclusionJson {
    /// The record's leaf index.
    pub index: u64,
    /// The tree size the proof is for (a final checkpoint's).
    pub size: u64,
    /// That tree's root.
    pub root: Hash,
    /// The audit path.
    pub path: Vec<Hash>,
}

/// `GET /proof/inclusion/{hash}[?size=N]`: where the record is in the
/// log and its audit path, in the newest checkpoint's tree or in the
/// tree of an older checkpoint of `N` records.
pub(super) async fn inclusion(
    State(st): State<AppState>,
    ApiPath(hash): ApiPath<String>,
    ApiQuery(q): ApiQuery<SizeQuery>,
) -> Refusal {
    let h = Hash::from_hex(&hash).map_err(|e| ApiError::bad(format!("record hash: {e}")))?;
    let answer = read_log(
        &st,
        move |r| -> Result<ApiResult<InclusionJson>, StoreError> {
            let Some(newest) = r.log().checkpoint.as_ref().map(|c| &c.checkpoint) else {
                return Ok(Err(ApiError::not_found(NO_CHECKPOINT)));
            };
            let (size, root) = match q.size {
                None => (newest.size, newest.root),
                Some(0) => {
                    return Ok(Err(ApiError::bad(
                        "size 0 is the empty tree: it holds no record",
                    )))
                }
                Some(s) if s > newest.size => {
                    return Ok(Err(ApiError::bad(format!(
                        "size {s} is beyond the newest checkpoint's {}",
                        newest.size
                    ))))
                }
                Some(s) => match checkpoint_of_size(r, newest, s)? {
                    Some(c) => (c.size, c.root),
                    None => {
                        return Ok(Err(ApiError::not_found(format!(
                            "no final checkpoint has size {s}"
                        ))))
                    }
                },
            };
            let Some(index) = r.leaf_index(&h)? else {
                return Ok(Err(ApiError::not_found(format!(
                    "record {h} is not in a checkpoint yet"
                ))));
            };
            if index >= size {
                return Ok(Err(ApiError::not_found(format!(
                    "record {h} is at index {index}, after the tree of size {size}"
                ))));
            }
            let path = r.inclusion_at(index, size)?;
            Ok(Ok(InclusionJson {
                index,
                size,
                root,
                path,
            }))
        },
    )
    .await??;
    Ok(Json(answer).into_response())
}

/// The final checkpoint whose tree has `size` records, found by bisecting
/// heights (sizes grow with height): at most ~64 notes read.
fn checkpoint_of_size(
    r: &Reader<SledStore>,
    newest: &Checkpoint,
    size: u64,
) -> Result<Option<Checkpoint>, StoreError> {
    if newest.size == size {
        return Ok(Some(newest.clone()));
    }
    let (mut lo, mut hi) = (0u64, newest.height);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        let Some(c) = stored_checkpoint(r, mid)? else {
            return Ok(None);
        };
        if c.size == size {
            return Ok(Some(c));
        }
        if c.size < size {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    Ok(None)
}

/// The body of the stored final checkpoint at `height`.
fn stored_checkpoint(r: &Reader<SledStore>, height: u64) -> Result<Option<Checkpoint>, StoreError> {
    let Some(note) = r.checkpoint_note(height)? else {
        return Ok(None);
    };
    let damaged = |why: String| StoreError::Corrupt {
        key: format!("checkpoint {height}"),
        why,
    };
    let (body, _) = note
        .split_once("\n\n")
        .ok_or_else(|| damaged("the note has no signature lines".into()))?;
    Checkpoint::parse(&format!("{body}\n"))
        .map(Some)
        .map_err(|e| damaged(e.to_string()))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct ConsistencyQuery {
    from: u64,
    to: Option<u64>,
}

/// `GET /proof/consistency?from=M[&to=N]`: that the tree of `M` records
/// is a prefix of the tree of `N` (the newest checkpoint's by default).
pub(super) async fn consistency(
    State(st): State<AppState>,
    ApiQuery(q): ApiQuery<ConsistencyQuery>,
) -> Refusal {
    let answer = read_log(
        &st,
        move |r| -> Result<ApiResult<serde_json::Value>, StoreError> {
            let newest = r.log().size();
            if r.log().checkpoint.is_none() {
                return Ok(Err(ApiError::not_found(NO_CHECKPOINT)));
            }
            let (from, to) = (q.from, q.to.unwrap_or(newest));
            if from == 0 {
                return Ok(Err(ApiError::bad(
                    "from=0 is the empty tree, a prefix of every tree: nothing to prove",
                )));
            }
            if from > to {
                return Ok(Err(ApiError::bad(format!(
                    "from={from} is larger than to={to}"
                ))));
            }
            if to > newest {
                return Ok(Err(ApiError::bad(format!(
                    "to={to} is beyond the newest checkpoint's size {newest}"
                ))));
            }
            let path = r.consistency(from, to)?;
            Ok(Ok(json!({ "from": from, "to": to, "path": path })))
        },
    )
    .await??;
    Ok(Json(answer).into_response())
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StatusAsk {
    lots: Vec<LotAsk>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LotAsk {
    source: String,
    code: String,
}

/// `POST /proof/status`: the newest checkpoint's note and the status
/// map's proof for each lot asked about, from one view (the JSON of
/// [`ledger_core::tlog::StatusProofs`]). A read: it takes a read permit.
pub(super) async fn status_proofs(State(st): State<AppState>, body: axum::body::Bytes) -> Refusal {
    let ask: StatusAsk =
        serde_json::from_slice(&body).map_err(|e| ApiError::bad(format!("body: {e}")))?;
    if ask.lots.is_empty() {
        return Err(ApiError::bad("no lot given"));
    }
    if ask.lots.len() > MAX_STATUS_LOTS {
        return Err(ApiError(
            StatusCode::PAYLOAD_TOO_LARGE,
            format!(
                "{} lots in one request, at most {MAX_STATUS_LOTS}",
                ask.lots.len()
            ),
        ));
    }
    let mut lots = Vec::with_capacity(ask.lots.len());
    for (i, l) in ask.lots.into_iter().enumerate() {
        let source = PublicKey::from_hex(&l.source)
            .map_err(|e| ApiError::bad(format!("lot {i}: source: {e}")))?;
        if l.code.is_empty() {
            return Err(ApiError::bad(format!("lot {i}: the code is empty")));
        }
        lots.push(LotId {
            source,
            code: l.code,
        });
    }
    let proofs = read_log(&st, move |r| Ok(r.status_proofs(&lots)))
        .await?
        .ok_or_else(|| ApiError::not_found(NO_CHECKPOINT))?;
    Ok(Json(proofs).into_response())
}

/// `POST /checkpoints`: a signed checkpoint and its cut, as a witness or
/// an authority's tool hands it to the node: `{"note": "<signed note>",
/// "tips": ["<record hash>", …]}`. The node checks it like one from a
/// peer — recomputes it before cosigning or applying it, and keeps it as
/// proof if it contradicts a final one — and answers 202 once it is
/// queued.
pub(super) async fn offer(State(st): State<AppState>, body: axum::body::Bytes) -> Refusal {
    st.metrics.inc(&st.metrics.http_requests);
    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Offered {
        note: String,
        #[serde(default)]
        tips: Vec<Hash>,
    }
    let offered: Offered = serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad(format!("expected {{\"note\": …, \"tips\": […]}}: {e}")))?;
    if offered.tips.len() > crate::protocol::MAX_CUT_TIPS {
        return Err(ApiError::bad(format!(
            "a cut names at most {} tips",
            crate::protocol::MAX_CUT_TIPS
        )));
    }
    let signed = SignedCheckpoint::from_note(offered.note.as_bytes(), &st.genesis)
        .map_err(|e| ApiError::bad(e.to_string()))?;
    let item = crate::protocol::CheckpointItem::new(offered.note, &offered.tips);
    if item.tips_of(&signed.checkpoint.cut).is_none() {
        return Err(ApiError::bad(
            "the tips are not the cut the checkpoint names (its cut line)",
        ));
    }
    if !st.checkpoints.offer(item) {
        return Err(ApiError(
            StatusCode::SERVICE_UNAVAILABLE,
            "the checkpoint queue is full; offer it again shortly".into(),
        ));
    }
    Ok((
        StatusCode::ACCEPTED,
        Json(json!({
            "queued": true,
            "height": signed.checkpoint.height,
            "hash": signed.checkpoint.hash().short(),
        })),
    )
        .into_response())
}
