//! The development outbox: where the local provider's texts and calls end up, so a
//! newcomer can read their code at `/dev/outbox` (HTML) or `/dev/outbox.json`
//! (`?to=+44…` for one number's).
//! Mounted only while the local provider is in use.
use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::extract::{Query, State};
use axum::response::Html;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use crate::verify::{Channel, PhoneNumber};

#[derive(Clone, Debug, Serialize)]
pub struct OutboxMessage {
    /// E.164 number.
    pub to: String,
    pub channel: Channel,
    pub text: String,
    /// RFC 3339, UTC.
    pub sent_at: String,
}

/// The newest messages, newest first, up to a fixed capacity.
#[derive(Debug)]
pub struct Outbox {
    capacity: usize,
    messages: Mutex<VecDeque<OutboxMessage>>,
}

impl Outbox {
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            messages: Mutex::new(VecDeque::with_capacity(capacity)),
        }
    }

    /// Stores a message and logs that it arrived. The log line leaves the code out:
    /// logs outlive codes and travel further.
    pub fn deliver(&self, to: &PhoneNumber, channel: Channel, text: String) {
        let sent_at = OffsetDateTime::now_utc()
            .format(&Rfc3339)
            .unwrap_or_default();
        tracing::info!(to = %to.masked(), channel = channel.as_str(), "dev outbox: message delivered, read it at /dev/outbox");
        let mut messages = self.messages.lock().expect("outbox lock");
        if messages.len() == self.capacity {
            messages.pop_back();
        }
        messages.push_front(OutboxMessage {
            to: to.e164().to_owned(),
            channel,
            text,
            sent_at,
        });
    }

    /// Newest first.
    pub fn messages(&self) -> Vec<OutboxMessage> {
        self.messages_to(None)
    }

    /// Newest first, only those to the E.164 number `to` when given.
    pub fn messages_to(&self, to: Option<&str>) -> Vec<OutboxMessage> {
        self.messages
            .lock()
            .expect("outbox lock")
            .iter()
            .filter(|m| to.is_none_or(|to| m.to == to))
            .cloned()
            .collect()
    }
}

#[derive(Deserialize)]
pub struct OutboxQuery {
    /// Only the messages to this E.164 number.
    to: Option<String>,
}

pub async fn json(
    State(outbox): State<Arc<Outbox>>,
    Query(query): Query<OutboxQuery>,
) -> Json<Vec<OutboxMessage>> {
    Json(outbox.messages_to(query.to.as_deref()))
}

pub async fn page(State(outbox): State<Arc<Outbox>>) -> Html<String> {
    let rows: String = outbox
        .messages()
        .iter()
        .map(|m| {
            format!(
                "<tr><td><time>{}</time></td><td>{}</td><td>{}</td><td class=\"text\">{}</td></tr>",
                escape(&m.sent_at),
                escape(&m.to),
                if m.channel == Channel::Sms {
                    "SMS"
                } else {
                    "Voice call"
                },
                escape(&m.text)
            )
        })
        .collect();
    let body = if rows.is_empty() {
        "<p>No messages yet. Ask for a code on <a href=\"/\">the widget</a> and reload this page.</p>".to_owned()
    } else {
        format!(
            "<table><thead><tr><th>Sent (UTC)</th><th>To</th><th>Channel</th><th>Message</th></tr></thead><tbody>{rows}</tbody></table>"
        )
    };
    Html(format!(
        "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width\">\
         <title>Dev outbox · phone-verify</title><style>{OUTBOX_CSS}</style></head><body>\
         <h1>Dev outbox</h1><p class=\"note\">The local provider delivers here instead of to phones. Newest first. \
         Also as <a href=\"/dev/outbox.json\">JSON</a>.</p>{body}</body></html>"
    ))
}

const OUTBOX_CSS: &str = "body{font:16px/1.5 system-ui,sans-serif;margin:2rem auto;max-width:60rem;padding:0 1rem;color-scheme:light dark}\
table{border-collapse:collapse;width:100%}th,td{text-align:left;padding:.4rem .6rem;border-bottom:1px solid #8884}\
.text{font-family:ui-monospace,monospace}.note{opacity:.8}";

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_newest_messages_first_up_to_capacity() {
        let outbox = Outbox::new(2);
        let to = PhoneNumber::parse("+447911123456", None).unwrap();
        for text in ["one", "two", "three"] {
            outbox.deliver(&to, Channel::Sms, text.to_owned());
        }
        let texts: Vec<String> = outbox.messages().into_iter().map(|m| m.text).collect();
        assert_eq!(texts, ["three", "two"]);
    }

    #[test]
    fn lists_one_numbers_messages_on_request() {
        let outbox = Outbox::new(10);
        for (number, text) in [
            ("+447911123456", "one"),
            ("+447911000000", "other"),
            ("+447911123456", "two"),
        ] {
            outbox.deliver(
                &PhoneNumber::parse(number, None).unwrap(),
                Channel::Sms,
                text.to_owned(),
            );
        }
        let texts = |to: Option<&str>| -> Vec<String> {
            outbox.messages_to(to).into_iter().map(|m| m.text).collect()
        };
        assert_eq!(texts(Some("+447911123456")), ["two", "one"]);
        assert_eq!(texts(Some("+447911000000")), ["other"]);
        assert_eq!(texts(Some("+15005550006")), Vec::<String>::new());
        assert_eq!(texts(None), ["two", "other", "one"]);
    }

    #[test]
    fn escapes_html() {
        assert_eq!(escape("<b>&\""), "&lt;b&gt;&amp;&quot;");
    }
}
