//! mcpctl's parsers and error classifiers against the real docker 28, docker 20 and podman 4.3
//! outputs recorded in fixtures/engine-outputs (see its README for how each case was made).

use std::collections::BTreeSet;

use mcpctl::engine::{
    ContainerInfo, EngineKind, PsEntry, is_name_taken, is_no_such_container, is_port_taken, is_unreachable,
    only_missing_containers, parse_id_labels, parse_image_inspect, parse_inspect, parse_ps,
};

use crate::support::{Client, recording};

fn kind(c: Client) -> EngineKind {
    match c {
        Client::Docker28 | Client::Docker20 => EngineKind::Docker,
        Client::Podman => EngineKind::Podman,
    }
}

/// The one container a recorded `container inspect` describes.
#[track_caller]
fn inspect(c: Client, case: &str) -> ContainerInfo {
    let all = parse_inspect(&recording(c, case, "stdout"))
        .unwrap_or_else(|e| panic!("{}/{case}: parse_inspect failed: {e}", c.dir()));
    assert_eq!(all.len(), 1, "{}/{case}: {all:?}", c.dir());
    all.into_iter().next().unwrap()
}

#[track_caller]
fn ps(c: Client, case: &str) -> Vec<PsEntry> {
    parse_ps(kind(c), &recording(c, case, "stdout"))
        .unwrap_or_else(|e| panic!("{}/{case}: parse_ps failed: {e}", c.dir()))
}

fn is_hex(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_hexdigit())
}

// ---- container inspect ----------------------------------------------------------------------------

#[test]
fn inspect_running_container_right_after_run_is_starting() {
    for c in Client::ALL {
        let i = inspect(c, "inspect-starting");
        let at = c.dir();
        assert_eq!(i.name, "rec-running", "{at}: the leading / of docker's Name is stripped");
        assert_eq!(i.status, "running", "{at}");
        assert!(i.running && !i.restarting, "{at}: {i:?}");
        assert_eq!(i.health.as_deref(), Some("starting"), "{at}");
        assert!(i.has_healthcheck, "{at}");
        assert_eq!(i.host_port(3001), Some(18700), "{at}");
        assert_eq!(i.host_port(3002), None, "{at}");
        assert_eq!(i.exit_code, 0, "{at}");
        assert_eq!(i.restart_count, 0, "{at}");
        assert_eq!(i.id.len(), 64, "{at}: {}", i.id);
        assert!(is_hex(&i.id), "{at}: {}", i.id);
        assert!(!i.started_at.is_empty(), "{at}");
        assert!(i.error.is_empty(), "{at}");
    }
}

#[test]
fn inspect_health_states() {
    for c in Client::ALL {
        let at = c.dir();
        let healthy = inspect(c, "inspect-healthy");
        assert_eq!(
            (healthy.name.as_str(), healthy.health.as_deref()),
            ("rec-running", Some("healthy")),
            "{at}"
        );
        assert!(healthy.has_healthcheck, "{at}");

        let unhealthy = inspect(c, "inspect-unhealthy");
        assert_eq!(unhealthy.name, "rec-unhealthy", "{at}");
        assert_eq!(unhealthy.health.as_deref(), Some("unhealthy"), "{at}");
        assert!(unhealthy.running, "{at}: unhealthy is still running");
        assert!(unhealthy.has_healthcheck, "{at}");
        assert_eq!(unhealthy.host_port(3001), Some(18701), "{at}");
    }
}

#[test]
fn inspect_without_healthcheck_has_no_health() {
    for c in Client::ALL {
        let at = c.dir();
        // docker omits State.Health; podman prints {"Status": ""}: both mean "no health check".
        let raw = recording(c, "inspect-nohc", "stdout");
        if c == Client::Podman {
            assert!(
                raw.contains("\"Status\": \"\""),
                "{at}: the recording should show podman's empty Status"
            );
        }
        let i = inspect(c, "inspect-nohc");
        assert_eq!(i.name, "rec-nohc", "{at}");
        assert_eq!(i.health, None, "{at}");
        assert!(!i.has_healthcheck, "{at}");
        assert!(i.running, "{at}");
        assert_eq!(i.host_port(3001), Some(18702), "{at}");
    }
}

