//! Tier (c): the built function binaries, polling cargo-lambda's Lambda emulator (`cargo lambda
//! watch --only-lambda-apis`), answer every sample event the way this build should. This is the
//! `make demo` plan run as a test, so the demo cannot silently rot. The binaries are the ones
//! `cargo test --workspace` builds beside this test; run alone (`cargo test -p orabridge-demo`),
//! the demo builds them first.

use std::process::Command;

#[test]
fn every_function_answers_its_sample_events_through_the_lambda_emulator() {
    let output = Command::new(env!("CARGO_BIN_EXE_orabridge-demo"))
        .arg("demo")
        .output()
        .expect("the demo driver runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "demo failed\n{stdout}\n{stderr}");
    let invocations = stdout
        .lines()
        .filter(|l| l.trim_start().starts_with('✓') && l.contains(".json"))
        .count();
    assert_eq!(invocations, 14, "{stdout}");
    assert!(
        stdout.contains("14 of 14 invocations answered as this build should"),
        "{stdout}"
    );
    assert!(stdout.contains("✓ published run"), "{stdout}");
    assert!(stdout.contains("✓ closing workflow"), "{stdout}");
}

#[test]
fn an_unknown_function_is_refused_with_usage() {
    let output = Command::new(env!("CARGO_BIN_EXE_orabridge-demo"))
        .args(["demo", "--only", "no-such-function"])
        .output()
        .expect("the demo driver runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("no function named \"no-such-function\"")
    );
}
