-- id: cloudtrail_tampering_denied
-- title: Denied attempt to {event_names} CloudTrail {trail} by {principal}
-- severity: medium
-- entity: principal:principal
-- dedupe: principal, trail
-- window: 10m
-- table: cloudtrail
-- attack: TA0005; T1562.008
-- description: StopLogging, DeleteTrail, UpdateTrail, PutEventSelectors or
--   PutAdvancedEventSelectors that failed for lack of permission (AccessDenied,
--   UnauthorizedOperation): the intent of cloudtrail_tampering without the effect. Other
--   failures (a trail that does not exist, a throttled call) are not alerted.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    coalesce(json_get_str(request_parameters, 'name'),
             json_get_str(request_parameters, 'trailName'), 'unknown') AS trail,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_sort(array_agg(DISTINCT error_code)) AS error_codes,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM cloudtrail
WHERE event_source = 'cloudtrail.amazonaws.com'
  AND event_name IN ('StopLogging', 'DeleteTrail', 'UpdateTrail', 'PutEventSelectors', 'PutAdvancedEventSelectors')
  AND (error_code LIKE '%AccessDenied%' OR error_code LIKE '%UnauthorizedOperation%')
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id),
         coalesce(json_get_str(request_parameters, 'name'), json_get_str(request_parameters, 'trailName'), 'unknown')