#[test]
fn inspect_exited_container() {
    for c in Client::ALL {
        let at = c.dir();
        let i = inspect(c, "inspect-exited");
        assert_eq!(i.name, "rec-exited", "{at}");
        assert_eq!(i.status, "exited", "{at}");
        assert!(!i.running && !i.restarting, "{at}");
        assert_eq!(i.exit_code, 3, "{at}");
        assert_eq!(i.health, None, "{at}");
        // It was run without -p.
        assert_eq!(i.host_port(3001), None, "{at}");
        assert!(i.ports.is_empty(), "{at}: {:?}", i.ports);
        // What it ran, entrypoint and CMD together (the bridge's child is read from it).
        assert_eq!(i.command, ["python3", "-c", "import sys; print(\"bye\"); sys.exit(3)"], "{at}");
    }
}

#[test]
fn inspect_created_container_keeps_its_port_binding() {
    for c in Client::ALL {
        let at = c.dir();
        let i = inspect(c, "inspect-created");
        assert_eq!(i.name, "rec-created", "{at}");
        assert_eq!(i.status, "created", "{at}");
        assert!(!i.running, "{at}");
        // docker omits State.Health for a never-started container, podman prints Status "".
        assert_eq!(i.health, None, "{at}");
        assert!(i.has_healthcheck, "{at}: the image (rec-hc) has one");
        // docker's NetworkSettings.Ports is {} until it starts: the binding comes from HostConfig.
        assert_eq!(i.host_port(3001), Some(18703), "{at}");
    }
}

#[test]
fn inspect_labels() {
    for c in Client::ALL {
        let at = c.dir();
        for case in
            ["inspect-starting", "inspect-unhealthy", "inspect-nohc", "inspect-exited", "inspect-created"]
        {
            let i = inspect(c, case);
            assert_eq!(i.project_label(), Some("rec"), "{at}/{case}");
            assert_eq!(i.labels.get("io.mcpctl.managed").map(String::as_str), Some("true"), "{at}/{case}");
            assert_eq!(
                i.labels.get("io.mcpctl.recording").map(String::as_str),
                Some("engine-outputs"),
                "{at}/{case}"
            );
        }
        let podman_only = inspect(c, "inspect-healthy").labels.contains_key("io.buildah.version");
        assert_eq!(podman_only, c == Client::Podman, "{at}: buildah adds its version label");
    }
}

#[test]
fn inspect_of_a_missing_container_is_an_empty_array() {
    for c in Client::ALL {
        let at = c.dir();
        assert_eq!(recording(c, "inspect-missing", "stdout").trim(), "[]", "{at}");
        assert!(parse_inspect(&recording(c, "inspect-missing", "stdout")).unwrap().is_empty(), "{at}");
        assert_ne!(recording(c, "inspect-missing", "rc").trim(), "0", "{at}");
    }
    // docker prints [] even when the daemon is unreachable; podman prints nothing, which is no JSON.
    assert!(parse_inspect(&recording(Client::Docker28, "not-running-inspect", "stdout")).unwrap().is_empty());
    let e = parse_inspect(&recording(Client::Podman, "not-running-inspect", "stdout")).unwrap_err();
    assert!(e.to_string().contains("not JSON"), "{e}");
}

// ---- ps ---------------------------------------------------------------------------------------------

const ALL_REC: [&str; 5] = ["rec-created", "rec-exited", "rec-nohc", "rec-running", "rec-unhealthy"];

