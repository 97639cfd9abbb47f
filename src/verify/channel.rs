use serde::{Deserialize, Serialize};

/// How the one-time code reaches the phone.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Channel {
    /// A text message.
    #[default]
    Sms,
    /// A phone call whose text-to-speech voice reads the code out.
    Voice,
}

impl Channel {
    /// The value used in forms and JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Channel::Sms => "sms",
            Channel::Voice => "voice",
        }
    }
}
