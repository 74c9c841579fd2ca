//! `proxy-cli`: commands typed into any chat client. When the last user message starts with
//! `proxy-cli`, the gateway answers itself, as markdown meant for a chat window.

use std::fmt::Write;

use crate::state::State;

/// A parsed command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    Status,
    Models,
    Use(String),
    /// `smart` alone reports; `smart on|off` switches.
    Smart(Option<bool>),
    Logs(usize),
    Tokens,
    Help,
    /// Not a command, or bad arguments: the message says which.
    Invalid(String),
}

impl Command {
    /// Whether running the command changes the gateway (and so needs the admin token).
    pub fn mutates(&self) -> bool {
        matches!(self, Command::Use(_) | Command::Smart(Some(_)))
    }
}

/// The command in a user message, if the message is one (`proxy-cli ...`).
pub fn detect(text: &str) -> Option<Command> {
    let rest = text.trim_start().strip_prefix("proxy-cli")?;
    if !(rest.is_empty() || rest.starts_with(char::is_whitespace)) {
        return None; // `proxy-client` is not us.
    }
    Some(parse(rest))
}

fn parse(args: &str) -> Command {
    let words: Vec<&str> = args.split_whitespace().collect();
    match words.as_slice() {
        [] | ["help"] | ["--help"] | ["-h"] => Command::Help,
        ["status"] => Command::Status,
        ["models"] => Command::Models,
        ["tokens"] => Command::Tokens,
        ["use", name] => Command::Use((*name).to_owned()),
        ["use"] => Command::Invalid("`use` needs a backend name: `proxy-cli use <backend>`".into()),
        ["smart"] => Command::Smart(None),
        ["smart", "on"] => Command::Smart(Some(true)),
        ["smart", "off"] => Command::Smart(Some(false)),
        ["smart", other] => Command::Invalid(format!("`smart` takes `on` or `off`, not `{other}`")),
        ["logs"] => Command::Logs(10),
        ["logs", n] => match n.parse::<usize>() {
            Ok(n) if (1..=100).contains(&n) => Command::Logs(n),
            _ => Command::Invalid(format!("`logs` takes a count from 1 to 100, not `{n}`")),
        },
        [cmd, ..] => Command::Invalid(format!(
            "unknown command or arguments: `{}`",
            words.join(" ").replace('`', "'")
        ))
        .or_if_known(cmd),
    }
}

trait OrIfKnown {
    fn or_if_known(self, cmd: &str) -> Command;
}

impl OrIfKnown for Command {
    /// A known command with extra words gets a message naming the command.
    fn or_if_known(self, cmd: &str) -> Command {
        match cmd {
            "status" | "models" | "tokens" | "help" => {
                Command::Invalid(format!("`{cmd}` takes no arguments"))
            }
            "use" => Command::Invalid("`use` takes one backend name".into()),
            _ => self,
        }
    }
}

pub const HELP: &str = "\
**proxy-cli** — control the gateway from the chat:

| command | what it does |
| --- | --- |
| `proxy-cli status` | gateway and backend status |
| `proxy-cli models` | backends and their models |
| `proxy-cli use <backend>` | make `<backend>` the default |
| `proxy-cli smart [on\\|off]` | show or switch smart routing |
| `proxy-cli logs [N]` | the last N requests (default 10) |
| `proxy-cli tokens` | token usage by backend |
| `proxy-cli help` | this help |
";

/// Runs a command and answers in markdown. `admin` says whether the request carried the admin
/// token (or none is configured).
pub fn run(state: &State, command: &Command, admin: bool) -> String {
    if command.mutates() && !admin {
        return "**Error:** this command changes the gateway and needs the admin token (send it as the API key).".into();
    }
    match command {
        Command::Help => HELP.to_owned(),
        Command::Invalid(why) => format!("**Error:** {why}\n\n{HELP}"),
        Command::Status => status(state),
        Command::Models => models(state),
        Command::Use(name) => match state.set_default_backend(name) {
            Ok(previous) => format!("Default backend is now **{name}** (was {previous})."),
            Err(e) => format!("**Error:** {e}"),
        },
        Command::Smart(None) => format!(
            "Smart routing is **{}**. Switch it with `proxy-cli smart on` or `proxy-cli smart off`.",
            on_off(state.smart_routing())
        ),
        Command::Smart(Some(on)) => {
            let was = state.set_smart_routing(*on);
            format!("Smart routing is now **{}** (was {}).", on_off(*on), on_off(was))
        }
        Command::Logs(n) => logs(state, *n),
        Command::Tokens => tokens(state),
    }
}

