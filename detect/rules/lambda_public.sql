-- id: lambda_public
-- title: Lambda {target} opened to {grantee} by {principal} ({event_names})
-- severity: high
-- entity: principal:principal
-- dedupe: principal, target
-- window: 10m
-- table: cloudtrail
-- attack: TA0003 TA0001; T1546 T1190
-- description: A function (or layer) callable from outside the account: AddPermission or
--   AddLayerVersionPermission with principal `*` and no sourceArn, sourceAccount or
--   principalOrgID (high), or with an outside account (high); CreateFunctionUrlConfig /
--   UpdateFunctionUrlConfig with authType NONE (medium: a public URL). Quiet on routine
--   change: service principals with a source (S3, API Gateway, EventBridge), the own account,
--   IAM-authenticated function URLs, failed calls.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        coalesce(recipient_account_id, account_id) AS own,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        coalesce(json_get_str(request_parameters, 'functionName'),
                 json_get_str(request_parameters, 'layerName'), 'unknown') AS target,
        coalesce(json_get_str(request_parameters, 'principal'), '') AS grantee_principal,
        (json_get_str(request_parameters, 'sourceArn') IS NOT NULL
         OR json_get_str(request_parameters, 'sourceAccount') IS NOT NULL
         OR json_get_str(request_parameters, 'principalOrgID') IS NOT NULL
         OR json_get_str(request_parameters, 'organizationId') IS NOT NULL) AS scoped,
        upper(coalesce(json_get_str(request_parameters, 'authType'), '')) AS auth_type
    FROM cloudtrail
    WHERE event_source = 'lambda.amazonaws.com'
      AND error_code IS NULL
      AND (event_name LIKE 'AddPermission%' OR event_name LIKE 'AddLayerVersionPermission%'
           OR event_name LIKE 'CreateFunctionUrlConfig%' OR event_name LIKE 'UpdateFunctionUrlConfig%')
),
hit AS (
    SELECT
        *,
        CASE
            WHEN (event_name LIKE 'AddPermission%' OR event_name LIKE 'AddLayerVersionPermission%')
                 AND grantee_principal = '*' AND NOT scoped THEN 'high'
            WHEN (event_name LIKE 'AddPermission%' OR event_name LIKE 'AddLayerVersionPermission%')
                 AND regexp_like(grantee_principal, '\d{12}') AND strpos(grantee_principal, own) = 0 THEN 'high'
            WHEN (event_name LIKE 'CreateFunctionUrlConfig%' OR event_name LIKE 'UpdateFunctionUrlConfig%')
                 AND auth_type = 'NONE' THEN 'medium'
        END AS sev,
        CASE WHEN auth_type = 'NONE' THEN 'a public function URL'
             WHEN grantee_principal = '*' THEN 'everyone (*)'
             ELSE grantee_principal END AS grantee
    FROM ev
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    target,
    CASE WHEN bool_or(sev = 'high') THEN 'high' ELSE 'medium' END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT grantee)), ', ') AS grantee,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    count(*) AS events
FROM hit
WHERE sev IS NOT NULL
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal, target
