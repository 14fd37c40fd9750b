//! Our container's lifecycle, built on the engine's argv and the process layer: look it up, build
//! its image, run it on a free port, stop and remove it. Flows call these; none of them prints a
//! header, so each flow reads top-down like the seed's `cmd_*`.

use std::collections::{BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};

use crate::config::{LABEL_DIGEST, LABEL_PROJECT, Settings};
use crate::digest::{self, BuildDigest};
use crate::engine::{self, BuildOptions, ContainerInfo, Engine, Failure, RunOptions};
use crate::error::{Reported, usage};
use crate::ports;
use crate::process;
use crate::ui::Ui;

/// What exists under our container's name.
#[derive(Debug, Clone)]
pub enum Lookup {
    Missing,
    Ours(ContainerInfo),
    /// A same-named container mcpctl did not create: never stopped or removed by us.
    Foreign(ContainerInfo),
}

impl Lookup {
    pub fn ours(&self) -> Option<&ContainerInfo> {
        match self {
            Lookup::Ours(c) => Some(c),
            _ => None,
        }
    }
}

/// One `container inspect`: existence, state, health, labels and ports in a single engine call.
/// It is also the "does the engine answer" check.
pub fn lookup(engine: &Engine, s: &Settings) -> anyhow::Result<Lookup> {
    lookup_named(engine, s, &s.container)
}

/// The same for another of our names (the new container of a swap).
pub fn lookup_named(engine: &Engine, s: &Settings, name: &str) -> anyhow::Result<Lookup> {
    Ok(lookup_many(engine, s, &[name])?.remove(0))
}

/// Several names in one engine call (our container and its `-next`: podman's calls cost
/// 0.1 s each). The engines print the ones that exist and name the missing ones on stderr.
pub fn lookup_many(engine: &Engine, s: &Settings, names: &[&str]) -> anyhow::Result<Vec<Lookup>> {
    let stdout = match engine.call_expecting(engine.inspect_many_args(names), &[Failure::NoSuchContainer])? {
        Ok(out) => out.stdout,
        // Some or all are missing: the found ones are still on stdout.
        Err(missing) => missing.process.stdout,
    };
    let found = if stdout.trim().is_empty() { Vec::new() } else { engine::parse_inspect(&stdout)? };
    Ok(names
        .iter()
        .map(|name| match found.iter().find(|c| c.name == *name) {
            None => Lookup::Missing,
            Some(c) if c.project_label() == Some(s.name.as_str()) => Lookup::Ours(c.clone()),
            Some(c) => Lookup::Foreign(c.clone()),
        })
        .collect())
}

pub fn foreign_error(engine: &Engine, s: &Settings, c: &ContainerInfo) -> anyhow::Error {
    let who = match c.project_label() {
        Some(other) => format!("it belongs to mcpctl project '{other}'"),
        None => format!("it has no {LABEL_PROJECT} label"),
    };
    usage(format!(
        "a container named {} exists but mcpctl did not create it for '{}' ({who}): mcpctl never \
         stops or removes it; remove it yourself (`{} rm -f {}`) or pick another name with --name",
        s.container,
        s.name,
        engine.name(),
        s.container
    ))
}

pub fn require_dockerfile(s: &Settings) -> anyhow::Result<()> {
    if !s.dockerfile.is_file() {
        return Err(usage(format!(
            "no Dockerfile at {}: mcpctl builds the image from it; write one (the README has a \
             template) or point to yours with --dockerfile or dockerfile in [tool.mcpctl]",
            s.dockerfile.display()
        )));
    }
    if !s.context.is_dir() {
        return Err(usage(format!(
            "build context {} is not a directory: fix --context or context in [tool.mcpctl]",
            s.context.display()
        )));
    }
    Ok(())
}

