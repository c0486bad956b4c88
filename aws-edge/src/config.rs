//! The HTTP client and the shared SDK configuration every AWS client is built from.

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_smithy_http_client::tls::{Provider, rustls_provider::CryptoMode};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

/// Region used when neither the environment nor the profile names one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The HTTP client of every AWS client: hyper with rustls (`ring` provider), HTTP and HTTPS.
pub fn http_client() -> SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(Provider::Rustls(CryptoMode::Ring))
        .build_https()
}

/// Load the shared configuration: region, credentials (environment, profile, ECS task role,
/// instance profile), the standard retry mode and `endpoint_url` when given (it wins over the
/// environment's). The region is [`DEFAULT_REGION`] when nothing names one.
pub async fn sdk_config(endpoint_url: Option<&str>) -> SdkConfig {
    let mut loader = aws_config::defaults(BehaviorVersion::latest())
        .http_client(http_client())
        .retry_config(aws_config::retry::RetryConfig::standard());
    if let Some(url) = endpoint_url {
        loader = loader.endpoint_url(url);
    }
    let conf = loader.load().await;
    if conf.region().is_some() {
        return conf;
    }
    conf.into_builder()
        .region(Region::new(DEFAULT_REGION))
        .build()
}
