//! A remote URL turned into an `object_store` client and an object path.
//!
//! - `s3://bucket/key`: Amazon S3 (region `$AWS_REGION`/`$AWS_DEFAULT_REGION`, default
//!   `us-east-1`). Requests are signed with `$AWS_ACCESS_KEY_ID`/`$AWS_SECRET_ACCESS_KEY`
//!   (`$AWS_SESSION_TOKEN`) when they are set, and anonymous otherwise (public buckets such as
//!   the Cell Painting Gallery). `$CPBENCH_S3_ENDPOINT` (or the AWS SDKs' `$AWS_ENDPOINT_URL`)
//!   sends them to another S3 API, path-style: a local MinIO or moto server, a mirror.
//! - `https://host/path` and `http://host/path`: plain HTTP GET/HEAD with ranges.
//! - `$CPBENCH_URL_REWRITE`: whitespace-separated `FROM=TO` prefix rewrites applied first
//!   (the first match wins), e.g. to serve an `https://` URL from a local mirror.
//!
//! Request-level failures (connection errors, 5xx, 429) are retried by `object_store` with
//! exponential backoff; the download loop in `fetch` resumes bodies cut off mid-transfer.

use std::sync::Arc;
use std::time::Duration;

use object_store::aws::AmazonS3Builder;
use object_store::http::HttpBuilder;
use object_store::path::Path as ObjectPath;
use object_store::{BackoffConfig, ClientOptions, ObjectStore, RetryConfig};

use cpbench_core::manifest::split_url;

/// The environment variable of an S3 endpoint override (a full URL, `http://` allowed).
pub const S3_ENDPOINT_ENV: &str = "CPBENCH_S3_ENDPOINT";
/// The environment variable of URL prefix rewrites (`FROM=TO`, whitespace-separated).
pub const URL_REWRITE_ENV: &str = "CPBENCH_URL_REWRITE";

/// An opened remote object.
pub(crate) struct Remote {
    /// The client.
    pub store: Arc<dyn ObjectStore>,
    /// The object's path in it.
    pub path: ObjectPath,
    /// The URL requested (after rewrites), for messages.
    pub url: String,
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// `url` after the first matching `$CPBENCH_URL_REWRITE` rule.
pub(crate) fn rewrite(url: &str) -> Result<String, String> {
    let Some(rules) = env(URL_REWRITE_ENV) else {
        return Ok(url.to_string());
    };
    for rule in rules.split_whitespace() {
        let (from, to) = rule.split_once('=').ok_or_else(|| {
            format!("{URL_REWRITE_ENV}: `{rule}` is not a FROM=TO prefix rewrite")
        })?;
        if let Some(rest) = url.strip_prefix(from) {
            return Ok(format!("{to}{rest}"));
        }
    }
    Ok(url.to_string())
}

fn retry() -> RetryConfig {
    RetryConfig {
        backoff: BackoffConfig {
            init_backoff: Duration::from_millis(200),
            max_backoff: Duration::from_secs(10),
            base: 2.0,
        },
        max_retries: 5,
        retry_timeout: Duration::from_secs(180),
    }
}

/// The client options: no overall request timeout (a large object takes minutes; stalls are
/// caught per chunk by the download loop), plain HTTP allowed (loopback servers, mirrors).
fn client_options() -> ClientOptions {
    ClientOptions::new()
        .with_timeout_disabled()
        .with_connect_timeout(Duration::from_secs(20))
        .with_allow_http(true)
}

/// Opens `url` (after rewrites).
pub(crate) fn open(url: &str) -> Result<Remote, String> {
    let url = rewrite(url)?;
    let (scheme, host, key) = split_url(&url)?;
    let path = ObjectPath::from_url_path(key).map_err(|e| format!("`{url}`: {e}"))?;
    let store: Arc<dyn ObjectStore> = match scheme {
        "s3" => {
            let region = env("AWS_REGION")
                .or_else(|| env("AWS_DEFAULT_REGION"))
                .unwrap_or_else(|| "us-east-1".to_string());
            let mut b = AmazonS3Builder::new()
                .with_bucket_name(host)
                .with_region(region)
                .with_retry(retry())
                .with_client_options(client_options());
            if let Some(endpoint) = env(S3_ENDPOINT_ENV).or_else(|| env("AWS_ENDPOINT_URL")) {
                b = b.with_endpoint(endpoint).with_allow_http(true);
            }
            b = match (env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY")) {
                (Some(id), Some(secret)) => {
                    let b = b.with_access_key_id(id).with_secret_access_key(secret);
                    match env("AWS_SESSION_TOKEN") {
                        Some(t) => b.with_token(t),
                        None => b,
                    }
                }
                // Public buckets: unsigned requests, and no probing of instance metadata for
                // credentials that do not exist.
                _ => b.with_skip_signature(true),
            };
            Arc::new(b.build().map_err(|e| format!("`{url}`: {e}"))?)
        }
        _ => Arc::new(
            HttpBuilder::new()
                .with_url(format!("{scheme}://{host}"))
                .with_retry(retry())
                .with_client_options(client_options())
                .build()
                .map_err(|e| format!("`{url}`: {e}"))?,
        ),
    };
    Ok(Remote { store, path, url })
}
