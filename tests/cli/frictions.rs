//! Issue 14: a CLI that helps people who make mistakes — concurrent
//! signers, hash prefixes, suggestions, help text, completions, and
//! tables that line up in any script.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::Demo;

/// Two CLIs signing for one participant at once both succeed: the default
/// time is read after the ledger is open (and locked), so no record is
/// ever earlier than the author's previous one.
#[test]
fn concurrent_signers_for_one_key_all_succeed() {
    let d = Demo::new();
    let farm = d.key("jiukeng-garden");
    // Four at once: each waits for the ledger lock up to `LOCK_WAIT` (1.5 s),
    // so more could time out on a loaded machine rather than race.
    let codes: Vec<String> = (0..4).map(|i| format!("RACE-{i}")).collect();
    let children: Vec<_> = codes
        .iter()
        .map(|code| {
            std::process::Command::new(env!("CARGO_BIN_EXE_terroir"))
                .current_dir(d.env.root())
                .env_remove("TERROIR_HOME")
                .env_remove("TERROIR_NODE")
                .env("NO_COLOR", "1")
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .arg("--ledger")
                .arg(d.env.ledger())
                .args([
                    "record",
                    "harvest",
                    "--key",
                    &farm,
                    "--lot",
                    code,
                    "--product",
                    "tea leaf",
                    "--quantity",
                    "10kg",
                ])
                .spawn()
                .expect("spawn terroir")
        })
        .collect();
    for (code, child) in codes.iter().zip(children) {
        let out = child.wait_with_output().expect("wait terroir");
        assert!(
            out.status.success(),
            "harvest {code} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for code in &codes {
        let t = d.env.json(&["trace", code]);
        assert_eq!(t["events"].as_array().expect("events").len(), 1, "{code}");
    }
}

/// `record receive --shipment` takes the 8-hex hash `terroir` prints (or
/// any unambiguous prefix); an unknown prefix is one clear line, and so is
/// a prefix with `--node`.
#[test]
fn shipments_are_named_by_hash_prefix() {
    let d = Demo::new();
    let env = &d.env;
    let farm = d.key("jiukeng-garden");
    let coop = d.key("cooperative");
    env.ok(&[
        "record",
        "harvest",
        "--key",
        &farm,
        "--lot",
        "PREFIX-1",
        "--product",
        "tea leaf",
        "--quantity",
        "10kg",
    ]);
    let ship = env.json(&[
        "record",
        "ship",
        "--key",
        &farm,
        "--lot",
        "PREFIX-1",
        "--quantity",
        "10kg",
        "--to",
        &coop,
    ]);
    let hash = ship["record"].as_str().expect("hash").to_owned();
    let short = hash[..8].to_uppercase();
    env.malformed(
        &[
            "record",
            "receive",
            "--key",
            &coop,
            "--shipment",
            &hash[..7],
        ],
        "prefix of 8 or more",
    );
    env.refused(
        &[
            "record",
            "receive",
            "--key",
            &coop,
            "--shipment",
            "0000000000",
        ],
        "no record starting 0000000000",
    );
    env.refused(
        &[
            "--node",
            "http://127.0.0.1:9",
            "record",
            "receive",
            "--key",
            &coop,
            "--shipment",
            &short,
        ],
        "give the full 64-character hash",
    );
    let r = env.json(&["record", "receive", "--key", &coop, "--shipment", &short]);
    assert_eq!(r["kind"], "receive");
    assert_eq!(r["deps"][0], hash.as_str());
    assert_eq!(r["event"]["quantity"]["amount"], 10_000);
}

/// A mistyped command, flag, lot code or participant name gets a "did you
/// mean", on the one error line.
#[test]
fn mistakes_get_a_did_you_mean() {
    let d = Demo::new();
    let env = &d.env;
    let farm = d.key("jiukeng-garden");
    env.malformed(&["tarce", "QDH-JK-0401"], "did you mean 'trace'?");
    env.malformed(
        &[
            "record",
            "harvest",
            "--key",
            &farm,
            "--lot",
            "X-1",
            "--product",
            "tea",
            "--qty",
            "5kg",
        ],
        "did you mean '--quantity'?",
    );
    env.refused(&["trace", "QDH-JK-0041"], "did you mean \"QDH-JK-0401\"?");
    env.refused(
        &[
            "record",
            "ship",
            "--key",
            &farm,
            "--lot",
            "QDH-JK-041",
            "--quantity",
            "1kg",
            "--to",
            "Xiansheng Market, West Lake",
        ],
        "no lot \"QDH-JK-041\" in this ledger; did you mean \"QDH-JK-0401\"?",
    );
    env.refused(
        &["holdings", "鲜生超市西湖店 Xiansheng Market, Wset Lake"],
        "did you mean \"鲜生超市西湖店 Xiansheng Market, West Lake\"?",
    );
    // Nothing near: no guess.
    let line = env.refused(&["trace", "ZZZZZZZZZZZZ"], "no lot");
    assert!(!line.contains("did you mean"), "{line}");
}

/// The global options are listed once, by `terroir --help`; a
/// subcommand's help shows its own options and points there. They still
/// work after the subcommand.
#[test]
fn global_options_are_shown_once() {
    let env = common::Env::new();
    let top = env.ok(&["--help"]);
    for flag in ["--ledger", "--node", "--json", "--quiet"] {
        assert!(top.contains(flag), "terroir --help lacks {flag}: {top}");
    }
    let help = env.ok(&["key", "new", "--help"]);
    assert!(help.contains("--out"), "{help}");
    for flag in ["--ledger", "--node", "--node-token", "--json", "--quiet"] {
        let listed = help
            .lines()
            .map(str::trim_start)
            .any(|l| l.starts_with(flag) || l.starts_with(&format!("-q, {flag}")));
        assert!(!listed, "terroir key new --help lists {flag}: {help}");
    }
    assert!(
        help.contains("Global options (--ledger, --node, --json, --quiet …): see `terroir --help`"),
        "{help}"
    );
    let out = env.ok(&["key", "new", "--out", "a.key", "--plain", "--json"]);
    let v: serde_json::Value = serde_json::from_str(&out).expect("JSON after the subcommand");
    assert!(v.is_object(), "{out}");
}

/// `terroir completions SHELL` prints a completion script that knows the
/// commands and their flags.
#[test]
fn completions_for_every_shell() {
    let env = common::Env::new();
    let bash = env.ok(&["completions", "bash"]);
    assert!(bash.contains("trace"), "bash completions lack trace");
    assert!(
        bash.contains("--quantity"),
        "bash completions lack --quantity"
    );
    assert!(bash.contains("--ledger"), "bash completions lack --ledger");
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let out = env.ok(&["completions", shell]);
        assert!(
            out.contains("quantity"),
            "{shell} completions lack --quantity"
        );
    }
    env.fails_with(2, &["completions", "tcsh"], "invalid value 'tcsh'");
}

