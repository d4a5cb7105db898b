//! The EMF recorder installed by `metrics::init` writes documents CloudWatch accepts: the
//! namespace, the `service` dimension, the metric definitions and their values.
//! (Its own process: the recorder is global, so this file holds one test.)

use orabridge_shared::metrics::{self, MetricsSettings, Unit};

#[test]
fn counters_flush_as_one_emf_document_with_namespace_and_service_dimension() {
    let settings = MetricsSettings {
        namespace: "OrabridgeTest".into(),
        service: "sensor-consumer".into(),
    };
    let collector = metrics::init(&settings).expect("first install succeeds");
    metrics::describe_counter!("Received", Unit::Count, "messages received");
    metrics::counter!("Received").increment(7);
    metrics::counter!("Received").increment(3);

    let mut out = Vec::new();
    collector.flush(&mut out).unwrap();
    let doc: serde_json::Value = serde_json::from_slice(&out).expect("one JSON document");

    let directive = &doc["_aws"]["CloudWatchMetrics"][0];
    assert_eq!(directive["Namespace"], "OrabridgeTest");
    assert_eq!(directive["Dimensions"], serde_json::json!([["service"]]));
    assert_eq!(directive["Metrics"][0]["Name"], "Received");
    assert_eq!(directive["Metrics"][0]["Unit"], "Count");
    assert!(doc["_aws"]["Timestamp"].as_u64().is_some());
    assert_eq!(doc["service"], "sensor-consumer");
    assert_eq!(doc["Received"], 10);

    assert!(
        metrics::init(&settings).is_err(),
        "a second recorder is refused, not silently ignored"
    );
}
