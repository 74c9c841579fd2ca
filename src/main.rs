//! The `llm-gateway` binary: flags, start-up, signals and orderly shutdown — nothing else.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use llm_gateway::config::{self, Config, Overrides};
use llm_gateway::server;
use llm_gateway::signals::{self, Signals};
use llm_gateway::state::State;

const HELP: &str = "\
llm-gateway — a small, fast LLM routing gateway

USAGE:
    llm-gateway [OPTIONS]

OPTIONS:
    --config PATH         config file (default: $CONFIG_PATH, else /config/config.json;
                          a missing file means built-in defaults)
    --port N              proxy port (default: $PROXY_PORT, else 8080)
    --metrics-port N      Prometheus metrics port (default: $METRICS_PORT, else 9090)
    --bind ADDR           address to listen on (default: 0.0.0.0)
    --workers N           proxy requests (streams included) served at once (default: 32)
    --log-level LEVEL     off, error, warn, info, debug or trace (default: info)
    --demo                make the built-in demo backend the default
    --check               validate the config and exit (0 valid, 2 invalid)
    --healthcheck         ask a running gateway's /debug/health (on --port, or the config's
                          port, on 127.0.0.1); exit 0 if healthy or degraded, else 1
    --version             print the version and exit
    --help                print this help and exit

ENVIRONMENT:
    CONFIG_PATH, PROXY_PORT, METRICS_PORT, ANTHROPIC_API_KEY
";

/// What the command line asks for.
enum Mode {
    Run,
    Check,
    Healthcheck,
    Version,
    Help,
}

struct Args {
    mode: Mode,
    config: Option<PathBuf>,
    overrides: Overrides,
}

fn parse_args() -> Result<Args, lexopt::Error> {
    use lexopt::prelude::*;
    let mut args = Args {
        mode: Mode::Run,
        config: None,
        overrides: Overrides::default(),
    };
    let mut parser = lexopt::Parser::from_env();
    while let Some(arg) = parser.next()? {
        match arg {
            Long("config") | Short('c') => args.config = Some(parser.value()?.into()),
            Long("port") | Short('p') => args.overrides.port = Some(parser.value()?.parse()?),
            Long("metrics-port") => args.overrides.metrics_port = Some(parser.value()?.parse()?),
            Long("bind") => args.overrides.bind = Some(parser.value()?.string()?),
            Long("workers") => args.overrides.workers = Some(parser.value()?.parse()?),
            Long("log-level") => args.overrides.log_level = Some(parser.value()?.string()?),
            Long("demo") => args.overrides.demo = true,
            Long("check") => args.mode = Mode::Check,
            Long("healthcheck") => args.mode = Mode::Healthcheck,
            Long("version") | Short('V') => args.mode = Mode::Version,
            Long("help") | Short('h') => args.mode = Mode::Help,
            _ => return Err(arg.unexpected()),
        }
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(e) => {
            eprintln!("llm-gateway: {e}\ntry --help");
            return ExitCode::from(2);
        }
    };
    match args.mode {
        Mode::Help => {
            print!("{HELP}");
            return ExitCode::SUCCESS;
        }
        Mode::Version => {
            println!("llm-gateway {}", env!("CARGO_PKG_VERSION"));
            return ExitCode::SUCCESS;
        }
        Mode::Run | Mode::Check | Mode::Healthcheck => {}
    }
    let path = args
        .config
        .or_else(|| std::env::var_os("CONFIG_PATH").map(PathBuf::from))
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_CONFIG_PATH));
    let config = match Config::load(&path, &args.overrides) {
        Ok(config) => config,
        Err(e) => {
            eprintln!("llm-gateway: invalid config: {e}");
            return ExitCode::from(2);
        }
    };
    if let Mode::Healthcheck = args.mode {
        return healthcheck(config.server.port);
    }
    if let Mode::Check = args.mode {
        if config.source == config::Source::BuiltIn {
            println!(
                "{}: not found; the built-in defaults are valid",
                path.display()
            );
        } else {
            println!(
                "{}: valid ({} backends, default {})",
                path.display(),
                config.backends.len(),
                config.default_backend
            );
        }
        return ExitCode::SUCCESS;
    }
    init_logging(config.logging.level);
    match run(config, &path, args.overrides) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log::error!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(level: log::LevelFilter) {
    let log_config = simplelog::ConfigBuilder::new()
        .set_time_format_rfc3339()
        .set_target_level(log::LevelFilter::Off)
        .set_thread_level(log::LevelFilter::Off)
        .add_filter_allow_str("llm_gateway")
        .build();
    let _ = simplelog::WriteLogger::init(level, log_config, std::io::stderr());
}

