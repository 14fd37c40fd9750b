//! Where the server's containers run when it is not one engine's containers: a cluster.
//!
//! * `swarm/`: a Docker Swarm service of the project's on an overlay network of its own, the
//!   front as the one published service, secrets and configs the swarm way; the swarm rolls
//!   updates and reschedules tasks itself, mcpctl asks it and watches.

pub mod swarm;
