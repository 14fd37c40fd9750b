//! Command-line flags. The settings' flags are `config::Overrides` itself (flattened here), so
//! they reach `config::resolve` as they are; no flow reads flags directly.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::config::Overrides;
pub(crate) use crate::ui::ColorChoice;

#[derive(Parser, Debug)]
#[command(
    name = "mcpctl",
    version,
    about = "Build, run, update and watch a containerized Python MCP server",
    long_about = "Build, run, update and watch a containerized Python MCP server on docker, podman \
                  or nerdctl. Run it in the server's project directory (or pass -C DIR).",
    after_help = "Exit codes: 0 ok, 1 failed, 2 usage or configuration error, 130 interrupted."
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,

    #[command(flatten)]
    pub(crate) global: Global,
}

#[derive(Args, Debug, Clone)]
pub(crate) struct Global {
    /// The MCP server's project directory
    #[arg(short = 'C', long = "project-dir", global = true, value_name = "DIR")]
    pub(crate) project_dir: Option<PathBuf>,

    /// Print every engine command as a shell-quoted line, and stream build output
    #[arg(short, long, global = true)]
    pub(crate) verbose: bool,

    /// Fail at once when another mcpctl is working on this project, instead of waiting
    #[arg(long, global = true)]
    pub(crate) no_wait: bool,

    /// Print only warnings, errors and results
    #[arg(short, long, global = true, conflicts_with = "verbose")]
    pub(crate) quiet: bool,

    /// When to use colors (NO_COLOR and CLICOLOR are honoured with auto)
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub(crate) color: ColorChoice,

    #[command(flatten)]
    pub(crate) settings: Overrides,
}

#[derive(Args, Debug, Clone, Default)]
pub(crate) struct InitArgs {
    /// Overwrite files that exist (lists what changes either way)
    #[arg(long)]
    pub(crate) force: bool,
    /// Ask for what cannot be detected (only on a terminal)
    #[arg(long)]
    pub(crate) interactive: bool,
    /// Python package to run as `python -m PACKAGE` [default: detected]
    #[arg(long, value_name = "PACKAGE")]
    pub(crate) package: Option<String>,
    /// The server: a file (server.py), or MODULE:OBJECT for the object the launcher serves
    /// (server:mcp, my_pkg.app:server) [default: detected]
    #[arg(long, value_name = "FILE|MODULE:OBJECT", conflicts_with = "package")]
    pub(crate) entry: Option<String>,
    /// A stdio-only server: the command that runs it over stdio, served over HTTP by a bridge in
    /// the image (e.g. --stdio "mcp-server-time")
    #[arg(long, value_name = "COMMAND")]
    pub(crate) stdio: Option<String>,
    /// A Debian package the server needs at run time, installed in the image (repeatable, e.g.
    /// --apt-package git); added to what init detects from the dependencies and to apt-packages
    #[arg(long = "apt-package", value_parser = crate::config::parse_apt_package, value_name = "PKG")]
    pub(crate) apt_packages: Vec<String>,
    /// How dependencies are installed [default: uv when uv.lock exists, else requirements.txt]
    #[arg(long, value_parser = ["uv", "requirements"], value_name = "HOW")]
    pub(crate) deps: Option<String>,
    /// Private dependencies: install with a build secret (`--secret id=pip_token`), never a build arg
    #[arg(long)]
    pub(crate) private_deps: bool,
    /// Registry image for the compose file (e.g. ghcr.io/org/server) [default: the local image]
    #[arg(long, value_name = "REGISTRY")]
    pub(crate) registry: Option<String>,
}

