-- id: lambda_code_overwritten
-- title: Code of Lambda {target} replaced by {principal}
-- severity: medium
-- entity: principal:principal
-- dedupe: principal, target
-- window: 10m
-- table: cloudtrail
-- attack: TA0003 TA0002; T1525 T1648
-- description: UpdateFunctionCode by a person: with an IAM user's long-lived keys or root
--   (pipelines deploy with roles), a federated user, an IAM Identity Center (SSO) session
--   (`assumed-role/AWSReservedSSO_...`, a person's CLI), or from a console session (the
--   console's code editor). Quiet on routine change: other role sessions outside the console
--   (CI/CD pipelines), IaC and
--   deployment tools (Terraform, CloudFormation, SAM, Serverless, CDK, Pulumi), failed calls.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    coalesce(json_get_str(request_parameters, 'functionName'), 'unknown') AS target,
    bool_or(coalesce(session_credential_from_console, false)) AS from_console,
    array_sort(array_agg(DISTINCT json_get_str(response_elements, 'codeSha256'))) AS code_sha256,
    array_sort(array_agg(DISTINCT json_get_str(request_parameters, 's3Bucket'))) AS s3_buckets,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    array_slice(array_sort(array_agg(DISTINCT user_agent)), 1, 5) AS user_agents,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'lambda.amazonaws.com'
  AND event_name LIKE 'UpdateFunctionCode%'
  AND error_code IS NULL
  AND (user_identity_type IN ('IAMUser', 'Root', 'FederatedUser')
       OR coalesce(session_credential_from_console, false)
       OR regexp_like(coalesce(user_identity_arn, ''), ':assumed-role/AWSReservedSSO_'))
  AND coalesce(user_identity_invoked_by, '') <> 'cloudformation.amazonaws.com'
  AND NOT regexp_like(coalesce(user_agent, ''), '(?i)terraform|cloudformation|pulumi|aws-cdk|serverless|aws-sam|codepipeline|codedeploy')
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id),
         coalesce(json_get_str(request_parameters, 'functionName'), 'unknown')
