//! The README's `curl` examples, run against a gateway on the built-in defaults with `--demo`
//! (the README's own run command), so the documentation cannot drift from the code.

mod common;

use std::process::Command;

use common::GatewayBuilder;

/// Every `curl` command in the README's `sh` blocks, continuation lines joined.
fn readme_curls() -> Vec<String> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let mut commands = Vec::new();
    let mut in_sh = false;
    let mut current = String::new();
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = line == "```sh";
            continue;
        }
        if !in_sh {
            continue;
        }
        let code = line.split(" #").next().unwrap_or(line).trim_end();
        if current.is_empty() && !code.trim_start().starts_with("curl ") {
            continue;
        }
        match code.strip_suffix('\\') {
            Some(part) => current.push_str(part),
            None => {
                current.push_str(code);
                commands.push(std::mem::take(&mut current));
            }
        }
    }
    commands
}

#[test]
fn every_curl_example_in_the_readme_succeeds() {
    let commands = readme_curls();
    assert!(
        commands.len() >= 8,
        "found only {} curl examples: {commands:?}",
        commands.len()
    );
    let gw = GatewayBuilder::without_config().arg("--demo").start();
    for command in &commands {
        let command = command
            .replace("localhost:8080", &format!("127.0.0.1:{}", gw.port))
            .replace("localhost:9090", &format!("127.0.0.1:{}", gw.metrics_port));
        let output = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "{command} --max-time 20 -o /dev/null -w '%{{http_code}}'"
            ))
            .output()
            .expect("sh runs");
        let code = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && code.starts_with('2'),
            "README example failed (HTTP {code}): {command}\n{}\n{}",
            String::from_utf8_lossy(&output.stderr),
            gw.diag()
        );
    }
}

/// Every JSON config in the README (and the example file) passes `--check`.
#[test]
fn every_config_example_in_the_readme_is_valid() {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md"))
        .expect("README.md");
    let mut configs = Vec::new();
    let mut current: Option<String> = None;
    for line in readme.lines() {
        match (&mut current, line) {
            (None, "```json") => current = Some(String::new()),
            (Some(text), "```") => {
                configs.push(std::mem::take(text));
                current = None;
            }
            (Some(text), line) => {
                text.push_str(line);
                text.push('\n');
            }
            (None, _) => {}
        }
    }
    assert!(!configs.is_empty(), "the README shows a config");
    configs.push(
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.example.json"))
            .expect("example"),
    );
    for (i, config) in configs.iter().enumerate() {
        let path =
            common::gateway::write_temp(&format!("readme-config-{i}.json"), config.as_bytes());
        let out = common::gateway::run(
            &["--check", "--config", path.to_str().expect("utf-8 path")],
            &[],
        );
        assert!(
            out.status.success(),
            "README config {i} is not valid:\n{config}\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
}
