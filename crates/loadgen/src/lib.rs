//! Reading a code the fake upstream "sent", as a person reads their SMS; shared by
//! the benchmarks.
use serde_json::Value;

/// The newest code `fake-verify` at `fake` sent to `e164`.
pub async fn code_for(client: &reqwest::Client, fake: &str, e164: &str) -> Option<String> {
    let sent: Value = client
        .get(format!("{fake}/_fake/messages"))
        .query(&[("to", e164)])
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    Some(sent[0]["code"].as_str()?.to_owned())
}