fn run(config: Config, path: &std::path::Path, overrides: Overrides) -> Result<(), String> {
    match &config.source {
        config::Source::File(p) => log::info!("config: {}", p.display()),
        config::Source::BuiltIn => log::info!(
            "config: {} not found, using built-in defaults",
            path.display()
        ),
    }
    signals::raise_fd_limit();
    let signals = Signals::install().map_err(|e| format!("cannot install signal handlers: {e}"))?;
    std::panic::set_hook(Box::new(|info| log::error!("panic: {info}")));

    let grace = config.server.shutdown_grace;
    let bind = config.server.bind.clone();
    let metrics_port = config.server.metrics_port;
    let state = Arc::new(State::new(config, overrides, path.to_owned()));
    let running = server::start(state.clone())
        .map_err(|e| format!("cannot listen on the proxy port: {e}"))?;
    let (metrics, _metrics_thread) = server::metrics::start(state.clone(), &bind, metrics_port)
        .map_err(|e| format!("cannot listen on the metrics port {metrics_port}: {e}"))?;
    llm_gateway::upstream::health::start(state.clone())
        .map_err(|e| format!("cannot start the health prober: {e}"))?;
    let config = state.config();
    warn_if_exposed(&config);
    log::info!(
        "llm-gateway {} listening on {} (metrics on {}:{}), default backend {}, up to {} proxy requests at once",
        env!("CARGO_PKG_VERSION"),
        running.addr,
        bind,
        metrics_port,
        state.default_backend(),
        config.server.workers
    );
    loop {
        match signals.wait() {
            libc::SIGHUP => match state.reload() {
                Ok(()) => log::info!("SIGHUP: config reloaded from {}", path.display()),
                Err(e) => log::error!(
                    "SIGHUP: config reload rejected, the running config is unchanged: {e}"
                ),
            },
            signal => {
                log::info!(
                    "signal {signal}: shutting down (grace {} s)",
                    grace.as_secs_f64()
                );
                break;
            }
        }
    }
    running.shutdown(&state, grace);
    state.smart.flush();
    drop(metrics);
    log::info!("stopped");
    Ok(())
}

/// A gateway reachable from the network without keys hands control to anyone who finds it.
fn warn_if_exposed(config: &Config) {
    let loopback = matches!(
        config.server.bind.as_str(),
        "127.0.0.1" | "::1" | "localhost"
    );
    if !loopback && config.auth.admin_token.is_none() {
        log::warn!(
            "listening on {} without auth.adminToken: anyone who can reach this port can switch backends and change the config",
            config.server.bind
        );
    }
    if !loopback && config.auth.api_keys.is_empty() {
        log::warn!("listening on {} without auth.apiKeys: anyone who can reach this port can use your backends", config.server.bind);
    }
}

/// `--healthcheck`: for Docker's HEALTHCHECK, which has no curl in a minimal image.
fn healthcheck(port: u16) -> ExitCode {
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(std::time::Duration::from_secs(5)))
        .http_status_as_error(false)
        .build()
        .into();
    match agent
        .get(format!("http://127.0.0.1:{port}/debug/health"))
        .call()
    {
        Ok(mut response) => {
            let body = response.body_mut().read_to_string().unwrap_or_default();
            let status: String = serde_json::from_str::<serde_json::Value>(&body)
                .ok()
                .and_then(|v| v.get("status")?.as_str().map(str::to_owned))
                .unwrap_or_else(|| "unknown".into());
            println!("{status}");
            if status == "healthy" || status == "degraded" {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Err(e) => {
            println!("unreachable: {e}");
            ExitCode::FAILURE
        }
    }
}
