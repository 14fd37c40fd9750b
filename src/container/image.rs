//! The project's image: built only when what the build reads changed (the digest label, see
//! digest.rs), with the build's own output shown when it fails; tags for rollback.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

use anyhow::{Context, anyhow};

use crate::config::{LABEL_DIGEST, Settings};
use crate::digest::{self, BuildDigest};
use crate::engine::{self, BuildOptions, Engine, Failure};
use crate::error::Explained;
use crate::process;
use crate::ui::Ui;

pub(crate) fn require_dockerfile(s: &Settings) -> anyhow::Result<()> {
    if !s.dockerfile.is_file() {
        return Err(Explained::usage(format!("no Dockerfile at {}", s.dockerfile.display()))
            .why("mcpctl builds the image from it")
            .fix("write one (the README has a template) or point to yours with --dockerfile or dockerfile in [tool.mcpctl]")
            .into());
    }
    if !s.context.is_dir() {
        return Err(Explained::usage(format!("build context {} is not a directory", s.context.display()))
            .fix("fix --context or context in [tool.mcpctl]")
            .into());
    }
    Ok(())
}

/// Build the image. A spinner on a terminal; the build's own output streamed with -v, and its
/// last lines shown when it fails.
pub(crate) fn build(engine: &Engine, s: &Settings, ui: &Ui, opts: &BuildOptions) -> anyhow::Result<Duration> {
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
        return Err(engine::needs_buildx().into());
    }
    if !out.success() {
        let failed = Explained::new(format!(
            "Failed to build image {} ({} exited with {})",
            name,
            engine.name(),
            out.code.map(|c| c.to_string()).unwrap_or_else(|| "a signal".into())
        ))
        .fix("fix the error above and run again");
        // With -v the whole output has just streamed by.
        let lines: Vec<String> = tail.into_iter().filter(|l| !l.trim().is_empty()).collect();
        return Err(anyhow::Error::new(if verbose {
            failed
        } else {
            failed.evidence("Build output (last lines):", lines)
        }));
    }
    let took = t0.elapsed();
    ui.success(&format!("Image built ({})", crate::ui::secs(took)));
    Ok(took)
}

/// The project's image as it is now, after `ensure_image`.
pub(crate) struct Image {
    pub(crate) id: String,
    /// How long the build took (zero when skipped).
    pub(crate) took: Duration,
}

/// What a build would read now and what the engine has: read-only, so a flow can work it out
/// beside its container lookup.
pub(crate) struct ImagePlan {
    wanted: BuildDigest,
    have: Option<engine::ImageInfo>,
    /// `run-image`: a published image to pull instead of a build.
    run: Option<String>,
}

pub(crate) fn image_plan(engine: &Engine, s: &Settings) -> anyhow::Result<ImagePlan> {
    if let Some(r) = &s.run_image {
        return Ok(ImagePlan {
            wanted: BuildDigest::Unknown("a published image".into()),
            have: None,
            run: Some(r.clone()),
        });
    }
    require_dockerfile(s)?;
    let text = std::fs::read_to_string(&s.dockerfile)
        .map_err(|e| anyhow!("cannot read {}: {e}", s.dockerfile.display()))?;
    let base = digest::base_images(&text, &s.build_args);
    // Our image and the base images in one call: podman's calls cost 0.1 s each.
    let names: Vec<String> = std::iter::once(s.image.clone()).chain(base.images.iter().cloned()).collect();
    let (have, base_ids) = match images(engine, &names)? {
        Some(mut all) => {
            let have = all.remove(0);
            (Some(have), Some(all.into_iter().map(|i| i.id).collect::<Vec<_>>()))
        }
        // Not built yet, or a base image is missing: one by one, to tell which.
        None => (image_info(engine, &s.image)?, image_ids(engine, &base.images)?),
    };
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
    Ok(ImagePlan { wanted: req.digest(&text, &base, base_ids.as_deref())?, have, run: None })
}

