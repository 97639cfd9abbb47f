//! Sessions a host's backend creates for a number it already knows (a second factor,
//! "verify the number on this account"): `POST /api/v1/sessions` stores a ticket,
//! the host puts its id in the element's `session` attribute, and the frame that
//! opens with it verifies that number and no other. A ticket is good once, for ten
//! minutes.
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::server::store::{StateStore, StoreError};

pub const TICKET_TTL: Duration = Duration::from_secs(600);

const PREFIX: &str = "pvs_";

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ticket {
    pub sitekey: String,
    pub e164: String,
    /// The host's own reference (an account id), signed into the token as `ref`.
    pub reference: Option<String>,
    pub action: Option<String>,
}

fn key(id: &str) -> String {
    format!("ticket:{id}")
}

/// Whether `id` has the shape of a ticket id: `pvs_` and 43 base64url characters.
pub fn is_ticket_id(id: &str) -> bool {
    id.strip_prefix(PREFIX).is_some_and(|rest| {
        rest.len() == 43
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// Stores `ticket`; returns its id.
///
/// # Errors
/// When the store fails.
pub async fn issue(store: &Arc<dyn StateStore>, ticket: &Ticket) -> Result<String, StoreError> {
    let id = format!("{PREFIX}{}", crate::server::random::id::<32>());
    let value = serde_json::to_vec(ticket).unwrap_or_default();
    store.set(&key(&id), &value, TICKET_TTL).await?;
    Ok(id)
}

/// The ticket `id`, used up by this call: a second call, or one after it expired,
/// finds nothing.
///
/// # Errors
/// When the store fails.
pub async fn redeem(store: &Arc<dyn StateStore>, id: &str) -> Result<Option<Ticket>, StoreError> {
    if !is_ticket_id(id) {
        return Ok(None);
    }
    let Some(bytes) = store.get(&key(id)).await? else {
        return Ok(None);
    };
    // The marker decides who got it first when two frames race for one ticket.
    if !store
        .set_if_absent(&format!("ticket-used:{id}"), b"1", TICKET_TTL)
        .await?
    {
        return Ok(None);
    }
    store.delete(&key(id)).await?;
    Ok(serde_json::from_slice(&bytes).ok())
}