/// Build the image. A spinner on a terminal; the build's own output streamed with -v, and its
/// last lines shown when it fails.
pub fn build(engine: &Engine, s: &Settings, ui: &Ui, opts: &BuildOptions) -> anyhow::Result<Duration> {
    require_dockerfile(s)?;
    let t0 = Instant::now();
    let name = opts.tags.first().unwrap_or(&s.image);
    ui.info(&format!("Building image {name} from {}", s.dockerfile.display()));
    let spinner = ui.spinner("Building image...");
    let mut tail: VecDeque<String> = VecDeque::new();
    let verbose = process::verbose();
    let mut cmd = engine.cmd(engine.build_args(s, opts));
    for (k, v) in engine.build_env(s) {
        cmd = cmd.env(k, v);
    }
    let out = cmd.stream_lines(|line| {
        if verbose {
            spinner.println(ui, line);
        }
        if tail.len() == 30 {
            tail.pop_front();
        }
        tail.push_back(line.to_string());
        if let Some(step) = build_step(line) {
            spinner.set_message(&format!("Building image... {step}"));
        }
    })?;
    spinner.finish();
    if !out.success() && Failure::of(&out.stdout) == Failure::NeedsBuildx {
        return Err(usage(
            "build secrets need BuildKit, and this docker client has it only with the buildx plugin: \
             install docker-buildx, use a client with BuildKit built in (--engine /usr/bin/docker on \
             Debian 12), or build with podman",
        ));
    }
    if !out.success() {
        if !verbose {
            ui.error("Build output (last lines):");
            for l in tail.iter().filter(|l| !l.trim().is_empty()) {
                ui.raw_err(l);
            }
        }
        ui.error(&format!(
            "Failed to build image {} ({} exited with {}): fix the error above and run again",
            name,
            engine.name(),
            out.code.map(|c| c.to_string()).unwrap_or_else(|| "a signal".into())
        ));
        return Err(anyhow::Error::new(Reported));
    }
    let took = t0.elapsed();
    ui.success(&format!("Image built ({})", crate::ui::secs(took)));
    Ok(took)
}

/// The project's image as it is now, after `ensure_image`.
pub struct Image {
    pub id: String,
    /// How long the build took (zero when skipped).
    pub took: Duration,
    pub built: bool,
}

/// Build the image unless the one there was built from exactly these inputs (its digest label
/// matches, digest.rs); `rebuild` builds anyway. Says which way it went, and why.
pub fn ensure_image(engine: &Engine, s: &Settings, ui: &Ui, rebuild: bool) -> anyhow::Result<Image> {
    require_dockerfile(s)?;
    // Independent engine calls and file hashing: side by side (podman's calls cost 0.1 s each).
    let (wanted, have) = std::thread::scope(|sc| {
        let have = sc.spawn(|| image_info(engine, &s.image));
        let wanted = build_digest(engine, s);
        (wanted, have.join().unwrap_or_else(|_| Err(anyhow!("the image lookup panicked"))))
    });
    let (wanted, have) = (wanted?, have?);
    let have_digest = have.as_ref().and_then(|i| i.labels.get(LABEL_DIGEST)).map(String::as_str);
    if let (Some(img), Some(d)) = (&have, wanted.digest())
        && have_digest == Some(d)
        && !rebuild
    {
        ui.success(&format!(
            "Image {} is up to date: nothing it is built from changed (--rebuild builds anyway)",
            s.image
        ));
        return Ok(Image { id: img.id.clone(), took: Duration::ZERO, built: false });
    }
    explain_build(s, ui, &wanted, have_digest, rebuild);
    let opts = BuildOptions { digest: wanted.digest().map(str::to_string), ..Default::default() };
    let took = build(engine, s, ui, &opts)?;
    if let BuildDigest::Known { digest, inputs } = &wanted {
        digest::remember(&s.cache_dir, digest, inputs);
    }
    let id = image_info(engine, &s.image)?.map(|i| i.id).unwrap_or_default();
    Ok(Image { id, took, built: true })
}

/// Why a build runs: forced, never built, unknowable, or what changed (all of it with -v).
fn explain_build(s: &Settings, ui: &Ui, wanted: &BuildDigest, have: Option<&str>, rebuild: bool) {
    const SHOWN: usize = 3;
    match (wanted, have) {
        _ if rebuild => ui.info("Building (--rebuild)"),
        (BuildDigest::Unknown(why), _) => {
            ui.info(&format!("Building: {why}, so mcpctl cannot tell whether anything changed"))
        }
        (BuildDigest::Known { .. }, None) => {}
        (BuildDigest::Known { inputs, .. }, Some(old)) => {
            let Some(before) = digest::recall(&s.cache_dir, old) else {
                ui.info(&format!("Building: {} was built from other inputs", s.image));
                return;
            };
            let changes = inputs.changes_since(&before);
            let shown = if process::verbose() { changes.len() } else { SHOWN };
            let mut line = changes.iter().take(shown).cloned().collect::<Vec<_>>().join(", ");
            if changes.len() > shown {
                line.push_str(&format!(" and {} more (-v lists them)", changes.len() - shown));
            }
            ui.info(&format!("Building: since {} was built, {line}", s.image));
        }
    }
}

