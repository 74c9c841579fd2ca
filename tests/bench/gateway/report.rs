//! The report: tables of figures, the targets from the issues with PASS/MISS, printed as text and
//! written as markdown (`target/bench-report.md`, from which the README's table is refreshed).

use crate::gateway::ProcStatus;
use crate::stats::{added_us, mib, us};
use crate::{stream, wrk};

/// Targets (issue 2, section 11; the conversion lane from issue 3).
const ADDED_P50_C1_US: f64 = 40.0;
const RPS_SHARE_C64: f64 = 0.75;
const ADDED_TTFT_US: f64 = 200.0;
const ADDED_EVENT_US: f64 = 50.0;
const CONVERSION_EVENT_US: f64 = 100.0;
const RSS_IDLE_KB: u64 = 4 * 1024;
const RSS_LOAD_KB: u64 = 16 * 1024;

/// Everything the bench measured.
pub struct Results {
    pub version: String,
    pub cores: usize,
    /// `/proc/loadavg` at the start: other work on the machine skews every figure.
    pub load_average: String,
    pub seconds: u32,
    pub throughput: Vec<ThroughputRow>,
    pub lanes: Vec<LaneRow>,
    pub memory: Memory,
}

pub struct ThroughputRow {
    pub connections: u32,
    pub direct: Result<wrk::Measured, String>,
    /// The minimal blocking proxy of `reference.rs` in front of the same mock.
    pub reference: Result<wrk::Measured, String>,
    pub gateway: Result<wrk::Measured, String>,
    /// Gateway connections never served during the run (`gateway::Sampled`).
    pub stuck: usize,
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum LaneKind {
    Passthrough,
    Conversion,
}

pub struct LaneRow {
    pub name: &'static str,
    pub kind: LaneKind,
    pub result: Result<stream::Measured, String>,
}

pub struct Memory {
    pub idle: ProcStatus,
    /// Peaks sampled during the c=64 gateway run.
    pub load: Option<ProcStatus>,
    pub after: Option<ProcStatus>,
}

/// A table rendered as aligned text or as markdown. Text columns (the first, and the verdict)
/// are left-aligned, figures right-aligned.
struct Table {
    title: String,
    headers: Vec<&'static str>,
    rows: Vec<Vec<String>>,
    /// A line under the table, explaining a column.
    note: &'static str,
}

fn left_aligned(header: &str, column: usize) -> bool {
    column == 0 || header == "verdict"
}

impl Table {
    fn text(&self) -> String {
        let widths: Vec<usize> = (0..self.headers.len())
            .map(|i| {
                self.rows
                    .iter()
                    .map(|r| r[i].chars().count())
                    .chain([self.headers[i].chars().count()])
                    .max()
                    .unwrap_or(0)
            })
            .collect();
        let line = |cells: Vec<&str>| {
            let padded: Vec<String> = cells
                .iter()
                .zip(&widths)
                .enumerate()
                .map(|(i, (c, w))| {
                    if left_aligned(self.headers[i], i) {
                        format!("{c:<w$}")
                    } else {
                        format!("{c:>w$}")
                    }
                })
                .collect();
            format!("  {}\n", padded.join("  ").trim_end())
        };
        let mut out = format!("{}\n", self.title);
        out += &line(self.headers.clone());
        for row in &self.rows {
            out += &line(row.iter().map(String::as_str).collect());
        }
        if !self.note.is_empty() {
            out += &format!("  ({})\n", self.note);
        }
        out
    }

    fn markdown(&self) -> String {
        let mut out = format!("### {}\n\n| {} |\n", self.title, self.headers.join(" | "));
        for (i, header) in self.headers.iter().enumerate() {
            out += if left_aligned(header, i) {
                "| --- "
            } else {
                "| ---: "
            };
        }
        out += "|\n";
        for row in &self.rows {
            out += &format!("| {} |\n", row.join(" | "));
        }
        if !self.note.is_empty() {
            out += &format!("\n{}\n", self.note);
        }
        out
    }
}

/// The verdict on one target.
enum Verdict {
    Pass,
    Miss,
    /// Not measured, with the reason (e.g. conversion not implemented yet).
    Skipped(String),
    /// The measurement itself failed: counts as a miss.
    Failed(String),
}

struct Check {
    what: String,
    figure: String,
    target: String,
    verdict: Verdict,
}

impl Check {
    fn at_most(what: impl Into<String>, figure: f64, limit: f64, show: fn(f64) -> String) -> Check {
        Check {
            what: what.into(),
            figure: show(figure),
            target: format!("≤ {}", show(limit)),
            verdict: if figure <= limit {
                Verdict::Pass
            } else {
                Verdict::Miss
            },
        }
    }

