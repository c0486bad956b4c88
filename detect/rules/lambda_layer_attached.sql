-- id: lambda_layer_attached
-- title: {principal} attached layer(s) {layers} to Lambda {target}
-- severity: medium
-- entity: principal:principal
-- dedupe: principal, target
-- window: 10m
-- table: cloudtrail
-- attack: TA0003; T1546
-- description: UpdateFunctionConfiguration that sets layers, by a person or script: a layer
--   (or a Lambda extension in it) runs inside every invocation and sees its events and
--   credentials. High when a layer belongs to another account. Quiet on routine change:
--   deployments by IaC (Terraform, CloudFormation, SAM, Serverless, CDK, Pulumi),
--   configuration updates that do not touch layers, failed calls.
WITH ev AS (
    SELECT
        event_time, event_id, account_id, region, source_ip_address,
        coalesce(recipient_account_id, account_id) AS own,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        coalesce(json_get_str(request_parameters, 'functionName'), 'unknown') AS target,
        json_get_json(request_parameters, 'layers') AS layers
    FROM cloudtrail
    WHERE event_source = 'lambda.amazonaws.com'
      AND event_name LIKE 'UpdateFunctionConfiguration%'
      AND error_code IS NULL
      AND json_length(request_parameters, 'layers') > 0
      AND coalesce(user_identity_invoked_by, '') <> 'cloudformation.amazonaws.com'
      AND NOT regexp_like(coalesce(user_agent, ''), '(?i)terraform|cloudformation|pulumi|aws-cdk|serverless|aws-sam')
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    target,
    CASE WHEN bool_or(regexp_like(regexp_replace(layers, own, '', 'g'), '\d{12}:layer:')) THEN 'high' ELSE 'medium' END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT layers)), ', ') AS layers,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM ev
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal, target
