-- id: dns_query_logging_deleted
-- title: Route 53 Resolver query logging removed by {principal} ({event_names})
-- severity: high
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0005; T1562.008
-- description: DeleteResolverQueryLogConfig or DisassociateResolverQueryLogConfig
--   succeeded: DNS queries from the VPCs are no longer logged. Quiet on routine change:
--   creating or associating query logging, failed calls.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_sort(array_agg(DISTINCT json_get_str(request_parameters, 'resolverQueryLogConfigId'))) AS configs,
    array_sort(array_agg(DISTINCT json_get_str(request_parameters, 'resourceId'))) AS vpcs,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'route53resolver.amazonaws.com'
  AND event_name IN ('DeleteResolverQueryLogConfig', 'DisassociateResolverQueryLogConfig')
  AND error_code IS NULL
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id)