/// `container inspect A A-next`, one call for both: the found ones on stdout, a line per missing
/// one on stderr, a non-zero exit that only means "some are missing".
#[test]
fn inspect_of_two_names_with_some_missing() {
    for c in Client::ALL {
        let at = c.dir();
        let found = parse_inspect(&recording(c, "inspect-pair-one-missing", "stdout")).unwrap();
        assert_eq!(found.iter().map(|i| i.name.as_str()).collect::<Vec<_>>(), ["rec-pair"], "{at}");
        assert_ne!(recording(c, "inspect-pair-one-missing", "rc").trim(), "0", "{at}");
        assert!(only_missing_containers(&recording(c, "inspect-pair-one-missing", "stderr")), "{at}");
        assert!(
            parse_inspect(&recording(c, "inspect-pair-both-missing", "stdout")).unwrap().is_empty(),
            "{at}"
        );
        let both = recording(c, "inspect-pair-both-missing", "stderr");
        assert_eq!(both.lines().filter(|l| !l.trim().is_empty()).count(), 2, "{at}: {both}");
        assert!(only_missing_containers(&both), "{at}");
        // An engine that cannot be reached is not "missing".
        assert!(!only_missing_containers(&recording(c, "not-running-inspect", "stderr")), "{at}");
        assert!(!only_missing_containers(""), "{at}");
    }
}

/// `image inspect --format '{{.Id}} {{json .Config.Labels}}' A B`: ids and labels in one call.
#[test]
fn ids_and_labels_of_several_images() {
    for c in Client::ALL {
        let at = c.dir();
        let all = parse_id_labels(&recording(c, "image-id-labels", "stdout")).unwrap();
        assert_eq!(all.len(), 2, "{at}");
        assert_eq!(all[0].labels["io.mcpctl.digest"], "sha256:0123", "{at}");
        assert_eq!(all[0].labels["note"], "two words", "{at}: a label with a space");
        assert!(all[1].labels.is_empty(), "{at}: null labels");
        assert_ne!(all[0].id, all[1].id, "{at}");
        assert_ne!(recording(c, "image-id-labels-one-missing", "rc").trim(), "0", "{at}");
        assert_eq!(
            parse_id_labels(&recording(c, "image-id-labels-one-missing", "stdout")).unwrap().len(),
            1,
            "{at}"
        );
    }
}

/// A context built again from the cache with another digest label (a file the Dockerfile never
/// copies changed) gives another id but the same image: the same layers and config but the label.
/// After a change to a copied file the layers differ. On every client, and with BuildKit.
#[test]
fn an_image_rebuilt_with_another_digest_label_is_the_same_image() {
    let cases = Client::ALL.iter().map(|c| (*c, "")).chain([(Client::Docker20, "-buildkit")]);
    for (c, suffix) in cases {
        let at = format!("{}{suffix}", c.dir());
        let pair = |case: &str| {
            let all = parse_image_inspect(&recording(c, &format!("{case}{suffix}"), "stdout")).unwrap();
            assert_eq!(all.len(), 2, "{at}/{case}");
            assert_ne!(all[0].id, all[1].id, "{at}/{case}: the label alone makes another id");
            let content =
                |i: usize| all[i].content.clone().unwrap_or_else(|| panic!("{at}/{case}: no layers"));
            assert!(content(0).layers.len() >= 2, "{at}/{case}: {:?}", content(0).layers);
            (all[0].labels["io.mcpctl.digest"].clone(), content(0), content(1))
        };
        let (digest, first, relabelled) = pair("image-inspect-relabelled");
        assert_eq!(digest, "sha256:aaaa", "{at}");
        assert!(first.same_as(&relabelled), "{at}: {first:?}\n{relabelled:?}");
        let (_, first, changed) = pair("image-inspect-changed");
        assert_ne!(first.layers, changed.layers, "{at}");
        assert!(!first.same_as(&changed), "{at}");
        // The config counts too: another command, environment or label is another image.
        let mut other = relabelled.clone();
        other.config["Env"].as_array_mut().unwrap().push("X=1".into());
        assert!(!first.same_as(&other), "{at}");
    }
}

