//! The S3 object-store adapter against moto server: what it writes reads back byte for byte, a
//! missing key is `NotFound` (S3's `NoSuchKey`, "GetObject" in the Amazon S3 API Reference),
//! and a missing bucket is a failure to read, not an absent object.

use orabridge_shared::object_store::{ObjectReadError, ObjectReader, ObjectStore, S3ObjectStore};
use orabridge_shared::testkit::MotoServer;

#[tokio::test]
async fn objects_read_back_and_a_missing_key_differs_from_a_missing_bucket() {
    let moto = MotoServer::start().await.expect("moto server");
    let s3 = orabridge_shared::aws::s3_client(&moto.sdk_config().await);
    orabridge_shared::testkit::create_bucket(&s3, "rules")
        .await
        .expect("bucket");
    let store = S3ObjectStore::new(s3.clone(), "rules");
    let document: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    store
        .put("config/rules.json", document.clone(), "application/json")
        .await
        .expect("put");
    assert_eq!(store.get("config/rules.json").await.expect("get"), document);

    let missing = store
        .get("config/absent.json")
        .await
        .expect_err("no such key");
    assert!(
        matches!(&missing, ObjectReadError::NotFound { key } if key == "config/absent.json"),
        "{missing:?}"
    );
    let no_bucket = S3ObjectStore::new(s3, "no-such-bucket")
        .get("config/rules.json")
        .await
        .expect_err("no such bucket");
    assert!(
        matches!(no_bucket, ObjectReadError::Failed { .. }),
        "{no_bucket:?}"
    );
}
