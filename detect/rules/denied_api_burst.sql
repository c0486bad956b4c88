-- id: denied_api_burst
-- title: {principal} was denied {denied} times on {targets} distinct requests ({event_names})
-- severity: medium
-- entity: principal:principal
-- dedupe: principal
-- window: 10m
-- table: cloudtrail
-- attack: TA0007 TA0006; T1580 T1526
-- description: At least 10 AccessDenied / UnauthorizedOperation errors for one principal in
--   10 minutes over at least 5 distinct requests (API and parameters): stolen credentials
--   probing what they may do, or enumerating resources they may not. Quiet on routine
--   failure: a misconfigured job retrying the same denied call counts as one request, and
--   calls AWS services make are not counted.
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    coalesce(user_identity_arn, user_identity_principal_id) AS principal,
    count(*) AS denied,
    count(DISTINCT concat(event_source, ' ', event_name, ' ', coalesce(request_parameters, ''))) AS targets,
    array_to_string(array_slice(array_sort(array_agg(DISTINCT event_name)), 1, 10), ', ') AS event_names,
    array_sort(array_agg(DISTINCT error_code)) AS error_codes,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips
FROM cloudtrail
WHERE error_code IS NOT NULL
  AND (error_code LIKE '%AccessDenied%' OR error_code LIKE '%UnauthorizedOperation%'
       OR error_code LIKE '%Unauthorized%')
  AND user_identity_invoked_by IS NULL
  AND coalesce(source_ip_address, '') NOT LIKE '%.amazonaws.com'
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region,
         coalesce(user_identity_arn, user_identity_principal_id)
HAVING count(*) >= 10
   AND count(DISTINCT concat(event_source, ' ', event_name, ' ', coalesce(request_parameters, ''))) >= 5