/// The most used commands end their help with examples.
#[test]
fn help_has_examples() {
    let env = common::Env::new();
    let help = env.ok(&["record", "receive", "--help"]);
    assert!(
        help.contains("Examples:\n  terroir record receive --key coop.key --shipment cb662c94"),
        "{help}"
    );
    for cmd in [
        &["record", "harvest"][..],
        &["record", "ship"],
        &["trace"],
        &["bundle"],
        &["verify"],
        &["qr"],
        &["status"],
    ] {
        let mut args = cmd.to_vec();
        args.push("--help");
        let help = env.ok(&args);
        let want = format!("Examples:\n  terroir {}", cmd.join(" "));
        assert!(help.contains(&want), "terroir {cmd:?} --help: {help}");
        // The pointer to the global options comes after the examples.
        assert!(help.trim_end().ends_with("see `terroir --help`."), "{help}");
    }
}

/// `terroir participants` pads names by display width, so the key column
/// starts at the same terminal column whatever the script of the names.
#[test]
fn participant_names_align_by_display_width() {
    let d = Demo::new();
    let out = d.env.ok(&["participants"]);
    let lines: Vec<&str> = out.lines().filter(|l| !l.trim().is_empty()).collect();
    assert!(lines.len() >= 5, "{out}");
    assert!(
        out.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)),
        "{out}"
    );
    let starts: Vec<usize> = lines
        .iter()
        .map(|l| {
            // The key is the last word: 64 hex characters.
            let key_at = l.rfind(' ').expect("columns") + 1;
            assert_eq!(l.len() - key_at, 64, "{l}");
            unicode_width::UnicodeWidthStr::width(&l[..key_at])
        })
        .collect();
    assert!(
        starts.iter().all(|s| *s == starts[0]),
        "key columns start at display widths {starts:?}:\n{out}"
    );
}

