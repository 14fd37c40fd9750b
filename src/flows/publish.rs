//! `mcpctl publish`: build for one platform, push REGISTRY:N+1 and :latest. VERSION holds the last
//! published number; without it the first publish is 1 and creates it. Anything but a number is
//! an error. The build is for one platform and tagged REGISTRY:N+1 and REGISTRY:latest; both are
//! pushed; only then is N+1 written to VERSION, so a failed push leaves it as it was.

use anyhow::{Context, anyhow};

use crate::cli::PublishArgs;
use crate::config::valid_image_ref;
use crate::container;
use crate::engine::BuildOptions;
use crate::error::Explained;
use crate::flows::Ctx;

pub(crate) const DEFAULT_PLATFORM: &str = "linux/amd64";

/// The number in VERSION; missing → 0, so the first publish is 1.
pub(crate) fn read_version(path: &std::path::Path) -> anyhow::Result<(u64, bool)> {
    match std::fs::read_to_string(path) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok((0, true)),
        Err(e) => Err(anyhow!("cannot read {}: {e}", path.display())),
        Ok(text) => {
            let t = text.trim();
            if !t.is_empty() && t.chars().all(|c| c.is_ascii_digit()) {
                t.parse::<u64>().map(|n| (n, false)).map_err(|_| {
                    Explained::usage(format!("{}: {t} is too large a version number", path.display())).into()
                })
            } else {
                let held = t.chars().take(40).collect::<String>();
                Err(Explained::usage(format!("{} holds {held:?}, not a number", path.display()))
                    .why("it must hold the last published version as a whole number (e.g. 1)")
                    .fix("fix it and run again")
                    .into())
            }
        }
    }
}

pub(crate) fn publish(ctx: &Ctx, args: &PublishArgs) -> anyhow::Result<()> {
    let (s, ui, engine) = (&ctx.s, &ctx.ui, &ctx.engine);
    let registry = args.registry.clone().or_else(|| s.registry.clone()).ok_or_else(|| {
        Explained::usage("no registry to publish to")
            .fix("pass --registry REPO (e.g. ghcr.io/org/server) or set registry in [tool.mcpctl]")
    })?;
    let registry = registry.trim_end_matches('/').to_string();
    let has_tag = registry.rsplit_once(':').is_some_and(|(_, t)| !t.contains('/'));
    if has_tag || !valid_image_ref(&registry) {
        return Err(Explained::usage(format!(
            "registry {registry:?} is not an image repository without a tag, e.g. ghcr.io/org/server or 127.0.0.1:5000/server"
        ))
        .into());
    }
    let platform = args.platform.clone().or_else(|| s.platform.clone()).unwrap_or(DEFAULT_PLATFORM.into());
    let version_file = s.project_dir.join("VERSION");
    let (current, create) = read_version(&version_file)?;
    let next = current + 1;
    let (tag_n, tag_latest) = (format!("{registry}:{next}"), format!("{registry}:latest"));
    let build = BuildOptions {
        no_cache: args.no_cache,
        tags: vec![tag_n.clone(), tag_latest.clone()],
        platform: Some(platform),
        digest: None,
    };

    ui.title("Publish", &ctx.project_on_host());
    if args.dry_run {
        let from = if create { "no VERSION yet".to_string() } else { format!("VERSION {current}") };
        ui.result_info(&format!("Would publish {tag_n} and {tag_latest} ({from} → {next})"));
        for a in [engine.build_args(s, &build), engine.push_args(&tag_n), engine.push_args(&tag_latest)] {
            ui.command_line(&engine.cmd(a).to_string());
        }
        return Ok(());
    }
    let _lock = ctx.lock("publish")?;
    if create {
        ui.info(&format!("No {}: this is version 1", version_file.display()));
    }

    ui.header(&format!("Step 1: Building {tag_n}"));
    container::build(engine, s, ui, &build)?;

    ui.header("Step 2: Pushing");
    for tag in [&tag_n, &tag_latest] {
        let spinner = ui.spinner(&format!("Pushing {tag}..."));
        let pushed = engine.call(engine.push_args(tag));
        spinner.finish();
        pushed.with_context(|| format!("Push of {tag} failed (VERSION stays {current})"))?;
        ui.success(&format!("Pushed {tag}"));
    }
    crate::state::write_atomic(&version_file, &format!("{next}\n"))
        .map_err(|e| anyhow!("pushed {tag_n} and :latest, but {e:#}: put {next} in it by hand"))?;

    ui.header("Publish Complete");
    ui.result_success(&format!("Published {tag_n} and :latest; VERSION is now {next}"));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_file_rules() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("VERSION");
        assert_eq!(read_version(&p).unwrap(), (0, true));
        std::fs::write(&p, "7\n").unwrap();
        assert_eq!(read_version(&p).unwrap(), (7, false));
        for bad in ["", "v2", "1.2", "-1", "abc\n"] {
            std::fs::write(&p, bad).unwrap();
            let e = read_version(&p).unwrap_err();
            assert_eq!(crate::error::exit_code(&e), 2, "{bad}");
            assert!(e.to_string().contains("not a number"), "{e}");
        }
    }
}
