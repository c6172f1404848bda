//! Feeds arbitrary bytes to `parse_line`. It must never panic, and every line
//! it accepts must survive serialise -> parse unchanged (both via `Display`
//! and via `write`, which must agree).
#![no_main]

use hearth_proto::{Message, parse_line};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(msg) = parse_line(data) else {
        return;
    };
    let text = msg.to_string();
    let mut wire = Vec::new();
    msg.write(&mut wire);
    assert_eq!(wire, format!("{text}\r\n").into_bytes());
    let again = Message::parse(&text).expect("a serialised message must parse");
    assert_eq!(again, msg, "round trip changed {text:?}");
});