/// `image inspect --format {{.Id}} A B`: a line per image, in order; a missing one fails the call.
#[test]
fn image_ids_of_several_images() {
    for c in Client::ALL {
        let at = c.dir();
        let ids: Vec<String> =
            recording(c, "image-ids", "stdout").lines().filter(|l| !l.is_empty()).map(String::from).collect();
        assert_eq!(ids.len(), 2, "{at}");
        assert_eq!(ids[0], ids[1], "{at}");
        assert_eq!(recording(c, "image-ids", "rc").trim(), "0", "{at}");
        assert_ne!(recording(c, "image-ids-one-missing", "rc").trim(), "0", "{at}");
        let image = parse_image_inspect(&recording(c, "image-inspect", "stdout")).unwrap();
        assert_eq!(image.len(), 1, "{at}");
        assert_eq!(image[0].labels["io.mcpctl.fixture"], "rec-hc", "{at}: labels from Config.Labels");
        assert!(image[0].id.trim_start_matches("sha256:").len() == 64, "{at}: {}", image[0].id);
    }
}

#[test]
fn ps_by_label_lists_every_recorded_container() {
    for c in Client::ALL {
        let at = c.dir();
        let entries = ps(c, "ps-label");
        let names: BTreeSet<&str> = entries.iter().map(|e| e.name.as_str()).collect();
        assert_eq!(names, ALL_REC.into_iter().collect(), "{at}");
        assert_eq!(entries.len(), 5, "{at}");
        for e in &entries {
            assert_eq!(e.labels.get("io.mcpctl.project").map(String::as_str), Some("rec"), "{at}: {e:?}");
            assert_eq!(e.labels.get("io.mcpctl.managed").map(String::as_str), Some("true"), "{at}: {e:?}");
            assert!(is_hex(&e.id), "{at}: {e:?}");
            // docker: short id (12), podman: full id (64).
            assert_eq!(e.id.len(), if c == Client::Podman { 64 } else { 12 }, "{at}: {e:?}");
            assert!(!e.image.is_empty(), "{at}: {e:?}");
        }
        let by = |n: &str| entries.iter().find(|e| e.name == n).unwrap();
        assert_eq!(by("rec-running").state, "running", "{at}");
        assert!(by("rec-running").status.starts_with("Up "), "{at}: {}", by("rec-running").status);
        assert!(by("rec-running").status.ends_with("(healthy)"), "{at}: {}", by("rec-running").status);
        assert!(by("rec-unhealthy").status.ends_with("(unhealthy)"), "{at}");
        assert_eq!(by("rec-exited").state, "exited", "{at}");
        assert!(by("rec-exited").status.starts_with("Exited (3)"), "{at}: {}", by("rec-exited").status);
        assert_eq!(by("rec-created").state, "created", "{at}: the JSON state is lowercase on podman too");
        assert_eq!(by("rec-created").status, "Created", "{at}");
        let fixture = by("rec-unhealthy").labels.get("io.mcpctl.fixture").cloned();
        assert_eq!(fixture.as_deref(), Some("rec-unhc"), "{at}");
        // podman's image is localhost/NAME:latest; docker's is the bare tag.
        let image = &by("rec-nohc").image;
        if c == Client::Podman {
            assert_eq!(image, "localhost/rec-nohc:latest");
        } else {
            assert_eq!(image, "rec-nohc", "{at}");
        }
    }
}

