-- id: lambda_layer_attached
-- title: {principal} {change} Lambda {target} (layers {layers})
-- severity: medium
-- entity: principal:principal
-- dedupe: principal, target
-- window: 10m
-- table: cloudtrail
-- attack: TA0003; T1546
-- description: UpdateFunctionConfiguration that sets layers, by a person or script: a layer
--   (or a Lambda extension in it) runs inside every invocation and sees its events and
--   credentials. High when a layer belongs to another account. Low when a person (IAM or
--   federated user, SSO or console session, root) changes by hand the configuration of a
--   function that runs layers without naming them (the response lists the layers it runs):
--   a hand edit outside the deploy pipeline of a function whose code partly lives elsewhere.
--   Quiet on routine change: deployments by IaC (Terraform, CloudFormation, SAM, Serverless,
--   CDK, Pulumi), roles changing functions without layers, service roles and pipelines
--   editing a function that has layers, failed calls.
WITH ev AS (
    SELECT
        event_time, event_id, account_id, region, source_ip_address,
        coalesce(recipient_account_id, account_id) AS own,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        coalesce(json_get_str(request_parameters, 'functionName'), json_get_str(response_elements, 'functionName'), 'unknown') AS target,
        coalesce(json_length(request_parameters, 'layers'), 0) > 0 AS sets,
        CASE WHEN coalesce(json_length(request_parameters, 'layers'), 0) > 0
             THEN json_get_json(request_parameters, 'layers')
             ELSE json_get_json(response_elements, 'layers') END AS layers
    FROM cloudtrail
    WHERE event_source = 'lambda.amazonaws.com'
      AND event_name LIKE 'UpdateFunctionConfiguration%'
      AND error_code IS NULL
      AND (json_length(request_parameters, 'layers') > 0
           OR (json_length(response_elements, 'layers') > 0
               AND (user_identity_type IN ('IAMUser', 'FederatedUser', 'Root')
                    OR (user_identity_type = 'AssumedRole'
                        AND (coalesce(session_credential_from_console, false)
                             OR regexp_like(coalesce(session_issuer_arn, ''), ':role/(.*/)?AWSReservedSSO_'))))))
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
    CASE WHEN NOT bool_or(sets) THEN 'low'
         WHEN bool_or(sets AND regexp_like(regexp_replace(layers, own, '', 'g'), '\d{12}:layer:')) THEN 'high'
         ELSE 'medium' END AS severity,
    CASE WHEN bool_or(sets) THEN 'attached layer(s) to'
         ELSE 'changed by hand the configuration of' END AS change,
    array_to_string(array_sort(array_agg(DISTINCT layers)), ', ') AS layers,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM ev
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal, target
