//! Reads a station working through a node needs besides traces and
//! bundles: what a participant holds.
//!
//! - `GET /holdings/{key}`: a participant's main-branch balances, by lot.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use axum::Json;
use ledger_core::event::Quantity;
use ledger_core::{LotId, PublicKey};
use serde::Serialize;

use super::edge::ApiPath;
use super::{ApiError, ApiResult, AppState};

/// `GET /holdings/{key}`.
#[derive(Serialize)]
struct HoldingsView {
    /// The participant's identity (the key given, or the identity a later
    /// key of it signs for).
    participant: PublicKey,
    /// What it holds, by lot (zero balances left out).
    holdings: Vec<Held>,
}

#[derive(Serialize)]
struct Held {
    lot: LotId,
    quantity: Quantity,
}

/// `GET /holdings/{key}`: what the participant `key` signs for holds, by
/// lot, as `terroir holdings` shows it. One index scan of the holder's
/// balances. 400 on a malformed key, 404 when no participant has the key.
pub(super) async fn holdings(
    State(st): State<AppState>,
    ApiPath(key): ApiPath<String>,
) -> ApiResult<Response> {
    st.metrics.inc(&st.metrics.http_requests);
    let pk = PublicKey::from_hex(&key).map_err(|e| ApiError::bad(format!("key: {e}")))?;
    let view = st
        .ledger
        .read(move |r| -> Result<_, ledger_core::StoreError> {
            let Some(signer) = r.signer(&pk)? else {
                return Ok(None);
            };
            let holdings = r
                .holdings(&signer.identity)?
                .into_iter()
                .filter(|(_, q)| q.amount > 0)
                .map(|(lot, quantity)| Held { lot, quantity })
                .collect();
            Ok(Some(HoldingsView {
                participant: signer.identity,
                holdings,
            }))
        })
        .await?
        .map_err(ApiError::internal)?
        .ok_or_else(|| ApiError::not_found(format!("key {} is not a participant's", pk.short())))?;
    Ok(Json(view).into_response())
}