/// The digest of what a build of the project would read now.
fn build_digest(engine: &Engine, s: &Settings) -> anyhow::Result<BuildDigest> {
    let text = std::fs::read_to_string(&s.dockerfile)
        .map_err(|e| anyhow!("cannot read {}: {e}", s.dockerfile.display()))?;
    let base = digest::base_images(&text, &s.build_args);
    let ids = image_ids(engine, &base.images)?;
    let labels = engine::build_labels(s);
    let req = digest::Request {
        context: &s.context,
        dockerfile: &s.dockerfile,
        build_args: &s.build_args,
        secrets: &s.build_secrets,
        platform: None,
        labels: &labels,
        semantics: &engine.context_semantics(s),
    };
    req.digest(&text, &base, ids.as_deref())
}

/// The engine's ids for these images, in order; None when one of them is not there.
pub fn image_ids(engine: &Engine, images: &[String]) -> anyhow::Result<Option<Vec<String>>> {
    if images.is_empty() {
        return Ok(Some(Vec::new()));
    }
    let Ok(out) =
        engine.call_expecting(engine.image_ids_args(images), &[Failure::NoSuchImage, Failure::Other])?
    else {
        return Ok(None);
    };
    let ids: Vec<String> =
        out.stdout.lines().map(|l| l.trim().to_string()).filter(|l| !l.is_empty()).collect();
    Ok((ids.len() == images.len()).then_some(ids))
}

/// An image's id and labels, or None when there is no such image.
pub fn image_info(engine: &Engine, image: &str) -> anyhow::Result<Option<engine::ImageInfo>> {
    let Ok(out) =
        engine.call_expecting(engine.image_inspect_args(image), &[Failure::NoSuchImage, Failure::Other])?
    else {
        return Ok(None);
    };
    Ok(engine::parse_image_inspect(&out.stdout)?.into_iter().next())
}

/// "Step 3/12 : RUN ..." (docker) or "STEP 3/12: RUN ..." (podman) → "3/12".
fn build_step(line: &str) -> Option<String> {
    let l = line.trim_start();
    let rest = l.strip_prefix("Step ").or_else(|| l.strip_prefix("STEP "))?;
    let n: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '/').collect();
    (n.contains('/')).then_some(n)
}

/// Why `run` failed.
pub enum RunFailure {
    PortTaken,
    Other(anyhow::Error),
}

/// Run the container on `port`. A failed run leaves a "created" container behind on every
/// engine (recorded in fixtures/engine-outputs), so it is removed here.
pub fn run(engine: &Engine, s: &Settings, port: u16) -> Result<String, RunFailure> {
    let expected = [Failure::NameTaken, Failure::PortTaken, Failure::NoSuchImage, Failure::Other];
    let failed = match engine.run_expecting(&engine.run_or_create(s, &RunOptions::new(s, port)), &expected) {
        Ok(Ok(out)) => return Ok(out.stdout.trim().to_string()),
        Ok(Err(failed)) => failed,
        Err(e) => return Err(RunFailure::Other(e)),
    };
    if failed.failure == Failure::NameTaken {
        // Someone else's container took the name between our lookup and our run: leave it be.
        return Err(RunFailure::Other(usage(format!(
            "a container named {} appeared while mcpctl was starting one ({}): mcpctl does not \
             remove it; run `mcpctl status` and try again",
            s.container,
            failed.reason()
        ))));
    }
    let _ = force_remove(engine, &s.container);
    Err(match failed.failure {
        Failure::PortTaken => RunFailure::PortTaken,
        Failure::NoSuchImage => RunFailure::Other(anyhow!(
            "no image {} to run ({}): build it with `mcpctl start` or `mcpctl update`",
            s.image,
            failed.reason()
        )),
        _ => RunFailure::Other(
            anyhow::Error::new(failed).context(format!("Failed to start container {}", s.container)),
        ),
    })
}

fn no_free_port(s: &Settings) -> anyhow::Error {
    anyhow!(
        "no free port in {}-{} on {}: all {} are in use; free one, or set another base port \
         (--base-port or base-port in [tool.mcpctl])",
        s.base_port,
        s.base_port as u32 + crate::config::PORT_TRIES as u32 - 1,
        s.publish_address,
        crate::config::PORT_TRIES
    )
}

pub fn check_some_port_free(s: &Settings, preferred: Option<u16>) -> anyhow::Result<()> {
    ports::choose(s.publish_address, s.base_port, preferred, &BTreeSet::new(), ports::is_free)
        .map(|_| ())
        .ok_or_else(|| no_free_port(s))
}