#[test]
fn ps_shapes_differ_docker_lines_podman_array() {
    let d = recording(Client::Docker28, "ps-label", "stdout");
    assert_eq!(d.lines().filter(|l| l.starts_with('{')).count(), 5, "docker: one object per line");
    let p = recording(Client::Podman, "ps-label", "stdout");
    assert!(p.trim_start().starts_with('['), "podman: one array");
    // The Go-template `{{json .}}` and `--format json` print the same on podman.
    assert_eq!(ps(Client::Podman, "ps-label"), ps(Client::Podman, "ps-label-json"));
    // A podman array is read even when the engine was classified as docker (podman-docker).
    assert_eq!(parse_ps(EngineKind::Docker, &p).unwrap(), ps(Client::Podman, "ps-label"));
    // docker20 orders labels randomly; the map is the same.
    let d20 = ps(Client::Docker20, "ps-label");
    let d28 = ps(Client::Docker28, "ps-label");
    for name in ALL_REC {
        let l20 = &d20.iter().find(|e| e.name == name).unwrap().labels;
        let l28 = &d28.iter().find(|e| e.name == name).unwrap().labels;
        assert_eq!(l20, l28, "{name}");
    }
}

#[test]
fn ps_by_name_and_no_match() {
    for c in Client::ALL {
        let at = c.dir();
        let one = ps(c, "ps-name");
        assert_eq!(one.len(), 1, "{at}");
        assert_eq!(one[0].name, "rec-running", "{at}");
        assert_eq!(one[0].state, "running", "{at}");
        // docker: empty stdout; podman: [].
        assert!(ps(c, "ps-name-anchored-nomatch").is_empty(), "{at}");
        assert!(ps(c, "after-cleanup-ps").is_empty(), "{at}");
    }
    assert_eq!(recording(Client::Podman, "ps-name-anchored-nomatch", "stdout").trim(), "[]");
    assert_eq!(recording(Client::Docker28, "ps-name-anchored-nomatch", "stdout").trim(), "");
    assert_eq!(ps(Client::Podman, "ps-name"), ps(Client::Podman, "ps-name-json"));
    assert!(ps(Client::Podman, "ps-name-anchored-nomatch-json").is_empty());
    // A Go template that is not JSON is an error, not an empty list.
    for c in Client::ALL {
        let text = recording(c, "ps-name-unanchored", "stdout");
        assert_eq!(text.trim(), "rec-running");
        let e = parse_ps(kind(c), &text).unwrap_err();
        assert!(e.to_string().contains("not JSON"), "{}: {e}", c.dir());
    }
}

// ---- what the engine's errors mean --------------------------------------------------------------

fn stderr_of(c: Client, case: &str) -> String {
    recording(c, case, "stderr")
}

#[test]
fn no_such_container_texts() {
    for c in Client::ALL {
        let at = c.dir();
        for case in ["inspect-missing", "stop-missing", "rm-missing"] {
            assert!(is_no_such_container(&stderr_of(c, case)), "{at}/{case}: {}", stderr_of(c, case));
        }
        // rm -f of a missing container: rc 0, and docker still says "No such container".
        assert_eq!(recording(c, "rm-f-missing", "rc").trim(), "0", "{at}");
        assert_eq!(is_no_such_container(&stderr_of(c, "rm-f-missing")), c != Client::Podman, "{at}");
        for case in [
            "not-running-inspect",
            "run-port-taken",
            "run-name-taken",
            "build-fail",
            "image-inspect-missing",
            "volume-inspect-missing",
        ] {
            assert!(!is_no_such_container(&stderr_of(c, case)), "{at}/{case}: {}", stderr_of(c, case));
        }
    }
}

#[test]
fn unreachable_engine_texts() {
    for c in Client::ALL {
        let at = c.dir();
        for case in ["not-running-inspect", "not-running-ps"] {
            assert!(is_unreachable(&stderr_of(c, case)), "{at}/{case}: {}", stderr_of(c, case));
        }
        for case in ["inspect-missing", "stop-missing", "run-port-taken", "run-name-taken", "build-fail"] {
            assert!(!is_unreachable(&stderr_of(c, case)), "{at}/{case}: {}", stderr_of(c, case));
        }
    }
    assert!(is_unreachable(&stderr_of(Client::Podman, "not-running-inspect-container-host")));
    // podman without systemd complains about /run/systemd/private on a successful run: that is
    // "no such file or directory" on a socket that is not the engine's.
    let systemd = stderr_of(Client::Podman, "run-running");
    assert!(systemd.contains("no such file or directory"), "{systemd}");
    assert!(!is_unreachable(&systemd), "{systemd}");
}

