-- id: internet_gateway_created
-- title: Internet gateway {event_names} by {principal} ({gateways})
-- severity: medium
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0010 TA0011; T1599
-- description: CreateInternetGateway or AttachInternetGateway by a person or script: a new
--   direct path between a VPC and the internet. Quiet on routine change: gateways built by
--   IaC (Terraform, CloudFormation, Pulumi, CDK), detaching or deleting, failed calls.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_to_string(array_sort(array_agg(DISTINCT coalesce(json_get_str(request_parameters, 'internetGatewayId'),
                                                           json_get_str(response_elements, 'internetGateway', 'internetGatewayId')))), ', ') AS gateways,
    array_sort(array_agg(DISTINCT json_get_str(request_parameters, 'vpcId'))) AS vpcs,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'ec2.amazonaws.com'
  AND event_name IN ('CreateInternetGateway', 'AttachInternetGateway')
  AND error_code IS NULL
  AND coalesce(user_identity_invoked_by, '') <> 'cloudformation.amazonaws.com'
  AND NOT regexp_like(coalesce(user_agent, ''), '(?i)terraform|cloudformation|pulumi|aws-cdk|crossplane')
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id)
