//! mcpctl: build, run, update and watch a containerized Python MCP server by driving a
//! Docker-compatible CLI (docker, podman, nerdctl) as a child process.
//!
//! The binary is `src/main.rs`; everything lives here so the integration tests can use the same
//! engine, probe and config code the binary runs.

pub mod app;
pub(crate) mod cli;
pub mod config;
pub(crate) mod container;
pub(crate) mod deploy;
pub(crate) mod digest;
pub(crate) mod dockerfile;
pub(crate) mod dockerignore;
pub mod engine;
pub(crate) mod error;
pub(crate) mod flows;
pub(crate) mod front;
pub(crate) mod host;
pub(crate) mod lock;
pub(crate) mod ports;
pub mod probe;
pub(crate) mod process;
pub(crate) mod ready;
pub mod scaffold;
pub(crate) mod state;
pub mod target;
pub(crate) mod template;
pub(crate) mod ui;