#[test]
fn port_taken_texts() {
    for c in Client::ALL {
        let at = c.dir();
        for case in ["run-port-taken", "run-port-taken-host"] {
            assert!(is_port_taken(&stderr_of(c, case)), "{at}/{case}: {}", stderr_of(c, case));
            assert!(!is_name_taken(&stderr_of(c, case)), "{at}/{case}");
            assert_ne!(recording(c, case, "rc").trim(), "0", "{at}/{case}");
        }
        for case in ["run-name-taken", "inspect-missing", "not-running-inspect", "build-fail", "run-running"]
        {
            assert!(!is_port_taken(&stderr_of(c, case)), "{at}/{case}: {}", stderr_of(c, case));
        }
        // The failed run leaves a created container behind (so mcpctl must rm -f it).
        let leftover = recording(c, "run-port-taken-leftover", "stdout");
        assert!(leftover.starts_with("rec-porttaken "), "{at}: {leftover}");
    }
}

#[test]
fn name_taken_texts() {
    for c in Client::ALL {
        let at = c.dir();
        assert!(is_name_taken(&stderr_of(c, "run-name-taken")), "{at}: {}", stderr_of(c, "run-name-taken"));
        for case in
            ["run-port-taken-host", "inspect-missing", "not-running-inspect", "build-fail", "stop-missing"]
        {
            assert!(!is_name_taken(&stderr_of(c, case)), "{at}/{case}: {}", stderr_of(c, case));
        }
    }
}

// ---- what the binary says it is ---------------------------------------------------------------------

#[test]
fn engine_kind_from_recorded_version() {
    for c in Client::ALL {
        let v = recording(c, "version", "stdout");
        assert_eq!(EngineKind::from_self_description(&v), Some(kind(c)), "{}: {v}", c.dir());
        // `info --format` prints a bare version number: it names no engine.
        let info = recording(c, "info-version", "stdout");
        assert_eq!(EngineKind::from_self_description(&info), None, "{}: {info}", c.dir());
    }
}

/// The swarm outputs (fixtures/engine-outputs/swarm): the 28.x client against a 3-manager swarm.
mod swarm {
    use mcpctl::target::swarm::parse;

    fn out(case: &str) -> String {
        let p = crate::support::recordings_dir().join("swarm").join(format!("{case}.stdout"));
        std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
    }

    fn err(case: &str) -> String {
        let p = crate::support::recordings_dir().join("swarm").join(format!("{case}.stderr"));
        std::fs::read_to_string(&p).unwrap()
    }

    #[test]
    fn a_manager_an_engine_in_no_swarm_and_a_worker() {
        let m = parse::swarm_info(&out("info-swarm")).unwrap();
        assert_eq!(
            (m.state.as_str(), m.manager, m.node_addr.as_str(), m.nodes, m.managers),
            ("active", true, "10.240.0.11", 3, 3)
        );
        assert!(!m.node_id.is_empty());
        let i = parse::swarm_info(&out("info-swarm-inactive")).unwrap();
        assert_eq!((i.state.as_str(), i.manager), ("inactive", false));
        let w = parse::swarm_info(&out("info-swarm-worker")).unwrap();
        assert_eq!((w.state.as_str(), w.manager), ("active", false));
    }

    #[test]
    fn nodes_all_ready_then_one_down() {
        let n = parse::nodes(&out("node-ls")).unwrap();
        assert_eq!(n.iter().map(|n| n.hostname.as_str()).collect::<Vec<_>>(), ["sw1", "sw2", "sw3"]);
        assert!(n.iter().all(|n| n.ready() && n.schedulable()));
        assert_eq!(n.iter().filter(|n| n.is_self).count(), 1);
        assert!(n.iter().all(|n| !n.manager_status.is_empty()), "three managers");
        let d = parse::nodes(&out("node-ls-one-down")).unwrap();
        let down: Vec<&str> = d.iter().filter(|n| !n.ready()).map(|n| n.hostname.as_str()).collect();
        assert_eq!(down, ["sw3"]);
    }

