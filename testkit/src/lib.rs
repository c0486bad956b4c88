//! Test support shared by the workspace's integration tests (`tests/it` of the root package,
//! `respond/tests`): [`moto`], a moto server per test as a child process, and [`fixtures`], flow
//! log and CloudTrail objects written into a temp dir in the AWS S3 layout.
//!
//! A crate rather than a file included by `#[path]` from each test tree: it builds once, its
//! dependencies are declared in one place, and a new test crate gets it with one dev-dependency.
//! What runs the `flowtrail` binary stays in `tests/it/common/` (`CARGO_BIN_EXE_flowtrail` exists
//! only in the root package's tests).
//!
//! Its helpers panic on any failure (a missing `moto_server`, an unwritable temp dir): a test
//! helper that cannot set up fails the test, so `unwrap`/`expect`, warned against by the
//! workspace lints, are allowed here.
#![allow(clippy::unwrap_used, clippy::expect_used)]

pub mod fixtures;
pub mod moto;