/// A temperature needs the goods' profile (or an explicit range): frozen
/// goods read at −18 °C are no excursion under `--profile frozen`, and
/// nothing is guessed when neither is given.
#[test]
fn temperatures_need_a_profile_or_a_range() {
    let d = Demo::new();
    let env = &d.env;
    let farm = d.key("jiukeng-garden");
    let observe = |extra: &[&str]| {
        let mut args = vec![
            "record",
            "observe",
            "--key",
            farm.as_str(),
            "--lot",
            "QDH-JK-0401",
            "--temperature",
            "-18",
        ];
        args.extend_from_slice(extra);
        args.iter()
            .map(|a| (*a).to_owned())
            .collect::<Vec<String>>()
    };
    env.refused(&observe(&[]), "--profile chilled, frozen or ambient");
    let frozen = env.json(
        &observe(&["--profile", "frozen"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    let reading = &frozen["event"]["readings"][0];
    assert_eq!(reading["min"], -30_000, "{frozen}");
    assert_eq!(reading["max"], -15_000);
    assert_eq!(reading["value"], -18_000);
    env.malformed(
        &observe(&["--profile", "frozen", "--temperature-range", "0..8"]),
        "cannot be used with",
    );
}

/// Times are shown in the network's zone (the demo's genesis names
/// Asia/Shanghai), and in UTC with `--utc` or `TERROIR_UTC=1`: the same
/// instants, eight hours apart, never as epoch milliseconds.
#[test]
fn times_in_the_networks_zone_or_utc_on_request() {
    let d = Demo::new();
    let env = &d.env;
    let local = env.ok(&["trace", "QDH-PACK-0404"]);
    let utc = env.ok(&["--utc", "trace", "QDH-PACK-0404"]);
    assert!(local.contains(" CST"), "{local}");
    assert!(!local.contains(" UTC"), "{local}");
    assert!(utc.contains(" UTC"), "{utc}");
    assert!(!utc.contains(" CST"), "{utc}");
    // Every time in the trace, local and UTC, eight hours apart.
    let times = |text: &str, zone: &str| -> Vec<(String, u32)> {
        text.split(zone)
            .filter_map(|before| before.get(before.len().checked_sub(16)?..))
            .filter(|t| t.as_bytes().get(10) == Some(&b' '))
            .map(|t| {
                let hour: u32 = t[11..13].parse().expect("hour");
                (t[..10].to_owned(), hour)
            })
            .collect()
    };
    let (l, u) = (times(&local, " CST"), times(&utc, " UTC"));
    assert!(!l.is_empty(), "{local}");
    assert_eq!(l.len(), u.len(), "{local}\n{utc}");
    for ((ld, lh), (ud, uh)) in l.iter().zip(&u) {
        if ld == ud {
            assert_eq!(*lh, uh + 8, "{ld} {lh}h CST vs {ud} {uh}h UTC");
        } else {
            assert_eq!(lh + 24, uh + 8, "{ld} {lh}h CST vs {ud} {uh}h UTC");
        }
    }
    // The environment variable does what the flag does.
    let by_env = env
        .cmd()
        .env("TERROIR_UTC", "1")
        .args(["trace", "QDH-PACK-0404"])
        .output()
        .expect("run terroir");
    assert_eq!(String::from_utf8(by_env.stdout).unwrap(), utc);
    for text in [&local, &utc] {
        assert!(!has_epoch_ms(text), "{text}");
    }
}

/// Whether `text` holds what looks like an epoch-millisecond timestamp:
/// 13 digits from 1 (2001 to 2286; GTINs and GLNs here start with 6).
fn has_epoch_ms(text: &str) -> bool {
    text.split(|c: char| !c.is_ascii_digit())
        .any(|run| run.len() == 13 && run.starts_with('1'))
}

/// An error about a time names it as a date in the network's zone (UTC
/// under `--utc`), not in milliseconds.
#[test]
fn an_error_about_a_time_shows_a_date() {
    let d = Demo::new();
    let env = &d.env;
    let farm = d.key("jiukeng-garden");
    let harvest = |extra: &[&str]| -> Vec<String> {
        let mut args = vec![
            "record",
            "harvest",
            "--key",
            farm.as_str(),
            "--lot",
            "QDH-FUTURE",
            "--product",
            "tea",
            "--quantity",
            "1kg",
            "--time",
            "2999-01-01",
        ];
        args.extend_from_slice(extra);
        args.iter().map(|a| (*a).to_owned()).collect()
    };
    let local = env.refused(&harvest(&[]), "in the future");
    assert!(local.contains("2999-01-01 08:00 CST"), "{local}");
    assert!(!has_epoch_ms(&local), "{local}");
    let utc = env.refused(&harvest(&["--utc"]), "in the future");
    assert!(utc.contains("2999-01-01 00:00 UTC"), "{utc}");
    assert!(!has_epoch_ms(&utc), "{utc}");
}

/// A terminal theme: its default ink and paper, and the grey it shows
/// for each colour the QR drawing may set (SGR 30–37, 90–97 and their
/// backgrounds), as the common palettes have them.
struct Theme {
    name: &'static str,
    ink: u8,
    paper: u8,
    black: u8,
    white: u8,
    bright_black: u8,
    bright_white: u8,
}

const LIGHT: Theme = Theme {
    name: "light",
    ink: 0x1e,
    paper: 0xff,
    black: 0x00,
    white: 0xe5,
    bright_black: 0x7f,
    bright_white: 0xff,
};

/// A dark theme whose black is a dark grey and whose white is not quite
/// white (Tango-like): the drawing must read without pure colours.
const DARK: Theme = Theme {
    name: "dark",
    ink: 0xd0,
    paper: 0x1e,
    black: 0x2e,
    white: 0xd3,
    bright_black: 0x55,
    bright_white: 0xee,
};

impl Theme {
    /// The grey of ANSI colour `n` (0–7), bright or not.
    fn color(&self, n: u32, bright: bool) -> u8 {
        match (n, bright) {
            (0, false) => self.black,
            (7, false) => self.white,
            (0, true) => self.bright_black,
            (7, true) => self.bright_white,
            _ => panic!(
                "the QR drawing uses colour {n} (bright: {bright}); only black and white scan"
            ),
        }
    }

    /// What the terminal shows for `lines`: one pixel column per
    /// character and two pixel rows per line (the half blocks), in grey,
    /// with `margin` characters of the theme's own paper around it. SGR
    /// colours stay set across lines until reset, as in a terminal.
    fn screen(&self, lines: &[&str], margin: usize) -> Vec<Vec<u8>> {
        let (mut fg, mut bg, mut reverse) = (None::<u8>, None::<u8>, false);
        let mut rows: Vec<Vec<u8>> = Vec::new();
        for line in lines {
            let (mut top, mut bottom) = (vec![self.paper; margin], vec![self.paper; margin]);
            let mut chars = line.chars();
            while let Some(c) = chars.next() {
                if c == '\u{1b}' {
                    assert_eq!(chars.next(), Some('['), "{line:?}");
                    let params: String = chars.by_ref().take_while(|c| *c != 'm').collect();
                    for p in params.split(';') {
                        let n: u32 = if p.is_empty() {
                            0
                        } else {
                            p.parse().expect("SGR")
                        };
                        match n {
                            0 => (fg, bg, reverse) = (None, None, false),
                            7 => reverse = true,
                            27 => reverse = false,
                            30..=37 => fg = Some(self.color(n - 30, false)),
                            90..=97 => fg = Some(self.color(n - 90, true)),
                            40..=47 => bg = Some(self.color(n - 40, false)),
                            100..=107 => bg = Some(self.color(n - 100, true)),
                            39 => fg = None,
                            49 => bg = None,
                            _ => panic!("unexpected SGR {n} in {line:?}"),
                        }
                    }
                    continue;
                }
                let (mut ink, mut paper) = (fg.unwrap_or(self.ink), bg.unwrap_or(self.paper));
                if reverse {
                    (ink, paper) = (paper, ink);
                }
                let (t, b) = match c {
                    '█' => (ink, ink),
                    '▀' => (ink, paper),
                    '▄' => (paper, ink),
                    ' ' => (paper, paper),
                    _ => panic!("unexpected character {c:?} in the QR drawing"),
                };
                top.push(t);
                bottom.push(b);
            }
            rows.push(top);
            rows.push(bottom);
        }
        let width = rows.iter().map(Vec::len).max().unwrap_or(0) + margin;
        for r in &mut rows {
            r.resize(width, self.paper);
        }
        let blank = vec![self.paper; width];
        let mut screen = vec![blank.clone(); 2 * margin];
        screen.extend(rows);
        screen.extend(vec![blank; 2 * margin]);
        screen
    }
}

/// Writes grey `pixels`, each scaled to a `scale`×`scale` square, as a PNG.
fn write_png(pixels: &[Vec<u8>], scale: usize, path: &std::path::Path) {
    let (h, w) = (pixels.len() * scale, pixels[0].len() * scale);
    let mut data = Vec::with_capacity(w * h);
    for row in pixels {
        let wide: Vec<u8> = row
            .iter()
            .flat_map(|p| std::iter::repeat_n(*p, scale))
            .collect();
        for _ in 0..scale {
            data.extend_from_slice(&wide);
        }
    }
    let file = std::io::BufWriter::new(std::fs::File::create(path).unwrap());
    let mut enc = png::Encoder::new(file, u32::try_from(w).unwrap(), u32::try_from(h).unwrap());
    enc.set_color(png::ColorType::Grayscale);
    enc.set_depth(png::BitDepth::Eight);
    let mut writer = enc.write_header().unwrap();
    writer.write_image_data(&data).unwrap();
    writer.finish().unwrap();
}

/// What `zbarimg` reads in the image at `path`, or `None`.
fn zbar(path: &std::path::Path) -> Option<String> {
    let out = std::process::Command::new("zbarimg")
        .args(["--raw", "-q"])
        .arg(path)
        .output()
        .expect("run zbarimg");
    out.status
        .success()
        .then(|| String::from_utf8(out.stdout).unwrap().trim_end().to_owned())
}

/// `terroir qr --terminal` draws a code that scans on a light and on a
/// dark terminal theme: black modules on an explicit white quiet zone of
/// 4 modules, every line reset at its end. The printed text is turned
/// back into the picture each theme shows, written as a PNG and read by
/// `zbarimg`; without colours (piped, `NO_COLOR`) the plain characters
/// still draw dark modules as ink and scan as a light theme shows them.
#[test]
fn terminal_qr_reads_on_light_and_dark_themes() {
    let has_zbar = std::process::Command::new("zbarimg")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !has_zbar {
        eprintln!("skipped: zbarimg not installed (apt-get install zbar-tools)");
        return;
    }
    let d = Demo::new();
    let env = &d.env;
    let url = env.json(&["qr", "QDH-PACK-0404", "--terminal"])["url"]
        .as_str()
        .expect("url")
        .to_owned();
    let drawing = |colour: bool| -> Vec<String> {
        let mut c = env.cmd();
        if colour {
            c.env_remove("NO_COLOR").env("CLICOLOR_FORCE", "1");
        }
        let out = c
            .args(["qr", "QDH-PACK-0404", "--terminal"])
            .output()
            .expect("run terroir");
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        let lines: Vec<String> = stdout.lines().map(str::to_owned).collect();
        assert_eq!(lines.last(), Some(&url), "{stdout}");
        lines[..lines.len() - 1].to_vec()
    };
    let coloured = drawing(true);
    let plain = drawing(false);
    assert!(coloured.len() > 10, "{coloured:?}");
    // Explicit colours on every line, reset at its end; none in plain text.
    for line in &coloured {
        assert!(line.starts_with('\u{1b}'), "{line:?}");
        assert!(line.ends_with("\u{1b}[0m"), "{line:?}");
    }
    assert!(plain.iter().all(|l| !l.contains('\u{1b}')), "{plain:?}");
    // The quiet zone: two blank lines (4 modules) above, and 4 blank
    // columns either side of every line.
    for line in plain.iter().take(2) {
        assert!(line.trim().is_empty(), "{plain:?}");
    }
    for line in &plain {
        let cells: Vec<char> = line.chars().collect();
        assert!(cells.len() > 8, "{line:?}");
        assert!(cells[..4].iter().all(|c| *c == ' '), "{line:?}");
        assert!(
            cells[cells.len() - 4..].iter().all(|c| *c == ' '),
            "{line:?}"
        );
    }
    let tmp = tempfile::tempdir().unwrap();
    let scan = |name: &str, lines: &[String], theme: &Theme| -> Option<String> {
        let lines: Vec<&str> = lines.iter().map(String::as_str).collect();
        let path = tmp.path().join(format!("{name}-{}.png", theme.name));
        write_png(&theme.screen(&lines, 3), 6, &path);
        zbar(&path)
    };
    for theme in [&LIGHT, &DARK] {
        assert_eq!(
            scan("coloured", &coloured, theme).as_deref(),
            Some(url.as_str()),
            "the coloured drawing does not scan on a {} theme",
            theme.name
        );
    }
    assert_eq!(
        scan("plain", &plain, &LIGHT).as_deref(),
        Some(url.as_str()),
        "the plain drawing does not scan as dark-on-light text"
    );
}
