//! The function end to end against moto server (S3 and SSM): a scheduled run publishes the
//! four files and then `latest.json`; failures anywhere before the pointer leave the previous
//! run visible; events that are neither schedules nor requests are refused and nothing is
//! published.

use crate::support;

use std::path::Path;

use orabridge_shared::start::Function;
use run_colors::function::RunResponse;
use run_colors::values::parse_timestamp;
use serde_json::json;
use support::*;

#[tokio::test]
async fn a_scheduled_run_publishes_the_files_then_points_latest_at_them() {
    let fx = fixture().await;
    let function = fx.csv_function(None);
    let response: RunResponse = function
        .handle(lambda_event(scheduled("2026-11-20T16:00:00Z")))
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
async fn a_run_removes_what_a_timed_out_invocation_left_in_the_work_dir() {
    let fx = fixture().await;
    // As Lambda leaves it when it stops an invocation at its timeout: a half-written run.
    let left = fx.work.path().join("run-colors-abc123");
    std::fs::create_dir(&left).expect("leftover folder");
    std::fs::write(left.join("colors.json"), b"[").expect("leftover file");
    let other = fx.work.path().join("not-ours");
    std::fs::create_dir(&other).expect("another folder");
    fx.csv_function(None)
        .handle(lambda_event(scheduled("2026-11-20T16:00:00Z")))
        .await
        .expect("run");
    assert!(!left.exists(), "the leftover run folder is gone");
    assert!(other.exists(), "nothing else is touched");
}

#[tokio::test]
async fn a_failure_before_the_pointer_leaves_the_previous_latest_in_place() {
    let fx = fixture().await;
    let first = fx
        .csv_function(None)
        .handle(lambda_event(scheduled("2026-11-20T16:00:00Z")))
        .await
        .expect("first run");
    let before = fx.latest().await;
    assert_eq!(before["run_id"], json!(first.manifest.run_id));

    for step in ["colors.json", "manifest.json", "latest.json"] {
        let err = fx
            .csv_function(Some(step))
            .handle(lambda_event(scheduled("2026-11-20T16:15:00Z")))
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
        .handle(lambda_event(
            json!({"asOf": "2026-11-20T16:00:00Z", "dryRun": true}),
        ))
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
        let (kind, _) = error_type(
            function
                .handle(lambda_event(event.clone()))
                .await
                .expect_err("refused"),
        );
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

/// Lambda retries a failed asynchronous invocation and keeps a throttled event for up to six
/// hours ("How Lambda handles errors and retries with asynchronous invocation",
/// https://docs.aws.amazon.com/lambda/latest/dg/invocation-async-error-handling.html), and
/// EventBridge Scheduler invokes asynchronously: a run as of 16:00 can finish after the one as
/// of 16:15. It publishes its folder; the pointer stays on the later run.
#[tokio::test]
async fn runs_published_out_of_order_leave_the_pointer_on_the_later_one() {
    let fx = fixture().await;
    let function = fx.csv_function(None);
    let later = function
        .handle(lambda_event(scheduled("2026-11-20T16:15:00Z")))
        .await
        .expect("the 16:15 run");
    assert!(later.pointer.as_ref().expect("pointer").moved);
    let earlier = function
        .handle(lambda_event(scheduled("2026-11-20T16:00:00Z")))
        .await
        .expect("the 16:00 run, arriving late");
    let pointer = earlier.pointer.expect("pointer");
    assert!(!pointer.moved, "{pointer:?}");
    assert_eq!(pointer.current.run_id, later.manifest.run_id);
    assert_eq!(fx.latest().await["run_id"], json!(later.manifest.run_id));
    let folder = earlier.published.expect("published").folder;
    assert!(
        fx.objects()
            .await
            .contains_key(&format!("{folder}manifest.json")),
        "the late run's folder is published all the same"
    );

    // The same event again (a retry): nothing moves.
    let retried = function
        .handle(lambda_event(scheduled("2026-11-20T16:15:00Z")))
        .await
        .expect("retry");
    assert!(!retried.pointer.expect("pointer").moved);

    // Asked for on purpose, the older run takes the pointer.
    let forced = function
        .handle(lambda_event(
            json!({"asOf": "2026-11-20T16:00:00Z", "force": true}),
        ))
        .await
        .expect("forced");
    assert!(forced.pointer.expect("pointer").moved);
    assert_eq!(fx.latest().await["run_id"], json!(earlier.manifest.run_id));
}

/// moto applies S3's conditions (`If-None-Match: *`, `If-Match`) but cannot race two writers:
/// this test puts a writer between the function's read of `latest.json` and its conditional
/// write, and shows S3's refusal (412) makes the function read again and decide on what that
/// writer left. What it proves is the adapter's use of the conditions and the retry; that S3
/// applies a condition atomically under real concurrency is S3's documented behaviour
/// ("How to prevent object overwrites with conditional writes",
/// https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html).
#[tokio::test]
async fn a_newer_pointer_written_during_publication_is_kept() {
    use orabridge_shared::testkit::{FaultyStore, WritePlan};

    let fx = fixture().await;
    let newer = json!({"run_id": "20261120T163000Z-other", "as_of": "2026-11-20T16:30:00Z",
                       "folder": "x/", "manifest": "x/manifest.json"});
    for existing in [None, Some("2026-11-20T16:00:00Z")] {
        if let Some(as_of) = existing {
            fx.csv_function(None)
                .handle(lambda_event(json!({"asOf": as_of, "force": true})))
                .await
                .expect("an older pointer in place");
        }
        // Another run writes its pointer just before this run's first conditional write
        // reaches S3.
        let pointer = serde_json::to_vec(&newer).expect("json");
        let store = FaultyStore::new(orabridge_shared::object_store::S3ObjectStore::new(
            fx.s3.clone(),
            BUCKET,
        ))
        .on_write(move |call| match call.conditional && call.earlier == 0 {
            true => WritePlan::RacedBy(pointer.clone()),
            false => WritePlan::Pass,
        });
        let function = fx
            .function_over(fx.csv_config(), store)
            .expect("a CSV function builds");
        let response = function
            .handle(lambda_event(scheduled("2026-11-20T16:15:00Z")))
            .await
            .expect("published");
        let pointer = response.pointer.expect("pointer");
        assert!(!pointer.moved, "{existing:?}: {pointer:?}");
        assert_eq!(pointer.current.run_id, "20261120T163000Z-other");
        assert_eq!(fx.latest().await, newer, "{existing:?}");
    }
}