/// Build the image unless the one there was built from exactly these inputs (its digest label
/// matches, digest.rs); `rebuild` builds anyway. Says which way it went, and why.
pub(crate) fn ensure_image(
    engine: &Engine,
    s: &Settings,
    ui: &Ui,
    plan: ImagePlan,
    rebuild: bool,
) -> anyhow::Result<Image> {
    let ImagePlan { wanted, have, run } = plan;
    if let Some(reference) = run {
        return pull(engine, s, ui, &reference);
    }
    warn_about_apt_packages(s, ui);
    let have_digest = have.as_ref().and_then(|i| i.labels.get(LABEL_DIGEST)).map(String::as_str);
    if let (Some(img), Some(d)) = (&have, wanted.digest())
        && have_digest == Some(d)
        && !rebuild
    {
        ui.success(&format!(
            "Image {} is up to date: nothing it is built from changed (--rebuild builds anyway)",
            s.image
        ));
        return Ok(Image { id: img.id.clone(), took: Duration::ZERO });
    }
    explain_build(s, ui, &wanted, have_digest, rebuild);
    let opts = BuildOptions { digest: wanted.digest().map(str::to_string), ..Default::default() };
    let took = build(engine, s, ui, &opts)?;
    if let BuildDigest::Known { digest, inputs } = &wanted {
        digest::remember(&s.paths.cache_dir, digest, inputs);
    }
    let id = image_info(engine, &s.image)?.map(|i| i.id).unwrap_or_default();
    Ok(Image { id, took })
}

