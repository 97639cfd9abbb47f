//! The verification domain, shared by the server and the browser bundle.

mod channel;
mod code;
mod country;
mod error;
mod step;

#[cfg(feature = "ssr")]
mod phone;

pub use channel::Channel;
pub use code::{CodeProblem, OtpCode, code_digits};
pub use country::{CountryOption, fold};
pub use error::{PhoneProblem, VerifyError};
pub use step::{CodeEntry, PhoneEntry, Step, VerifiedPhone};

#[cfg(feature = "ssr")]
pub use phone::{CountryCode, NumberKind, PhoneNumber, mask_e164};
