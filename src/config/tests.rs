use super::*;

const OPTS: &[OptionSpec] = &[
    OptionSpec {
        name: "port",
        help: "TCP port",
    },
    OptionSpec {
        name: "block-size",
        help: "bytes per request",
    },
];

fn parse(words: &[&str]) -> Result<Config, ConfigError> {
    Config::parse(words.iter().copied(), OPTS)
}

fn bad_value(words: &[&str]) -> (String, String, String) {
    match parse(words) {
        Err(ConfigError::BadValue {
            option,
            value,
            reason,
        }) => (option, value, reason),
        other => panic!("expected a bad value for {words:?}, got {other:?}"),
    }
}

#[test]
fn defaults_when_nothing_is_given() {
    let c = parse(&[]).unwrap();
    assert_eq!(c.net, NetMode::Socket);
    assert_eq!(
        (c.tap, c.ipv4, c.ipv4_gateway, c.block),
        (None, None, None, None)
    );
    assert_eq!(c.args.value("port"), None);
    assert_eq!(c.log, log::LevelFilter::Info);
}

#[test]
fn log_levels_by_name_in_any_case() {
    for (word, level) in [
        ("off", log::LevelFilter::Off),
        ("error", log::LevelFilter::Error),
        ("WARN", log::LevelFilter::Warn),
        ("Info", log::LevelFilter::Info),
        ("debug", log::LevelFilter::Debug),
        ("trace", log::LevelFilter::Trace),
    ] {
        assert_eq!(parse(&["--log", word]).unwrap().log, level, "{word}");
    }
    let (option, value, reason) = bad_value(&["--log=loud"]);
    assert_eq!((option.as_str(), value.as_str()), ("log", "loud"));
    assert!(reason.contains("debug"), "{reason}");
}

#[test]
fn runtime_options_in_both_spellings() {
    let c = parse(&[
        "--net",
        "socket",
        "--tap=tap7",
        "--ipv4",
        "10.0.0.2/24",
        "--block=/tmp/disk.img",
    ])
    .unwrap();
    assert_eq!(c.tap.as_deref(), Some("tap7"));
    assert_eq!(
        c.ipv4,
        Some(Ipv4Cidr {
            address: Ipv4Addr::new(10, 0, 0, 2),
            prefix_len: 24
        })
    );
    assert_eq!(c.block.as_deref(), Some("/tmp/disk.img"));
}

#[test]
fn unikernel_options_are_kept_raw_and_parsed_on_demand() {
    let c = parse(&["--port", "8080", "--block-size=4096"]).unwrap();
    assert_eq!(c.args.value("port"), Some("8080"));
    assert_eq!(c.args.try_parse::<u16>("port"), Ok(Some(8080)));
    assert_eq!(c.args.try_parse::<u32>("block-size"), Ok(Some(4096)));
    let c = parse(&["--port", "eighty"]).unwrap();
    let err = c.args.try_parse::<u16>("port").unwrap_err();
    assert_eq!(
        err.to_string(),
        "invalid value `eighty` for `--port`: invalid digit found in string"
    );
}

#[test]
fn a_value_may_start_with_dashes_when_inline() {
    let c = parse(&["--port=--1"]).unwrap();
    assert_eq!(c.args.value("port"), Some("--1"));
}

#[test]
#[should_panic(expected = "not declared")]
fn reading_an_undeclared_option_is_a_programming_error() {
    parse(&[]).unwrap().args.value("nope");
}

#[test]
fn every_error_names_its_option() {
    assert_eq!(parse(&["--help"]).unwrap_err(), ConfigError::Help);
    assert_eq!(
        parse(&["--port", "1", "--help"]).unwrap_err(),
        ConfigError::Help
    );
    let e = parse(&["--frobnicate", "1"]).unwrap_err();
    assert_eq!(e, ConfigError::Unknown("--frobnicate".into()));
    assert_eq!(e.to_string(), "unknown option `--frobnicate`");
    assert_eq!(
        parse(&["7"]).unwrap_err(),
        ConfigError::Unexpected("7".into())
    );
    assert_eq!(
        parse(&["-p", "7"]).unwrap_err(),
        ConfigError::Unexpected("-p".into())
    );
    assert_eq!(
        parse(&["--"]).unwrap_err(),
        ConfigError::Unexpected("--".into())
    );
    let e = parse(&["--port"]).unwrap_err();
    assert_eq!(e, ConfigError::MissingValue("port".into()));
    assert_eq!(e.to_string(), "option `--port` needs a value");
    assert_eq!(
        parse(&["--tap"]).unwrap_err(),
        ConfigError::MissingValue("tap".into())
    );
    let e = parse(&["--port", "1", "--port=2"]).unwrap_err();
    assert_eq!(e, ConfigError::Twice("port".into()));
    assert_eq!(
        parse(&["--tap", "a", "--tap", "b"]).unwrap_err(),
        ConfigError::Twice("tap".into())
    );
}

