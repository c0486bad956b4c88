//! flowtrail-core: the leaf crate every other flowtrail crate builds on.
//!
//! It owns the data contracts and, of I/O, only [`durable::write_atomic`] (the one way every
//! crate replaces a file crash-safely): the Arrow schemas of the lake tables
//! and their column-name constants ([`schema`]), the lake path layout ([`layout`]), the alert
//! types shared by detection and sinks ([`alert`]), the injectable [`clock::Clock`], and the
//! shared all-null columns with the memory count that knows them ([`nulls`]).

pub mod alert;
pub mod asset;
pub mod clock;
pub mod durable;
pub mod layout;
pub mod nulls;
pub mod schema;

pub use alert::{Alert, Entity, EntityKind, Finding, Severity};
pub use asset::Asset;
pub use clock::{Clock, ManualClock, SystemClock};
pub use layout::{PartitionKey, Table};