/// Pull a published image on the engine's host and give it the project's image name, so the
/// rest (rollback's `:previous`, restart) works as for a built one. Pulling by tag each time is
/// what picks up a new `:latest`; the same image pulled again is "nothing changed" for update.
fn pull(engine: &Engine, s: &Settings, ui: &Ui, reference: &str) -> anyhow::Result<Image> {
    let t0 = Instant::now();
    let on = engine.host.label().map(|h| format!(" on {h}")).unwrap_or_default();
    ui.info(&format!("Pulling {reference}{on} (run-image: no build)"));
    let spinner = ui.spinner(&format!("Pulling {reference}..."));
    let res = engine.call(engine.pull_args(reference));
    spinner.finish();
    res.map_err(|e| {
        anyhow::Error::new(
            Explained::new(format!("cannot pull {reference}{on}")).why(engine::engine_reason(&e)).fix(
                format!(
                    "check the reference; for a private registry log in first with `{} login REGISTRY` here: \
                     the engine client sends that login with the pull, never in argv",
                    engine.name()
                ),
            ),
        )
    })?;
    tag(engine, reference, &s.image)?;
    let id = image_id(engine, &s.image)?.unwrap_or_default();
    let took = t0.elapsed();
    ui.success(&format!("Image {reference} pulled ({})", crate::ui::secs(took)));
    Ok(Image { id, took })
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
            let Some(before) = digest::recall(&s.paths.cache_dir, old) else {
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

/// The engine's ids for these images, in order; None when one of them is not there.
pub(crate) fn image_ids(engine: &Engine, images: &[String]) -> anyhow::Result<Option<Vec<String>>> {
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

/// The ids and labels of several images in one call; None when one of them is not there.
pub(crate) fn images(engine: &Engine, names: &[String]) -> anyhow::Result<Option<Vec<engine::ImageInfo>>> {
    let expected = [Failure::NoSuchImage, Failure::Other];
    let Ok(out) = engine.call_expecting(engine.images_args(names), &expected)? else {
        return Ok(None);
    };
    let all = engine::parse_id_labels(&out.stdout)?;
    Ok((all.len() == names.len()).then_some(all))
}

/// An image's id and labels, or None when there is no such image.
pub(crate) fn image_info(engine: &Engine, image: &str) -> anyhow::Result<Option<engine::ImageInfo>> {
    let Ok(out) =
        engine.call_expecting(engine.image_inspect_args(image), &[Failure::NoSuchImage, Failure::Other])?
    else {
        return Ok(None);
    };
    Ok(engine::parse_image_inspect(&out.stdout)?.into_iter().next())
}

/// Whether two images are the same image for a container: the same id, or the same layers and
/// config apart from mcpctl's digest label (`engine::ImageContent`). A build from a context in
/// which only files the Dockerfile never copies changed gives every layer from the engine's cache,
/// yet another id, because the new digest label is part of the config the id hashes. Comparing
/// layers and config is what both engines' recorded outputs allow, in the one build update makes
/// anyway; building once more without the label to compare ids would cost a second build.
/// An image that is gone, or an answer without layers, is not the same: replacing is the safe side.
pub(crate) fn same_image(engine: &Engine, a: &str, b: &str) -> anyhow::Result<bool> {
    if a == b {
        return Ok(true);
    }
    let expected = [Failure::NoSuchImage, Failure::Other];
    let Ok(out) = engine.call_expecting(engine.images_inspect_args(&[a, b]), &expected)? else {
        return Ok(false);
    };
    let found = engine::parse_image_inspect(&out.stdout)?;
    let content = |id: &str| found.iter().find(|i| same_id(&i.id, id)).and_then(|i| i.content.clone());
    Ok(match (content(a), content(b)) {
        (Some(x), Some(y)) => x.same_as(&y),
        _ => false,
    })
}

/// Ids as the engines print them: docker with `sha256:`, podman without.
fn same_id(x: &str, y: &str) -> bool {
    let bare = |s: &str| s.strip_prefix("sha256:").unwrap_or(s).to_string();
    bare(x) == bare(y)
}

/// "Step 3/12 : RUN ..." (docker) or "STEP 3/12: RUN ..." (podman) → "3/12".
fn build_step(line: &str) -> Option<String> {
    let l = line.trim_start();
    let rest = l.strip_prefix("Step ").or_else(|| l.strip_prefix("STEP "))?;
    let n: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '/').collect();
    (n.contains('/')).then_some(n)
}

/// The id of an image, or None when there is no such image.
pub(crate) fn image_id(engine: &Engine, image: &str) -> anyhow::Result<Option<String>> {
    match engine.call_expecting(engine.image_id_args(image), &[Failure::NoSuchImage, Failure::Other])? {
        Ok(out) => Ok(Some(out.stdout.trim().to_string()).filter(|s| !s.is_empty())),
        Err(_) => Ok(None),
    }
}

pub(crate) fn tag(engine: &Engine, source: &str, target: &str) -> anyhow::Result<()> {
    engine
        .call(engine.tag_args(source, target))
        .with_context(|| format!("Failed to tag {source} as {target}"))?;
    Ok(())
}

/// Remove an image tag; a tag that is not there is already gone.
pub(crate) fn untag(engine: &Engine, image: &str) -> anyhow::Result<()> {
    let _gone = engine.call_expecting(engine.rmi_args(image), &[Failure::NoSuchImage])?;
    Ok(())
}

/// `apt-packages` is init's setting: a Dockerfile written before it, or by hand, may lack them.
fn warn_about_apt_packages(s: &Settings, ui: &Ui) {
    let text = std::fs::read_to_string(&s.dockerfile).unwrap_or_default();
    let missing = not_installed(&text, &s.apt_packages);
    if !missing.is_empty() {
        let them = if missing.len() == 1 { "it" } else { "them" };
        ui.warning(&format!(
            "apt-packages lists {} but {} does not install {them}: `mcpctl init --force` writes {them} into it",
            missing.join(", "),
            s.dockerfile.display(),
        ));
    }
}

/// The packages of `wanted` that no `apt-get install` / `apt install` in the Dockerfile names.
fn not_installed<'a>(dockerfile: &str, wanted: &'a [String]) -> Vec<&'a str> {
    // An install may go on over `\`-continued lines: join them, then look at the install commands.
    let joined = dockerfile.replace("\\\n", " ");
    let installed: Vec<&str> = joined
        .lines()
        .filter(|l| !l.trim_start().starts_with('#'))
        .flat_map(|l| l.split("&&").flat_map(|c| c.split(';')))
        .filter(|c| c.contains("apt-get install") || c.contains("apt install"))
        .flat_map(str::split_whitespace)
        .collect();
    wanted.iter().map(String::as_str).filter(|p| !installed.contains(p)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn apt_packages_the_dockerfile_does_not_install() {
        let wanted = ["git".to_string(), "curl".to_string()];
        let df = "FROM x\n# git: for GitPython\nRUN apt-get update && \\\n    apt-get install -y --no-install-recommends \\\n      git && rm -rf /var/lib/apt/lists/*\n";
        assert_eq!(not_installed(df, &wanted), ["curl"]);
        assert_eq!(not_installed("RUN apt install -y curl git\n", &wanted), Vec::<&str>::new());
        assert_eq!(not_installed("RUN echo git curl\n", &wanted), ["git", "curl"]);
        assert!(not_installed("FROM x\n", &[]).is_empty());
    }

    #[test]
    fn build_steps_from_both_builders() {
        assert_eq!(build_step("Step 3/12 : RUN uv sync").as_deref(), Some("3/12"));
        assert_eq!(build_step("STEP 4/9: COPY . ."), Some("4/9".into()));
        assert_eq!(build_step(" ---> Running in abc"), None);
    }
}