    #[test]
    fn tasks_running_and_the_ones_of_a_down_node() {
        let t = parse::tasks(&out("service-ps")).unwrap();
        let live: Vec<_> = t.iter().filter(|t| t.wanted() && t.running()).collect();
        assert_eq!(live.len(), 3, "{t:?}");
        let nodes: std::collections::BTreeSet<&str> = live.iter().map(|t| t.node.as_str()).collect();
        assert_eq!(nodes.len(), 3);
        assert!(live.iter().all(|t| t.image.contains("@sha256:") && t.name.starts_with("rec-mcp.")));
        // The task on the lost node still says Running, but is no longer wanted.
        let d = parse::tasks(&out("service-ps-one-down")).unwrap();
        assert!(d.iter().any(|t| t.state() == "Running" && !t.wanted()), "{d:?}");
        assert_eq!(d.iter().filter(|t| t.wanted() && t.node == "sw3").count(), 0, "{d:?}");
    }

    #[test]
    fn a_task_whose_image_cannot_be_pulled_says_so() {
        let t = parse::tasks(&out("service-ps-failed")).unwrap();
        assert!(!t.is_empty());
        assert!(
            t.iter().all(|t| t.error == "No such image: 10.240.0.1:5000/nope:1" && t.state() == "Rejected"),
            "{t:?}"
        );
        let r = parse::tasks(&out("service-ps-rollback")).unwrap();
        assert!(
            r.iter().any(|t| t.error.starts_with("task: non-zero exit") && !t.error.starts_with('"')),
            "{r:?}"
        );
    }

    #[test]
    fn update_states_from_none_to_rolled_back() {
        let s = parse::service(&out("service-inspect")).unwrap();
        assert_eq!((s.name.as_str(), s.replicas, s.update_state.as_str()), ("rec-mcp", Some(3), ""));
        assert!(s.image.contains("@sha256:") && s.previous_image.is_none(), "{s:?}");
        assert_eq!(s.labels.get("io.mcpctl.project").map(String::as_str), Some("rec"));
        assert_eq!(s.secrets, ["rec-token"]);
        let u = parse::service(&out("service-inspect-updating")).unwrap();
        assert_eq!(u.update_state, "updating");
        assert!(!u.update_started.is_empty());
        let c = parse::service(&out("service-inspect-completed")).unwrap();
        assert_eq!(c.update_state, "completed");
        assert!(c.previous_image.is_some(), "a completed update keeps the spec before it");
        let b = parse::service(&out("service-inspect-rolling-back")).unwrap();
        assert_eq!(b.update_state, "rollback_started");
        assert!(b.update_message.contains("rolled back due to failure"), "{b:?}");
        let r = parse::service(&out("service-inspect-rollback")).unwrap();
        assert_eq!(r.update_state, "rollback_completed");
        assert_ne!(r.update_started, c.update_started);
        assert!(mcpctl::engine::is_no_such_service(&err("service-inspect-missing")));
        assert!(mcpctl::engine::is_no_such_service(&err("service-ps-missing")));
        assert!(!mcpctl::engine::is_no_such_service(&err("node-ls-inactive")));
    }

    #[test]
    fn names_of_the_project_objects() {
        assert!(parse::names_list(&out("service-ls-after")).is_empty());
        assert_eq!(parse::names_list("a\n\nb\n"), ["a", "b"]);
        let digests: Vec<String> = serde_json::from_str(out("image-inspect-repodigests").trim()).unwrap();
        assert!(
            digests.iter().any(|d| d.starts_with("10.240.0.1:5000/") && d.contains("@sha256:")),
            "{digests:?}"
        );
    }
}
