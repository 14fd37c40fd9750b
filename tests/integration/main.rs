//! The single integration-test binary (as in `just`): CLI runs against a fake engine, parsers
//! against recorded engine output, and end-to-end runs against real docker and podman.

mod cli;
mod e2e;
mod eras;
mod front;
mod front_checks;
mod init;
mod oauth;
mod recordings;
mod remote;
mod replicas;
mod support;
mod swarm;
