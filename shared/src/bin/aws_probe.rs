//! Test helper: loads the AWS configuration from the environment the way every function does
//! (`aws::load_sdk_config`, `aws::s3_client`) and writes `s3://<bucket>/<key>` with `<body>`.
//! Tests run it in a child process, so the environment under test is the child's alone.

use anyhow::Context;
use orabridge_shared::aws;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(bucket), Some(key), Some(body)) = (args.next(), args.next(), args.next()) else {
        anyhow::bail!("usage: orabridge-aws-probe <bucket> <key> <body>");
    };
    let s3 = aws::s3_client(&aws::load_sdk_config().await?);
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .context("create_bucket")?;
    s3.put_object()
        .bucket(&bucket)
        .key(&key)
        .body(body.into_bytes().into())
        .send()
        .await
        .context("put_object")?;
    Ok(())
}
