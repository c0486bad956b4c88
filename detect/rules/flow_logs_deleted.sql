-- id: flow_logs_deleted
-- title: VPC flow logs deleted by {principal} ({events} call(s))
-- severity: high
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0005; T1562.008
-- description: Successful ec2:DeleteFlowLogs. Deleting flow logs blinds network detection:
--   what the network does next goes unrecorded. Quiet on failed calls only (a denied attempt
--   loses no logs).
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    array_slice(array_agg(request_parameters), 1, 5) AS requests,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'ec2.amazonaws.com'
  AND event_name = 'DeleteFlowLogs'
  AND error_code IS NULL
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id)
