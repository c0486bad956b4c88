-- id: role_trust_backdoor
-- title: Role {role} trusts {trusted} ({event_names} by {principal})
-- severity: high
-- entity: principal:principal
-- dedupe: principal, role
-- window: 10m
-- table: cloudtrail
-- attack: TA0003 TA0004; T1098.003 T1078.004
-- description: A role's trust policy (UpdateAssumeRolePolicy, or CreateRole's
--   assumeRolePolicyDocument) lets an outside AWS account assume it (an account id other
--   than the event's recipientAccountId): high; or anyone (`"Principal": "*"` or
--   `"AWS": "*"`): critical. Quiet on routine change: trust in services
--   (`ec2.amazonaws.com`), in the own account, and failed calls. Accounts you trust on
--   purpose (a security or CI account) belong in the alert suppression allow-list.
WITH ev AS (
    SELECT
        event_time, event_id, event_name, account_id, region, source_ip_address,
        recipient_account_id,
        coalesce(user_identity_arn, user_identity_principal_id) AS principal,
        coalesce(json_get_str(request_parameters, 'roleName'), 'unknown') AS role,
        coalesce(json_get_str(request_parameters, 'policyDocument'),
                 json_get_str(request_parameters, 'assumeRolePolicyDocument')) AS doc
    FROM cloudtrail
    WHERE event_source = 'iam.amazonaws.com'
      AND error_code IS NULL
      AND event_name IN ('UpdateAssumeRolePolicy', 'CreateRole')
),
flags AS (
    SELECT
        *,
        regexp_like(doc, '"(Principal|AWS)"\s*:\s*(\[[^\]]*)?"\*"') AS anyone,
        -- the document without the own account: any account id left is an outside one
        regexp_replace(doc, coalesce(recipient_account_id, account_id), '', 'g') AS others
    FROM ev
    WHERE doc IS NOT NULL
),
hit AS (
    SELECT
        *,
        CASE WHEN anyone THEN '*'
             ELSE coalesce(regexp_match(others, 'arn:aws[a-z-]*:iam::(\d{12}):')[1],
                           regexp_match(others, '"(\d{12})"')[1])
        END AS trusted
    FROM flags
    WHERE anyone
       OR regexp_like(others, 'arn:aws[a-z-]*:iam::\d{12}:')
       OR regexp_like(others, '"AWS"\s*:\s*(\[[^\]]*)?"\d{12}"')
)
SELECT
    min(event_time) AS first_seen,
    max(event_time) AS last_seen,
    account_id,
    region,
    principal,
    role,
    CASE WHEN bool_or(anyone) THEN 'critical' ELSE 'high' END AS severity,
    array_to_string(array_sort(array_agg(DISTINCT trusted)), ', ') AS trusted,
    array_to_string(array_sort(array_agg(DISTINCT event_name)), ', ') AS event_names,
    array_slice(array_sort(array_agg(DISTINCT event_id)), 1, 20) AS event_ids,
    array_sort(array_agg(DISTINCT source_ip_address)) AS source_ips,
    first_value(doc ORDER BY event_time DESC) AS trust_policy,
    count(*) AS events
FROM hit
GROUP BY date_bin(INTERVAL '10 minutes', event_time), account_id, region, principal, role
