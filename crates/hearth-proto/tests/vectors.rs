//! Runs every vector of the community `irc-parser-tests` suite (kept in
//! `tests/data/irc-parser-tests/`, CC0) against hearth-proto.
//!
//! Each file is checked case by case and all failures are reported together,
//! so one run shows everything that is wrong.

use std::collections::BTreeMap;
use std::path::PathBuf;

use hearth_proto::{Message, UserHost, is_valid_hostname, mask_matches};
use serde::Deserialize;
use serde::de::DeserializeOwned;

#[derive(Deserialize)]
struct File<T> {
    tests: Vec<T>,
}

fn load<T: DeserializeOwned>(name: &str) -> Vec<T> {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests/data/irc-parser-tests", name].iter().collect();
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    let file: File<T> = serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{path:?}: {e}"));
    assert!(!file.tests.is_empty(), "{name} has no tests");
    file.tests
}

fn report(name: &str, count: usize, failures: Vec<String>) {
    assert!(failures.is_empty(), "{} of {count} {name} vectors failed:\n{}", failures.len(), failures.join("\n"));
}

#[derive(Deserialize, Debug)]
struct Atoms {
    #[serde(default)]
    tags: Option<BTreeMap<String, String>>,
    #[serde(default)]
    source: Option<String>,
    verb: String,
    #[serde(default)]
    params: Vec<String>,
}

#[derive(Deserialize)]
struct SplitCase {
    input: String,
    atoms: Atoms,
}

fn tag_map(msg: &Message) -> Option<BTreeMap<String, String>> {
    (!msg.tags.is_empty()).then(|| msg.tags.iter().map(|t| (t.key.clone(), t.value.clone())).collect())
}

#[test]
fn msg_split() {
    let cases: Vec<SplitCase> = load("msg-split.yaml");
    let mut failures = Vec::new();
    for case in &cases {
        let got = match Message::parse(&case.input) {
            Ok(msg) => msg,
            Err(e) => {
                failures.push(format!("{:?}: {e}", case.input));
                continue;
            }
        };
        let want = &case.atoms;
        // Hearth uppercases commands; the vectors keep the input's case.
        let ok = got.command == want.verb.to_ascii_uppercase()
            && got.source == want.source
            && got.params == want.params
            && tag_map(&got) == want.tags;
        if !ok {
            failures.push(format!("{:?}: got {got:?}, want {want:?}", case.input));
        }
    }
    report("msg-split", cases.len(), failures);
}

#[derive(Deserialize)]
struct JoinCase {
    desc: String,
    atoms: Atoms,
    matches: Vec<String>,
}

#[test]
fn msg_join() {
    let cases: Vec<JoinCase> = load("msg-join.yaml");
    let mut failures = Vec::new();
    for case in &cases {
        let atoms = &case.atoms;
        let mut msg = Message::new(atoms.verb.clone()).with_params(atoms.params.iter().cloned());
        msg.source = atoms.source.clone();
        for (key, value) in atoms.tags.iter().flatten() {
            msg = msg.with_tag(key.clone(), value.clone());
        }
        let text = msg.to_string();
        let mut bytes = Vec::new();
        msg.write(&mut bytes);
        let wire_ok = bytes == format!("{text}\r\n").into_bytes();
        if !wire_ok || !case.matches.contains(&text) {
            failures.push(format!("{}: got {text:?}, want one of {:?}", case.desc, case.matches));
        }
    }
    report("msg-join", cases.len(), failures);
}

#[derive(Deserialize, Default, PartialEq, Debug)]
struct UserHostAtoms {
    #[serde(default)]
    nick: String,
    #[serde(default)]
    user: String,
    #[serde(default)]
    host: String,
}

#[derive(Deserialize)]
struct UserHostCase {
    source: String,
    atoms: UserHostAtoms,
}

#[test]
fn userhost_split() {
    let cases: Vec<UserHostCase> = load("userhost-split.yaml");
    let mut failures = Vec::new();
    for case in &cases {
        let uh = UserHost::split(&case.source);
        let got = UserHostAtoms { nick: uh.nick.to_owned(), user: uh.user.to_owned(), host: uh.host.to_owned() };
        if got != case.atoms {
            failures.push(format!("{:?}: got {got:?}, want {:?}", case.source, case.atoms));
        }
    }
    report("userhost-split", cases.len(), failures);
}

#[derive(Deserialize)]
struct MaskCase {
    mask: String,
    #[serde(default)]
    matches: Vec<String>,
    #[serde(default)]
    fails: Vec<String>,
}

#[test]
fn mask_match() {
    let cases: Vec<MaskCase> = load("mask-match.yaml");
    let mut failures = Vec::new();
    let mut count = 0;
    for case in &cases {
        for (subjects, want) in [(&case.matches, true), (&case.fails, false)] {
            for subject in subjects {
                count += 1;
                if mask_matches(&case.mask, subject) != want {
                    failures.push(format!("{:?} vs {subject:?}: want {want}", case.mask));
                }
            }
        }
    }
    report("mask-match", count, failures);
}

#[derive(Deserialize)]
struct HostCase {
    host: String,
    valid: bool,
}

#[test]
fn validate_hostname() {
    let cases: Vec<HostCase> = load("validate-hostname.yaml");
    let mut failures = Vec::new();
    for case in &cases {
        if is_valid_hostname(&case.host) != case.valid {
            failures.push(format!("{:?}: want valid={}", case.host, case.valid));
        }
    }
    report("validate-hostname", cases.len(), failures);
}

/// Every msg-split input parses to a message whose serialisation parses back
/// to the same message.
#[test]
fn msg_split_inputs_round_trip() {
    let cases: Vec<SplitCase> = load("msg-split.yaml");
    for case in &cases {
        let msg = Message::parse(&case.input).unwrap();
        assert_eq!(Message::parse(&msg.to_string()).unwrap(), msg, "{:?}", case.input);
    }
}
