//! AWS clients for the responder. Every client honours an endpoint override (`AWS_ENDPOINT_URL`
//! or `--endpoint-url`) so the same code runs against moto server in tests. The HTTP client
//! (rustls with the `ring` provider) and the shared configuration are the AWS edge's
//! (`flowtrail-aws`), as in the rest of flowtrail; the EC2 and Auto Scaling clients stay here,
//! out of the main binary.

use flowtrail_aws::SdkConfig;

pub use flowtrail_aws::{DEFAULT_REGION, http_client, sdk_config};

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
