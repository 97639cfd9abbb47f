//! The verification domain, shared by the server and the browser bundle.

mod channel;
mod code;
mod error;
mod step;

#[cfg(feature = "ssr")]
mod phone;

pub use channel::Channel;
pub use code::{CodeProblem, OtpCode};
pub use error::{PhoneProblem, VerifyError};
pub use step::{Flow, Step};

#[cfg(feature = "ssr")]
pub use phone::{CountryCode, PhoneNumber, mask_e164};