/// Run on the preferred port if free, else the first free one from the base port; when the engine
/// still finds the port taken (a race, or a bind the probe cannot see), take the next.
pub fn run_on_free_port(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    preferred: Option<u16>,
) -> anyhow::Result<u16> {
    if s.publish_address.is_unspecified() {
        ui.warning(&format!(
            "publishing on {}: anyone on the network can reach this unauthenticated server",
            s.publish_address
        ));
    }
    let mut skip = BTreeSet::new();
    loop {
        let port = ports::choose(s.publish_address, s.base_port, preferred, &skip, ports::is_free)
            .ok_or_else(|| no_free_port(s))?;
        if let Some(p) = preferred
            && p != port
            && skip.is_empty()
        {
            ui.warning(&format!(
                "saved port {p} is in use by something else: moving to port {port} (update your client's URL)"
            ));
        }
        ui.info(&format!("Starting container on port {port}..."));
        match run(engine, s, port) {
            Ok(_) => {
                ui.success(&format!("Container started on port {port}"));
                return Ok(port);
            }
            Err(RunFailure::PortTaken) => {
                ui.warning(&format!("port {port} was taken when the engine bound it; trying the next one"));
                skip.insert(port);
            }
            Err(RunFailure::Other(e)) => return Err(e),
        }
    }
}

/// Stop and remove our container. Failure is reported as failure.
pub fn stop_and_remove(engine: &Engine, s: &Settings, c: &ContainerInfo) -> anyhow::Result<()> {
    if c.running || c.restarting || c.status == "paused" {
        stop(engine, &c.name, s.stop_timeout)?;
    }
    remove(engine, &c.name)
}

pub fn stop(engine: &Engine, name: &str, timeout: u32) -> anyhow::Result<()> {
    let _gone_is_stopped = engine
        .call_expecting(engine.stop_args(name, timeout), &[Failure::NoSuchContainer])
        .with_context(|| format!("Failed to stop {name}"))?;
    Ok(())
}

pub fn remove(engine: &Engine, name: &str) -> anyhow::Result<()> {
    let _gone_is_removed = engine
        .call_expecting(engine.rm_args(name), &[Failure::NoSuchContainer])
        .with_context(|| format!("Failed to remove {name}"))?;
    Ok(())
}

/// Start an existing (created or stopped) container of ours.
pub fn start_existing(engine: &Engine, name: &str) -> anyhow::Result<()> {
    engine.call(engine.start_args(name)).with_context(|| format!("Failed to start {name}"))?;
    Ok(())
}

/// The id of an image, or None when there is no such image.
pub fn image_id(engine: &Engine, image: &str) -> anyhow::Result<Option<String>> {
    match engine.call_expecting(engine.image_id_args(image), &[Failure::NoSuchImage, Failure::Other])? {
        Ok(out) => Ok(Some(out.stdout.trim().to_string()).filter(|s| !s.is_empty())),
        Err(_) => Ok(None),
    }
}

pub fn tag(engine: &Engine, source: &str, target: &str) -> anyhow::Result<()> {
    engine
        .call(engine.tag_args(source, target))
        .with_context(|| format!("Failed to tag {source} as {target}"))?;
    Ok(())
}

/// Remove an image tag; a tag that is not there is already gone.
pub fn untag(engine: &Engine, image: &str) -> anyhow::Result<()> {
    let _gone = engine.call_expecting(engine.rmi_args(image), &[Failure::NoSuchImage])?;
    Ok(())
}

/// `rm -f`, only for a container we just created ourselves; one that is not there is gone.
pub fn force_remove(engine: &Engine, name: &str) -> anyhow::Result<()> {
    let _gone = engine.call_expecting(engine.force_rm_args(name), &[Failure::NoSuchContainer])?;
    Ok(())
}

/// The last `n` log lines, stdout and stderr together.
pub fn log_tail(engine: &Engine, name: &str, n: u32) -> Vec<String> {
    match engine.cmd(engine.logs_args(name, false, Some(n))).output() {
        Ok(out) => {
            let mut lines: Vec<String> =
                out.stdout.lines().chain(out.stderr.lines()).map(str::to_string).collect();
            // stdout and stderr arrive separately; keep the newest n overall.
            let len = lines.len();
            if len > n as usize {
                lines.drain(..len - n as usize);
            }
            lines
        }
        Err(_) => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn build_steps_from_both_builders() {
        assert_eq!(build_step("Step 3/12 : RUN uv sync").as_deref(), Some("3/12"));
        assert_eq!(build_step("STEP 4/9: COPY . ."), Some("4/9".into()));
        assert_eq!(build_step(" ---> Running in abc"), None);
    }
}
