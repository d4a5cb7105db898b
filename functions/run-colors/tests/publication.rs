//! The function end to end against moto server (S3 and SSM): a scheduled run publishes the
//! four files and then `latest.json`; failures anywhere before the pointer leave the previous
//! run visible; events that are neither schedules nor requests are refused and nothing is
//! published.

mod support;

use std::path::Path;

use run_colors::function::RunResponse;
use run_colors::values::parse_timestamp;
use serde_json::json;
use support::*;

#[tokio::test]
async fn a_scheduled_run_publishes_the_files_then_points_latest_at_them() {
    let fx = fixture().await;
    let function = fx.csv_function(None);
    let response: RunResponse = function
        .handle(&scheduled("2026-11-20T16:00:00Z"), 0)
        .await
        .expect("run");
    let run_id = &response.manifest.run_id;
    assert!(run_id.starts_with("20261120T160000Z-"), "{run_id}");
    let folder = format!("{PREFIX}/runs/2026-11-20/{run_id}/");
    let objects = fx.objects().await;
    let keys: Vec<&String> = objects.keys().collect();
    assert_eq!(
        keys,
        [
            &format!("{PREFIX}/latest.json"),
            &format!("{folder}colors.csv"),
            &format!("{folder}colors.json"),
            &format!("{folder}excluded.csv"),
            &format!("{folder}manifest.json"),
        ]
    );
    for name in ["colors.csv", "colors.json", "excluded.csv"] {
        let golden = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/golden")
                .join(name),
        )
        .expect("golden");
        assert_eq!(objects[&format!("{folder}{name}")], golden, "{name}");
    }
    let latest = fx.latest().await;
    assert_eq!(latest["run_id"], json!(run_id));
    assert_eq!(latest["folder"], json!(folder));
    assert_eq!(latest["manifest"], json!(format!("{folder}manifest.json")));
    let published = response.published.expect("published");
    assert_eq!(published.folder, folder);
    assert_eq!(fx.staged_folders(), 0, "the staging folder is removed");
}

#[tokio::test]
async fn a_failure_before_the_pointer_leaves_the_previous_latest_in_place() {
    let fx = fixture().await;
    let first = fx
        .csv_function(None)
        .handle(&scheduled("2026-11-20T16:00:00Z"), 0)
        .await
        .expect("first run");
    let before = fx.latest().await;
    assert_eq!(before["run_id"], json!(first.manifest.run_id));

    for step in ["colors.json", "manifest.json", "latest.json"] {
        let err = fx
            .csv_function(Some(step))
            .handle(&scheduled("2026-11-20T16:15:00Z"), 0)
            .await
            .expect_err("injected failure");
        let (kind, message) = error_type(err);
        assert_eq!(kind, "PublishFailed", "{step}");
        assert!(
            message.contains("latest.json still points at the previous run"),
            "{message}"
        );
        assert_eq!(
            fx.latest().await,
            before,
            "failure at {step} moved the pointer"
        );
    }
}

#[tokio::test]
async fn a_dry_run_ranks_but_publishes_nothing() {
    let fx = fixture().await;
    let response = fx
        .csv_function(None)
        .handle(&json!({"asOf": "2026-11-20T16:00:00Z", "dryRun": true}), 0)
        .await
        .expect("dry run");
    assert!(response.published.is_none());
    assert_eq!(response.manifest.rows.input, 21);
    assert!(fx.objects().await.is_empty());
}

#[tokio::test]
async fn events_that_are_neither_schedules_nor_requests_are_refused() {
    let fx = fixture().await;
    let function = fx.csv_function(None);
    for event in [
        json!({"as_of": "2026-11-20T16:00:00Z"}),
        json!({"asOf": "yesterday"}),
        json!([1, 2]),
        json!("run"),
    ] {
        let (kind, _) = error_type(function.handle(&event, 0).await.expect_err("refused"));
        assert_eq!(kind, "InvalidEvent", "{event}");
    }
    assert!(fx.objects().await.is_empty());
}

#[test]
fn the_schedule_time_is_the_run_as_of() {
    let request = run_colors::function::parse_trigger(&scheduled("2026-11-20T09:00:00Z"), 0)
        .expect("scheduled event");
    assert_eq!(Some(request.as_of), parse_timestamp("2026-11-20T09:00:00Z"));
    assert!(!request.dry_run);
    let now = parse_timestamp("2026-11-21T00:00:00Z").expect("now");
    let direct = run_colors::function::parse_trigger(&json!({}), now).expect("direct");
    assert_eq!(direct.as_of, now);
}
