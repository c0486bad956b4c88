-- id: route_to_internet_gateway
-- title: Route table {route_table} sends {destination} to internet gateway {gateway} ({principal})
-- severity: medium
-- entity: principal:principal
-- dedupe: principal, route_table
-- window: 10m
-- table: cloudtrail
-- attack: TA0010 TA0011; T1599 T1048
-- description: CreateRoute or ReplaceRoute with an internet gateway (igw-) target made by a
--   person or script: the subnets of that route table become reachable from, and can reach,
--   the internet directly. Quiet on routine change: routes created by IaC (Terraform,
--   CloudFormation, Pulumi, CDK) when building public subnets, routes to NAT gateways,
--   transit gateways, peering or endpoints, failed calls.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    coalesce(json_get_str(request_parameters, 'routeTableId'), 'unknown') AS route_table,
    array_to_string(array_sort(array_agg(DISTINCT coalesce(json_get_str(request_parameters, 'destinationCidrBlock'),
                                                           json_get_str(request_parameters, 'destinationIpv6CidrBlock'),
                                                           json_get_str(request_parameters, 'destinationPrefixListId')))), ', ') AS destination,
    array_to_string(array_sort(array_agg(DISTINCT json_get_str(request_parameters, 'gatewayId'))), ', ') AS gateway,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'ec2.amazonaws.com'
  AND event_name IN ('CreateRoute', 'ReplaceRoute')
  AND error_code IS NULL
  AND json_get_str(request_parameters, 'gatewayId') LIKE 'igw-%'
  AND coalesce(user_identity_invoked_by, '') <> 'cloudformation.amazonaws.com'
  AND NOT regexp_like(coalesce(user_agent, ''), '(?i)terraform|cloudformation|pulumi|aws-cdk|crossplane')
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id),
         coalesce(json_get_str(request_parameters, 'routeTableId'), 'unknown')
