//! The proxy's routing and error shape, driven by the sample events in `events/`.

use lambda_http::Body;
use proxy::{Route, route};

fn event(name: &str) -> lambda_http::Request {
    let path = format!("{}/../../events/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    lambda_http::request::from_str(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json(body: &Body) -> serde_json::Value {
    serde_json::from_slice(body.as_ref()).expect("JSON body")
}

#[test]
fn contract_routes_are_recognised() {
    assert_eq!(route("GET", "/api/v1/sensors/WL-1"), Route::Forward);
    assert_eq!(route("DELETE", "/api/v1/x"), Route::Forward);
    assert_eq!(route("GET", "/health"), Route::Health);
    assert_eq!(
        route("POST", "/ingest/sensor-data"),
        Route::IngestSensorData
    );
    assert_eq!(route("GET", "/ingest/sensor-data"), Route::Unknown);
    assert_eq!(route("GET", "/api/v2/x"), Route::Unknown);
}

#[tokio::test]
async fn unknown_routes_answer_404_in_the_contract_error_shape() {
    let response = proxy::handle(event("proxy-v2-unknown-route.json"))
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let body = json(response.body());
    assert_eq!(body["error"], "not_found");
    assert_eq!(body["requestId"], "req-v2-unknown");
}

#[tokio::test]
async fn routes_not_built_yet_say_so_with_501_for_v1_and_v2_events() {
    for (name, request_id) in [
        ("proxy-v1-health.json", "req-v1-health"),
        ("proxy-v2-get.json", "req-v2-get"),
    ] {
        let response = proxy::handle(event(name)).await.unwrap();
        assert_eq!(response.status(), 501, "{name}");
        let body = json(response.body());
        assert_eq!(body["error"], "not_implemented", "{name}");
        assert_eq!(body["requestId"], request_id, "{name}");
    }
}
