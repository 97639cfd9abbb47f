//! Reading a code as a person reads their SMS, from the fake upstream or from the
//! local provider's dev outbox; shared by the benchmarks.
use serde_json::Value;

/// The newest code `fake-verify` at `fake` sent to `e164`.
pub async fn code_for(client: &reqwest::Client, fake: &str, e164: &str) -> Option<String> {
    let sent: Value = client
        .get(format!("{fake}/_fake/messages"))
        .query(&[("to", e164), ("limit", "1")])
        .send()
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    Some(sent[0]["code"].as_str()?.to_owned())
}

/// The code in the newest message the local provider's dev outbox at `base` holds
/// for `e164`.
///
/// # Panics
/// When the outbox cannot be read or has no message for `e164`: a benchmark cannot
/// go on without it.
pub async fn outbox_code(client: &reqwest::Client, base: &str, e164: &str) -> String {
    let outbox: Value = client
        .get(format!("{base}/dev/outbox.json"))
        .query(&[("to", e164)])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let text = outbox
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["to"] == e164)
        .expect("the code arrived")["text"]
        .as_str()
        .unwrap()
        .to_owned();
    text.chars().filter(char::is_ascii_digit).take(6).collect()
}
