//! The daily trigger is accepted and answered with a plainly named error until the workflow
//! exists.

use lambda_runtime::Diagnostic;

#[test]
fn the_daily_trigger_fails_as_not_built_yet() {
    let path = format!(
        "{}/../../events/eventbridge-finance-closing-daily.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let event: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let diagnostic = Diagnostic::from(finance_closing::handle(&event).unwrap_err());
    assert_eq!(diagnostic.error_type, "NotBuiltYet");
    assert!(diagnostic.error_message.contains("finance-closing"));
}
