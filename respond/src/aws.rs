//! AWS clients for the responder. Every client honours an endpoint override (`AWS_ENDPOINT_URL`
//! or `--endpoint-url`) so the same code runs against moto server in tests; HTTPS goes through
//! rustls with the `ring` provider, as in the rest of flowtrail.

use aws_config::{BehaviorVersion, Region, SdkConfig};

/// Region used when neither the environment nor the profile names one.
pub const DEFAULT_REGION: &str = "us-east-1";

/// The clients the responder uses.
#[derive(Debug, Clone)]
pub struct Clients {
    /// EC2: describe, security groups, tags, snapshots.
    pub ec2: aws_sdk_ec2::Client,
    /// Auto Scaling: membership and detach.
    pub autoscaling: aws_sdk_autoscaling::Client,
    /// SQS: the alert queue.
    pub sqs: aws_sdk_sqs::Client,
    /// SNS: follow-up alerts.
    pub sns: aws_sdk_sns::Client,
}

impl Clients {
    /// Clients for one shared configuration.
    pub fn new(conf: &SdkConfig) -> Self {
        Self {
            ec2: aws_sdk_ec2::Client::new(conf),
            autoscaling: aws_sdk_autoscaling::Client::new(conf),
            sqs: aws_sdk_sqs::Client::new(conf),
            sns: aws_sdk_sns::Client::new(conf),
        }
    }
}

/// The HTTP client of every AWS client: hyper with rustls (`ring` provider), HTTP and HTTPS.
pub fn http_client() -> aws_sdk_ec2::config::SharedHttpClient {
    aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https()
}

/// Load the shared configuration: region, credentials (environment, profile, ECS task role,
/// instance profile), standard retries and the endpoint override when given.
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