    fn skipped(what: impl Into<String>, target: String, why: &str) -> Check {
        Check {
            what: what.into(),
            figure: "—".into(),
            target,
            verdict: Verdict::Skipped(why.to_owned()),
        }
    }

    fn failed(what: impl Into<String>, target: String, why: &str) -> Check {
        Check {
            verdict: Verdict::Failed(why.to_owned()),
            ..Check::skipped(what, target, why)
        }
    }
}

/// The whole report as text (for the terminal).
pub fn text(results: &Results) -> String {
    let mut out = format!(
        "{}, {} cores, load average at start {}\n\n",
        results.version, results.cores, results.load_average
    );
    for table in tables(results) {
        out += &table.text();
        out += "\n";
    }
    out += &summary(results).text();
    out
}

/// The whole report as markdown.
pub fn markdown(results: &Results) -> String {
    let mut out = format!(
        "## Benchmark\n\n{} on 127.0.0.1, {} cores (load average at start {}), load generator \
         (wrk) and mock backend on the same machine. Figures compare the gateway with the same \
         mock hit directly. Produced by `make bench` (`tests/bench/`).\n\n",
        results.version, results.cores, results.load_average
    );
    out += &summary(results).markdown();
    for table in tables(results) {
        out += "\n";
        out += &table.markdown();
    }
    out
}

fn tables(results: &Results) -> Vec<Table> {
    vec![
        throughput_table(results),
        reference_table(results),
        stream_table(results),
        memory_table(&results.memory),
    ]
}

fn throughput_table(results: &Results) -> Table {
    let rows = results
        .throughput
        .iter()
        .map(|row| match (&row.direct, &row.gateway) {
            (Ok(d), Ok(g)) => vec![
                row.connections.to_string(),
                format!("{:.0}", d.rps),
                format!("{:.0}", g.rps),
                format!("{:.0}%", 100.0 * g.rps / d.rps),
                us(d.p50_us),
                us(d.p99_us),
                us(g.p50_us),
                us(g.p99_us),
                added_us(g.p50_us - d.p50_us),
                row.stuck.to_string(),
                format!("{}/{}", d.errors, g.errors),
            ],
            (d, g) => {
                let why = d.as_ref().err().or(g.as_ref().err());
                let mut cells = vec![row.connections.to_string()];
                cells.extend((0..9).map(|_| "—".to_owned()));
                cells.push(why.map_or("?".into(), |e| first_line(e)));
                cells
            }
        })
        .collect();
    Table {
        title: format!(
            "Non-streaming POST /v1/chat/completions (wrk, {} s per run)",
            results.seconds
        ),
        headers: vec![
            "conc",
            "direct req/s",
            "gateway req/s",
            "ratio",
            "direct p50",
            "direct p99",
            "gateway p50",
            "gateway p99",
            "added p50",
            "unserved conns",
            "errors d/g",
        ],
        rows,
        note: "unserved conns = gateway connections whose request sat unread in every sample \
               (every 100 ms) of the run: the gateway never served them, so its req/s and \
               latency describe fewer connections than wrk opened",
    }
}

/// The same load through the reference proxy: what two more socket hops cost on this machine.
fn reference_table(results: &Results) -> Table {
    let rows = results
        .throughput
        .iter()
        .map(|row| match (&row.direct, &row.reference, &row.gateway) {
            (Ok(d), Ok(r), Ok(g)) => vec![
                row.connections.to_string(),
                format!("{:.0}", r.rps),
                format!("{:.0}%", 100.0 * r.rps / d.rps),
                format!("{:.0}%", 100.0 * g.rps / d.rps),
                added_us(r.p50_us - d.p50_us),
                added_us(g.p50_us - d.p50_us),
                r.errors.to_string(),
            ],
            (d, r, g) => {
                let why = d.as_ref().err().or(r.as_ref().err()).or(g.as_ref().err());
                let mut cells = vec![row.connections.to_string()];
                cells.extend((0..5).map(|_| "—".to_owned()));
                cells.push(why.map_or("?".into(), |e| first_line(e)));
                cells
            }
        })
        .collect();
    Table {
        title: "Reference: a minimal blocking proxy (thread per connection, framing only) in \
                front of the same mock"
            .into(),
        headers: vec![
            "conc",
            "reference req/s",
            "reference ratio",
            "gateway ratio",
            "reference added p50",
            "gateway added p50",
            "errors",
        ],
        rows,
        note: "ratio = share of the direct req/s; the reference shows what the extra hops cost \
               here, the difference to the gateway is what the gateway's own work costs",
    }
}

fn stream_table(results: &Results) -> Table {
    let rows = results
        .lanes
        .iter()
        .map(|lane| match &lane.result {
            Ok(m) => vec![
                lane.name.to_owned(),
                format!("{}×{}", m.runs, m.tokens),
                us(m.direct.ttft_p50),
                us(m.gateway.ttft_p50),
                added_us(m.added_ttft()),
                format!("{} / {}", us(m.direct.delay_p50), us(m.direct.delay_p99)),
                format!("{} / {}", us(m.gateway.delay_p50), us(m.gateway.delay_p99)),
                added_us(m.added_event_p50()),
                added_us(m.added_event_p99()),
            ],
            Err(e) => {
                let mut cells = vec![lane.name.to_owned(), "skipped".into()];
                cells.extend((0..6).map(|_| "—".to_owned()));
                cells.push(first_line(e));
                cells
            }
        })
        .collect();
    Table {
        title: "Streaming, 200 tokens 2 ms apart (delay = arrival − mock's send stamp)".into(),
        headers: vec![
            "lane",
            "runs×tokens",
            "TTFT direct",
            "TTFT gateway",
            "added TTFT",
            "delay direct p50/p99",
            "delay gateway p50/p99",
            "added p50",
            "added p99",
        ],
        rows,
        note: "added = gateway quantile − direct quantile, over all tokens of all runs",
    }
}

fn memory_table(memory: &Memory) -> Table {
    let row = |what: &str, status: Option<ProcStatus>| match status {
        Some(s) => vec![
            what.to_owned(),
            mib(s.rss_kb),
            mib(s.anon_kb),
            s.threads.to_string(),
        ],
        None => vec![what.to_owned(), "—".into(), "—".into(), "—".into()],
    };
    Table {
        title: "Gateway process (VmRSS, RssAnon and Threads from /proc)".into(),
        headers: vec!["when", "RSS", "of it private", "threads"],
        rows: vec![
            row("idle after start", Some(memory.idle)),
            row("peak under c=64 load (sampled every 100 ms)", memory.load),
            row("idle after the bench", memory.after),
        ],
        note: "private = RssAnon, the memory the gateway itself holds; the rest of the RSS is \
               the code of the binary and libc, mapped from files and shared",
    }
}

fn summary(results: &Results) -> Table {
    let rows = checks(results)
        .into_iter()
        .map(|c| {
            let verdict = match &c.verdict {
                Verdict::Pass => "PASS".to_owned(),
                Verdict::Miss => "MISS".to_owned(),
                Verdict::Skipped(why) => format!("skipped ({})", first_line(why)),
                Verdict::Failed(why) => format!("MISS ({})", first_line(why)),
            };
            vec![c.what, c.figure, c.target, verdict]
        })
        .collect();
    Table {
        title: "Summary: targets (issue 2 §11, issue 3 conversion lane)".into(),
        headers: vec!["target", "measured", "goal", "verdict"],
        rows,
        note: "",
    }
}

fn checks(results: &Results) -> Vec<Check> {
    let mut checks = throughput_checks(results);
    for lane in &results.lanes {
        checks.extend(lane_checks(lane));
    }
    checks.push(Check::at_most(
        "gateway RSS, idle",
        results.memory.idle.rss_kb as f64,
        RSS_IDLE_KB as f64,
        |kb| mib(kb as u64),
    ));
    checks.push(match results.memory.load {
        Some(load) => Check::at_most(
            "gateway RSS, peak under c=64 load",
            load.rss_kb as f64,
            RSS_LOAD_KB as f64,
            |kb| mib(kb as u64),
        ),
        None => Check::failed(
            "gateway RSS, peak under c=64 load",
            format!("≤ {}", mib(RSS_LOAD_KB)),
            "not sampled",
        ),
    });
    checks
}

fn throughput_checks(results: &Results) -> Vec<Check> {
    let row = |c: u32| results.throughput.iter().find(|r| r.connections == c);
    let both = |c: u32| match row(c).map(|r| (&r.direct, &r.gateway)) {
        Some((Ok(d), Ok(g))) if d.errors == 0 && g.errors == 0 => {
            Ok((*d, *g, row(c).map_or(0, |r| r.stuck)))
        }
        Some((Ok(_), Ok(g))) => Err(format!("{} errors in the run", g.errors)),
        Some((Err(e), _)) | Some((_, Err(e))) => Err(e.clone()),
        None => Err("not run".into()),
    };
    let latency = match both(1) {
        Ok((d, g, _)) => Check::at_most(
            "added p50 latency, non-streaming, c=1",
            g.p50_us - d.p50_us,
            ADDED_P50_C1_US,
            us,
        ),
        Err(e) => Check::failed(
            "added p50 latency, non-streaming, c=1",
            format!("≤ {}", us(ADDED_P50_C1_US)),
            &e,
        ),
    };
    let share = match both(64) {
        Ok((d, g, stuck)) => {
            let share = g.rps / d.rps;
            Check {
                what: "gateway req/s at c=64, share of direct".into(),
                figure: format!("{:.0}%", share * 100.0),
                target: format!("≥ {:.0}%", RPS_SHARE_C64 * 100.0),
                verdict: if stuck > 0 {
                    Verdict::Failed(format!("{stuck} of 64 connections were never served"))
                } else if share >= RPS_SHARE_C64 {
                    Verdict::Pass
                } else {
                    Verdict::Miss
                },
            }
        }
        Err(e) => Check::failed(
            "gateway req/s at c=64, share of direct",
            format!("≥ {:.0}%", RPS_SHARE_C64 * 100.0),
            &e,
        ),
    };
    vec![latency, share]
}

/// Passthrough lanes are held to issue 2's TTFT and per-event targets; the conversion lane to
/// issue 3's per-event target only, and a conversion the gateway cannot do yet is skipped.
fn lane_checks(lane: &LaneRow) -> Vec<Check> {
    let ttft_what = format!("added time to first token, {}", lane.name);
    let ttft_goal = format!("≤ {}", us(ADDED_TTFT_US));
    let event_what = format!("added per-event latency p50, {}", lane.name);
    match (lane.kind, &lane.result) {
        (LaneKind::Passthrough, Ok(m)) => vec![
            Check::at_most(ttft_what, m.added_ttft(), ADDED_TTFT_US, us),
            Check::at_most(event_what, m.added_event_p50(), ADDED_EVENT_US, us),
        ],
        (LaneKind::Passthrough, Err(e)) => vec![
            Check::failed(ttft_what, ttft_goal, e),
            Check::failed(event_what, format!("≤ {}", us(ADDED_EVENT_US)), e),
        ],
        (LaneKind::Conversion, Ok(m)) => vec![Check::at_most(
            event_what,
            m.added_event_p50(),
            CONVERSION_EVENT_US,
            us,
        )],
        (LaneKind::Conversion, Err(e)) => vec![Check::skipped(
            event_what,
            format!("≤ {}", us(CONVERSION_EVENT_US)),
            e,
        )],
    }
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    let short: String = line.chars().take(100).collect();
    // Markdown tables break on pipes.
    short.replace('|', "/")
}