#[test]
fn bad_runtime_values() {
    assert_eq!(bad_value(&["--net", "carrier-pigeon"]).0, "net");
    let (_, _, why) = bad_value(&["--net", "tap"]);
    assert!(why.contains("not built yet"), "{why}");
    assert_eq!(bad_value(&["--tap", ""]).0, "tap");
    assert_eq!(bad_value(&["--tap", "a-name-far-too-long"]).0, "tap");
    assert_eq!(bad_value(&["--tap", "tap 0"]).0, "tap");
    for v in ["10.0.0.2", "10.0.0.2/33", "10.0.0/24", "10.0.0.2/x", "/24"] {
        let (opt, val, _) = bad_value(&["--ipv4", v]);
        assert_eq!((opt.as_str(), val.as_str()), ("ipv4", v));
    }
    assert_eq!(bad_value(&["--ipv4-gateway", "gw"]).0, "ipv4-gateway");
    let (opt, _, why) = bad_value(&["--ipv4", "10.0.0.2/24", "--ipv4-gateway", "10.0.0.1"]);
    assert_eq!(opt, "ipv4-gateway");
    assert!(why.contains("host's routes"), "{why}");
    assert_eq!(bad_value(&["--block="]).0, "block");
}

#[test]
fn bad_value_message() {
    let e = parse(&["--ipv4", "10.0.0.2/40"]).unwrap_err();
    assert_eq!(
        e.to_string(),
        "invalid value `10.0.0.2/40` for `--ipv4`: `40` is not a prefix length (0 to 32)"
    );
}

#[test]
fn durations() {
    assert_eq!(parse_duration("1s"), Ok(Duration::from_secs(1)));
    assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
    assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    assert_eq!(parse_duration("500us"), Ok(Duration::from_micros(500)));
    assert_eq!(parse_duration("100ns"), Ok(Duration::from_nanos(100)));
    for bad in ["", "ms", "1m", "1.5s", "-1s", "99999999999999999999s"] {
        assert!(parse_duration(bad).is_err(), "{bad}");
    }
}

#[test]
fn usage_lists_both_kinds_of_options() {
    let u = Config::usage("echo", OPTS);
    assert!(u.contains("--tap NAME"), "{u}");
    assert!(u.contains("--block-size VALUE  bytes per request"), "{u}");
}

#[test]
fn kernel_command_line_words_parse_the_same() {
    let cmdline = "  --port 80   --ipv4=192.168.1.9/16 ";
    let c = Config::parse(cmdline.split_whitespace(), OPTS).unwrap();
    assert_eq!(c.args.value("port"), Some("80"));
    assert_eq!(c.ipv4.unwrap().to_string(), "192.168.1.9/16");
}

/// Hostile command lines never panic: they parse or name an error. (A
/// randomized test with its own generator: proptest cannot be a
/// dev-dependency of the facade, see Cargo.toml.)
#[test]
fn random_command_lines_never_panic() {
    const PIECES: &[&str] = &[
        "--",
        "-",
        "=",
        "port",
        "block-size",
        "net",
        "tap",
        "ipv4",
        "ipv4-gateway",
        "block",
        "help",
        "socket",
        "10.0.0.2/24",
        "/33",
        "1",
        "0",
        "99999999999",
        "ms",
        "x",
        "",
        " ",
        "\u{e9}",
        "/",
        ".",
    ];
    let mut state = 0x9e37_79b9_7f4a_7c15u64;
    let mut next = |n: usize| {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % n as u64) as usize
    };
    for _ in 0..20_000 {
        let words: Vec<String> = (0..next(6))
            .map(|_| {
                (0..1 + next(4))
                    .map(|_| PIECES[next(PIECES.len())])
                    .collect()
            })
            .collect();
        if let Ok(c) = Config::parse(words.iter().map(String::as_str), OPTS) {
            let _ = c.args.try_parse::<u16>("port");
            let _ = c.args.try_duration("block-size");
        }
    }
}