fn on_off(on: bool) -> &'static str {
    if on {
        "on"
    } else {
        "off"
    }
}

fn status(state: &State) -> String {
    let config = state.config();
    let snapshot = state.books.snapshot();
    let default = state.default_backend();
    let uptime = state.started.elapsed().as_secs();
    let mut out = format!(
        "**llm-gateway {}** — up {}h {}m, {} requests ({} errors), smart routing {}\n\n| backend | api | status | default |\n| --- | --- | --- | --- |\n",
        env!("CARGO_PKG_VERSION"),
        uptime / 3600,
        (uptime / 60) % 60,
        snapshot.requests_total,
        snapshot.errors_total,
        on_off(state.smart_routing()),
    );
    for b in &config.backends {
        let h = state.health.get(&b.name);
        let api = b.api_name();
        let status = match h.up {
            Some(true) => format!("up ({} ms)", h.latency_ms.unwrap_or(0.0)),
            Some(false) => "**down**".to_owned(),
            None => "not checked yet".to_owned(),
        };
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} |",
            b.name,
            api,
            status,
            if b.name == default { "✓" } else { "" }
        );
    }
    out
}

fn models(state: &State) -> String {
    let config = state.config();
    let mut out = String::from("**Backends and models**\n\n");
    for b in &config.backends {
        let h = state.health.get(&b.name);
        let models = if h.models.is_empty() {
            "_(none listed)_".to_owned()
        } else {
            h.models
                .iter()
                .map(|m| format!("`{m}`"))
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(out, "- **{}**: {}", b.name, models);
    }
    out.push_str("\nSend `\"model\": \"<backend>\"` to pick a backend by name.");
    out
}

fn logs(state: &State, n: usize) -> String {
    let entries = state.books.recent(n);
    if entries.is_empty() {
        return "No requests yet.".into();
    }
    let mut out = format!("**Last {} request{}**\n\n| id | backend | model | status | ms | tokens in/out |\n| --- | --- | --- | --- | --- | --- |\n",
        entries.len(), if entries.len() == 1 { "" } else { "s" });
    for e in entries {
        let _ = writeln!(
            out,
            "| {} | {} | {} | {} | {:.0} | {}/{} |",
            e.id,
            e.backend.as_deref().unwrap_or("-"),
            e.model.as_deref().unwrap_or("-").replace('|', "\\|"),
            e.status,
            e.duration_ms,
            e.input_tokens,
            e.output_tokens
        );
    }
    out
}

fn tokens(state: &State) -> String {
    let s = state.books.snapshot();
    let mut out = format!(
        "**Tokens** — {} in, {} out\n\n| backend | in | out |\n| --- | --- | --- |\n",
        s.input_tokens_total, s.output_tokens_total
    );
    let l = &s.labelled;
    for (name, input) in &l.input_tokens_by_backend {
        let output = l.output_tokens_by_backend.get(name).copied().unwrap_or(0);
        let _ = writeln!(out, "| {name} | {input} | {output} |");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert_eq!(detect("proxy-cli status"), Some(Command::Status));
        assert_eq!(
            detect("  proxy-cli   use   local "),
            Some(Command::Use("local".into()))
        );
        assert_eq!(detect("proxy-cli"), Some(Command::Help));
        assert_eq!(
            detect("proxy-cli smart off"),
            Some(Command::Smart(Some(false)))
        );
        assert_eq!(detect("proxy-cli logs 5"), Some(Command::Logs(5)));
        assert!(matches!(
            detect("proxy-cli logs many"),
            Some(Command::Invalid(_))
        ));
        assert!(
            matches!(detect("proxy-cli status now"), Some(Command::Invalid(m)) if m.contains("no arguments"))
        );
        assert!(
            matches!(detect("proxy-cli fly"), Some(Command::Invalid(m)) if m.contains("unknown"))
        );
        assert_eq!(detect("proxy-client status"), None);
        assert_eq!(detect("please run proxy-cli status"), None);
    }

    #[test]
    fn mutating_commands_need_admin() {
        assert!(Command::Use("x".into()).mutates());
        assert!(Command::Smart(Some(true)).mutates());
        assert!(!Command::Smart(None).mutates());
        assert!(!Command::Status.mutates());
    }
}