#[derive(Args, Debug, Clone, Default)]
pub(crate) struct PublishArgs {
    /// Registry repository, e.g. ghcr.io/org/server or 127.0.0.1:5000/server [default: registry in config]
    #[arg(long, value_name = "REPO")]
    pub(crate) registry: Option<String>,
    /// Target platform [default: linux/amd64, or platform in config]
    #[arg(long, value_name = "PLATFORM")]
    pub(crate) platform: Option<String>,
    /// Build without the cache
    #[arg(long)]
    pub(crate) no_cache: bool,
    /// Print the commands and the version they would publish; change nothing
    #[arg(long)]
    pub(crate) dry_run: bool,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    #[command(flatten)]
    OnEngine(OnEngine),
    /// Write the Dockerfile, .dockerignore, compose file, example.env, nginx block and
    /// .gitignore entries for this project (never overwrites without --force)
    Init(InitArgs),
    /// Print a shell completion script (bash: `mcpctl completions bash > /etc/bash_completion.d/mcpctl`)
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page, in roff (`mcpctl man > ~/.local/share/man/man1/mcpctl.1`)
    Man,
}

/// The commands that work on the project's engine (every one but init, completions and man).
#[derive(Subcommand, Debug)]
pub(crate) enum OnEngine {
    /// Build the image (unless nothing it is built from changed) and start the container
    Start {
        /// Build even when the image was built from exactly these inputs
        #[arg(long)]
        rebuild: bool,
    },
    /// Stop and remove the container (volumes are kept)
    Stop,
    /// Stop and start again without rebuilding, on the saved port
    Restart,
    /// Rebuild the image and replace the container on the same port (use after code changes);
    /// with nothing changed, nothing is touched
    Update {
        /// Build and replace even when nothing changed
        #[arg(long)]
        rebuild: bool,
    },
    /// Show the container's status
    Status {
        /// Print one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Show the container's logs (follows by default)
    Logs {
        /// Number of lines from the end to show
        #[arg(long, value_name = "N")]
        tail: Option<u32>,
        /// Print what is there and exit
        #[arg(long)]
        no_follow: bool,
        /// The front's log (its requests and reloads) instead of the server's
        #[arg(long)]
        front: bool,
    },
    /// Requests through the front per tool and server: calls, errors, p50/p99 latency
    Stats {
        /// Print one JSON object
        #[arg(long)]
        json: bool,
    },
    /// Return to the image the last update replaced, on the same port
    Rollback,
    /// Build for a platform, tag REGISTRY:N+1 and :latest, push both, then bump VERSION
    Publish(PublishArgs),
    /// Print the `claude mcp add` line and the .mcp.json entry for the running server
    Client {
        /// Merge the entry into the project's .mcp.json, keeping the other servers there
        #[arg(long)]
        write: bool,
        /// Add `Authorization: Bearer ${VAR}` to the entry, read from this environment variable
        /// when the client runs (the token itself is never written)
        #[arg(long, value_name = "VAR")]
        token_env: Option<String>,
        /// Use this URL instead of the local endpoint (e.g. behind nginx)
        #[arg(long, value_name = "URL")]
        url: Option<String>,
    },
    /// Stop and remove the container; with --volumes also delete its volumes (asks first)
    Down {
        /// Also delete the volumes and all the data in them
        #[arg(long)]
        volumes: bool,
        /// Do not ask before deleting volumes
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// List every container mcpctl manages on this engine
    List {
        /// Print one JSON array
        #[arg(long)]
        json: bool,
    },
}

impl Command {
    pub(crate) fn json(&self) -> bool {
        matches!(
            self,
            Command::OnEngine(
                OnEngine::Status { json: true }
                    | OnEngine::List { json: true }
                    | OnEngine::Stats { json: true }
            )
        )
    }
}

/// `completions` and `man`: from the clap definition, needing no project and no engine.
pub(crate) fn print_completions(shell: clap_complete::Shell) -> std::io::Result<()> {
    use clap::CommandFactory;
    clap_complete::generate(shell, &mut Cli::command(), "mcpctl", &mut std::io::stdout());
    Ok(())
}

pub(crate) fn print_man() -> std::io::Result<()> {
    use clap::CommandFactory;
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())
}
