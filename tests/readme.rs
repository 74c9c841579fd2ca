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
