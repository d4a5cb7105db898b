//! The scheduled trigger is accepted and answered with a plainly named error until the
//! processor exists.

use lambda_runtime::Diagnostic;

#[test]
fn the_scheduled_event_fails_as_not_built_yet() {
    let path = format!(
        "{}/../../events/eventbridge-run-colors-schedule.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let diagnostic = Diagnostic::from(run_colors::handle(&event).unwrap_err());
    assert_eq!(diagnostic.error_type, "NotBuiltYet");
    assert!(diagnostic.error_message.contains("run-colors"));
}
