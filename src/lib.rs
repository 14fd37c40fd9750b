//! mcpctl: build, run, update and watch a containerized Python MCP server by driving a
//! Docker-compatible CLI (docker, podman, nerdctl) as a child process.
//!
//! The binary is `src/main.rs`; everything lives here so the integration tests can use the same
//! engine, probe and config code the binary runs.

pub mod cli;
pub mod config;
pub mod container;
pub mod deploy;
pub mod digest;
pub mod dockerfile;
pub mod dockerignore;
pub mod engine;
pub mod error;
pub mod flows;
pub mod front;
pub mod host;
pub mod lock;
pub mod ports;
pub mod probe;
pub mod process;
pub mod ready;
pub mod scaffold;
pub mod state;
pub mod template;
pub mod ui;
