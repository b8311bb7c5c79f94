//! The http room: every byte a plugin sends or receives goes through here.
//!
//! - `allow`: which origins a plugin may address.

pub mod allow;

pub use allow::{AllowList, NotAllowed};
